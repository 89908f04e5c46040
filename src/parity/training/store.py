"""The artifact directory on disk: write it whole, update its manifest, read it back checked.

::

    DIR/
      manifest.json   format, version, models, feature config, data hash, metrics, thresholds,
                      and the SHA-256 of every file below
      router.pkl      the prompt router (feature set + learner)
      cascade.pkl     the cascade scorer, when the labels had the weak model's answers
      quality.pkl     per-model quality predictors, when more than two models were trained
      oof.npz         out-of-fold predictions and scores: what calibration reads
      heldout.jsonl   labels kept out of training (``--holdout``), for ``router evaluate``
      curve.png       the cost-quality plot of the last calibration

The pickles are trusted files that Parity wrote: loading one runs code, so never load an
artifact from someone you would not run code from.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError

__all__ = [
    "FORMAT",
    "MANIFEST",
    "check_output",
    "file_sha256",
    "read_arrays",
    "read_manifest",
    "read_pickle",
    "update_manifest",
    "write_artifact",
]

FORMAT = 1
MANIFEST = "manifest.json"
ARRAYS = "oof.npz"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_artifact(
    out: Path,
    manifest: dict[str, Any],
    pickles: Mapping[str, object],
    arrays: Mapping[str, npt.NDArray[Any]],
    extra_files: Mapping[str, Path] | None = None,
) -> Path:
    """Write a complete artifact beside ``out``, then move it into place.

    A gateway watching ``out`` sees either the old artifact or the new one, never half of one.
    """
    _check_replaceable(out)
    staging = out.parent / f".{out.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files: dict[str, str] = {}
    for name, obj in pickles.items():
        with (staging / name).open("wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
    np.savez_compressed(staging / ARRAYS, **arrays)  # type: ignore[arg-type]
    for name, source in (extra_files or {}).items():
        shutil.copyfile(source, staging / name)
    for name in [*pickles, ARRAYS, *(extra_files or {})]:
        files[name] = file_sha256(staging / name)
    _write_json(staging / MANIFEST, manifest | {"format": FORMAT, "files": files})
    _swap_into_place(staging, out)
    return out


def update_manifest(path: Path, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the manifest, atomically (readers see old or new, never partial)."""
    manifest = read_manifest(path) | dict(changes)
    _write_json(path / MANIFEST, manifest)
    return manifest


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, checked for format; ``ConfigError`` says what is wrong."""
    file = path / MANIFEST
    if not path.is_dir():
        raise ConfigError("no router artifact here (not a directory)", path=str(path))
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            "not a router artifact: manifest.json is missing", path=str(path)
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"the artifact's manifest.json is unreadable: {exc}", path=str(path)
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ConfigError(
            f"artifact format {found!r} is not the one this Parity reads ({FORMAT}); retrain it",
            path=str(path),
        )
    return manifest


def read_pickle(path: Path, manifest: Mapping[str, Any], name: str) -> Any:
    """A pickled part of the artifact, after checking it is the file the manifest names."""
    file = _checked(path, manifest, name)
    try:
        with file.open("rb") as handle:
            return pickle.load(handle)  # artifacts are trusted local files (see above)
    except Exception as exc:  # a pickle can fail in many ways; each means a broken artifact
        raise ConfigError(f"cannot load {name}: {exc}", path=str(path)) from exc


def read_arrays(path: Path, manifest: Mapping[str, Any]) -> dict[str, npt.NDArray[Any]]:
    """The out-of-fold arrays (read without pickle)."""
    file = _checked(path, manifest, ARRAYS)
    try:
        with np.load(file, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {ARRAYS}: {exc}", path=str(path)) from exc


def _checked(path: Path, manifest: Mapping[str, Any], name: str) -> Path:
    expected = (manifest.get("files") or {}).get(name)
    file = path / name
    if expected is None:
        raise ConfigError(f"the manifest does not list {name}", path=str(path))
    if not file.is_file():
        raise ConfigError(f"{name} is missing from the artifact", path=str(path))
    if file_sha256(file) != expected:
        raise ConfigError(
            f"{name} does not match its hash in manifest.json (changed or truncated); retrain",
            path=str(path),
        )
    return file


def _write_json(file: Path, data: Mapping[str, Any]) -> None:
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, file)


def check_output(out: Path) -> None:
    """Fail now, not after training, when ``out`` cannot take an artifact."""
    _check_replaceable(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the output directory: {exc}", path=str(out)) from exc
    if not os.access(out.parent, os.W_OK):
        raise ConfigError("the output directory's parent is not writable", path=str(out))


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError("the output path exists and is not a directory", path=str(out))
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ConfigError(
            "the output directory is not empty and is not a router artifact; not overwriting it",
            path=str(out),
        )


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.replace(staging, out)
        return
    retired = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(retired, ignore_errors=True)
    os.replace(out, retired)
    os.replace(staging, out)
    with contextlib.suppress(OSError):
        shutil.rmtree(retired)
