"""parity tune: datasets from traffic, LoRA training, GGUF export, blind evaluation, promotion.

Every command checks its inputs before it changes anything: a bad input is one line on stderr
and a non-zero exit, and the ledger is only ever read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, SinceOpt, parse_since
from parity.cli.output import emit, table
from parity.config import Settings, load_settings
from parity.errors import ConfigError, NotFound
from parity.store.base import Ledger
from parity.store.factory import open_ledger
from parity.tuning.dataset import Source, build_dataset, write_dataset
from parity.tuning.examples import read_examples
from parity.tuning.privacy import PrivacyPolicy
from parity.tuning.sources import from_gaptest, from_ledger

__all__ = ["JsonOpt", "existing_ledger", "register", "tune_app"]

tune_app = typer.Typer(
    name="tune",
    help="Close the gap: tune an open model on your traffic, prove it blind, move the routing.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def existing_ledger(url: str) -> Ledger:
    """Open a ledger that must already exist (a SQLite file is never created here)."""
    if url.startswith("sqlite:///"):
        from parity.store.sqlite import sqlite_path

        if not sqlite_path(url).is_file():
            raise ConfigError(f"no ledger at {sqlite_path(url)} (--ledger, ledger.url)")
    return open_ledger(url)


def _ledger_source(
    settings: Settings, url: str, task: str, teacher: str, since: float | None
) -> Source:
    if settings.ledger.prompts == "off":
        raise ConfigError(
            "the ledger keeps no prompts or answers (ledger.prompts: off): set ledger.prompts "
            "to full or redacted, then serve the task's traffic again"
        )
    store = existing_ledger(url)
    try:
        examples, why, read = from_ledger(store, task=task, teacher=teacher, since=since)
    finally:
        store.close()
    known = [m.id for m in settings.models]
    if read == 0:
        raise NotFound(f"the ledger {url} has no requests of task '{task}'")
    if teacher not in known and why.get("answered by another model", 0) == read:
        raise NotFound(f"unknown teacher '{teacher}': not a configured model ({', '.join(known)})")
    if not examples and why.get("no stored prompt", 0):
        raise ConfigError(
            f"{why['no stored prompt']} requests of task '{task}' by {teacher} were stored "
            "without their prompt (ledger.prompts was off then): nothing to train on"
        )
    describe = {"kind": "ledger", "ledger": url, "task": task, "teacher": teacher}
    filters = {
        "status": 200,
        "validators": "passed (route validators on the teacher's answer)",
        "feedback": "newest feedback not bad (good: false or score < 0.5); a correction "
        "replaces the answer",
        "since": since,
    }
    return Source(describe | {"filters": filters}, examples, why, read)


def _print_dataset(manifest: dict[str, Any], out: Path) -> Any:
    def render(console: Any) -> None:
        counts = manifest["counts"]
        console.print(
            f"dataset {out}: {counts['train']} train, {counts['heldout']} held out "
            f"(of {counts['candidates']} candidates), content hash {manifest['content_hash'][:16]}"
        )
        if manifest["excluded"]:
            rows = [[reason, n] for reason, n in manifest["excluded"].items()]
            console.print(table("left out", ["reason", "examples"], rows))
        tokens = manifest["tokens"]
        rows = [
            [part, *(tokens[part].get(k, "") for k in ("mean", "p50", "p90", "p99", "max"))]
            for part in ("prompt", "answer", "total")
        ]
        title = f"tokens ({tokens['tokenizer']})"
        console.print(table(title, ["", "mean", "p50", "p90", "p99", "max"], rows))

    return render


@tune_app.command("dataset")
def dataset(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the dataset files.")],
    task: Annotated[str | None, typer.Option(help="Build from the ledger: this task.")] = None,
    teacher: Annotated[
        str | None, typer.Option(help="With --task: the deployment whose answers to keep.")
    ] = None,
    gaptest: Annotated[
        list[Path] | None, typer.Option("--from-gaptest", help="A judged gap-test run folder.")
    ] = None,
    jsonl: Annotated[
        list[Path] | None, typer.Option("--from-jsonl", help="Your own chat JSONL file.")
    ] = None,
    heldout: Annotated[
        float | None, typer.Option(min=0.01, max=0.9, help="Held-out share (tune.heldout).")
    ] = None,
    min_examples: Annotated[
        int | None, typer.Option(min=1, help="Fewest examples to accept (tune.min_examples).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
    tokenizer: Annotated[
        str, typer.Option(help="Token counts: 'estimate', or a base model (e.g. smollm2).")
    ] = "smollm2",
    since: SinceOpt = None,
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a fine-tuning dataset (OpenAI chat JSONL) with a held-out split and a manifest."""
    settings = load_settings(config)
    if task is None and not gaptest and not jsonl:
        raise ConfigError("give a source: --task with --teacher, --from-gaptest or --from-jsonl")
    if (task is None) != (teacher is None):
        raise ConfigError("--task and --teacher go together")
    sources: list[Source] = []
    if task is not None and teacher is not None:
        url = ledger or settings.ledger.url
        sources.append(_ledger_source(settings, url, task, teacher, parse_since(since)))
    for run in gaptest or []:
        examples, why, read = from_gaptest(run)
        sources.append(Source({"kind": "gaptest", "run": str(run)}, examples, why, read))
    for path in jsonl or []:
        examples = read_examples(path)
        sources.append(Source({"kind": "jsonl", "file": str(path)}, examples, read=len(examples)))
    from parity.tuning.tokens import token_counter

    count, name = token_counter(tokenizer)
    policy = PrivacyPolicy(settings, stored_redacted=settings.ledger.prompts == "redacted")
    built = build_dataset(
        sources,
        policy,
        heldout=heldout or settings.tune.heldout,
        near=settings.tune.near_duplicate,
        min_examples=min_examples or settings.tune.min_examples,
        seed=seed,
        count_tokens=count,
        tokenizer_name=name,
        describe={"task": task, "teacher": teacher},
    )
    manifest = write_dataset(out, built)
    emit(manifest, as_json, _print_dataset(manifest, out))


