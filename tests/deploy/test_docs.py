"""docs/deployment.md: every parity.yaml snippet in it is a valid config."""

from __future__ import annotations

import re

import yaml

from parity.config import Settings
from tests.deploy.artifacts import ROOT

DOC = (ROOT / "docs" / "deployment.md").read_text()


def test_every_parity_config_snippet_validates() -> None:
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]
    configs = [b for b in blocks if isinstance(b, dict) and "models" in b]
    assert len(configs) >= 3  # vLLM, Ray Serve, KServe
    for config in configs:
        settings = Settings.model_validate(config)
        assert all(m.base_url and m.base_url.rstrip("/").endswith("/v1") for m in settings.models)
