"""parity route explain (a dry-run routing decision) and parity audit (sensitive data sent out)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from parity.cli.guard_audit import guard_audit, render_guard_audit
from parity.cli.ledger_opts import ConfigOpt, LedgerOpt, SinceOpt, open_cli_ledger, parse_since
from parity.cli.output import emit, table
from parity.config import Settings, load_settings
from parity.errors import InvalidField, InvalidJSON, ParityError, http_status
from parity.routing.budget import SpendTracker
from parity.routing.plan import Caller, RoutePlan, RouteRequest
from parity.routing.router import PolicyRouter
from parity.store.base import RowFilter
from parity.store.factory import open_ledger

__all__ = ["register"]

route_app = typer.Typer(help="Explain routing decisions.", no_args_is_help=True)


def _body(prompt: str | None, file: Path | None, model: str) -> dict[str, Any]:
    if file is not None:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidJSON(f"{file} is not valid JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise InvalidField(f"{file} must hold a chat request with a messages array")
        body.setdefault("model", model)
        return body
    if prompt is None:
        raise InvalidField("give a prompt, '-' to read it from stdin, or --file BODY.json")
    text = sys.stdin.read() if prompt == "-" else prompt
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def _caller(settings: Settings, key: str | None) -> Caller:
    if key is None:
        return Caller()
    for entry in settings.keys:
        if entry.id == key:
            return Caller(entry.id, entry.tenant, entry.admin, entry.can_override_route)
    raise InvalidField(
        f"no key with id '{key}' in the config; known: {[k.id for k in settings.keys]}"
    )


def _headers(tags: str | None, override: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if tags:
        headers["x-parity-tags"] = tags
    if override:
        headers["x-parity-route"] = override
    return headers


def _plan_json(plan: RoutePlan) -> dict[str, Any]:
    return {
        "decision": "route",
        "rule": plan.rule,
        "plan": list(plan.models),
        "reason": plan.reason,
        "header": plan.header(),
        "validators": list(plan.validators),
        "redact": plan.redact,
        "shadow": plan.shadow,
        "data_classes": list(plan.data_classes),
        "trace": plan.trace,
    }


def _render(console: Console, result: dict[str, Any]) -> None:
    if result["decision"] == "reject":
        console.print(f"[bold red]rejected[/] ({result['status']}): {result['message']}")
        return
    console.print(f"[bold]rule[/]: {result['rule']}   [bold]plan[/]: {' > '.join(result['plan'])}")
    console.print(f"[bold]why[/]: {result['reason']}")
    for name in ("validators", "data_classes"):
        if result[name]:
            console.print(f"[bold]{name}[/]: {', '.join(result[name])}")
    if result["redact"]:
        console.print("[bold]redact[/]: entities are masked before the call")
    if result["shadow"]:
        console.print(f"[bold]shadow[/]: a copy goes to {result['shadow']}")
    for model, why in (result["trace"].get("excluded") or {}).items():
        console.print(f"[yellow]excluded[/] {model}: {why}")
    signals = result["trace"].get("signals") or {}
    rows = [
        [name, f"{values.get('us', 0):.1f}", _short(values)] for name, values in signals.items()
    ]
    console.print(
        table(
            "Signals computed (lazily: only those the rules needed)",
            ["signal", "µs", "values"],
            rows,
        )
    )


def _short(values: dict[str, Any]) -> str:
    shown = {k: v for k, v in values.items() if k != "us"}
    return orjson.dumps(shown).decode()[:160]


@route_app.command("explain")
def explain(
    prompt: Annotated[str | None, typer.Argument(help="The user's text ('-' reads stdin).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A chat request body (JSON; '-' = stdin).")
    ] = None,
    model: Annotated[str, typer.Option(help="Model id or route alias asked for.")] = "parity/auto",
    key: Annotated[str | None, typer.Option(help="Act as this API key id from the config.")] = None,
    tags: Annotated[str | None, typer.Option(help="x-parity-tags, comma-separated.")] = None,
    override: Annotated[str | None, typer.Option(help="x-parity-route header value.")] = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Dry-run the routing decision for a request, and say why. No model is called."""
    settings = load_settings(config)
    tracker = SpendTracker(settings.budgets, None)
    if tracker.active:
        ledger = open_ledger(settings.ledger.url)
        tracker.bind(ledger)
        tracker.refresh()
    router = PolicyRouter(settings, tracker=tracker)
    body = _body(prompt, file, model)
    request = RouteRequest(
        str(body["model"]), body, _caller(settings, key), _headers(tags, override)
    )
    try:
        result = _plan_json(router.plan(request))
    except ParityError as exc:
        if isinstance(exc, InvalidField | InvalidJSON):
            raise
        result = {"decision": "reject", "status": http_status(exc), "message": exc.message}
    emit(result, as_json, lambda console: _render(console, result))


def audit(
    config: ConfigOpt = None,
    ledger: LedgerOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 1000,
    fail: Annotated[
        bool, typer.Option("--fail-if-any", help="Exit 1 when any request is listed (for CI).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    guards: Annotated[
        bool,
        typer.Option(
            "--guards",
            help="Safety-guard decisions instead: blocks, re-routes, flags and guard errors.",
        ),
    ] = False,
    include_safe: Annotated[
        bool, typer.Option("--all", help="With --guards: safe verdicts too.")
    ] = False,
) -> None:
    """Every request whose sensitive data classes went to a vendor deployment (or, with
    --guards, every safety-guard decision that was not a plain pass)."""
    store = open_cli_ledger(config, ledger)
    if guards:
        store.close()
        found = guard_audit(store.url, parse_since(since), limit, include_safe)
        emit(found, as_json, lambda console: render_guard_audit(console, found))
        if fail and found:
            raise typer.Exit(1)
        return
    try:
        rows = store.rows(
            RowFilter(since=parse_since(since), sensitive_to_vendor=True, limit=limit)
        )
    finally:
        store.close()
    data: list[dict[str, Any]] = [
        {
            "request_id": r.request_id,
            "ts": r.ts,
            "key_id": r.key_id,
            "model_answered": r.model_answered,
            "data_classes": r.data_classes,
            "sent_to": r.sent_to,
            "rule": (r.trace or {}).get("rule"),
        }
        for r in rows
    ]

    def render(console: Console) -> None:
        if not data:
            console.print("No sensitive data went to a vendor deployment.")
            return
        when = [datetime.fromtimestamp(d["ts"], UTC).strftime("%Y-%m-%d %H:%M:%S") for d in data]
        console.print(
            table(
                f"{len(data)} requests sent sensitive data to a vendor",
                ["time (UTC)", "request", "key", "model", "data classes", "sent to", "rule"],
                [
                    [
                        w,
                        d["request_id"],
                        d["key_id"],
                        d["model_answered"],
                        ", ".join(d["data_classes"]),
                        ", ".join(d["sent_to"]),
                        d["rule"],
                    ]
                    for w, d in zip(when, data, strict=True)
                ],
            )
        )

    emit(data, as_json, render)
    if fail and data:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``parity route`` and ``parity audit``."""
    app.add_typer(route_app, name="route")
    app.command("audit")(audit)
