"""MiniLM on the event loop ("today's way") against MiniLM in a worker thread, two places.

    python bench/embeddings.py [--seconds 10] [--clients 4] [--batch 16] [--threads 2]

1. The embeddings door. A real gateway (the Gateway app under uvicorn, in a child process) with
   one ``provider: minilm`` deployment, run twice: as shipped (the model in its worker thread),
   and with the provider's ``embed`` replaced by a call of the same model on the event loop.
   ``--clients`` clients post ``--batch`` GSM8K prompts each, back to back, for ``--seconds``;
   meanwhile a probe asks ``GET /healthz`` every 20 ms, one at a time. The table gives the
   probe's latency (idle, then under each load) and the embeddings answered per second.
2. The learned router's embedding call. An ``embed/lr`` router trained on the GSM8K labels,
   loaded as the gateway loads it; ``LoadedRouter.difficulty`` (a MiniLM embedding of the
   prompt, each prompt new so the cache never answers) run by ``--clients`` tasks on one event
   loop, inline as ``PolicyRouter.plan`` runs it today, or through ``asyncio.to_thread``; a
   probe task that sleeps 5 ms measures how late the loop wakes it.

Torch gets ``--threads`` threads. Prints the tables and writes bench/results/embeddings.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

GSM8K = Path("examples/labels/gsm8k.jsonl")
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
MODEL = "local/minilm"


def _prompts() -> list[str]:
    lines = GSM8K.read_text().splitlines()
    return [str(json.loads(line)["prompt"]) for line in lines if line.strip()]


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0, "n": 0}
    p50, p95 = np.percentile(values, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "max_ms": max(values), "n": len(values)}


# -- 1. the door, in a child process --


def _serve(mode: str, port: int, ledger: str) -> None:
    """The child: a gateway with one MiniLM deployment; ``inline`` embeds on the event loop."""
    import uvicorn

    import parity.gateway.runtime as runtime_module
    from parity.catalog.deployment import ProviderKind
    from parity.config import Settings
    from parity.gateway.app import Gateway
    from parity.providers.embeddings import Embeddings
    from parity.providers.minilm import MiniLMEmbeddings
    from parity.providers.registry import embedders

    class InlineMiniLM(MiniLMEmbeddings):
        """Today's way: the model called on the event loop, as a plain function."""

        async def embed(self, body: dict[str, Any]) -> Embeddings:
            value = body["input"]
            return self.embed_now([value] if isinstance(value, str) else value)

    if mode == "inline":
        shipped = embedders

        def patched() -> dict[ProviderKind, Any]:
            return {**shipped(), ProviderKind.MINILM: InlineMiniLM}

        runtime_module.embedders = patched  # type: ignore[attr-defined]  # this child only
    settings = Settings.model_validate(
        {"models": [{"id": MODEL, "provider": "minilm"}], "ledger": {"url": ledger}}
    )
    uvicorn.run(
        Gateway(settings),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _probe(client: httpx.AsyncClient, url: str, until: float) -> list[float]:
    times: list[float] = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        answer = await client.get(f"{url}/healthz")
        assert answer.status_code == 200
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.02)
    return times


