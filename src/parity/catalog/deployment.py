"""Deployments: where a model runs, how to reach it, and what a token costs there."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DROP_PARAMS",
    "Capability",
    "Deployment",
    "DropParam",
    "Engine",
    "Price",
    "ProviderKind",
    "Residency",
]

MINILM_MAX_TOKENS = 256
"""all-MiniLM-L6-v2's sequence length in sentence-transformers: word pieces, [CLS] and [SEP] in."""
MINILM_POSITIONS = 512
"""Its position embeddings (BERT's): no input can be longer, whatever context_window says."""

DropParam = Literal[
    "n",
    "logprobs",
    "top_logprobs",
    "temperature",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "max_tokens",
    "max_completion_tokens",
]
"""The chat request fields ``drop_params`` may drop instead of refusing (docs/api.md)."""
DROP_PARAMS: tuple[str, ...] = get_args(DropParam)


class Residency(StrEnum):
    """Where the data goes when this deployment is called."""

    ON_PREM = "on_prem"
    VENDOR = "vendor"


class ProviderKind(StrEnum):
    """Which wire protocol reaches the deployment."""

    LOCAL = "local"  # the embedded llama.cpp server that Parity starts itself
    OPENAI = "openai"  # any OpenAI-compatible API: OpenAI, vLLM, Ollama, llama.cpp, Together...
    ANTHROPIC = "anthropic"  # the Anthropic Messages API
    MINILM = "minilm"  # the bundled all-MiniLM-L6-v2 sentence embedder, in this process


class Capability(StrEnum):
    """What a deployment answers: chat (every chat door) or embeddings (/v1/embeddings)."""

    CHAT = "chat"
    EMBEDDINGS = "embeddings"


class Engine(StrEnum):
    """Which server is behind an OpenAI-compatible deployment: what its requests must look like.

    ``openai`` takes requests as clients send them. ``llama.cpp`` and ``openai-compatible``
    (vLLM, Ollama, LM Studio…) get the ``developer`` role as ``system``, text content parts
    joined, ``content: null`` beside tool calls as ``""`` and ``max_completion_tokens`` as
    ``max_tokens``; ``llama.cpp`` also gets a ``json_schema`` response format as its grammar-
    enforced ``json_object`` + ``schema``. ``auto``: ``llama.cpp`` for ``provider: local``,
    ``openai`` for api.openai.com, else ``openai-compatible``.
    """

    AUTO = "auto"
    OPENAI = "openai"
    LLAMA_CPP = "llama.cpp"
    OPENAI_COMPATIBLE = "openai-compatible"


class Price(BaseModel):
    """USD per one million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(0.0, ge=0, description="USD per 1M input (prompt) tokens.")
    output: float = Field(0.0, ge=0, description="USD per 1M output (completion) tokens.")

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """The cost in USD of one call."""
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


class Deployment(BaseModel):
    """One model that clients can name, and the upstream that serves it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The name clients ask for, e.g. 'gpt-4o' or 'local/smollm2'.")
    provider: ProviderKind = Field(
        description="Wire protocol: local, openai or anthropic; minilm: the bundled "
        "all-MiniLM-L6-v2 embedder (parity[embed]), run in the gateway."
    )
    base_url: str | None = Field(
        None, description="Upstream base URL, e.g. https://api.openai.com/v1 (not for local)."
    )
    api_key_env: str | None = Field(
        None, description="Name of the environment variable that holds the upstream API key."
    )
    upstream_model: str | None = Field(
        None, description="The name the upstream knows the model by; defaults to id."
    )
    residency: Residency = Field(
        Residency.VENDOR, description="on_prem: data stays here; vendor: data leaves."
    )
    context_window: int = Field(
        8192,
        gt=0,
        description="Maximum prompt + completion tokens; for embeddings, tokens per input.",
    )
    price: Price = Field(default_factory=Price, description="USD per 1M tokens.")
    card: str | None = Field(
        None, description="Id of the catalog model card (licence, tier, benchmarks)."
    )
    timeout_s: float = Field(120.0, gt=0, description="Total time allowed for one upstream call.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Time allowed to open a connection.")
    max_connections: int = Field(256, gt=0, description="Size of the upstream connection pool.")
    max_output_tokens: int | None = Field(
        None,
        gt=0,
        description="The most completion tokens one answer may ask for (max_tokens beyond it "
        "is a 400); default: the catalog card's max output, else the context window.",
    )
    drop_params: bool | list[DropParam] | None = Field(
        None,
        description="Drop request fields this deployment cannot honour instead of refusing "
        "them: true (all), false (none) or a list of names; default: the gateway's drop_params.",
    )
    default_max_tokens: int = Field(
        1024, gt=0, description="max_tokens sent to APIs that require one (Anthropic)."
    )
    engine: Engine = Field(
        Engine.AUTO,
        description="Server behind an OpenAI-compatible URL: openai, llama.cpp, "
        "openai-compatible (vLLM, Ollama...), or auto.",
    )
    vision: bool = Field(
        False, description="Takes image content parts (else an image is a 400 to the client)."
    )
    gguf: str | None = Field(
        None,
        description="provider local: the GGUF file this deployment serves (default: "
        "local.model_path, SmolLM2). Each distinct file gets its own llama.cpp server.",
    )
    lora: str | None = Field(
        None, description="provider local: a LoRA adapter GGUF applied over gguf (parity tune)."
    )
    lineage: str | None = Field(
        None, description="A tuned model's lineage card: base, dataset, teacher (parity tune)."
    )
    serves: tuple[Capability, ...] = Field(
        (Capability.CHAT,),
        min_length=1,
        description="What it answers: chat, embeddings, or both (default: chat; provider "
        "minilm: embeddings). A request of the other kind is a 400 naming model.",
    )
    max_inputs: int = Field(
        2048,
        gt=0,
        description="Embeddings: inputs one request may carry at most (OpenAI's limit, 2048).",
    )

    @model_validator(mode="before")
    @classmethod
    def _minilm_defaults(cls, data: Any) -> Any:
        """The bundled MiniLM embeds on premises, free, 256 word pieces an input."""
        if isinstance(data, dict) and data.get("provider") == ProviderKind.MINILM.value:
            data = {
                "serves": [Capability.EMBEDDINGS.value],
                "residency": Residency.ON_PREM.value,
                "context_window": MINILM_MAX_TOKENS,
                **data,
            }
        return data

    def can(self, capability: Capability) -> bool:
        """Whether this deployment answers requests of ``capability``."""
        return capability in self.serves

    @property
    def local_files(self) -> tuple[str | None, str | None, bool]:
        """(gguf, lora, embeddings): deployments alike share one llama.cpp server.

        A server in embedding mode answers only embeddings, so it is a server of its own.
        """
        return self.gguf, self.lora, self.can(Capability.EMBEDDINGS)

    @field_validator("id")
    @classmethod
    def _id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @property
    def wire_model(self) -> str:
        """The model name to put in upstream requests."""
        return self.upstream_model or self.id
