"""llama.cpp's GGUF converters, found offline in the llama-cpp-python sdist.

``convert_hf_to_gguf.py`` and ``convert_lora_to_gguf.py`` (with their ``conversion/`` package
and ``gguf-py``) ship inside the source distribution of the llama-cpp-python that Parity runs,
under ``vendor/llama.cpp``. The first use extracts just those files into
``~/.cache/parity/llama.cpp-VERSION``; later uses run them from there. The sdist is looked for,
in order: ``--llama-cpp`` (a folder holding the scripts, or the .tar.gz), ``$PARITY_LLAMA_CPP``,
the copy ``make`` keeps at ``.venv/share/parity/``, pip's find-links folders and ``file://``
indexes. Nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
from importlib import metadata
from pathlib import Path
from urllib.parse import urlparse

from parity.errors import ConfigError

__all__ = ["CONVERTERS", "find_converters", "llama_cpp_version"]

CONVERTERS = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py")
_KEEP = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")


def llama_cpp_version() -> str:
    """The installed llama-cpp-python version."""
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(
            "GGUF export needs llama-cpp-python: pip install 'parity[local]'"
        ) from exc


def _cache(version: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "parity" / f"llama.cpp-{version}"


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in CONVERTERS) and (folder / "gguf-py").is_dir()


def _extract(sdist: Path, into: Path) -> Path:
    prefix = f"{sdist.name.removesuffix('.tar.gz')}/vendor/llama.cpp/"
    tmp = into.with_name(into.name + ".partial")
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            members = []
            for member in archive.getmembers():
                rest = member.name.removeprefix(prefix)
                if member.name.startswith(prefix) and rest.startswith(_KEEP) and member.isfile():
                    member.name = rest
                    members.append(member)
            if not members:
                raise ConfigError(f"{sdist} holds no vendor/llama.cpp converters")
            archive.extractall(tmp, members=members, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"cannot read the llama-cpp-python sdist {sdist}: {exc}") from exc
    shutil.rmtree(into, ignore_errors=True)
    tmp.replace(into)
    return into


def _index_dirs() -> list[Path]:
    """Local folders pip would read packages from: find-links and file:// indexes."""
    found: list[Path] = []
    values: list[str] = []
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL"):
        values += os.environ.get(name, "").split()
    for config in (Path("/etc/pip.conf"), Path.home() / ".config/pip/pip.conf"):
        if config.is_file():
            for line in config.read_text(errors="replace").splitlines():
                key, _, value = line.partition("=")
                if key.strip() in ("find-links", "extra-index-url", "index-url"):
                    values += value.split()
    for value in values:
        path = Path(urlparse(value).path) if value.startswith("file:") else Path(value)
        if path.is_dir():
            found += [path, path / "llama-cpp-python", path.parent / "files"]
    return found


def _sdists(version: str) -> list[Path]:
    name = f"llama_cpp_python-{version}.tar.gz"
    places = [Path(os.environ["PARITY_LLAMA_CPP"])] if os.environ.get("PARITY_LLAMA_CPP") else []
    places += [Path(sys.prefix) / "share" / "parity", *_index_dirs()]
    out: list[Path] = []
    for place in places:
        if place.is_file() and place.name.endswith(".tar.gz"):
            out.append(place)
        elif (place / name).is_file():
            out.append(place / name)
    return out


def find_converters(explicit: Path | None = None) -> Path:
    """The folder holding llama.cpp's converters (extracted once from the sdist)."""
    if explicit is not None and explicit.is_dir():
        if not _complete(explicit):
            raise ConfigError(f"{explicit} does not hold {' and '.join(CONVERTERS)} and gguf-py/")
        return explicit
    version = llama_cpp_version()
    cache = _cache(version)
    if _complete(cache):
        return cache
    candidates = [explicit] if explicit is not None else _sdists(version)
    if not candidates or not candidates[0].is_file():
        raise ConfigError(
            f"llama.cpp's GGUF converters come from the llama-cpp-python {version} sdist, and "
            "none is on this machine: run 'make serve' (it keeps one), or pip download "
            f"--no-deps --no-binary :all: llama-cpp-python=={version} -d DIR and pass "
            f"--llama-cpp DIR/llama_cpp_python-{version}.tar.gz"
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    return _extract(candidates[0], cache)
