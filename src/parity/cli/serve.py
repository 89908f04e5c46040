"""parity serve: start the gateway (and the embedded local model when it is listed)."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from parity.config import ConfigProblem, Settings, lifecycle_problems, load_settings
from parity.errors import ConfigError, InputError, ParityError

if TYPE_CHECKING:
    from parity.evaluation.canary_run import CanaryLoop

__all__ = ["register"]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="parity.yaml (env: PARITY_CONFIG).", show_default=False),
]


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            # A flag's or the environment's value, not parity.yaml: no "config:" before it.
            raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _refuse_retired(settings: Settings) -> list[ConfigProblem]:
    """Raise for a retired model (every request to it would fail); return the warnings."""
    found = lifecycle_problems(settings)
    for problem in found:
        if problem.level == "error":
            more = sum(p.level == "error" for p in found) - 1
            also = f" (and {more} more; run 'parity config check')" if more else ""
            raise ConfigError(
                f"{problem.message} ({problem.location}){also}",
                line=problem.line,
                path=problem.path,
            )
    return found


def _start_canary(settings: Settings) -> CanaryLoop | None:
    """The behaviour canary every canary.interval_s, when the config asks for it."""
    if settings.canary.interval_s is None:
        return None
    from parity.evaluation.canary_run import CanaryLoop

    loop = CanaryLoop(settings, os.environ)
    logging.getLogger("parity.canary").info(
        "canary: %s against %s every %gs",
        loop.job.prompts,
        ", ".join(loop.job.models),
        loop.interval_s,
    )
    return loop.start()


def _banner(console: Console, settings: Settings, missing_keys: list[str]) -> None:
    server = settings.server
    console.print(f"[bold]Parity[/bold] gateway on http://{server.host}:{server.port}/v1")
    console.print(f"  ledger: {settings.ledger.url}")
    for model in settings.models:
        price = f"${model.price.input:g}/${model.price.output:g} per 1M"
        console.print(
            f"  model: {model.id:<22} {model.provider.value:<9} {model.residency.value:<7} {price}"
        )
    console.print(f"  dashboard: http://{server.host}:{server.port}/ui/")
    auto = settings.auto_target
    if auto:
        console.print(f"  parity/auto -> {auto}")
    vendors = [m for m in settings.models if m.residency.value == "vendor"]
    if settings.source is None and not vendors:
        console.print(
            "  No frontier model yet: set OPENAI_API_KEY or ANTHROPIC_API_KEY and restart "
            "to add GPT-5.4 / Claude Sonnet 4.6, or pass --config parity.yaml (see examples/)."
        )
    for missing in missing_keys:
        console.print(f"  [yellow]warning[/yellow]: {missing} has no key in the environment")


def _announce(settings: Settings, missing_keys: list[str]) -> None:
    """The banner's essentials as log lines, for JSON logs."""
    log = logging.getLogger("parity.gateway")
    log.info("Parity gateway on http://%s:%s/v1", settings.server.host, settings.server.port)
    for missing in missing_keys:
        log.warning("%s has no key in the environment", missing)


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Bind address (env: PARITY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env: PARITY_PORT).")] = None,
    ledger: Annotated[
        str | None, typer.Option(help="Ledger URL, sqlite:///PATH or postgresql://…")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error (config: logging.level).")
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text or json (config: logging.format).")
    ] = None,
) -> None:
    """Start the OpenAI-compatible gateway."""
    import uvicorn

    from parity.gateway.app import Gateway
    from parity.gateway.http_protocol import bounded_protocol
    from parity.gateway.logs import AccessLog, configure_logging

    settings = load_settings(
        config,
        overrides={
            "server.host": host,
            "server.port": port,
            "ledger.url": ledger,
            "logging.level": log_level.lower() if log_level else None,
            "logging.format": log_format.lower() if log_format else None,
        },
    )
    retiring = _refuse_retired(settings)
    if settings.server.port:
        _check_port(settings.server.host, settings.server.port)
    configure_logging(settings.logging)
    for warning in retiring:
        logging.getLogger("parity.gateway").warning("%s", warning)
    gateway = Gateway(settings, os.environ)
    from parity.web import build_ui  # the dashboard at /ui; gap-test runs from $PARITY_RUNS_DIR

    gateway.mount("/ui", build_ui(gateway.runtime))
    if settings.logging.format == "json":  # every line on stderr must be JSON: no banner
        _announce(settings, gateway.runtime.missing_keys)
    else:
        _banner(Console(stderr=True), settings, gateway.runtime.missing_keys)
    uv_config = uvicorn.Config(
        AccessLog(gateway) if settings.logging.access else gateway,
        host=settings.server.host,
        port=settings.server.port,
        loop="uvloop",
        http=bounded_protocol(settings.server),  # httptools + header size/time limits
        lifespan="on",
        access_log=False,  # Parity's own access log (logging.access_log) replaces uvicorn's
        log_level=settings.logging.level,
        log_config=None,  # uvicorn's loggers go through configure_logging's handler
        server_header=False,
        proxy_headers=False,  # no X-Forwarded-* rewriting on the hot path
        timeout_graceful_shutdown=int(settings.server.drain_timeout_s),
        backlog=2048,
    )
    canary = _start_canary(settings)
    from parity.gateway.heap import settle

    settle()  # the start-up heap out of the collector's way (gateway/heap.py)
    try:
        uvicorn.Server(uv_config).run()
    finally:
        if canary is not None:
            canary.stop()
    if gateway.startup_error is not None:
        error = gateway.startup_error
        if isinstance(error, ParityError):
            raise error
        raise ParityError(f"start-up failed: {error}")


def register(app: typer.Typer) -> None:
    """Add ``parity serve``."""
    app.command("serve")(serve)
