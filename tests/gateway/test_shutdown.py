"""SIGTERM under load: every request that got an answer is in the ledger afterwards."""

from __future__ import annotations

import signal
import threading
import time

import httpx

from parity.store.base import RowFilter
from parity.store.factory import open_ledger
from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake


def test_sigterm_under_load_loses_no_answered_request(
    gateway_factory: GatewayFactory, vendor: VendorFake
) -> None:
    config = {
        "models": [
            {
                "id": "slowish",
                "provider": "openai",
                "base_url": vendor.openai_url,
                "api_key_env": "FAKE_KEY",
                "upstream_model": "slow-0.2",
                "residency": "vendor",
                "price": {"input": 1, "output": 1},
            }
        ],
        "ledger": {"flush_interval_s": 1.0, "batch_size": 10000},
    }
    gateway = gateway_factory(config, env={"FAKE_KEY": "k"})
    answered: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                body = {"model": "slowish", "messages": [{"role": "user", "content": "hi"}]}
                try:
                    response = client.post(f"{gateway.v1}/chat/completions", json=body)
                except httpx.HTTPError as exc:
                    with lock:
                        failed.append(type(exc).__name__)
                    return
                with lock:
                    if response.status_code == 200:
                        answered.append(response.headers["x-parity-request-id"])
                    else:
                        failed.append(str(response.status_code))

    threads = [threading.Thread(target=worker) for _ in range(24)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(answered) < 24 and time.monotonic() < deadline:  # load is flowing
        time.sleep(0.05)
    # rows of the latest answers still sit in the writer's queue (flush interval 1 s)
    # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit
    assert gateway.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in gateway.output()
    stop.set()
    for thread in threads:
        thread.join()

    assert len(answered) >= 24, f"too little load to test anything: {answered} {failed}"
    ledger = open_ledger(gateway.ledger_url)
    try:
        stored = {r.request_id for r in ledger.rows(RowFilter(limit=100_000))}
    finally:
        ledger.close()
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} answered requests missing from the ledger"
