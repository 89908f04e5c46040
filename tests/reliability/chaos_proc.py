"""Start ``parity chaos`` as a real process, and build gateway configs that point at it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port, wait_http

__all__ = ["ChaosProcess", "chaos_model", "start_chaos"]


@dataclass
class ChaosProcess:
    """A running chaos upstream."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def v1(self) -> str:
        """Base URL whose requests get faults at the configured rates."""
        return f"{self.url}/v1"

    def force(self, fault: str) -> str:
        """Base URL whose requests always get ``fault`` (``none``: never a fault)."""
        return f"{self.url}/force/{fault}/v1"

    def stats(self) -> dict[str, Any]:
        """What it has injected so far."""
        answer = httpx.get(f"{self.url}/chaos/stats", timeout=5, trust_env=False)
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    def reset(self) -> None:
        """Zero the counters and restart the seeded draws."""
        httpx.post(f"{self.url}/chaos/reset", timeout=5, trust_env=False).raise_for_status()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_chaos(tmp: Path, *flags: str) -> ChaosProcess:
    """Run ``python -m parity chaos --port P FLAGS…`` and wait until it answers."""
    port = free_port()
    log = tmp / f"chaos-{port}.log"
    command = [sys.executable, "-m", "parity", "chaos", "--port", str(port), *flags]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/chaos/stats", proc, log, timeout=30)
    return ChaosProcess(proc, url, log)


def chaos_model(model_id: str, base_url: str, **extra: Any) -> dict[str, Any]:
    """A gateway deployment on a chaos upstream."""
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base_url,
        "upstream_model": "gpt-chaos",
        "residency": "vendor",
        "price": {"input": 1.0, "output": 2.0},
        **extra,
    }
