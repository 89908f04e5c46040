"""gateway/heap.settle: what start-up left alive is frozen, young passes are spaced out.

Run in a child interpreter: freezing the test process's own heap would change every test after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import parity

SRC = str(Path(parity.__file__).resolve().parents[1])

CHILD = """
import gc, json
import parity.config  # a heap of start-up objects, as parity serve has
from parity.gateway.heap import YOUNG_THRESHOLD, settle
before = gc.get_threshold()
settle()
frozen = gc.get_freeze_count()
cycle = []
cycle.append(cycle)  # garbage in a cycle, made after settling: still collected
del cycle
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": frozen,
                  "young": YOUNG_THRESHOLD, "collected": gc.collect()}))
"""


def test_settle_freezes_start_up_and_raises_the_young_threshold() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    facts = json.loads(out.stdout)
    assert facts["before"][0] < facts["young"]  # CPython's default (700 in 3.11) is replaced
    assert facts["after"] == [facts["young"], *facts["before"][1:]]
    assert facts["frozen"] > 10_000  # the imported modules' objects
    assert facts["collected"] >= 1