async def _embedder(
    client: httpx.AsyncClient, url: str, until: float, batch: list[str]
) -> list[float]:
    times: list[float] = []
    body = {"model": MODEL, "input": batch, "encoding_format": "float"}
    while time.perf_counter() < until:
        started = time.perf_counter()
        answer = await client.post(f"{url}/v1/embeddings", json=body)
        assert answer.status_code == 200, answer.text
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _load(url: str, seconds: float, clients: int, batches: list[list[str]]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as client:
        idle = await _probe(client, url, time.perf_counter() + 2)
        until = time.perf_counter() + seconds
        tasks = [_embedder(client, url, until, batches[i % len(batches)]) for i in range(clients)]
        probe, *done = await asyncio.gather(_probe(client, url, until), *tasks)
    requests = [t for times in done for t in times]
    return {
        "probe_idle": _stats(idle),
        "probe_loaded": _stats(probe),
        "embeddings_request": _stats(requests),
        "requests_per_s": len(requests) / seconds,
        "inputs_per_s": len(requests) * len(batches[0]) / seconds,
    }


def door(seconds: float, clients: int, batch: int, threads: int) -> dict[str, Any]:
    """Both modes of the door, each in a fresh child."""
    prompts = _prompts()
    batches = [prompts[i : i + batch] for i in range(0, batch * clients, batch)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": "src"}
    results: dict[str, Any] = {}
    for mode in ("thread", "inline"):
        port = _free_port()
        with tempfile.TemporaryDirectory() as work:
            ledger = f"sqlite:///{Path(work) / 'ledger.db'}"
            command = [sys.executable, __file__, "--serve", mode, str(port), ledger]
            child = subprocess.Popen(command, env=env)
            try:
                url = f"http://127.0.0.1:{port}"
                _wait_ready(url, child)
                results[mode] = asyncio.run(_load(url, seconds, clients, batches))
            finally:
                child.terminate()
                child.wait(30)
    return results


def _wait_ready(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the gateway exited with {child.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the gateway never became ready")


# -- 2. the learned router's embedding call, in this process --


def _router(work: Path) -> Any:
    from parity.training.artifact import load_router
    from parity.training.embeddings import CachedEmbedder, EmbedderSpec, MiniLMEmbedder
    from parity.training.labels import read_labels
    from parity.training.train import TrainConfig, train_router

    config = TrainConfig(
        strong=STRONG,
        weak=WEAK,
        candidates=("embed/lr",),
        embedder=EmbedderSpec("minilm"),
        cascade=False,
    )
    model = MiniLMEmbedder()
    train_router(read_labels(GSM8K), config, work, embedder=CachedEmbedder(model))
    return load_router(work, embedder=CachedEmbedder(model))  # a cold cache


async def _late(until: float) -> list[float]:
    """How late the loop wakes a task that sleeps 5 ms."""
    lateness: list[float] = []
    while time.perf_counter() < until:
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        lateness.append((time.perf_counter() - started) * 1000 - 5)
    return lateness


async def _decide(
    router: Any, prompts: list[str], mode: str, seconds: float, clients: int
) -> dict[str, Any]:
    until = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def one_client() -> int:
        calls = 0
        while time.perf_counter() < until:
            prompt = prompts[next(counter) % len(prompts)] + f" (variant {calls})"  # never cached
            if mode == "inline":
                router.difficulty(prompt)
                await asyncio.sleep(0)  # the request's next await
            else:
                await asyncio.to_thread(router.difficulty, prompt)
            calls += 1
        return calls

    probe = asyncio.ensure_future(_late(until))
    calls = await asyncio.gather(*(one_client() for _ in range(clients)))
    return {"probe_lateness": _stats(await probe), "decisions_per_s": sum(calls) / seconds}


def learned_router(seconds: float, clients: int) -> dict[str, Any]:
    """Inline against a thread, after an idle probe."""
    prompts = _prompts()
    with tempfile.TemporaryDirectory() as work:
        router = _router(Path(work) / "router")
        router.difficulty(prompts[0])  # warm
        idle = asyncio.run(_decide(router, prompts, "inline", 2, 0))
        results = {"idle": idle}
        for mode in ("thread", "inline"):
            results[mode] = asyncio.run(_decide(router, prompts, mode, seconds, clients))
    return results


def _print(report: dict[str, Any]) -> None:
    door_rows = report["door"]
    print("\n1. POST /v1/embeddings on MiniLM, probe GET /healthz every 20 ms")
    head = ("probe p50", "probe p95", "probe max")
    print(f"{'':<22} " + " ".join(f"{h:>10}" for h in head) + f" {'req/s':>7} {'inputs/s':>9}")
    idle = door_rows["thread"]["probe_idle"]
    print(f"{'idle':<22} {idle['p50_ms']:>10.2f} {idle['p95_ms']:>10.2f} {idle['max_ms']:>10.2f}")
    for mode, label in (("inline", "inline (today's way)"), ("thread", "worker thread")):
        row = door_rows[mode]
        probe = row["probe_loaded"]
        print(
            f"{label:<22} {probe['p50_ms']:>10.2f} {probe['p95_ms']:>10.2f} "
            f"{probe['max_ms']:>10.2f} {row['requests_per_s']:>7.1f} {row['inputs_per_s']:>9.1f}"
        )
    router = report["learned_router"]
    print("\n2. learned router (embed/lr) difficulty(), probe: lateness of a 5 ms sleep")
    print(f"{'':<22} {'late p50':>10} {'late p95':>10} {'late max':>10} {'decisions/s':>12}")
    for mode, label in (
        ("idle", "idle"),
        ("inline", "inline (today's way)"),
        ("thread", "asyncio.to_thread"),
    ):
        row = router[mode]
        late = row["probe_lateness"]
        rate = f"{row['decisions_per_s']:>12.1f}" if mode != "idle" else ""
        spread = f"{late['p50_ms']:>10.2f} {late['p95_ms']:>10.2f} {late['max_ms']:>10.2f}"
        print(f"{label:<22} {spread} {rate}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--serve", nargs=3, metavar=("MODE", "PORT", "LEDGER"), help=argparse.SUPPRESS
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/embeddings.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.serve:
        import torch

        torch.set_num_threads(args.threads)
        _serve(args.serve[0], int(args.serve[1]), args.serve[2])
        return
    import torch

    torch.set_num_threads(args.threads)
    report = {
        "seconds": args.seconds,
        "clients": args.clients,
        "batch": args.batch,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores_visible": os.cpu_count(),
        "door": door(args.seconds, args.clients, args.batch, args.threads),
        "learned_router": learned_router(args.seconds, args.clients),
        "load_average_1m_at_end": os.getloadavg()[0],
    }
    _print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
