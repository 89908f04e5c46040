"""LoRA fine-tuning with transformers + PEFT: fixed seed, checkpoints, resume, progress, curve.

The run uses transformers' Trainer, which runs on ``accelerate``: on CPU it is one process;
``parity tune train --accelerate`` re-launches the same command under ``accelerate launch``, so
one GPU, several GPUs or DeepSpeed is accelerate's configuration, not new code here. Loss is
computed on the assistant's answer tokens only (``prepare.py``). A checkpoint is written every
``save_every`` steps (adapter, optimizer, scheduler, RNG states, loss history); running the
same command again continues from the newest one.
"""

from __future__ import annotations

import hashlib
import resource
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from parity.config import Settings
from parity.errors import ConfigError
from parity.tuning.base import BaseModelRef, load_model, load_tokenizer, resolve_base
from parity.tuning.dataset import read_manifest
from parity.tuning.examples import read_examples
from parity.tuning.guards import check_disk, check_memory, training_memory, weights
from parity.tuning.lineage import licence_terms, write_lineage
from parity.tuning.prepare import collate, tokenise
from parity.tuning.progress import ProgressCallback, loss_history, write_loss_plot

__all__ = ["TARGETS", "TrainOptions", "latest_checkpoint", "train"]

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_FIXED = ("dataset", "base", "card", "batch_size", "grad_accum", "lr", "rank", "alpha",
          "dropout", "targets", "max_length", "seed", "warmup")  # fmt: skip


@dataclass(slots=True)
class TrainOptions:
    """Everything that shapes a run; saved as train.json in the output folder."""

    dataset: str
    out: str
    base: str = "smollm2"
    card: str | None = None
    steps: int = 300
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-3
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: list[str] = field(default_factory=lambda: list(TARGETS))
    max_length: int = 512
    seed: int = 0
    warmup: int = 10
    save_every: int = 25
    threads: int | None = None
    device: str = "auto"
    max_memory_gb: float | None = None
    reserve_disk_gb: float = 1.0


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest ``checkpoint-N`` folder that finished writing (has trainer_state.json)."""
    found = [
        (int(p.name.split("-")[1]), p)
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(found)[1] if found else None


def _check_resume(out: Path, options: TrainOptions) -> None:
    saved_path = out / "train.json"
    if not saved_path.is_file():
        return
    saved = orjson.loads(saved_path.read_bytes())
    changed = [k for k in _FIXED if saved.get(k) != asdict(options)[k]]
    if changed:
        raise ConfigError(
            f"{out} holds a run with other settings ({', '.join(changed)}): resume it with the "
            "same options, or train into a new --out"
        )


def _splits(dataset: Path) -> tuple[dict[str, Any], list[Any]]:
    manifest = read_manifest(dataset)
    train = read_examples(dataset / "train.jsonl", source="train")
    held = {e.key for e in read_examples(dataset / "heldout.jsonl", source="heldout")}
    leaked = [e for e in train if e.key in held]
    if leaked:
        raise ConfigError(
            f"{dataset}: {len(leaked)} training prompts are also in heldout.jsonl; rebuild it "
            "with parity tune dataset"
        )
    digest = hashlib.sha256((dataset / "train.jsonl").read_bytes()).hexdigest()
    if manifest.get("files", {}).get("train.jsonl") != digest:
        raise ConfigError(f"{dataset}/train.jsonl changed after its manifest was written")
    return manifest, train


def _device(options: TrainOptions) -> str:
    if options.device != "auto":
        return options.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _arguments(options: TrainOptions, out: Path, device: str) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out),
        max_steps=options.steps,
        per_device_train_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        learning_rate=options.lr,
        warmup_steps=min(options.warmup, max(1, options.steps // 10)),
        lr_scheduler_type="cosine",
        weight_decay=0.0,
        logging_steps=1,
        save_strategy="steps",
        save_steps=options.save_every,
        save_total_limit=2,
        seed=options.seed,
        data_seed=options.seed,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        use_cpu=device == "cpu",
        bf16=device == "cuda",
    )


def _peft(model: Any, options: TrainOptions) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=options.rank,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=list(options.targets),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def _lineage(
    options: TrainOptions,
    *,
    base: BaseModelRef,
    manifest: dict[str, Any],
    train_keys: list[str],
    licence: dict[str, Any],
    result: dict[str, Any],
) -> dict[str, Any]:
    return {
        "kind": "parity-tune-lora",
        "base": {"name": base.name, "card": base.card, "path": str(base.path)},
        "dataset": {
            "path": options.dataset,
            "content_hash": manifest["content_hash"],
            "train_sha256": manifest["files"]["train.jsonl"],
            "heldout_sha256": manifest["files"]["heldout.jsonl"],
            "task": manifest.get("task"),
            "examples": len(train_keys),
        },
        "teacher": manifest.get("teacher"),
        "training": asdict(options),
        "licence": licence,
        "result": result,
        "trained_prompts": sorted(set(train_keys)),
    }


def train(options: TrainOptions, settings: Settings, *, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a LoRA adapter; returns the lineage card written to ``out``."""
    out, dataset = Path(options.out), Path(options.dataset)
    manifest, examples = _splits(dataset)
    base = resolve_base(options.base, card=options.card)
    licence = licence_terms(base, settings)
    params = weights(base.path)
    need = training_memory(params, batch=options.batch_size, length=options.max_length)
    check_memory(need, options.max_memory_gb, "training")
    check_disk(out, 256 * 1024**2, options.reserve_disk_gb, "training")
    _check_resume(out, options)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_bytes(orjson.dumps(asdict(options), option=orjson.OPT_INDENT_2))

    import torch
    from transformers import Trainer, set_seed

    if options.threads:
        torch.set_num_threads(options.threads)
    set_seed(options.seed)
    started = time.perf_counter()
    tokenizer = load_tokenizer(base)
    tokens = tokenise(tokenizer, examples, options.max_length)
    device = _device(options)
    resume = latest_checkpoint(out)
    from transformers.trainer_callback import PrinterCallback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation chatter of transformers and peft
        model = _peft(load_model(base), options)
        trainer = Trainer(
            model=model,
            args=_arguments(options, out, device),
            train_dataset=tokens.rows,
            data_collator=lambda rows: collate(rows, tokenizer.pad_token_id),
            callbacks=[cast(Any, ProgressCallback(enabled=progress))],  # duck-typed
        )
        trainer.remove_callback(PrinterCallback)  # the rich bar shows the loss instead
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        if not trainer.is_world_process_zero():
            return {}
        model.save_pretrained(out / "adapter")
    tokenizer.save_pretrained(out / "base-config")
    inner = model.base_model.model
    inner.config.architectures = [type(inner).__name__]  # a GGUF-read config has none
    inner.config.save_pretrained(out / "base-config")
    history = loss_history(trainer.state.log_history)
    (out / "loss.json").write_bytes(orjson.dumps(history))
    plot = write_loss_plot(history, out / "loss.png")
    result = {
        "steps": trainer.state.global_step,
        "resumed_from": int(resume.name.split("-")[1]) if resume else None,
        "first_loss": history[0]["loss"] if history else None,
        "final_loss": history[-1]["loss"] if history else None,
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": device,
        "threads": torch.get_num_threads(),
        "truncated_examples": tokens.truncated,
        "answer_tokens": tokens.answer_tokens,
        "loss_plot": str(plot) if plot else None,
    }
    keys = [e.key for e in examples]
    card = _lineage(
        options, base=base, manifest=manifest, train_keys=keys, licence=licence, result=result
    )
    write_lineage(out, card)
    return card
