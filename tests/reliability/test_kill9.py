"""kill -9 under load: the ledger stays consistent, and only the last unflushed rows are lost.

Each answered request's id is kept with the moment its answer arrived. After SIGKILL, every
request answered more than the flush interval plus a margin before the kill must be stored;
the missing ones (the writer's last batch) must all fall inside that final window. The ledger
must pass SQLite's integrity check and read back through ``parity logs --json``.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from parity.store.sqlite import sqlite_path
from tests.conftest import GatewayFactory
from tests.reliability.chaos_proc import ChaosProcess, chaos_model, start_chaos
from tests.servers import GatewayProcess

FLUSH_S = 0.25  # ledger.flush_interval_s, the default
WINDOW_S = FLUSH_S + 1.25  # a row answered before kill - WINDOW_S must have been written
WORKERS = 12
LOAD_S = 3.0


def load_then_kill(gateway: GatewayProcess) -> tuple[list[tuple[str, float]], float]:
    """Drive load, SIGKILL the gateway mid-load; returns (id, answered at) pairs and kill time."""
    answered: list[tuple[str, float]] = []
    lock = threading.Lock()
    body = {"model": "echo", "messages": [{"role": "user", "content": "count me"}]}

    def worker() -> None:
        with httpx.Client(timeout=30, trust_env=False) as client:
            while True:
                try:
                    response = client.post(f"{gateway.v1}/chat/completions", json=body)
                except httpx.HTTPError:
                    return  # the gateway is gone
                assert response.status_code == 200, response.text
                with lock:
                    answered.append((response.headers["x-parity-request-id"], time.monotonic()))

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    while time.monotonic() - started < LOAD_S or len(answered) < 100:
        assert gateway.proc.poll() is None, gateway.output()[-2000:]
        time.sleep(0.05)
    killed_at = time.monotonic()
    gateway.proc.kill()
    gateway.proc.wait()
    for thread in threads:
        thread.join(30)
    return answered, killed_at


def read_with_cli(ledger_url: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "parity", "logs", "--ledger", ledger_url, "--json", "-n", "1000000"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosProcess]:
    process = start_chaos(tmp_path_factory.mktemp("chaos"), "--latency-ms", "5")
    yield process
    process.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_under_load_loses_at_most_the_last_batch(
    backend: str,
    chaos: ChaosProcess,
    gateway_factory: GatewayFactory,
    request: pytest.FixtureRequest,
) -> None:
    config: dict[str, Any] = {
        "models": [chaos_model("echo", chaos.v1)],
        "ledger": {"flush_interval_s": FLUSH_S},
    }
    if backend == "postgres":
        config["ledger"]["url"] = request.getfixturevalue("postgres_url")
    gateway = gateway_factory(config)
    answered, killed_at = load_then_kill(gateway)
    assert gateway.proc.returncode == -9

    if backend == "sqlite":  # what the crash left, as the next process finds it
        with sqlite3.connect(sqlite_path(gateway.ledger_url)) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = read_with_cli(gateway.ledger_url)
    stored = [r["request_id"] for r in rows]
    assert len(stored) == len(set(stored))  # nothing twice
    ids = {i for i, _ in answered}
    missing = ids - set(stored)
    old = {i for i, at in answered if at < killed_at - WINDOW_S}
    recent = {i for i, at in answered if at >= killed_at - WINDOW_S}
    assert len(old) > 0 and len(ids) == len(answered)
    assert old <= set(stored), f"{len(old - set(stored))} rows older than {WINDOW_S}s were lost"
    assert missing <= recent
    oldest = max((killed_at - at for i, at in answered if i in missing), default=0.0)
    print(
        f"\nkill -9 ({backend}): {len(answered)} answered, {len(missing)} missing "
        f"(answered at most {oldest:.2f}s before the kill), {len(recent)} answered in the "
        f"last {WINDOW_S:.2f}s"
    )
