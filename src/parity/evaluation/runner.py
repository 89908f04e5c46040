"""Run a gap test: every prompt through every model, paced, retried, capped, resumable.

Answers go through the same providers as the gateway's. Each finished answer is appended to
RUN/answers.jsonl at once, so a killed run keeps what it finished, and a re-run with the same
run directory makes no call for any answer it already has (see :mod:`cache`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.catalog.deployment import Residency
from parity.evaluation.cache import AnswerCache, cache_key
from parity.evaluation.datasets import Dataset
from parity.evaluation.limits import Attempt, RateLimiter, RetryPolicy, call_with_retries
from parity.evaluation.records import Answer, Item, Verdict
from parity.evaluation.rundir import JsonlWriter, Manifest, ModelInfo, RunDir
from parity.evaluation.upstreams import Upstreams
from parity.providers.base import Completion

__all__ = ["ProgressHook", "RunOptions", "RunSummary", "Runner"]

ProgressHook = Callable[[int, int, float], None]
"""Called as (answers finished, answers in all, USD spent so far)."""

RECORDED_JUDGE = "recorded"

_COUNTS = ("answers", "live", "cached", "recorded", "skipped", "failed", "retries", "spent_usd")
_Call = tuple[Item, str, str, dict[str, Any]]
"""One call still to make: item, model, cache key, request body."""


@dataclass(slots=True)
class RunOptions:
    """How a run calls models."""

    models: list[str]
    params: dict[str, Any] = field(default_factory=lambda: {"temperature": 0, "max_tokens": 512})
    concurrency: int = 4
    rate_per_minute: dict[str, float] = field(default_factory=dict)
    timeout_s: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_cost_usd: float | None = None
    cache_path: Path | None = None
    seed: int = 0


@dataclass(slots=True)
class RunSummary:
    """What a run did."""

    status: str
    answers: int = 0
    live: int = 0
    cached: int = 0
    recorded: int = 0
    skipped_sensitive: int = 0
    failed: int = 0
    retries: int = 0
    spent_usd: float = 0.0
    per_model: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per model: answers, live, cached, recorded, skipped, failed, retries, spent_usd."""
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per model: each distinct failure reason ('ErrorType: message') and how many answers."""


def _body(item: Item, params: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": item.messages, **params}
    for name in ("tools", "response_format"):
        if name in item.meta:
            body[name] = item.meta[name]
    return body


def _answer_from(
    completion: Completion,
    answer: Answer,
    price_cost: Callable[[int, int], float],
    body: dict[str, Any],
) -> None:
    choices = completion.body.get("choices") or [{}]
    message = choices[0].get("message") or {}
    answer.text = completion.text
    fingerprint = completion.body.get("system_fingerprint")
    answer.system_fingerprint = fingerprint if isinstance(fingerprint, str) else None
    answer.upstream_model = completion.upstream_model
    calls = message.get("tool_calls")
    answer.tool_calls = calls if isinstance(calls, list) and calls else None
    answer.finish_reason = choices[0].get("finish_reason")
    usage = completion.usage
    if usage is not None:
        answer.input_tokens, answer.output_tokens = usage.input_tokens, usage.output_tokens
        answer.usage_estimated = usage.estimated
    else:  # about four characters a token: marked as an estimate
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body["messages"])
        answer.input_tokens, answer.output_tokens = prompt_chars // 4, len(answer.text) // 4 + 1
        answer.usage_estimated = True
    answer.cost_usd = price_cost(answer.input_tokens, answer.output_tokens)


class Runner:
    """Runs one dataset into one run directory."""

    def __init__(self, run: RunDir, dataset: Dataset, options: RunOptions):
        self.run = run
        self.data = dataset
        self.options = options
        self.summary = RunSummary(status="running")
        self._rng = random.Random(options.seed)
        self._spent = 0.0
        self._done = 0
        self._total = 0
        self._stopped = False
        self._writer: JsonlWriter | None = None
        self._cache: AnswerCache | None = None
        self._upstreams: Upstreams | None = None
        self._progress: ProgressHook | None = None
        self._limiters: dict[str, RateLimiter] = {}

    @property
    def live_models(self) -> list[str]:
        """Models whose answers must be fetched (not held by the dataset)."""
        return [m for m in self.options.models if m not in self.data.recorded]

    def _manifest(self, upstreams: Upstreams | None) -> Manifest:
        previous = self.run.read_manifest() if self.run.exists() else None
        infos: list[ModelInfo] = []
        for model in self.options.models:
            deployment = upstreams.deployments.get(model) if upstreams else None
            infos.append(
                ModelInfo(
                    id=model,
                    provider=deployment.provider.value if deployment else None,
                    residency=deployment.residency.value if deployment else None,
                    price_input=deployment.price.input if deployment else None,
                    price_output=deployment.price.output if deployment else None,
                    recorded=model in self.data.recorded,
                )
            )
        return Manifest(
            created=previous.created if previous else time.time(),
            source=self.data.source,
            models=infos,
            params=self.options.params,
            judges=previous.judges if previous else [],
            items=len(self.data.items),
            status="running",
            max_cost_usd=self.options.max_cost_usd,
        )

    def _write(self, answer: Answer, *, sync: bool = True) -> None:
        assert self._writer is not None
        self._writer.write(answer.to_json(), sync=sync)
        self._count(answer)

    def _count(self, answer: Answer) -> None:
        summary = self.summary
        kind = {"live": "live", "cache": "cached", "recorded": "recorded"}.get(
            answer.source, "skipped_sensitive"
        )
        mine = summary.per_model.setdefault(answer.model, dict.fromkeys(_COUNTS, 0.0))
        bumps = {
            "answers": 1,
            kind: 1,
            "failed": answer.error is not None,
            "retries": answer.retries,
        }
        for name, value in bumps.items():
            setattr(summary, name, getattr(summary, name) + value)
            mine[name if name != "skipped_sensitive" else "skipped"] += value
        if answer.source == "live":
            mine["spent_usd"] += answer.cost_usd or 0.0
        if answer.failure is not None:
            reasons = summary.failures.setdefault(answer.model, {})
            reason = answer.failure
            reasons[reason] = reasons.get(reason, 0) + 1

    def _store_recorded(self, existing: dict[tuple[str, str], Answer]) -> None:
        verdicts: list[Verdict] = []
        # A sampled run keeps the labels of its own items only: the file's other rows would
        # count for the recorded model alone, against a live model judged on the sample.
        ids = {item.id for item in self.data.items}
        for model in self.options.models:
            texts = self.data.recorded.get(model)
            if texts is None:
                continue
            for item in self.data.items:
                if (item.id, model) not in existing:
                    self._write(
                        Answer(
                            item=item.id,
                            model=model,
                            text=texts.get(item.id, ""),
                            source="recorded",
                            ts=time.time(),
                        ),
                        sync=False,
                    )
            for item_id, correct in self.data.recorded_correct.get(model, {}).items():
                if item_id not in ids:
                    continue
                verdicts.append(
                    Verdict(
                        item=item_id,
                        judge=RECORDED_JUDGE,
                        model=model,
                        score=1.0 if correct else 0.0,
                        detail="the dataset's own correctness label",
                    )
                )
        assert self._writer is not None
        self._writer.sync()
        if verdicts:
            self.run.replace_verdicts(verdicts, {RECORDED_JUDGE})

    def _plan(
        self, existing: dict[tuple[str, str], Answer], upstreams: Upstreams, cache: AnswerCache
    ) -> list[_Call]:
        """The calls still to make; answers found in the run or the cache are stored now."""
        todo: list[_Call] = []
        for item in self.data.items:
            body = _body(item, self.options.params)
            for model in self.live_models:
                deployment = upstreams.deployments[model]
                key = cache_key(model, deployment.wire_model, body)
                have = existing.get((item.id, model))
                withheld = item.sensitive and deployment.residency is Residency.VENDOR
                if have is not None and have.key == key and (have.ok or withheld):
                    continue
                if withheld:
                    self._write(
                        Answer(
                            item=item.id,
                            model=model,
                            source="skipped",
                            key=key,
                            ts=time.time(),
                            error_message="sensitive data ("
                            + ", ".join(item.data_classes)
                            + ") never goes to a vendor model",
                        )
                    )
                    continue
                hit = cache.get(key)
                if hit is not None:
                    copy = Answer.from_json({**hit.to_json(), "item": item.id, "model": model})
                    copy.source, copy.ts = "cache", time.time()
                    self._write(copy, sync=False)
                    continue
                todo.append((item, model, key, body))
        assert self._writer is not None
        self._writer.sync()
        return todo

    async def _one(self, call: _Call) -> None:
        item, model, key, body = call
        upstreams, cache = self._upstreams, self._cache
        assert upstreams is not None and cache is not None
        if self._stopped or self._over_budget():
            self._stopped = True
            return
        deployment = upstreams.deployments[model]
        provider = upstreams.provider(model)
        last_ms = [0.0]

        async def timed() -> Completion:
            start = time.perf_counter()
            completion = await provider.chat(body)
            last_ms[0] = (time.perf_counter() - start) * 1000
            return completion

        attempt: Attempt[Completion] = await call_with_retries(
            timed,
            policy=self.options.retry,
            limiter=self._limiters[model],
            timeout_s=self.options.timeout_s or deployment.timeout_s,
            rng=self._rng,
            label=model,
            recover=upstreams.recovery(model),
        )
        answer = Answer(item=item.id, model=model, key=key, retries=attempt.retries, ts=time.time())
        if attempt.value is not None:
            _answer_from(attempt.value, answer, deployment.price.cost, body)
            answer.latency_ms = round(last_ms[0], 2)
            self._spent += answer.cost_usd or 0.0
            cache.put(answer)
        elif attempt.error is not None:
            answer.error, answer.error_message = attempt.error.kind, attempt.error.message[:500]
        self._write(answer)
        self._done += 1
        if self._progress is not None:
            self._progress(self._done, self._total, self._spent)

    def _over_budget(self) -> bool:
        cap = self.options.max_cost_usd
        return cap is not None and self._spent >= cap

    async def execute(
        self, upstreams: Upstreams | None, progress: ProgressHook | None = None
    ) -> RunSummary:
        """Run every remaining call; returns what happened."""
        manifest = self._manifest(upstreams)
        existing = self.run.answers()
        # Spend is counted from the answers themselves, so a killed run's calls still count.
        self._spent = sum(a.cost_usd or 0.0 for a in existing.values() if a.source == "live")
        manifest.spent_usd = self._spent
        self.run.write_manifest(manifest)
        self.run.write_items(self.data.items)
        self._writer = JsonlWriter(self.run.answers_path)
        shared = self.options.cache_path
        same = shared is not None and shared.resolve() == self.run.answers_path.resolve()
        self._cache = AnswerCache(None if same else shared)
        self._upstreams, self._progress = upstreams, progress
        self._limiters = {
            m: RateLimiter(self.options.rate_per_minute.get(m)) for m in self.live_models
        }
        try:
            self._store_recorded(existing)
            todo = self._plan(existing, upstreams, self._cache) if upstreams else []
            self._total = len(todo)
            if progress is not None:
                progress(0, self._total, self._spent)
            gate = asyncio.Semaphore(max(1, self.options.concurrency))
            # The run's own llama.cpp answers one request at a time: calls queued inside it
            # would count the queue against their timeout (and be computed after giving up).
            one_at_a_time = (
                {m: asyncio.Semaphore(1) for m in upstreams.local_models} if upstreams else {}
            )

            async def bounded(call: _Call) -> None:
                async with one_at_a_time.get(call[1]) or contextlib.nullcontext(), gate:
                    await self._one(call)

            await asyncio.gather(*(bounded(call) for call in todo))
        finally:
            self._writer.close()
            self._cache.close()
            self._finish(manifest)
        return self.summary

    def _finish(self, manifest: Manifest) -> None:
        answers = self.run.answers()
        wanted = len(self.data.items) * len(self.options.models)
        missing = wanted - sum(1 for a in answers.values() if a.ok or a.source == "skipped")
        if self._stopped:
            status = f"stopped: cost cap ${self.options.max_cost_usd:g} reached"
        elif missing:
            status = f"incomplete: {missing} answers missing or failed"
        else:
            status = "complete"
        self.summary.status = status
        self.summary.spent_usd = self._spent
        manifest.status, manifest.spent_usd = status, self._spent
        self.run.write_manifest(manifest)
