"""parity router train|calibrate|evaluate|score: the learned router, offline.

The work happens in ``parity.training``; this module parses flags and prints results.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
import typer
from rich.console import Console
from rich.text import Text

from parity.cli.output import emit, table
from parity.errors import ConfigError, ParityError
from parity.routing.signals.difficulty import HeuristicDifficulty
from parity.training.artifact import load_router
from parity.training.calibrate import Target, TargetKind
from parity.training.costs import parse_prices
from parity.training.embeddings import Embedder, EmbedderSpec, build_embedder
from parity.training.evaluate import evaluate_router
from parity.training.labels import read_labels, read_prompts
from parity.training.learners import LEARNERS
from parity.training.recalibrate import artifact_costs, calibrate_artifact
from parity.training.train import TrainConfig, train_router

__all__ = ["register"]

router_app = typer.Typer(
    help="Train, calibrate, evaluate and run a learned router from gap-test labels.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CostOpt = Annotated[
    list[str] | None,
    typer.Option("--cost", help="MODEL=USD per 1M tokens (repeat); else the labels' cost field."),
]
TokensOpt = Annotated[
    float | None,
    typer.Option(help="Tokens per request for --cost prices (default: chars/4 of the labels)."),
]


class EmbedderChoice(StrEnum):
    none = "none"
    minilm = "minilm"
    http = "http"


class KnnChoice(StrEnum):
    minilm = "minilm"
    tfidf = "tfidf"


def heuristic_score(text: str) -> float:
    """The gateway's built-in difficulty heuristic on one text (the heuristic baseline)."""
    return HeuristicDifficulty.score_text(text)[0]


def _knn_embedder(kind: KnnChoice, console: Console) -> tuple[Embedder | None, str]:
    """MiniLM for the kNN baseline, or TF-IDF where asked or where MiniLM cannot load."""
    if kind is KnnChoice.minilm:
        try:
            return build_embedder(EmbedderSpec("minilm")), "knn (MiniLM)"
        except (ConfigError, ImportError, OSError) as exc:
            console.print(_knn_fallback_note(exc))
    return None, "knn (TF-IDF)"


