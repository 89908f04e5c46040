"""Real token counts for the embedded llama.cpp server, which reports none in a stream.

llama-cpp-python's server (0.3.36) answers a non-streamed chat with its usage, but its stream
never carries a usage chunk, ``stream_options.include_usage`` or not. Its ``/extras/tokenize``
endpoints take plain text (not the chat template) and wait for the model's lock, so while a
completion runs a count waits for it to end (2.7 s behind a 200-token answer, measured).

So the gateway reads the deployment's own tokenizer: the GGUF file's vocabulary, loaded with
``vocab_only`` (no weights; about 0.1 s), and the chat handler llama-cpp-python picks for that
file, the same one the server runs. The handler renders the chat template and tokenizes the
prompt; it is handed a stand-in model that keeps the prompt's tokens and stops before any
completion, so the count is the server's own ``prompt_tokens``. The answer's tokens are its
text (content and tool-call arguments) tokenized again. Counting runs in a worker thread.

``CountedProvider`` wraps a local deployment's provider: a stream that ends without usage gets
a last chunk with the counted usage, as an upstream honouring ``include_usage`` would send.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any

from parity.catalog.deployment import Deployment
from parity.providers.base import Completion, Provider, ProviderWrapper, Usage, usage_from
from parity.providers.openai_adapt import adapt_request

__all__ = ["CountedProvider", "LocalTokenizer", "count_prompt"]

log = logging.getLogger("parity.local")

# The request fields llama-cpp-python's chat handlers read to build the prompt.
_PROMPT_FIELDS = ("messages", "tools", "tool_choice", "functions", "function_call")


class _Prompt(Exception):
    """Raised by the stand-in model with the prompt's tokens: a signal, not a failure."""

    def __init__(self, tokens: Any):
        super().__init__()
        self.tokens = tokens


class _PromptOnly:
    """What a chat handler sees as its model: the real tokenizer, and no completion.

    The handler tokenizes the rendered template, then calls ``create_completion`` with the
    tokens: that call is where the count is taken.
    """

    verbose = False

    def __init__(self, vocab: Any):
        self._vocab = vocab

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(self._vocab.tokenize(text, add_bos=add_bos, special=special))

    def create_completion(self, prompt: Any = None, **_: Any) -> Any:
        raise _Prompt(prompt)


class LocalTokenizer:
    """One GGUF file's tokenizer and chat template; loaded once, used from worker threads."""

    def __init__(self, model_path: Path):
        self.model_path = model_path
        self._lock = threading.Lock()
        self._vocab: Any = None
        self._handler: Any = None
        self._failed = False

    def load(self) -> bool:
        """Load the vocabulary (blocking; call it in a thread). False when it cannot be read."""
        with self._lock:
            if self._vocab is not None or self._failed:
                return self._vocab is not None
            try:
                import llama_cpp
                from llama_cpp import llama_chat_format

                vocab = llama_cpp.Llama(
                    model_path=str(self.model_path), vocab_only=True, n_ctx=8, verbose=False
                )
                # the server's own choice (llama.py's create_chat_completion): the GGUF's
                # template, else a format guessed from it, else llama-2
                name = vocab.chat_format or "llama-2"
                handler = (
                    vocab.chat_handler
                    or vocab._chat_handlers.get(name)
                    or llama_chat_format.get_chat_completion_handler(name)
                )
            except Exception as exc:  # a file this llama.cpp cannot read: estimates, said so
                log.warning("no tokenizer in %s (%s): usage is estimated", self.model_path, exc)
                self._failed = True
                return False
            self._vocab, self._handler = vocab, handler
            return True

    def prompt_tokens(self, request: Mapping[str, Any]) -> int | None:
        """The templated prompt's tokens for a chat request, or None when it cannot say."""
        if not self.load():
            return None
        fields = {k: request[k] for k in _PROMPT_FIELDS if request.get(k) is not None}
        try:
            self._handler(llama=_PromptOnly(self._vocab), **fields)
        except _Prompt as got:
            tokens = got.tokens
            return len(tokens) if isinstance(tokens, list) else None
        except Exception as exc:  # a template that refuses these messages: the server will too
            log.debug("counting the prompt failed: %s", exc)
            return None
        return None  # a handler that never asked for a completion

    def text_tokens(self, text: str) -> int | None:
        """The tokens of generated text (no BOS, special tokens read as text)."""
        if not text:
            return 0
        if not self.load():
            return None
        return len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def usage(self, request: Mapping[str, Any], generated: str) -> Usage | None:
        """Both counts of one call, or None when either is unknown."""
        prompt = self.prompt_tokens(request)
        completion = self.text_tokens(generated)
        if prompt is None or completion is None:
            return None
        return Usage(prompt, completion)


async def count_prompt(
    tokenizer: LocalTokenizer, body: Mapping[str, Any], deployment: Deployment
) -> int | None:
    """A chat body's prompt tokens as ``deployment``'s server counts them (off the loop)."""
    request = adapt_request(dict(body), deployment)
    return await asyncio.to_thread(tokenizer.prompt_tokens, request)


class CountedProvider(ProviderWrapper):
    """``inner`` (a local deployment's provider) with counted usage where it reports none."""

    def __init__(self, inner: Provider, tokenizer: LocalTokenizer):
        super().__init__(inner)
        self.tokenizer = tokenizer

    async def chat(self, body: dict[str, Any]) -> Completion:
        completion = await self.inner.chat(body)
        if completion.usage is None:  # llama.cpp reports a whole answer's usage; just in case
            request = adapt_request(body, self.deployment)
            completion.usage = await asyncio.to_thread(
                self.tokenizer.usage, request, _generated_text(completion.body)
            )
        return completion

    async def stream(self, body: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """The upstream's chunks, then a counted usage chunk when none of them had usage.

        The prompt is counted in a worker thread while the answer streams, so only the
        answer's own text is tokenized after the last chunk.
        """
        request = adapt_request(body, self.deployment)
        prompt = asyncio.ensure_future(asyncio.to_thread(self.tokenizer.prompt_tokens, request))
        chunks = self.inner.stream(body)
        generated: list[str] = []
        last: dict[str, Any] = {}
        reported = ended = False
        try:
            async for chunk in chunks:
                if usage_from(chunk.get("usage")) is not None:
                    reported = True
                _collect(chunk, generated)
                last = chunk
                yield chunk
            ended = True
        finally:
            await chunks.aclose()
            if reported or not ended:
                prompt.cancel()
        if reported:
            return
        prompt_tokens = await prompt
        completion = await asyncio.to_thread(self.tokenizer.text_tokens, "".join(generated))
        if prompt_tokens is None or completion is None:
            return  # the serving core estimates, and marks the row so
        usage = Usage(prompt_tokens, completion)
        total = usage.input_tokens + usage.output_tokens
        yield {
            "id": last.get("id"),
            "object": "chat.completion.chunk",
            "created": last.get("created") or int(time.time()),
            "model": last.get("model") or self.deployment.id,
            "choices": [],
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": total,
            },
        }

    async def close(self) -> None:
        await self.inner.close()


def _collect(chunk: dict[str, Any], into: list[str]) -> None:
    """The text a chunk's choices generated: content and tool-call arguments."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        content = delta.get("content")
        if isinstance(content, str):
            into.append(content)
        for call in delta.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            arguments = function.get("arguments") if isinstance(function, dict) else None
            if isinstance(arguments, str):
                into.append(arguments)


def _generated_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for choice in body.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            _collect({"choices": [{"delta": message}]}, parts)
    return "".join(parts)
