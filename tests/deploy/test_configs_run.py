"""The shipped deployment configs start a real gateway, and every path the deployment files
probe answers without credentials, as Docker's HEALTHCHECK, Compose and the kubelet call them."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import GatewayFactory
from tests.deploy.artifacts import DEPLOY, compose, dockerfile, k8s_objects, parity_cli


def probed_paths() -> set[str]:
    """Every gateway path that the Dockerfile, compose.yaml and the k8s manifests probe."""
    text: list[str] = [i.args for i in dockerfile() if i.keyword == "HEALTHCHECK"]
    for name, service in compose()["services"].items():
        if name.startswith("gateway"):
            text.append(" ".join(service["healthcheck"]["test"]))
    paths = set(re.findall(r"127\.0\.0\.1:[^/]*(/[a-z]+)", " ".join(text)))
    for _, obj in k8s_objects():
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "parity":
            template = obj["spec"]["template"]
            paths.add(template["metadata"]["annotations"]["prometheus.io/path"])
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                paths.add(template["spec"]["containers"][0][probe]["httpGet"]["path"])
    return paths


def _local(config_path: Path, postgres_url: str) -> dict[str, Any]:
    """The shipped config with its service hosts pointed at this machine's Postgres and Redis."""
    config = yaml.safe_load(config_path.read_text())
    config["server"]["host"] = "127.0.0.1"
    config["ledger"]["url"] = postgres_url
    config["limits"]["redis_url"] = "redis://127.0.0.1:6379/0"
    return dict(config)


def test_the_probed_paths_are_the_gateway_health_and_metrics_paths() -> None:
    assert probed_paths() == {"/healthz", "/readyz", "/metrics"}


def test_shipped_config_serves_every_probed_path_without_credentials(
    postgres_url: str, gateway_factory: GatewayFactory
) -> None:
    # One start covers both shipped configs: they differ only in which upstreams they list,
    # and both pass `parity config check` in test_compose.py and test_k8s.py.
    admin = "pk-" + secrets.token_urlsafe(16)
    config = _local(DEPLOY / "k8s" / "parity.yaml", postgres_url)
    gateway = gateway_factory(config, env={"PARITY_ADMIN_KEY": admin, "PGPASSWORD": "x"})
    for path in sorted(probed_paths()):
        response = httpx.get(gateway.url + path, timeout=5)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    assert httpx.get(gateway.url + "/readyz", timeout=5).json()["status"] == "ready"


def test_migrate_step_works_from_the_environment_alone(postgres_url: str, tmp_path: Path) -> None:
    config = tmp_path / "parity.yaml"
    config.write_text(yaml.safe_dump(_local(DEPLOY / "parity.compose.yaml", postgres_url)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update({"PARITY_CONFIG": str(config), "PGPASSWORD": "x", "HOME": str(tmp_path)})
    command = compose()["services"]["migrate"]["command"]
    first = parity_cli(*command, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    again = parity_cli(*command, env=env)  # re-running it, as every upgrade does, is harmless
    assert again.returncode == 0, again.stdout + again.stderr