def accelerate_command(argv: list[str], processes: int, python: str) -> list[str]:
    """``accelerate launch`` running this same command (``argv``: sys.argv[1:]) without the
    ``--accelerate`` option, whether given as ``--accelerate N`` or ``--accelerate=N``."""
    rest: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--accelerate":
            skip = True  # and its value, the next argument
        elif not arg.startswith("--accelerate="):
            rest.append(arg)
    launch = [python, "-m", "accelerate.commands.launch", "--quiet"]
    return [*launch, "--num_processes", str(processes), "-m", "parity", *rest]


def _accelerate(processes: int) -> None:
    """Run this same command again under ``accelerate launch`` (never returns)."""
    import sys

    command = accelerate_command(sys.argv[1:], processes, sys.executable)
    os.execv(command[0], command)


@tune_app.command("train")
def train_cmd(
    dataset: Annotated[Path, typer.Argument(help="A folder from 'parity tune dataset'.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for checkpoints and result.")],
    base: Annotated[str, typer.Option(help="smollm2, a .gguf file or a HF folder.")] = "smollm2",
    card: Annotated[
        str | None, typer.Option(help="The base's catalog card id (licence terms).")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="Optimizer steps in all.")] = 300,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per step and device.")] = 8,
    grad_accum: Annotated[int, typer.Option(min=1, help="Gradient accumulation.")] = 1,
    lr: Annotated[float, typer.Option(min=0, help="Peak learning rate (cosine).")] = 1e-3,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank.")] = 16,
    alpha: Annotated[int, typer.Option(min=1, help="LoRA alpha.")] = 32,
    max_length: Annotated[int, typer.Option(min=16, help="Tokens per example at most.")] = 512,
    seed: Annotated[int, typer.Option(help="Seed of everything random.")] = 0,
    save_every: Annotated[int, typer.Option(min=1, help="Checkpoint every N steps.")] = 25,
    threads: Annotated[int | None, typer.Option(min=1, help="CPU threads (default all).")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    accelerate: Annotated[
        int | None,
        typer.Option(
            "--accelerate", min=1, help="Run under 'accelerate launch' with N processes (GPUs)."
        ),
    ] = None,
    max_memory_gb: Annotated[
        float | None, typer.Option(min=0, help="Refuse a run estimated to need more.")
    ] = None,
    reserve_disk_gb: Annotated[float, typer.Option(min=0, help="Disk space to leave free.")] = 1.0,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fine-tune the base with LoRA on the dataset's training split (resumes if interrupted)."""
    if accelerate is not None:
        _accelerate(accelerate)
    from parity.tuning.train import TrainOptions, train

    settings = load_settings(config)
    options = TrainOptions(
        dataset=str(dataset), out=str(out), base=base, card=card, steps=steps,
        batch_size=batch_size, grad_accum=grad_accum, lr=lr, rank=rank, alpha=alpha,
        max_length=max_length, seed=seed, save_every=save_every, threads=threads,
        device=device, max_memory_gb=max_memory_gb, reserve_disk_gb=reserve_disk_gb,
    )  # fmt: skip
    card_out = train(options, settings, progress=not as_json)
    if not card_out:
        return  # not the main process of a distributed run

    def render(console: Any) -> None:
        result = card_out["result"]
        resumed = f", resumed at step {result['resumed_from']}" if result["resumed_from"] else ""
        console.print(
            f"trained {out}: {result['steps']} steps{resumed}, loss {result['first_loss']:.3f} "
            f"-> {result['final_loss']:.3f}, {result['wall_s']} s, peak RSS "
            f"{result['peak_rss_mb']:.0f} MB"
        )
        for notice in card_out["licence"].get("notices", []):
            console.print(f"notice: {notice}")

    emit({k: v for k, v in card_out.items() if k != "trained_prompts"}, as_json, render)


def _add_model(entry: dict[str, Any]) -> Any:
    def change(data: dict[str, Any]) -> None:
        models = data.get("models")
        if not models:  # the defaults were in use: list the embedded model explicitly
            from parity.config import local_deployment

            models = [local_deployment().model_dump(mode="json", exclude_defaults=True)]
        data["models"] = [m for m in models if m.get("id") != entry["id"]] + [entry]

    return change


@tune_app.command("export")
def export_cmd(
    run: Annotated[Path, typer.Argument(help="A folder from 'parity tune train'.")],
    form: Annotated[
        str, typer.Option(help="lora (adapter over the base GGUF) or merged (one GGUF).")
    ] = "lora",
    outtype: Annotated[str, typer.Option(help="GGUF type: f16, f32, bf16 or q8_0.")] = "f16",
    model_id: Annotated[
        str | None, typer.Option("--id", help="Deployment id (default local/tuned-TASK).")
    ] = None,
    llama_cpp: Annotated[
        Path | None, typer.Option(help="llama-cpp-python sdist (.tar.gz) or its llama.cpp dir.")
    ] = None,
    register_in: Annotated[
        Path | None, typer.Option("--register", help="Add the deployment to this parity.yaml.")
    ] = None,
    write: Annotated[
        bool, typer.Option("--write", help="With --register: change the file (else a diff).")
    ] = False,
    reserve_disk_gb: Annotated[float, typer.Option(min=0, help="Disk to leave free.")] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Convert the adapter to GGUF with llama.cpp's converters, check it loads, register it."""
    from parity.tuning.configedit import change_config
    from parity.tuning.export import export

    if form not in ("lora", "merged"):
        raise ConfigError("--form must be lora or merged")
    card = export(
        run,
        form="lora" if form == "lora" else "merged",
        outtype=outtype,
        model_id=model_id,
        llama_cpp=llama_cpp,
        reserve_disk_gb=reserve_disk_gb,
    )
    done = card["export"]
    diff, backup = "", None
    if register_in is not None:
        diff, backup = change_config(register_in, _add_model(done["deployment"]), write=write)

    def render(console: Any) -> None:
        size = done["bytes"] / 1024**2
        console.print(
            f"exported {done['deployment']['id']}: {done['lora'] or done['gguf']} ({size:.1f} MB"
            f", {form}), loads in llama.cpp; deployment entry in {run / 'deployment.yaml'}"
        )
        for notice in card["licence"].get("notices", []):
            console.print(f"notice: {notice}")
        if register_in is not None and backup is not None:
            console.print(f"registered in {register_in} (the old file is {backup})")
        elif diff:
            console.print(diff, markup=False, highlight=False)

    emit({"export": done, "diff": diff}, as_json, render)


@tune_app.command("vllm")
def vllm_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Tuned runs sharing one base.")],
    base_model: Annotated[
        str | None, typer.Option(help="What vLLM loads as the base (default: from the card).")
    ] = None,
    url: Annotated[str, typer.Option(help="Where vLLM will listen.")] = "http://127.0.0.1:8001/v1",
    out: Annotated[Path | None, typer.Option(help="Write the command to this script.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The vLLM multi-LoRA command (--enable-lora --lora-modules) and its Parity deployments."""
    import yaml

    from parity.tuning.vllm import vllm_setup

    setup = vllm_setup(runs, base_model=base_model, url=url)
    if out is not None:
        out.write_text(f"#!/bin/sh\nexec {setup['command']}\n", encoding="utf-8")

    def render(console: Any) -> None:
        console.print(setup["command"], markup=False, highlight=False, soft_wrap=True)
        console.print("# models: entries for parity.yaml", markup=False)
        text = yaml.safe_dump(setup["deployments"], sort_keys=False)
        console.print(text, markup=False, highlight=False)

    emit(setup, as_json, render)


def register(app: typer.Typer) -> None:
    """Add ``parity tune``."""
    from parity.cli import tune_prove  # adds evaluate and promote to tune_app

    assert tune_prove.promote_cmd is not None
    app.add_typer(tune_app, name="tune")
