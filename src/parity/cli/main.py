"""The ``parity`` command: builds the Typer app from the command-group modules."""

from __future__ import annotations

import importlib
import sys

import typer

from parity.errors import ConfigError, ParityError

__all__ = ["app", "main"]

# Each module exposes ``register(app)``; built-in groups register the way a plugin would.
_GROUPS = (
    "parity.cli.serve",
    "parity.cli.config_cmd",
    "parity.cli.logs",
    "parity.cli.gaptest",
    "parity.cli.models",
    "parity.cli.cost",
    "parity.cli.advise",
    "parity.cli.route",
    "parity.cli.router",
    "parity.cli.keys",
    "parity.cli.db",
    "parity.cli.chaos",
    "parity.cli.feedback",
    "parity.cli.canary",
    "parity.cli.tune",
)


def build_app() -> typer.Typer:
    """A fresh Typer app with every command group registered."""
    app = typer.Typer(
        name="parity",
        help="One OpenAI-compatible gateway in front of open and closed models.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for name in _GROUPS:
        importlib.import_module(name).register(app)
    return app


app = build_app()


def main() -> None:
    """Console entry point: one clear line and a non-zero exit for every known error."""
    try:
        code = app(standalone_mode=False)
    except ConfigError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except ParityError as exc:
        print(f"parity: error: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        print("parity: aborted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value, missing arg
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        print(f"parity: error: {message}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", 2)))
    if isinstance(code, int) and code:
        sys.exit(code)
