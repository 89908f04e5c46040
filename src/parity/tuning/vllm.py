"""vLLM's multi-LoRA serving for GPU fleets: one base, one adapter per task.

vLLM loads PEFT adapters as they are (no GGUF): ``vllm serve BASE --enable-lora
--lora-modules '{"name": ..., "path": ..., "base_model_name": ...}' ...``, and a request picks
an adapter by naming it as its ``model``. This writes that command for tuned runs that share a
base, plus the Parity deployments (``provider: openai``) that reach each adapter.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from parity.errors import ConfigError
from parity.tuning.lineage import read_lineage

__all__ = ["HF_IDS", "vllm_setup"]

HF_IDS = {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}
"""Catalog card -> the Hugging Face repository vLLM loads the base from."""


def vllm_setup(runs: list[Path], *, base_model: str | None, url: str) -> dict[str, Any]:
    """The vLLM command line and the deployments, for adapters trained on one base."""
    lineages = [(run, read_lineage(run)) for run in runs]
    bases = {(lin["base"]["card"], lin["base"]["path"]) for _, lin in lineages}
    if len(bases) != 1:
        raise ConfigError("vLLM serves adapters of one base at a time; these runs have several")
    card, path = bases.pop()
    base = base_model or HF_IDS.get(card or "") or (path if Path(path).is_dir() else None)
    if base is None:
        raise ConfigError("name the base model vLLM should load with --base-model")
    modules = []
    deployments = []
    for run, lineage in lineages:
        name = f"tuned-{lineage['dataset'].get('task') or run.name}"
        spec = {"name": name, "path": str((run / "adapter").resolve()), "base_model_name": base}
        modules.append(json.dumps(spec))
        deployments.append(
            {"id": f"vllm/{name}", "provider": "openai", "base_url": url,
             "upstream_model": name, "residency": "on_prem", "lineage": str(run / "lineage.json")}
        )  # fmt: skip
    rank = max(int(lin["training"]["rank"]) for _, lin in lineages)
    command = ["vllm", "serve", base, "--enable-lora", "--max-lora-rank", str(rank),
               "--max-loras", str(len(modules)), "--lora-modules", *modules]  # fmt: skip
    return {"command": shlex.join(command), "deployments": deployments}
