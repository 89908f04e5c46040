"""The bundled all-MiniLM-L6-v2 (the ``embed`` extra) as a deployment: ``provider: minilm``.

The model is loaded once at start, from the package's files with the hub offline, and runs in
one worker thread of its own: a request never blocks the event loop, and requests queue for the
model instead of oversubscribing the cores (torch already spreads one batch over them).

It takes text only: token ids are OpenAI's tokenizer's numbers, not MiniLM's word pieces. An
input over the deployment's ``context_window`` (256 word pieces, [CLS] and [SEP] included, as
sentence-transformers runs it) is a 400 naming it, never silently cut; so is ``dimensions``
other than the model's own 384. The usage is the word pieces counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from parity.catalog.deployment import MINILM_POSITIONS, Deployment
from parity.errors import ConfigError, InvalidField, Unavailable
from parity.providers.embeddings import Embeddings
from parity.training.embeddings import MiniLMEmbedder

__all__ = ["MINILM_NAME", "MiniLMEmbeddings"]

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_TOKENS_HINT = (
    "send the text itself (LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False))"
)


def _texts(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise InvalidField(
        f"'{name}' (MiniLM) takes text, not token ids: its vocabulary is not OpenAI's; "
        + _TOKENS_HINT,
        param="input",
    )


class MiniLMEmbeddings:
    """all-MiniLM-L6-v2 on the CPU, one worker thread, loaded at start."""

    def __init__(self, deployment: Deployment, env: Mapping[str, str] | None = None):
        if deployment.context_window > MINILM_POSITIONS:
            raise ValueError(
                f"deployment '{deployment.id}': MiniLM reads at most {MINILM_POSITIONS} word "
                f"pieces; context_window is {deployment.context_window}"
            )
        self.deployment = deployment
        self._model: MiniLMEmbedder | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="parity-minilm")

    async def start(self) -> None:
        """Load the model in its worker thread (torch's import alone takes seconds)."""
        loop = asyncio.get_running_loop()
        self._model = await loop.run_in_executor(self._pool, self._load)

    def _load(self) -> MiniLMEmbedder:
        try:
            return MiniLMEmbedder(max_tokens=self.deployment.context_window)
        except ConfigError as exc:  # the extra is missing: say which deployment needs it
            raise ConfigError(f"deployment '{self.deployment.id}': {exc.message}") from exc

    async def embed(self, body: dict[str, Any]) -> Embeddings:
        """Check the request here, count and embed in the model's thread."""
        texts = _texts(body.get("input"), self.deployment.id)
        self._check_dimensions(body.get("dimensions"))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.embed_now, texts)

    def _check_dimensions(self, wanted: Any) -> None:
        size = self._loaded().dimensions
        if wanted is not None and wanted != size:
            raise InvalidField(
                f"'{self.deployment.id}' (MiniLM) answers {size} dimensions; it cannot shorten "
                f"its vectors to {wanted}",
                param="dimensions",
            )

    def embed_now(self, texts: Sequence[str]) -> Embeddings:
        """The work itself, on the calling thread: refuse inputs over the limit, embed the rest."""
        model = self._loaded()
        counts = model.token_counts(texts)
        limit = self.deployment.context_window
        for index, count in enumerate(counts):
            if count > limit:
                param = "input" if len(texts) == 1 else f"input[{index}]"
                raise InvalidField(
                    f"{param} is {count} word pieces; '{self.deployment.id}' embeds at most "
                    f"{limit} an input ([CLS] and [SEP] included): shorten or split it",
                    param=param,
                    code="context_length_exceeded",
                )
        vectors = model.embed(texts)
        return Embeddings(list(vectors), sum(counts), MINILM_NAME)

    def _loaded(self) -> MiniLMEmbedder:
        if self._model is None:
            raise Unavailable(f"'{self.deployment.id}' is still loading")
        return self._model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory (readiness)."""
        return self._model is not None

    async def close(self) -> None:
        """Let a running batch finish, then drop the thread."""
        await asyncio.to_thread(self._pool.shutdown, wait=True)
