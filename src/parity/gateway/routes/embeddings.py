"""POST /v1/embeddings: OpenAI's embeddings, by the name of a deployment that serves them.

A door with its own execution, made of the serving core's public steps: the caller's key and
the body's limits (``receive``), the router's plan over the text inputs (``plan``; a deployment
that serves no embeddings is a 400 naming model, ``capable``), rate limits and budgets
(``admit``, nothing held for output), masking when the plan redacts (``mask``), the executor's
retries, breakers and fallbacks (``Executor.call``), and the one ledger row with the prompt
tokens priced at the deployment's input price (``run``). The vectors come from the deployment's
embeddings provider (providers/registry.py: an OpenAI-compatible upstream, llama.cpp in
embedding mode, or the bundled MiniLM in a worker thread).
"""

from __future__ import annotations

from typing import Any

from parity.catalog.deployment import Capability
from parity.errors import InvalidField
from parity.gateway.asgi import Receive, Scope, Send
from parity.gateway.embeddings.wire import EmbeddingsCall, embeddings_bytes, parse_embeddings
from parity.gateway.serving.core import ServingCore
from parity.gateway.serving.exchange import Exchange
from parity.providers.base import Usage
from parity.providers.embeddings import Embeddings

__all__ = ["EMBEDDINGS_PATH", "EmbeddingsRoute"]

EMBEDDINGS_PATH = "/v1/embeddings"


class EmbeddingsRoute:
    """The embeddings door; one per gateway."""

    name = "embeddings"

    def __init__(self, core: ServingCore):
        self.core = core
        self.rt = core.rt

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        async def work(ex: Exchange) -> None:
            await self._serve(scope, receive, send, ex)

        await self.core.run(
            work, scope, send, name=self.name, request_id=request_id, started=started
        )

    async def _serve(self, scope: Scope, receive: Receive, send: Send, ex: Exchange) -> None:
        core = self.core
        headers, raw = await core.receive(scope, receive, ex)
        call = parse_embeddings(raw)
        if core.accounting.prompts.keep_raw:
            ex.row.request_body = raw
        await core.plan(ex, call.routing_body(), call.model, stream=False, headers=headers)
        plan = core.capable(ex, Capability.EMBEDDINGS)
        self._check_count(call, plan.primary)
        await core.admit(ex, tokens=(call.estimated_tokens, 0))
        body = self._masked(ex, call)

        async def embed(name: str) -> Embeddings:
            self._check_count(call, name)
            return await self.rt.embedders[name].embed(body)

        deployment, result = await self.rt.executor.call(plan, ex.trace, embed)
        core.accounting.answered_by(ex, deployment)
        counted = result.prompt_tokens
        usage = Usage(call.estimated_tokens, 0, True) if counted is None else Usage(counted, 0)
        core.accounting.usage(ex, deployment, usage, "")
        core.accounting.versions(ex, result.upstream_model, None)
        payload = embeddings_bytes(result.vectors, call.encoding, deployment.id, usage.input_tokens)
        await core.answer(send, ex, deployment, payload)

    def _check_count(self, call: EmbeddingsCall, name: str) -> None:
        """A 400 naming input when the request holds more inputs than ``name`` takes."""
        most = self.rt.deployments[name].max_inputs
        if len(call.inputs) > most:
            raise InvalidField(
                f"'input' holds {len(call.inputs)} inputs; '{name}' takes at most {most} a "
                "request: send them in several requests",
                param="input",
                code="too_many_inputs",
            )

    def _masked(self, ex: Exchange, call: EmbeddingsCall) -> dict[str, Any]:
        """The body sent upstream: the text inputs masked when the plan redacts."""
        view = self.core.mask(ex)
        if view is ex.body:
            return call.body
        texts = [m["content"] for m in view["messages"]]
        return call.with_texts(texts)
