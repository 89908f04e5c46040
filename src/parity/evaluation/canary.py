"""The behaviour canary: a pinned prompt set, scored now and compared with a stored baseline.

A canary set is a gap-test prompt file whose items carry references, or are scored by judges
given with it. Each run asks the chosen deployments again, scores every answer with the same
judges, and pairs each item's score with its baseline score. The paired outcomes (better, same,
worse) go through the gap test's statistics (:func:`parity.evaluation.stats.pair_stats`): the
canary reports a regression only when the 95% interval of "the baseline wins more often" lies
wholly above zero. With fewer than ``MIN_ITEMS`` paired scores it says "could not measure",
never "no drift": an unreachable upstream has not been measured.

The upstream's own version signals (``system_fingerprint``, and the response's ``model`` where
the provider keeps it) are kept per answer; a set different from the baseline's is flagged.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from parity.errors import ConfigError
from parity.evaluation.datasets import load_prompts
from parity.evaluation.records import Item, Verdict
from parity.evaluation.stats import MIN_ITEMS, Interval, mean_interval, pair_stats

__all__ = [
    "BASELINE_VERSION",
    "DEFAULT_JUDGE",
    "Baseline",
    "CanarySet",
    "CanaryStatus",
    "CanaryVerdict",
    "Measurement",
    "compare",
    "load_canary_set",
    "read_baseline",
    "scores_from",
    "write_baseline",
]

BASELINE_VERSION = 1
DEFAULT_JUDGE = "normalised:contains=true"
"""Used when the set gives references and no judge: the answer must contain the reference."""

# Judges that can only score an item that has a reference.
_REFERENCE_KINDS = {"exact", "normalised", "numeric", "choice"}

JudgeEntry = tuple[str | None, str, dict[str, Any]]


class CanaryStatus(StrEnum):
    """What one deployment's canary run found."""

    REGRESSION = "regression"  # worse than the baseline beyond the interval: exit 1
    NO_REGRESSION = "no_regression"  # the interval does not exclude "no change"
    IMPROVED = "improved"  # better than the baseline beyond the interval
    COULD_NOT_MEASURE = "could_not_measure"  # too few answers scored (errors, unreachable)
    BASELINE_RECORDED = "baseline_recorded"  # no baseline yet for this deployment


@dataclass(frozen=True, slots=True)
class CanarySet:
    """The pinned prompts, the judges that score them, and a digest of both."""

    path: str
    items: list[Item]
    judges: list[JudgeEntry]
    params: dict[str, Any]
    digest: str


