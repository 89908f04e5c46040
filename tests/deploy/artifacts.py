"""Read the deployment files the way Docker, Compose and Kubernetes would, for the tests."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEPLOY",
    "ROOT",
    "Instruction",
    "compose",
    "config_env_names",
    "dockerfile",
    "env_names_parity_reads",
    "k8s_objects",
    "makefile_cmake_args",
    "parity_cli",
    "pod_containers",
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# libpq reads these itself, so a password never has to sit in a ledger URL or a config file.
LIBPQ_ENV = frozenset({"PGPASSWORD", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE", "PGSSLMODE"})


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    stage: int
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON-array (exec) form of CMD/ENTRYPOINT, split like Docker does."""
        value = json.loads(self.args)
        assert isinstance(value, list), f"{self.keyword} is not in exec form: {self.args}"
        return [str(v) for v in value]


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    """The instructions of a Dockerfile; ``stage`` counts FROM lines from 0."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    out: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(Instruction(stage, keyword, args.strip()))
    return out


def makefile_cmake_args() -> str:
    """The CMAKE_ARGS the Makefile exports for x86-64 builds."""
    match = re.search(r"^export CMAKE_ARGS \?= (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, "the Makefile no longer sets CMAKE_ARGS"
    return match.group(1).strip()


def compose() -> dict[str, Any]:
    """deploy/compose.yaml, anchors and merge keys resolved as Compose does."""
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def k8s_objects() -> list[tuple[Path, dict[str, Any]]]:
    """Every object in every manifest under deploy/k8s, with the file it came from."""
    out: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name in ("kustomization.yaml", "parity.yaml"):
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                out.append((path, doc))
    return out


def pod_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The containers of a Deployment's or a Job's pod template."""
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert isinstance(containers, list)
    return containers


def env_names_parity_reads() -> set[str]:
    """PARITY_* variable names that appear as string literals in the package's source."""
    names: set[str] = set()
    for path in (ROOT / "src" / "parity").rglob("*.py"):
        names.update(re.findall(r"[\"'](PARITY_[A-Z0-9_]+)[\"']", path.read_text()))
    return names


def config_env_names(config: dict[str, Any]) -> set[str]:
    """Variables a parity.yaml names: upstream keys, client keys and the admin key."""
    names = {m["api_key_env"] for m in config.get("models", []) if m.get("api_key_env")}
    names |= {k["key_env"] for k in config.get("keys", []) if k.get("key_env")}
    names.add(config.get("auth", {}).get("admin_key_env", "PARITY_ADMIN_KEY"))
    return names | LIBPQ_ENV


def parity_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``parity`` command as a user would (the same read-only call runs once)."""
    return _run(args) if env is None else _run_uncached(args, env)


@functools.cache
def _run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return _run_uncached(args, None)


def _run_uncached(
    args: tuple[str, ...], env: dict[str, str] | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
        cwd=ROOT,
    )
