"""Out-of-disk and out-of-memory guards, checked before a job loads weights or writes a byte.

The estimates are deliberately rough and on the high side: weights as float32, the LM head's
logits and their gradient for one batch, activations kept for the backward pass. They exist to
turn "killed by the kernel after ten minutes" into one line before anything starts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from parity.errors import ConfigError

__all__ = ["GIB", "available_memory", "check_disk", "check_memory", "training_memory", "weights"]

GIB = 1024**3


def weights(path: Path) -> int:
    """How many weights a GGUF file or a Hugging Face folder holds (from headers, no loading)."""
    if path.is_file():
        os.environ.setdefault("TQDM_DISABLE", "1")  # read when tqdm is imported (gguf does)
        from gguf import GGUFReader

        return int(sum(int(t.n_elements) for t in GGUFReader(str(path)).tensors))
    total = 0
    for file in path.glob("*.safetensors"):
        total += file.stat().st_size // 2  # 16-bit weights, the usual published form
    return total or sum(f.stat().st_size for f in path.glob("*.bin")) // 2


def training_memory(params: int, *, batch: int, length: int, vocab: int = 50_000) -> int:
    """Bytes a LoRA run needs at most, roughly: float32 weights + one batch's logits and
    activations (two copies each, for the backward pass) + 512 MiB for the runtime."""
    logits = batch * length * vocab * 4 * 3
    activations = batch * length * params // 2_000  # about hidden x layers x 64 bytes per token
    return params * 4 + logits + activations + 512 * 1024**2


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux), else the physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_memory(need: int, limit_gb: float | None, what: str) -> None:
    """A ConfigError when ``need`` bytes exceed the memory available (or ``limit_gb``)."""
    have = available_memory()
    limit = min(have, int(limit_gb * GIB)) if limit_gb is not None else have
    if need > limit:
        source = f"--max-memory-gb {limit_gb:g}" if limit_gb is not None else "available now"
        raise ConfigError(
            f"{what} needs about {need / GIB:.1f} GiB of memory, more than the "
            f"{limit / GIB:.1f} GiB {source}: lower --batch-size or --max-length"
        )


def check_disk(folder: Path, need: int, reserve_gb: float, what: str) -> None:
    """A ConfigError unless ``need`` bytes fit in ``folder`` with ``reserve_gb`` left over."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need + reserve_gb * GIB > free:
        raise ConfigError(
            f"{what} needs about {need / GIB:.2f} GiB in {probe} and keeps "
            f"{reserve_gb:g} GiB free (--reserve-disk-gb), but only {free / GIB:.1f} GiB is free"
        )
