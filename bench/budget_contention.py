"""How many budget admissions per second one hot key gets when replicas contend for its counter.

    .venv/bin/python bench/budget_contention.py [--processes 2] [--threads 8] [--seconds 10]
        [--in-flight 0] [--postgres postgresql://postgres@127.0.0.1:5432] [--out FILE.json]

Each process stands for a replica: its own ``BudgetBook`` on one PostgreSQL database, with
``--threads`` threads that each hold and settle (``reserve`` then ``settle``) in a loop for
``--seconds``. In the "one hot key" run every thread uses the same key's daily and monthly
budgets, so all of them queue on the same two counter rows; in the "a key per thread" run none
share a row. ``--in-flight N`` first opens N holds on the hot key that stay open throughout,
like N long answers still streaming. The budget is large enough never to refuse. The table
shows admissions per second and the hold and settlement latencies. A scratch database is
created and dropped.

To compare with another revision, run it with that revision's ``src`` first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import secrets
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from parity.store.budgets import BudgetBook, Limit
from parity.store.factory import open_ledger


def _limits(key: str) -> list[Limit]:
    return [Limit("key", key, "day", 1e12), Limit("key", key, "month", 1e12)]


def _replica(url: str, worker: int, threads: int, seconds: float, *, hot: bool, out: Any) -> None:
    book = BudgetBook(url, hold_ttl_s=600)
    holds: list[float] = []
    settles: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def loop(thread: int) -> None:
        key = "hot" if hot else f"k{worker}-{thread}"
        mine_h: list[float] = []
        mine_s: list[float] = []
        start.wait()
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            held = book.reserve(f"{worker}-{thread}-{n}", _limits(key), 0.001)
            t1 = time.perf_counter()
            book.settle(held, 0.001)
            mine_h.append(t1 - t0)
            mine_s.append(time.perf_counter() - t1)
            n += 1
        with lock:
            holds.extend(mine_h)
            settles.extend(mine_s)

    workers = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    book.close()
    out.put((holds, settles))


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def _run(url: str, processes: int, threads: int, seconds: float, hot: bool) -> dict[str, Any]:
    queue: Any = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_replica,
            args=(url, p, threads, seconds),
            kwargs={"hot": hot, "out": queue},
        )
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    holds: list[float] = []
    settles: list[float] = []
    for _ in procs:
        h, s = queue.get()
        holds += h
        settles += s
    for p in procs:
        p.join()
    return {
        "run": "one hot key" if hot else "a key per thread",
        "admissions_per_s": round(len(holds) / seconds),
        "hold_p50_ms": round(_pct(holds, 0.5), 2),
        "hold_p99_ms": round(_pct(holds, 0.99), 2),
        "settle_p50_ms": round(_pct(settles, 0.5), 2),
        "settle_p99_ms": round(_pct(settles, 0.99), 2),
        "hold_mean_ms": round(statistics.fmean(holds) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--in-flight", type=int, default=0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    name = f"parity_bench_budget_{secrets.token_hex(4)}"
    with psycopg.connect(f"{args.postgres}/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.postgres}/{name}"
    try:
        open_ledger(url).close()
        opener = BudgetBook(url, hold_ttl_s=3600)
        for n in range(args.in_flight):
            opener.reserve(f"open-{n}", _limits("hot"), 0.001)
        opener.close()
        results = [
            _run(url, args.processes, args.threads, args.seconds, hot) for hot in (True, False)
        ]
    finally:
        with psycopg.connect(f"{args.postgres}/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    print(
        f"{args.processes} processes x {args.threads} threads, {args.seconds:g} s each,"
        f" PostgreSQL, daily + monthly budget per key, {args.in_flight} holds open on the hot"
        " key\n"
    )
    print("| run | admissions/s | hold p50 ms | hold p99 ms | settle p50 ms | settle p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['run']} | {r['admissions_per_s']:,} | {r['hold_p50_ms']} | {r['hold_p99_ms']}"
            f" | {r['settle_p50_ms']} | {r['settle_p99_ms']} |"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
