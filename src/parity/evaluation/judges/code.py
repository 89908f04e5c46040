"""The code judge: run the answer's code against the item's unit tests in a child process.

The tests (the item's ``tests`` field, else its reference) are appended to the answer's last
fenced code block and run with ``python -I`` in an empty temporary folder, in its own process
group, with limits set through ``resource``: CPU seconds, address space and file size. A
wall-clock timeout kills the whole group. Exit status 0 scores 1. This is isolation against
accidents, not a security sandbox: the child can still use the network and read files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from parity.errors import InputError
from parity.evaluation.judges.base import JudgeContext, judge_name
from parity.evaluation.records import Answer, Item, Verdict

__all__ = ["CodeJudge", "extract_code", "run_python"]

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)


def extract_code(text: str) -> str:
    """The last fenced block (a Python one if any is marked), else the whole text."""
    blocks = _FENCE.findall(text)
    if not blocks:
        return text
    python = [body for lang, body in blocks if lang.lower() in ("python", "py", "python3")]
    return str((python or [body for _, body in blocks])[-1])


def _limits(cpu_s: int, memory_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024 * 1024, 16 * 1024 * 1024))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


async def run_python(
    source: str, *, timeout_s: float, memory_mb: int, python: str = sys.executable
) -> tuple[int | None, str]:
    """Run ``source`` under limits; (exit status or None on timeout, the output's tail)."""
    with tempfile.TemporaryDirectory(prefix="parity-code-") as folder:
        script = Path(folder) / "check.py"
        script.write_text(source, encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            python,
            "-I",
            str(script),
            cwd=folder,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHASHSEED": "0"},
            start_new_session=True,
            preexec_fn=_limits(max(1, int(timeout_s) + 1), memory_mb * 1024 * 1024),
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            return None, f"timed out after {timeout_s:g}s"
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        return process.returncode, output.decode("utf-8", "replace")[-400:]


class CodeJudge:
    """1 when the answer's code passes the item's tests within the limits."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("code", options)
        try:
            self.timeout_s = float(options.get("timeout", 10))
            self.memory_mb = int(options.get("memory_mb", 512))
            parallel = int(options.get("parallel", os.cpu_count() or 1))
        except ValueError as exc:
            raise InputError(f"code judge: {exc}") from exc
        self.python = str(options.get("python", sys.executable))
        self._parallel = max(1, parallel)
        self._gate: asyncio.Semaphore | None = None

    async def judge(self, item: Item, answers: Mapping[str, Answer]) -> list[Verdict]:
        """Run each answer's code against the tests."""
        tests = item.meta.get("tests") or item.reference
        if not tests:
            return []
        if self._gate is None:
            self._gate = asyncio.Semaphore(self._parallel)
        verdicts: list[Verdict] = []
        for model, answer in answers.items():
            source = extract_code(answer.text) + "\n\n" + str(tests) + "\n"
            async with self._gate:
                status, output = await run_python(
                    source, timeout_s=self.timeout_s, memory_mb=self.memory_mb, python=self.python
                )
            passed = status == 0
            detail = "tests passed" if passed else (output.strip().splitlines() or ["failed"])[-1]
            verdicts.append(
                Verdict(
                    item=item.id,
                    judge=self.name,
                    model=model,
                    score=1.0 if passed else 0.0,
                    detail=detail[:300],
                    meta={"exit": status},
                )
            )
        return verdicts
