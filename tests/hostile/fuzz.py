"""Schemathesis against a running gateway: every operation of its /openapi.json, positive and
negative cases, with a check that every error is OpenAI's error body. Used by test_fuzz.py and
bench/fuzz_gateway.py (which runs more examples and prints the table)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema

__all__ = ["OperationStats", "fuzz_gateway", "table"]


@schemathesis.check
def openai_error_body(ctx: Any, response: schemathesis.Response, case: Any) -> None:
    """Every 4xx/5xx answer is JSON shaped {"error": {"message","type","param","code"}}
    (Anthropic's {"type": "error", "error": {"type", "message"}} on the Messages door)."""
    if response.status_code < 400:
        return
    if case.operation.path == "/readyz" and response.status_code == 503:
        return  # documented: not ready has the readiness body
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"error with content-type {content_type!r}"
    body = response.json()
    if case.operation.path.startswith("/v1/messages"):
        assert isinstance(body, dict) and body.get("type") == "error", f"not Anthropic's: {body!r}"
        assert set(body["error"]) == {"type", "message"}, f"error fields: {sorted(body['error'])}"
        return
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an OpenAI error: {body!r}"
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, f"error fields: {sorted(error)}"
    assert isinstance(error["message"], str) and isinstance(error["type"], str)


@dataclass
class OperationStats:
    """What the fuzzer did to one operation."""

    label: str
    cases: int = 0
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _config(base_url: str, key: str, examples: int, seed: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "base-url": base_url,
            "headers": {"Authorization": f"Bearer {key}"},
            "request-timeout": 30,
            "continue-on-failure": True,
            "generation": {
                "mode": "all",
                "max-examples": examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {"response_schema_conformance": {"enabled": True}},
        }
    )


def _scenarios(schema_url: str, config: schemathesis.Config) -> Iterator[events.ScenarioFinished]:
    schema = schemathesis.openapi.from_url(schema_url, config=config)
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            yield event
        elif isinstance(event, events.FatalError):
            raise event.exception


def _problem(recorder: Any, case_id: str, check: Any) -> str:
    failure = check.failure_info.failure
    text = f"{check.name}: {failure.title}: {failure.message}"[:300]
    interaction = recorder.interactions.get(case_id)
    if interaction is not None:
        request = interaction.request
        text += f"\n      request: {request.method} {request.uri} {request.body!r:.300}"
        if interaction.response is not None:
            response = interaction.response
            text += f"\n      answer: {response.status_code} {response.content[:300]!r}"
    return text


def fuzz_gateway(
    base_url: str, key: str, *, examples: int = 50, seed: int = 8
) -> list[OperationStats]:
    """Run every phase but the stateful one against ``base_url``; stats per operation."""
    stats: dict[str, OperationStats] = {}
    for scenario in _scenarios(f"{base_url}/openapi.json", _config(base_url, key, examples, seed)):
        recorder = scenario.recorder
        entry = stats.setdefault(recorder.label, OperationStats(recorder.label))
        entry.cases += len(recorder.interactions)
        for interaction in recorder.interactions.values():
            if interaction.response is not None:
                code = interaction.response.status_code
                entry.statuses[code] = entry.statuses.get(code, 0) + 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.status is Status.FAILURE and check.failure_info is not None:
                    entry.failures += 1
                    entry.problems.append(_problem(recorder, case_id, check))
    return sorted(stats.values(), key=lambda s: s.label)


def table(stats: list[OperationStats]) -> str:
    """A Markdown table: operation, cases, failures, statuses seen."""
    lines = ["| operation | cases | failures | statuses |", "|---|---:|---:|---|"]
    for entry in stats:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(entry.statuses.items()))
        lines.append(f"| {entry.label} | {entry.cases} | {entry.failures} | {codes} |")
    total = sum(e.cases for e in stats), sum(e.failures for e in stats)
    lines.append(f"| **all** | {total[0]} | {total[1]} | |")
    return "\n".join(lines)
