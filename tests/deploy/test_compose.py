"""deploy/compose.yaml holds together: services, health, order, environment, ports, models."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from tests.deploy.artifacts import (
    DEPLOY,
    ROOT,
    compose,
    config_env_names,
    env_names_parity_reads,
    parity_cli,
)

SERVICES: dict[str, Any] = compose()["services"]
GATEWAYS = sorted(
    name
    for name, svc in SERVICES.items()
    if "PARITY_IMAGE" in svc.get("image", "") and "command" not in svc
)


def _config() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "parity.compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _host_path(service: dict[str, Any], target: str) -> str:
    for volume in service.get("volumes", []):
        source, mounted, *_ = volume.split(":")
        if mounted == target:
            return str(source)
    raise AssertionError(f"nothing is mounted at {target}")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)s", text)
    assert match, text
    return timedelta(seconds=int(match.group(1))).total_seconds()


def _model_behind(host: str) -> dict[str, Any]:
    found = [m for m in _config()["models"] if urlparse(m.get("base_url", "")).hostname == host]
    assert len(found) == 1, f"one model should point at {host}"
    return dict(found[0])


def test_the_issue_services_are_all_there() -> None:
    assert len(GATEWAYS) >= 2, GATEWAYS
    assert SERVICES["postgres"]["image"] == "postgres:15"
    assert SERVICES["redis"]["image"] == "redis:7"
    assert "vllm/vllm-openai" in SERVICES["vllm"]["image"]
    assert "ollama/ollama" in SERVICES["ollama"]["image"]
    assert "nginx" in SERVICES["lb"]["image"]


def test_long_running_services_have_healthchecks() -> None:
    for name, svc in SERVICES.items():
        if svc.get("restart") == "no":
            continue  # one-shot jobs
        test = svc.get("healthcheck", {}).get("test")
        assert test and not svc["healthcheck"].get("disable"), f"{name} has no healthcheck"


def test_start_order_waits_for_health_and_migrations() -> None:
    for name in GATEWAYS:
        needs = SERVICES[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
    lb_needs = SERVICES["lb"]["depends_on"]
    assert {n: lb_needs[n]["condition"] for n in GATEWAYS} == dict.fromkeys(
        GATEWAYS, "service_healthy"
    )
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_migrate_runs_a_real_parity_command() -> None:
    command = SERVICES["migrate"]["command"]
    assert command == ["db", "migrate"]
    done = parity_cli(*command, "--help")
    assert done.returncode == 0, done.stdout + done.stderr


def test_gateway_environment_holds_only_variables_parity_reads() -> None:
    known = env_names_parity_reads() | config_env_names(_config())
    for name in [*GATEWAYS, "migrate"]:
        env = SERVICES[name]["environment"]
        assert set(env) <= known, f"{name} sets variables Parity never reads: {set(env) - known}"
        assert _host_path(SERVICES[name], env["PARITY_CONFIG"]) == "./parity.compose.yaml"


def test_secrets_come_from_the_environment_not_files() -> None:
    config = _config()
    assert urlparse(config["ledger"]["url"]).password is None
    env = SERVICES[GATEWAYS[0]]["environment"]
    assert env["PGPASSWORD"] == SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert env[config["auth"]["admin_key_env"]].startswith("${PARITY_ADMIN_KEY:?")
    example = (DEPLOY / ".env.example").read_text()
    for variable in ("POSTGRES_PASSWORD", "PARITY_ADMIN_KEY", "OPENAI_API_KEY"):
        assert re.search(rf"^{variable}=", example, re.M), variable


def test_the_compose_config_passes_parity_config_check() -> None:
    done = parity_cli("config", "check", str(DEPLOY / "parity.compose.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_config_points_at_the_compose_services() -> None:
    config = _config()
    ledger = urlparse(config["ledger"]["url"])
    postgres = SERVICES["postgres"]["environment"]
    assert ledger.scheme == "postgresql" and ledger.hostname == "postgres"
    assert ledger.username == postgres["POSTGRES_USER"]
    assert ledger.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert urlparse(config["limits"]["redis_url"]).hostname == "redis"


def test_load_balancer_sends_to_every_gateway_on_its_port() -> None:
    nginx = (DEPLOY / "nginx.conf").read_text()
    port = _config()["server"]["port"]
    upstreams = re.findall(r"^\s*server\s+([\w-]+):(\d+)", nginx, re.M)
    assert sorted(host for host, _ in upstreams) == GATEWAYS
    assert {int(p) for _, p in upstreams} == {port}
    listen = re.search(r"^\s*listen\s+(\d+);", nginx, re.M)
    assert listen
    assert SERVICES["lb"]["ports"][0].endswith(f":{listen.group(1)}")
    assert "proxy_buffering off" in nginx  # SSE streams must not wait for the whole answer


def test_shutdown_grace_outlasts_the_drain() -> None:
    drain = _config()["server"]["drain_timeout_s"]
    for name in GATEWAYS:
        assert _seconds(SERVICES[name]["stop_grace_period"]) > drain


def test_image_extras_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for name in GATEWAYS:
        chosen = SERVICES[name]["build"]["args"]["EXTRAS"].split(",")
        assert set(chosen) <= set(extras), chosen
        assert "local" not in chosen  # the slim image: models run in vLLM/Ollama


def test_vllm_serves_the_name_parity_asks_for_on_a_gpu() -> None:
    vllm = SERVICES["vllm"]
    command = vllm["command"]
    served = command[command.index("--served-model-name") + 1]
    model = _model_behind("vllm")
    assert model["upstream_model"] == served
    assert urlparse(model["base_url"]).port == 8000
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert vllm["profiles"] == ["vllm"]


def test_ollama_pulls_the_model_parity_asks_for() -> None:
    model = _model_behind("ollama")
    assert SERVICES["ollama-pull"]["command"] == ["pull", model["upstream_model"]]
    assert urlparse(model["base_url"]).port == 11434
    assert SERVICES["ollama"]["profiles"] == ["ollama"]


@pytest.mark.parametrize("profile_service", ["vllm", "ollama"])
def test_route_reaches_each_open_model(profile_service: str) -> None:
    plan = _config()["routes"]["parity/auto"]["default"]
    reachable = [plan["route"], *plan.get("fallbacks", [])]
    assert _model_behind(profile_service)["id"] in reachable
