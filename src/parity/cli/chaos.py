"""parity chaos: an OpenAI-compatible upstream that fails on purpose, to test fallback configs."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _rate(text: str) -> Any:
    """A fault rate: a share of requests in [0, 1]; unset leaves the file's or the default."""
    return typer.Option(min=0.0, max=1.0, help=text, show_default=False)


def chaos(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8900,
    upstream: Annotated[
        str | None,
        typer.Option(help="Proxy to this OpenAI-compatible base URL (…/v1) instead of echoing."),
    ] = None,
    faults: Annotated[
        Path | None,
        typer.Option("--faults", help="YAML file of rates and shapes (flags win over it)."),
    ] = None,
    timeout_rate: Annotated[
        float | None, _rate("Share of requests left hanging past the client's timeout.")
    ] = None,
    error_rate: Annotated[float | None, _rate("Share answered 500, 502 or 503.")] = None,
    rate_limit_rate: Annotated[float | None, _rate("Share answered 429 with retry-after.")] = None,
    reset_rate: Annotated[
        float | None, _rate("Share whose connection is reset (before or during the answer).")
    ] = None,
    cut_stream_rate: Annotated[
        float | None, _rate("Share whose answer stops early (stream without [DONE], short body).")
    ] = None,
    drip_rate: Annotated[
        float | None, _rate("Share whose answer trickles out a few bytes at a time.")
    ] = None,
    malformed_json_rate: Annotated[
        float | None, _rate("Share answered 200 with JSON that does not parse.")
    ] = None,
    malformed_sse_rate: Annotated[
        float | None, _rate("Share whose event stream has broken framing.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed the fault draws.")] = None,
    hang_s: Annotated[
        float | None, typer.Option(help="How long a timeout fault holds a request [300].")
    ] = None,
    retry_after_s: Annotated[
        float | None, typer.Option(help="retry-after sent with each 429 [1].")
    ] = None,
    drip_bytes: Annotated[int | None, typer.Option(help="Bytes per drip [8].")] = None,
    drip_interval_s: Annotated[
        float | None, typer.Option(help="Pause between drips [0.2].")
    ] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Added before every answer [0].")] = None,
) -> None:
    """Serve chat completions that fail at the given rates (each a probability per request).

    Answers echo the last user message, or come from --upstream. GET /chaos/stats shows
    what was injected; POST /force/FAULT/v1/chat/completions always injects FAULT.
    """
    from parity.chaos.faults import load_fault_config
    from parity.chaos.server import ChaosServer, serve
    from parity.chaos.source import EchoSource, ProxySource, Source

    config = load_fault_config(
        faults,
        {
            "timeout_rate": timeout_rate,
            "error_rate": error_rate,
            "rate_limit_rate": rate_limit_rate,
            "reset_rate": reset_rate,
            "cut_stream_rate": cut_stream_rate,
            "drip_rate": drip_rate,
            "malformed_json_rate": malformed_json_rate,
            "malformed_sse_rate": malformed_sse_rate,
            "seed": seed,
            "hang_s": hang_s,
            "retry_after_s": retry_after_s,
            "drip_bytes": drip_bytes,
            "drip_interval_s": drip_interval_s,
            "latency_ms": latency_ms,
        },
    )
    source: Source = ProxySource(upstream) if upstream else EchoSource()

    def ready(bound: int) -> None:
        shares = ", ".join(f"{f.value} {r:.0%}" for f, r in config.rates().items() if r)
        origin = f"proxying {upstream}" if upstream else "echo"
        print(
            f"parity chaos on http://{host}:{bound}/v1 ({origin}; faults "
            f"{config.total_rate():.0%}: {shares or 'none'}; seed {config.seed})",
            flush=True,
        )

    try:
        asyncio.run(serve(ChaosServer(config, source), host, port, ready))
    except OSError as exc:
        print(f"parity: error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        raise typer.Exit(2) from exc


def register(app: typer.Typer) -> None:
    """Add ``parity chaos``."""
    app.command("chaos")(chaos)