def _digest(items: Iterable[Item], judges: list[JudgeEntry], params: Mapping[str, Any]) -> str:
    payload = {
        "items": [[i.id, i.messages, i.reference, i.category, i.meta] for i in items],
        "judges": [[c, k, dict(sorted(o.items()))] for c, k, o in judges],
        "params": dict(sorted(params.items())),
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def load_canary_set(path: Path, judges: list[JudgeEntry], params: dict[str, Any]) -> CanarySet:
    """Read a prompt file as a canary set; one ConfigError when it cannot be scored."""
    items = load_prompts(path).items
    if len(items) < MIN_ITEMS:
        raise ConfigError(
            f"canary set {path} has {len(items)} prompt(s); the paired interval needs at least "
            f"{MIN_ITEMS} to conclude anything"
        )
    with_reference = sum(1 for i in items if i.reference is not None)
    if not judges:
        if not with_reference:
            raise ConfigError(
                f"canary set {path} has no references and no judge: give each prompt a "
                "'reference', or pass --judge (e.g. llm-single:model=ID or json)"
            )
        judges = [(None, "normalised", {"contains": "true"})]
    if any(kind == "llm-pairwise" for _, kind, _ in judges):
        raise ConfigError("the canary scores each answer alone: use llm-single, not llm-pairwise")
    if not with_reference and all(kind in _REFERENCE_KINDS for _, kind, _ in judges):
        kinds = ", ".join(sorted({k for _, k, _ in judges}))
        raise ConfigError(f"canary set {path} has no references for its judge(s) ({kinds})")
    return CanarySet(str(path), items, judges, params, _digest(items, judges, params))


@dataclass(slots=True)
class Measurement:
    """One deployment's scores on the set this run, and what went wrong."""

    scores: dict[str, float] = field(default_factory=dict)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    fingerprints: list[str] = field(default_factory=list)
    upstream_models: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """For the baseline file and --json."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurement:
        """Read what ``to_json`` wrote."""
        return cls(
            scores={str(k): float(v) for k, v in (data.get("scores") or {}).items()},
            failed=int(data.get("failed", 0)),
            errors=[str(e) for e in data.get("errors") or []],
            fingerprints=[str(f) for f in data.get("fingerprints") or []],
            upstream_models=[str(m) for m in data.get("upstream_models") or []],
        )


def scores_from(verdicts: Iterable[Verdict], judge_order: list[str]) -> dict[str, dict[str, float]]:
    """Per model, per item: the score of the first judge (in plan order) that scored it."""
    rank = {name: i for i, name in enumerate(judge_order)}
    best: dict[tuple[str, str], tuple[int, float]] = {}
    for verdict in verdicts:
        if verdict.model is None or verdict.score is None:
            continue
        key = (verdict.model, verdict.item)
        order = rank.get(verdict.judge, len(rank))
        if key not in best or order < best[key][0]:
            best[key] = (order, float(verdict.score))
    out: dict[str, dict[str, float]] = {}
    for (model, item), (_, score) in best.items():
        out.setdefault(model, {})[item] = score
    return out


@dataclass(slots=True)
class Baseline:
    """The stored reference: which set it was measured on, and each deployment's scores."""

    digest: str
    source: str
    created: float
    models: dict[str, Measurement]
    version: int = BASELINE_VERSION

    def to_json(self) -> dict[str, Any]:
        """The baseline file's content."""
        return {
            "version": self.version,
            "prompt_set": self.digest,
            "source": self.source,
            "created": self.created,
            "models": {m: v.to_json() for m, v in self.models.items()},
        }


def read_baseline(path: Path, canary: CanarySet) -> Baseline | None:
    """The baseline at ``path`` (None when there is none yet); a ConfigError if it belongs to
    another prompt set, other judges or other request parameters."""
    if not path.exists():
        return None
    try:
        data = orjson.loads(path.read_bytes())
        baseline = Baseline(
            digest=str(data["prompt_set"]),
            source=str(data.get("source", "")),
            created=float(data.get("created", 0.0)),
            models={m: Measurement.from_json(v) for m, v in dict(data["models"]).items()},
            version=int(data.get("version", 0)),
        )
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is not a canary baseline: {exc}") from exc
    if baseline.version != BASELINE_VERSION:
        raise ConfigError(f"{path}: baseline format {baseline.version} is not {BASELINE_VERSION}")
    if baseline.digest != canary.digest:
        raise ConfigError(
            f"{path} is the baseline of another prompt set ({baseline.source}, {baseline.digest}); "
            f"{canary.path} with these judges and parameters is {canary.digest}: record a new "
            "baseline with --update-baseline"
        )
    return baseline


def write_baseline(path: Path, baseline: Baseline) -> None:
    """Replace the baseline file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(baseline.to_json(), option=orjson.OPT_INDENT_2))
    tmp.replace(path)


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    """One deployment now against its baseline."""

    model: str
    status: CanaryStatus
    paired: int
    baseline_mean: float | None
    mean: float | None
    change: Interval | None  # mean score now minus the baseline's, paired by item
    worse_more_often: Interval | None  # share the baseline won minus share it lost
    failed: int
    version_change: str | None
    summary: str
    ts: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        """For --json and the ledger."""
        data = asdict(self)
        data["status"] = self.status.value
        data["change"] = self.change.as_dict() if self.change else None
        data["worse_more_often"] = (
            self.worse_more_often.as_dict() if self.worse_more_often else None
        )
        return data


def _version_change(before: Measurement, now: Measurement) -> str | None:
    changes = []
    for name, old, new in (
        ("system_fingerprint", before.fingerprints, now.fingerprints),
        ("model", before.upstream_models, now.upstream_models),
    ):
        if old and new and set(new) - set(old):
            changes.append(f"{name} {', '.join(sorted(old))} -> {', '.join(sorted(new))}")
    return "; ".join(changes) or None


def compare(model: str, before: Measurement | None, now: Measurement) -> CanaryVerdict:
    """The verdict for ``model``: regression only when the paired interval says so."""
    if before is None and len(now.scores) < MIN_ITEMS:
        why = f"; last error: {now.errors[-1]}" if now.errors else ""
        return CanaryVerdict(
            model, CanaryStatus.COULD_NOT_MEASURE, len(now.scores), None,
            _mean(now.scores.values()) if now.scores else None, None, None, now.failed, None,
            f"{model}: could not measure, so no baseline was recorded: {len(now.scores)} prompts "
            f"scored (need {MIN_ITEMS}), {now.failed} failed{why}",
        )  # fmt: skip
    if before is None:
        return CanaryVerdict(
            model, CanaryStatus.BASELINE_RECORDED, len(now.scores), None,
            _mean(now.scores.values()), None, None, now.failed, None,
            f"{model}: baseline recorded ({len(now.scores)} scored, {now.failed} failed)",
        )  # fmt: skip
    items = sorted(set(before.scores) & set(now.scores))
    versions = _version_change(before, now)
    if len(items) < MIN_ITEMS:
        why = f"; last error: {now.errors[-1]}" if now.errors else ""
        return CanaryVerdict(
            model, CanaryStatus.COULD_NOT_MEASURE, len(items), _mean(before.scores.values()),
            _mean(now.scores.values()) if now.scores else None, None, None, now.failed, versions,
            f"{model}: could not measure: {len(items)} of {len(before.scores)} prompts scored "
            f"(need {MIN_ITEMS}), {now.failed} failed{why}",
        )  # fmt: skip
    old = [before.scores[i] for i in items]
    new = [now.scores[i] for i in items]
    outcomes = [1 if b > a else -1 if b < a else 0 for a, b in zip(old, new, strict=True)]
    stats = pair_stats(f"{model} now", f"{model} baseline", outcomes)
    change = mean_interval([b - a for a, b in zip(old, new, strict=True)], bounds=(-1.0, 1.0))
    worse = stats.difference
    if worse.low > 0:
        status, words = CanaryStatus.REGRESSION, "REGRESSION"
    elif worse.high < 0:
        status, words = CanaryStatus.IMPROVED, "improved"
    else:
        status, words = CanaryStatus.NO_REGRESSION, "no regression beyond the interval"
    summary = (
        f"{model}: {words}: mean score {_mean(old):.2f} -> {_mean(new):.2f} on {len(items)} "
        f"prompts; worse on {stats.losses}, better on {stats.wins}; the baseline wins "
        f"{worse.value:+.0%} more often (95% interval {worse.low:+.0%} to {worse.high:+.0%})"
    )
    if now.failed:
        summary += f"; {now.failed} answers failed"
    if versions:
        summary += f"; upstream version changed: {versions}"
    return CanaryVerdict(
        model, status, len(items), _mean(old), _mean(new), change, worse, now.failed, versions,
        summary,
    )  # fmt: skip


def _mean(values: Iterable[float]) -> float | None:
    data = list(values)
    return sum(data) / len(data) if data else None
