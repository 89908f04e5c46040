"""Validation errors that know which YAML path they concern, so the loader can give the line."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["LocatedError", "located"]

Loc = tuple[str | int, ...]


class LocatedError(ValueError):
    """A validation error at ``loc`` (below the field that raised it); ``also`` holds more.

    One validator can raise only one error, so a condition with three typos raises one
    LocatedError whose ``also`` carries the other two; the loader reports all of them.
    """

    def __init__(self, loc: Loc, message: str, also: Sequence[tuple[Loc, str]] = ()):
        super().__init__(message)
        self.loc = loc
        self.also = tuple(also)

    def problems(self) -> list[tuple[Loc, str]]:
        """This error and the ones it carries, as (loc, message) pairs."""
        return [(self.loc, str(self)), *self.also]


def located(loc: Loc, message: str) -> LocatedError:
    """A LocatedError at ``loc``."""
    return LocatedError(loc, message)
