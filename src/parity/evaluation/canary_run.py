"""One canary run: the set through the gap-test runner and its judges, then the verdicts.

Each run asks again (a fresh run directory, no answer cache), so a changed upstream cannot hide
behind answers an earlier run paid for. The run directory is kept when ``out`` is given.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from parity.catalog.deployment import Residency
from parity.config import Settings
from parity.errors import ConfigError
from parity.evaluation.canary import (
    Baseline,
    CanarySet,
    CanaryStatus,
    CanaryVerdict,
    Measurement,
    compare,
    load_canary_set,
    read_baseline,
    scores_from,
    write_baseline,
)
from parity.evaluation.judges import registry
from parity.evaluation.judges.base import JudgeContext, JudgePlan
from parity.evaluation.judging import judge_items, plan_entries
from parity.evaluation.limits import RetryPolicy
from parity.evaluation.rundir import RunDir
from parity.evaluation.runner import Runner, RunOptions
from parity.evaluation.upstreams import Upstreams
from parity.store.canary import CanaryResults, CanaryRow
from parity.store.factory import open_ledger

__all__ = [
    "CanaryJob",
    "CanaryLoop",
    "CanaryReport",
    "canary_rows",
    "default_baseline",
    "measure",
    "run_canary",
    "run_job",
]


@dataclass(frozen=True, slots=True)
class CanaryReport:
    """Every deployment's verdict, and the baseline to keep (updated for new deployments)."""

    verdicts: list[CanaryVerdict]
    baseline: Baseline
    measurements: dict[str, Measurement]

    @property
    def regressed(self) -> bool:
        """True when any deployment regressed beyond the interval."""
        return any(v.status is CanaryStatus.REGRESSION for v in self.verdicts)

    @property
    def unmeasured(self) -> bool:
        """True when any deployment could not be measured."""
        return any(v.status is CanaryStatus.COULD_NOT_MEASURE for v in self.verdicts)


def _judge_models(canary: CanarySet) -> list[str]:
    return [
        str(o["model"]) for _, kind, o in canary.judges if kind.startswith("llm") and "model" in o
    ]


async def measure(
    canary: CanarySet,
    models: list[str],
    settings: Settings,
    env: Mapping[str, str],
    *,
    out: Path | None = None,
    retry: RetryPolicy | None = None,
    concurrency: int = 4,
) -> dict[str, Measurement]:
    """Ask every model every prompt now, and score the answers with the set's judges."""
    from parity.evaluation.datasets import Dataset

    retry = retry or RetryPolicy(max_retries=2, base_delay_s=0.2, max_delay_s=2.0)
    holder = None if out is not None else tempfile.TemporaryDirectory(prefix="parity-canary-")
    folder = out if out is not None else Path(holder.name)  # type: ignore[union-attr]
    try:
        run = RunDir(folder / time.strftime("%Y%m%dT%H%M%S"))
        options = RunOptions(
            models=models, params=dict(canary.params), concurrency=concurrency, retry=retry
        )
        data = Dataset(items=canary.items, source=canary.path)
        needed = [*models, *_judge_models(canary)]
        async with Upstreams(settings, env, needed, retry=retry) as upstreams:
            await Runner(run, data, options).execute(upstreams)
            answers = run.answers()
            plan = JudgePlan.build(
                canary.judges, registry(), JudgeContext(base_dir=Path.cwd(), caller=upstreams)
            )
            verdicts = await judge_items(plan, canary.items, answers, models)
        scored = scores_from(verdicts, plan.names)
        found: dict[str, Measurement] = {}
        for model in models:
            mine = [a for (_, m), a in answers.items() if m == model]
            failed = [a for a in mine if a.error is not None]
            found[model] = Measurement(
                scores=scored.get(model, {}),
                failed=len(failed),
                errors=[f"{a.error}: {a.error_message}" for a in failed[-3:]],
                fingerprints=sorted({a.system_fingerprint for a in mine if a.system_fingerprint}),
                upstream_models=sorted({a.upstream_model for a in mine if a.upstream_model}),
            )
        return found
    finally:
        if holder is not None:
            holder.cleanup()


async def run_canary(
    canary: CanarySet,
    models: list[str],
    baseline: Baseline | None,
    settings: Settings,
    env: Mapping[str, str],
    *,
    out: Path | None = None,
    update_baseline: bool = False,
) -> CanaryReport:
    """Measure now and compare with ``baseline``; deployments it lacks are added to it.

    With ``update_baseline`` the new measurements replace the baseline's (after comparing).
    """
    measured = await measure(canary, models, settings, env, out=out)
    kept = dict(baseline.models) if baseline is not None else {}
    verdicts = [compare(m, kept.get(m), measured[m]) for m in models]
    for verdict in verdicts:
        recorded = verdict.status is CanaryStatus.BASELINE_RECORDED
        if recorded or (update_baseline and verdict.status is not CanaryStatus.COULD_NOT_MEASURE):
            kept[verdict.model] = measured[verdict.model]
    if baseline is None or update_baseline or set(kept) != set(baseline.models):
        baseline = Baseline(canary.digest, canary.path, time.time(), kept)
    return CanaryReport(verdicts, baseline, measured)


