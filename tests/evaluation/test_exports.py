"""Every gap-test module declares its public surface, and every name in it exists."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import parity.evaluation


def test_every_module_has_a_complete_all() -> None:
    names = [
        m.name for m in pkgutil.walk_packages(parity.evaluation.__path__, "parity.evaluation.")
    ]
    assert "parity.evaluation.runner" in names and "parity.evaluation.judges.human" in names
    for name in [*names, "parity.cli.gaptest"]:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{name} has no __all__"
        for item in exported:
            assert hasattr(module, item), f"{name}.__all__ names missing {item}"
        defined = {
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isclass(v) or inspect.isfunction(v))
            and v.__module__ == name
        }
        hidden = defined - set(exported) - {"register"}
        assert not hidden or name == "parity.cli.gaptest", f"{name}: not in __all__: {hidden}"
