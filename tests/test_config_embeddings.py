"""parity config check on what a deployment serves: typos, impossible pairs, each at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.config import check_config_file, load_settings
from tests.test_config import write


def test_a_misspelt_capability_or_field_gets_a_hint_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
models:
  - id: embedder
    provider: openai
    base_url: http://x/v1
    serves: [embedings]
  - id: mini
    provider: minilm
    max_input: 8
""",
    )
    by_location = {p.location: p for p in check_config_file(path)}
    typo = by_location["models.0.serves.0"]
    assert typo.line == 5
    assert "did you mean 'embeddings'?" in typo.message
    unknown = by_location["models.1.max_input"]
    assert unknown.line == 8
    assert "did you mean 'max_inputs'?" in unknown.message


@pytest.mark.parametrize(
    ("model", "field", "line", "words"),
    [
        ("provider: minilm\n    serves: [chat, embeddings]", "serves", 4, "serves no chat"),
        ("provider: local\n    serves: [chat, embeddings]", "serves", 4, "not both"),
        (
            "provider: anthropic\n    base_url: http://x\n    serves: [embeddings]",
            "serves",
            5,
            "no embeddings endpoint",
        ),
        ("provider: minilm\n    max_inputs: 0", "max_inputs", 4, "greater than 0"),
        ("provider: minilm\n    context_window: 1024", "context_window", 4, "at most 512"),
        ("provider: minilm\n    serves: []", "serves", 4, "at least 1"),
    ],
)
def test_what_a_provider_cannot_serve_is_refused_at_its_line(
    tmp_path: Path, model: str, field: str, line: int, words: str
) -> None:
    path = write(tmp_path, f"models:\n  - id: m\n    {model}\n")
    [problem] = check_config_file(path)
    assert problem.location == f"models.0.{field}"
    assert problem.line == line
    assert words in problem.message


def test_minilm_defaults_to_a_free_on_prem_embedder_and_parity_auto_skips_it(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """\
models:
  - id: local/minilm
    provider: minilm
  - id: gpt
    provider: openai
    base_url: http://x/v1
""",
    )
    settings = load_settings(path, env={})
    minilm = settings.deployment("local/minilm")
    assert minilm is not None
    assert [c.value for c in minilm.serves] == ["embeddings"]
    assert minilm.residency.value == "on_prem" and minilm.context_window == 256
    assert minilm.price.input == 0
    assert settings.auto_target == "gpt"  # an embedder never answers parity/auto's chats