def _knn_fallback_note(exc: Exception) -> Text:
    """Why the kNN baseline is TF-IDF, as plain text: rich markup would eat '[embed]'."""
    reason = exc.message if isinstance(exc, ParityError) else str(exc)
    return Text.assemble(
        ("MiniLM cannot load", "yellow"),
        f" ({reason}); the kNN baseline uses TF-IDF (--knn tfidf picks it without this note)",
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _embedder(
    kind: EmbedderChoice, url: str | None, model: str | None, key_env: str | None
) -> EmbedderSpec | None:
    if kind is EmbedderChoice.none:
        return None
    if kind is EmbedderChoice.http and not (url and model):
        raise ConfigError("--embedder http needs --embeddings-url and --embeddings-model")
    return EmbedderSpec(kind.value, url=url, model=model, api_key_env=key_env)


@router_app.command("train")
def train(
    labels: Annotated[Path, typer.Argument(help="Label file (JSON lines).")],
    strong: Annotated[str, typer.Option(help="The strong (dear) model id.")],
    weak: Annotated[str, typer.Option(help="The weak (cheap) model id.")],
    out: Annotated[Path, typer.Option(help="Artifact directory to write.")],
    also: Annotated[
        list[str] | None, typer.Option("--also", help="A further model to choose among (repeat).")
    ] = None,
    embedder: Annotated[
        EmbedderChoice, typer.Option(help="Also try sentence embeddings: minilm or an http API.")
    ] = EmbedderChoice.none,
    embeddings_url: Annotated[str | None, typer.Option(help="…/v1 of an embeddings API.")] = None,
    embeddings_model: Annotated[str | None, typer.Option(help="Model name for that API.")] = None,
    embeddings_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding its API key.")
    ] = None,
    learner: Annotated[
        list[str] | None, typer.Option(help=f"Restrict learners ({', '.join(LEARNERS)}).")
    ] = None,
    candidate: Annotated[
        list[str] | None,
        typer.Option(help="Try only these router pairs, e.g. tfidf/lr (repeat); see docs."),
    ] = None,
    apgr_tolerance: Annotated[
        float, typer.Option(min=0.0, help="Prefer a faster candidate within this APGR of the best.")
    ] = 0.01,
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for folds and the held-out split.")] = 0,
    holdout: Annotated[
        float,
        typer.Option(
            help="Fraction kept out of training (DIR/heldout.jsonl); the manifest reports what "
            "the calibrated thresholds give on it. 0 trains on everything."
        ),
    ] = 0.2,
    cascade: Annotated[
        bool, typer.Option(help="Train the cascade scorer when the labels have weak answers.")
    ] = True,
    target_quality: Annotated[
        float, typer.Option(help="Initial calibration: share of the strong model's quality.")
    ] = 0.95,
    cost: CostOpt = None,
    tokens_per_request: TokensOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a router; the learner is chosen by cross-validated APGR."""
    unknown = [name for name in learner or [] if name not in LEARNERS]
    if unknown:
        raise ConfigError(f"unknown learner {unknown[0]!r}; known: {', '.join(LEARNERS)}")
    config = TrainConfig(
        strong=strong,
        weak=weak,
        also=tuple(also or ()),
        embedder=_embedder(embedder, embeddings_url, embeddings_model, embeddings_key_env),
        learners=tuple(learner or LEARNERS),
        candidates=tuple(candidate or ()),
        tolerance=apgr_tolerance,
        folds=folds,
        seed=seed,
        holdout=holdout,
        cascade=cascade,
        target=Target("quality", target_quality),
        prices=parse_prices(cost or []),
        tokens_per_request=tokens_per_request,
    )
    manifest = train_router(read_labels(labels), config, out)
    emit(_train_summary(manifest, out), as_json, lambda c: _render_train(c, manifest, out))


def _train_summary(manifest: dict[str, Any], out: Path) -> dict[str, Any]:
    keys = ("version", "strong", "weak", "models", "training_data", "metrics", "calibration")
    summary = {k: manifest.get(k) for k in keys}
    thresholds = ("threshold", "cascade_threshold", "quality_threshold")
    return summary | {"artifact": str(out)} | {k: manifest.get(k) for k in thresholds}


def _render_train(console: Console, manifest: dict[str, Any], out: Path) -> None:
    data = manifest["training_data"]
    console.print(
        f"trained on {data['trained_on']} of {data['records']} records "
        f"({data['held_out']} held out); artifact {out} version {manifest['version']}"
    )
    for role, results in manifest["metrics"]["cv"].items():
        chosen = manifest["metrics"]["chosen"][role]
        rows = [
            [
                ("* " if name == chosen else "  ") + name,
                _num(m["apgr"]),
                _pct(m["cpt50"]),
                _pct(m["cpt80"]),
                _pct(m["share_at_target"]),
            ]
            for name, m in results.items()
        ]
        columns = ["candidate", "APGR", "CPT(50%)", "CPT(80%)", "strong calls @95%"]
        folds = manifest["settings"]["folds"]
        console.print(table(f"{role}: {folds}-fold cross-validated", columns, rows))
    _render_points(console, manifest["calibration"])


def _render_points(console: Console, calibration: dict[str, Any]) -> None:
    rows = [
        [
            mode,
            _num(p["threshold"], 4),
            _pct(p["strong_share"]),
            _num(p["quality"]),
            _pct(p["quality_share"]),
            _num(p["cost_per_request"], 6),
            _pct(p["saving"]),
        ]
        for mode, p in calibration.items()
        if mode not in ("target", "holdout")
    ]
    columns = ["mode", "threshold", "strong calls", "quality", "of strong", "USD/request", "saving"]
    target = calibration["target"]
    what = f"{target['kind'].replace('_', ' ')} = {target['value']:g}"
    if target.get("requests_per_day"):
        what += f" USD/day at {target['requests_per_day']:g} requests/day"
    console.print(table(f"calibrated for {what} (cross-validated, nested)", columns, rows))
    held = calibration.get("holdout")
    if held:
        rows = [
            [
                mode,
                _pct(p["strong_share"]),
                _num(p["quality"]),
                _pct(p["quality_share"]),
                _num(p["cost_per_request"], 6),
            ]
            for mode, p in held.items()
            if mode != "prompts"
        ]
        columns = ["mode", "strong calls", "quality", "of strong", "USD/request"]
        title = f"the same thresholds on the {held['prompts']} held-out prompts"
        console.print(table(title, columns, rows))


@router_app.command("calibrate")
def calibrate(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    target_quality: Annotated[
        float | None, typer.Option(help="Share of the strong model's quality to keep, e.g. 0.95.")
    ] = None,
    strong_share: Annotated[
        float | None, typer.Option(help="Share of calls to send to the strong model, e.g. 0.3.")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="USD per day to spend.")] = None,
    requests_per_day: Annotated[
        float | None, typer.Option(help="Daily requests on the route (with --budget).")
    ] = None,
    cost: CostOpt = None,
    tokens_per_request: TokensOpt = None,
    plot: Annotated[Path | None, typer.Option(help="PNG path (default DIR/curve.png).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the threshold for a target and plot the cost-quality curve (random, oracle)."""
    options: list[tuple[TargetKind, float | None]] = [
        ("quality", target_quality),
        ("strong_share", strong_share),
        ("budget", budget),
    ]
    given = [(kind, value) for kind, value in options if value is not None]
    if len(given) != 1:
        raise ConfigError("give exactly one of --target-quality, --strong-share or --budget")
    kind, value = given[0]
    target = Target(kind, float(value or 0.0), requests_per_day)
    result = calibrate_artifact(
        artifact,
        target,
        prices=parse_prices(cost or []),
        tokens_per_request=tokens_per_request,
        plot=plot,
    )

    def render(console: Console) -> None:
        _render_points(console, result["chosen"] | {"target": target.to_json()})
        names = [k for k in result["curve"][0] if k != "strong_share"]
        rows = [[_pct(r["strong_share"]), *(_num(r[n]) for n in names)] for r in result["curve"]]
        console.print(
            table(
                "quality by share of strong calls (cross-validated)", ["strong calls", *names], rows
            )
        )
        console.print(f"plot: {result['plot']}")

    emit(result, as_json, render)


@router_app.command("evaluate")
def evaluate(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    labels: Annotated[Path, typer.Argument(help="Held-out label file.")],
    target_quality: Annotated[float, typer.Option(help="Quality share for the cost row.")] = 0.95,
    include_training: Annotated[
        bool, typer.Option(help="Also count prompts the router was trained on (optimistic).")
    ] = False,
    knn: Annotated[
        KnnChoice, typer.Option(help="Embeddings for the kNN baseline: local MiniLM or TF-IDF.")
    ] = KnnChoice.minilm,
    cost: CostOpt = None,
    tokens_per_request: TokensOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """APGR, CPT(50%), CPT(80%), strong calls for the target and the saving, with baselines.

    Baselines: random, oracle, the built-in heuristic, a category prior (labels with
    categories) and kNN on local embeddings, the last two fitted on the training prompts.
    """
    router = load_router(artifact)
    costs = artifact_costs(router.manifest, parse_prices(cost or []), tokens_per_request)
    embedder, knn_name = _knn_embedder(knn, Console(stderr=True))
    report = evaluate_router(
        router,
        read_labels(labels),
        costs=costs,
        target=target_quality,
        include_training=include_training,
        knn_embedder=embedder,
        knn_name=knn_name,
        heuristic=heuristic_score,
    )

    def render(console: Console) -> None:
        console.print(
            f"{report['evaluated']} prompts evaluated ({report['skipped_seen_in_training']} "
            f"skipped as seen in training, {report['skipped_unscored']} not scored)"
        )
        rows = [
            [
                name,
                _num(m["apgr"]),
                _pct(m["cpt50"]),
                _pct(m["cpt80"]),
                _pct(m["share_at_target"]),
                _pct(m["strong_calls_saved"]),
                _pct(m["cost_saving"]),
            ]
            for name, m in report["routers"].items()
        ]
        columns = [
            "router",
            "APGR",
            "CPT(50%)",
            "CPT(80%)",
            f"strong calls @{target_quality:.0%}",
            "calls saved",
            "cost saving",
        ]
        console.print(table("held-out routing quality, with baselines", columns, rows))
        for name, why in report["baselines_skipped"].items():
            console.print(f"no {name} baseline: {why}")
        at = report["at_calibrated_threshold"]
        rows = [
            [mode, _pct(p.get("strong_share")), _num(p["quality"]), _pct(p.get("quality_share"))]
            for mode, p in at.items()
        ]
        console.print(
            table(
                "at the calibrated thresholds",
                ["mode", "strong calls", "quality", "of strong"],
                rows,
            )
        )

    emit(report, as_json, render)


@router_app.command("score")
def score(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    prompts: Annotated[Path, typer.Argument(help="JSON lines with id and prompt or messages.")],
) -> None:
    """One JSON line per prompt: id, strong-model probability, and the model it would pick."""
    router = load_router(artifact)
    records = read_prompts(prompts)
    texts = [r.text for r in records]
    probabilities = router.difficulties(texts)
    models = router.choose_many(texts)
    for record, probability, model in zip(records, probabilities, models, strict=True):
        line: dict[str, Any] = {
            "id": record.id,
            "strong_probability": round(float(probability), 6),
            "model": model,
        }
        bar = router.cascade_threshold
        if record.answer is not None and router.has_cascade and bar is not None:
            weak_ok = router.weak_ok(record.text, record.answer)
            line["weak_ok"] = round(weak_ok, 6)
            line["escalate"] = bool(router.escalate_mask([record.text], np.array([weak_ok]))[0])
        typer.echo(orjson.dumps(line).decode())


def register(app: typer.Typer) -> None:
    """Add ``parity router``."""
    app.add_typer(router_app, name="router")