@dataclass(frozen=True, slots=True)
class CanaryJob:
    """Everything one canary run needs: from `parity canary run` flags or the config."""

    prompts: Path
    models: list[str]
    baseline: Path
    judges: list[str]
    max_tokens: int = 256
    update_baseline: bool = False
    out: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CanaryJob:
        """The job the config's ``canary:`` section describes."""
        section = settings.canary
        if section.prompts is None:
            raise ConfigError("no canary prompt set: give PROMPTS or canary.prompts in the config")
        prompts = Path(section.prompts).expanduser()
        models = section.models or [
            m.id for m in settings.models if m.residency is Residency.VENDOR
        ]
        if not models:
            raise ConfigError("no deployment to watch: give --models or canary.models")
        baseline = Path(section.baseline) if section.baseline else default_baseline(prompts)
        return cls(prompts, models, baseline.expanduser(), section.judges, section.max_tokens)


def default_baseline(prompts: Path) -> Path:
    """Where a prompt set's baseline lives unless told: next to it."""
    return prompts.with_name(prompts.name + ".baseline.json")


def canary_rows(report: CanaryReport, canary: CanarySet, run_id: str) -> list[CanaryRow]:
    """The ledger rows of one run."""
    rows = []
    for v in report.verdicts:
        worse = v.worse_more_often
        rows.append(
            CanaryRow(
                id=f"{run_id}:{v.model}",
                run_id=run_id,
                ts=v.ts,
                prompt_set=canary.digest,
                source=canary.path,
                model=v.model,
                status=v.status.value,
                paired=v.paired,
                failed=v.failed,
                baseline_mean=v.baseline_mean,
                mean_score=v.mean,
                score_change=v.change.value if v.change else None,
                worse_low=worse.low if worse else None,
                worse_high=worse.high if worse else None,
                version_change=v.version_change,
                summary=v.summary,
            )
        )
    return rows


async def run_job(
    job: CanaryJob, settings: Settings, env: Mapping[str, str], *, ledger_url: str | None
) -> tuple[CanaryReport, CanarySet]:
    """Load the set and baseline, measure, keep the baseline, and record the rows."""
    entries = plan_entries(job.judges, None)
    canary = load_canary_set(job.prompts, entries, {"temperature": 0, "max_tokens": job.max_tokens})
    baseline = read_baseline(job.baseline, canary)
    report = await run_canary(
        canary,
        job.models,
        baseline,
        settings,
        env,
        out=job.out,
        update_baseline=job.update_baseline,
    )
    if report.baseline is not baseline:
        write_baseline(job.baseline, report.baseline)
    if ledger_url is not None:
        await asyncio.to_thread(_record, ledger_url, canary_rows(report, canary, uuid.uuid4().hex))
    return report, canary


def _record(url: str, rows: list[CanaryRow]) -> None:
    open_ledger(url).close()  # applies pending migrations (007 makes canary_results)
    store = CanaryResults(url)
    try:
        store.record(rows)
    finally:
        store.close()


class CanaryLoop:
    """The canary inside ``parity serve``: the config's job every ``canary.interval_s``.

    It runs in a thread of its own with its own event loop, so a slow upstream never delays the
    gateway's requests; a failed run is logged and the next one is tried on schedule.
    """

    def __init__(self, settings: Settings, env: Mapping[str, str]):
        if settings.canary.interval_s is None:
            raise ConfigError("canary.interval_s is not set")
        self.job = CanaryJob.from_settings(settings)
        params = {"temperature": 0, "max_tokens": self.job.max_tokens}
        load_canary_set(self.job.prompts, plan_entries(self.job.judges, None), params)  # fail now
        self.interval_s = settings.canary.interval_s
        self._settings = settings
        self._env = dict(env)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="parity-canary", daemon=True)
        self.runs = 0

    def start(self) -> CanaryLoop:
        """Begin; the first run starts one interval from now."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the run in progress, if any."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        log = logging.getLogger("parity.canary")
        while not self._stop.wait(self.interval_s):
            try:
                report, _ = asyncio.run(
                    run_job(
                        self.job, self._settings, self._env, ledger_url=self._settings.ledger.url
                    )
                )
            except Exception as exc:  # a broken run must not end the loop or the gateway
                log.error("canary run failed: %s", exc)
                continue
            self.runs += 1
            for verdict in report.verdicts:
                level = (
                    logging.WARNING
                    if verdict.status is not CanaryStatus.NO_REGRESSION
                    else logging.INFO
                )
                log.log(level, "canary: %s", verdict.summary)
