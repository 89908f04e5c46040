"""deploy/k8s holds together: well-formed objects whose probes, ports, selectors and commands
match the gateway and each other."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from tests.deploy.artifacts import (
    DEPLOY,
    config_env_names,
    env_names_parity_reads,
    k8s_objects,
    parity_cli,
    pod_containers,
)

K8S = DEPLOY / "k8s"
OBJECTS = k8s_objects()


def _config() -> dict[str, Any]:
    data = yaml.safe_load((K8S / "parity.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _kustomization() -> dict[str, Any]:
    data = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _get(kind: str, name: str) -> dict[str, Any]:
    found = [o for _, o in OBJECTS if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}"
    return found[0]


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    numbers = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert numbers, f"no container port named {port}"
    return int(numbers[0])


def test_every_object_is_well_formed() -> None:
    assert OBJECTS
    for path, obj in OBJECTS:
        assert obj.get("apiVersion") and obj.get("kind"), path
        assert obj.get("metadata", {}).get("name"), path


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = set(_kustomization()["resources"])
    files = {p.name for p in K8S.glob("*.yaml")}
    assert listed <= files
    assert files - listed == {"kustomization.yaml", "parity.yaml", "secret.template.yaml"}
    generated = _kustomization()["configMapGenerator"][0]
    assert generated["name"] == "parity-config" and generated["files"] == ["parity.yaml"]


def test_the_k8s_config_passes_parity_config_check() -> None:
    done = parity_cli("config", "check", str(K8S / "parity.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_gateway_runs_two_replicas_with_probes_on_real_paths() -> None:
    deployment = _get("Deployment", "parity")
    assert deployment["spec"]["replicas"] >= 2
    gateway = pod_containers(deployment)[0]
    assert gateway["args"] == ["serve", "--host", "0.0.0.0"]
    probes = {kind: gateway[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    server_port = _config()["server"]["port"]
    for probe in probes.values():
        assert _port(gateway, probe["port"]) == server_port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(server_port)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_gateway_pod_is_locked_down() -> None:
    deployment = _get("Deployment", "parity")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod_containers(deployment)[0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"]["cpu"]  # the HPA measures against it
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/tmp", "/etc/parity"} <= mounts
    drain = _config()["server"]["drain_timeout_s"]
    assert pod["terminationGracePeriodSeconds"] > drain


def test_gateway_environment_holds_only_variables_parity_reads() -> None:
    known = env_names_parity_reads() | config_env_names(_config())
    secret = yaml.safe_load((K8S / "secret.template.yaml").read_text())
    for kind, name in (("Deployment", "parity"), ("Job", "parity-migrate")):
        container = pod_containers(_get(kind, name))[0]
        env = {e["name"]: e for e in container["env"]}
        assert set(env) <= known, f"{name} sets variables Parity never reads: {set(env) - known}"
        assert env["PARITY_CONFIG"]["value"] == "/etc/parity/parity.yaml"
        for entry in env.values():
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["stringData"]
    assert urlparse(_config()["ledger"]["url"]).password is None


def test_migration_job_runs_a_real_parity_command() -> None:
    job = _get("Job", "parity-migrate")
    args = pod_containers(job)[0]["args"]
    assert args == ["db", "migrate"]
    done = parity_cli(*args, "--help")
    assert done.returncode == 0, done.stdout + done.stderr


def test_service_pdb_and_hpa_select_the_gateway() -> None:
    deployment = _get("Deployment", "parity")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = _get("Service", "parity")
    assert service["spec"]["selector"].items() <= labels.items()
    target = service["spec"]["ports"][0]["targetPort"]
    assert _port(pod_containers(deployment)[0], target) == _config()["server"]["port"]
    pdb = _get("PodDisruptionBudget", "parity")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    hpa = _get("HorizontalPodAutoscaler", "parity")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "parity",
    }
    assert hpa["spec"]["minReplicas"] >= 2


def test_vllm_example_requests_a_gpu_and_serves_the_configured_name() -> None:
    deployment = _get("Deployment", "vllm")
    container = pod_containers(deployment)[0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    args = container["args"]
    served = args[args.index("--served-model-name") + 1]
    model = next(m for m in _config()["models"] if "vllm" in m.get("base_url", ""))
    assert model["upstream_model"] == served
    service = _get("Service", "vllm")
    assert urlparse(model["base_url"]).port == service["spec"]["ports"][0]["port"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_and_wires_the_hashed_config(tmp_path: Path) -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config_map["metadata"]["name"].startswith("parity-config-")  # hash suffix: rollouts
    assert all(d["metadata"].get("namespace") == "parity" for d in docs if d["kind"] != "Namespace")
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job") and doc["metadata"]["name"] != "vllm":
            volumes = doc["spec"]["template"]["spec"]["volumes"]
            names = [v["configMap"]["name"] for v in volumes if "configMap" in v]
            assert names == [config_map["metadata"]["name"]]
    mounted = tmp_path / "parity.yaml"
    mounted.write_text(config_map["data"]["parity.yaml"])
    done = parity_cli("config", "check", str(mounted))
    assert done.returncode == 0, done.stdout + done.stderr


def test_manifests_match_the_kubernetes_api_schemas() -> None:
    """Strict schema check against Kubernetes 1.29 (kubernetes-validate ships the schemas)."""
    validator = pytest.importorskip("kubernetes_validate")
    secret = yaml.safe_load((K8S / "secret.template.yaml").read_text())
    for path, obj in [*OBJECTS, (K8S / "secret.template.yaml", secret)]:
        try:
            validator.validate(obj, "1.29.0", strict=True)
        except validator.ValidationError as exc:
            pytest.fail(f"{path.name}: {obj['kind']}/{obj['metadata']['name']}: {exc}")
