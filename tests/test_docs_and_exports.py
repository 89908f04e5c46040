"""Docs that are generated stay generated, and every public module declares its surface."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import parity
from parity.cli.config_cmd import reference

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current() -> None:
    on_disk = (ROOT / "docs" / "configuration.md").read_text()
    assert on_disk == reference(), "run: parity config reference > docs/configuration.md"


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(parity.__path__, "parity."):
        leaf = info.name.rsplit(".", 1)[-1]
        if not leaf.startswith("_"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_every_module_declares_all_and_exports_real_names(name: str) -> None:
    module = importlib.import_module(name)
    if (
        module.__file__
        and module.__file__.endswith("__init__.py")
        and not hasattr(module, "__all__")
    ):
        return  # a package's __init__ may be only a docstring
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"
