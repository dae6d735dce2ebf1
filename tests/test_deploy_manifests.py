"""The Kubernetes manifests under deploy/kubernetes stay consistent with the bot and each other.

Every object is valid for Kubernetes itself (its OpenAPI schemas as the ``kubernetes-validate``
package ships them, unknown fields refused, offline); every environment variable they set is a
setting the bot reads (a pydantic-settings field, with its class's ``env_prefix``); the probes,
the Service and the scrape annotations point at the container's port; the grace period outlasts
the shutdown drain; labels and selectors agree; and the container runs unprivileged.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.settings import Settings
from tests.deploy_settings import known_settings

MANIFESTS = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"


def _documents() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*.y*ml")):
        with path.open(encoding="utf-8") as handle:
            documents.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    return documents


DOCS = _documents()


def _one(kind: str) -> dict[str, Any]:
    found = [doc for doc in DOCS if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} under deploy/kubernetes, found {len(found)}"
    return found[0]


def _deployment_pod() -> dict[str, Any]:
    pod: dict[str, Any] = _one("Deployment")["spec"]["template"]["spec"]
    return pod


def _container() -> dict[str, Any]:
    containers: list[dict[str, Any]] = _deployment_pod()["containers"]
    assert len(containers) == 1
    return containers[0]


def _container_port() -> tuple[str, int]:
    (port,) = _container()["ports"]
    return port["name"], port["containerPort"]


def _is_container_port(value: object) -> bool:
    return value in _container_port()


def _set_variables() -> dict[str, str]:
    """Every variable the manifests give the container: ConfigMap, Secret and ``env``."""
    values: dict[str, str] = {}
    for doc in DOCS:
        if doc["kind"] == "ConfigMap":
            values |= {k: str(v) for k, v in (doc.get("data") or {}).items()}
        if doc["kind"] == "Secret":
            values |= {k: str(v) for k, v in (doc.get("stringData") or {}).items()}
            values |= {k: "" for k in doc.get("data") or {}}
    for entry in _container().get("env") or []:
        values[entry["name"]] = str(entry.get("value", ""))
    return values


def test_manifests_are_there() -> None:
    kinds = {doc["kind"] for doc in DOCS}
    assert {"Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret"} <= kinds


def test_every_variable_set_is_a_setting_the_bot_reads() -> None:
    known = known_settings()
    assert {"REDIS_URL", "SHUTDOWN_DRAIN_SECONDS", "LEADS_MAX_ROWS", "VOIPBIN_ACCESSKEY"} <= known
    unknown = sorted(set(_set_variables()) - known)
    assert not unknown, f"not settings the bot reads: {unknown}"


def test_the_configuration_and_secrets_are_where_they_belong() -> None:
    config = _one("ConfigMap")["data"]
    secret = _one("Secret")
    assert {"REDIS_URL", "DIALER", "CAMPAIGN_LEADS"} <= set(config)
    assert config["LOG_JSON"] == "true"
    secret_names = set(secret.get("stringData") or {}) | set(secret.get("data") or {})
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= secret_names
    secret_like = ("TOKEN", "SECRET", "PASSWORD", "ACCESSKEY")
    leaked = sorted(name for name in config if any(word in name for word in secret_like))
    assert not leaked, f"secrets in the ConfigMap: {leaked}"
    sources = _container()["envFrom"]
    assert {"name": config_name(_one("ConfigMap"))} in [s.get("configMapRef") for s in sources]
    assert {"name": config_name(secret)} in [s.get("secretRef") for s in sources]


def config_name(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["name"])


def test_the_configured_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    values = _set_variables()
    for name in list(values):
        monkeypatch.delenv(name, raising=False)
    for name, value in _one("ConfigMap")["data"].items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    assert settings.port == _container_port()[1]
    assert settings.log_json is True


def test_probes_use_healthz_on_the_container_port() -> None:
    container = _container()
    readiness = container["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/healthz"
    assert _is_container_port(readiness["port"])
    liveness = container["livenessProbe"]
    # Liveness must not fail on a Redis outage (/healthz is 503 then): a TCP check, or a path
    # other than /healthz.
    if "httpGet" in liveness:
        assert liveness["httpGet"]["path"] != "/healthz"
        assert _is_container_port(liveness["httpGet"]["port"])
    else:
        assert _is_container_port(liveness["tcpSocket"]["port"])


def test_grace_period_outlasts_the_prestop_sleep_and_the_drain() -> None:
    default = Settings.model_fields["shutdown_drain_seconds"].default
    drain = float(_set_variables().get("SHUTDOWN_DRAIN_SECONDS", default))
    pre_stop = _container()["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        pause = float(pre_stop["sleep"]["seconds"])
    else:
        command = pre_stop["exec"]["command"]
        assert command[0] == "sleep"
        pause = float(command[1])
    assert 1 <= pause <= 15
    grace = _deployment_pod()["terminationGracePeriodSeconds"]
    assert grace >= pause + drain + 10


def test_service_targets_the_container_port() -> None:
    (port,) = _one("Service")["spec"]["ports"]
    assert port["port"] == 80
    assert _is_container_port(port["targetPort"])


def test_labels_and_selectors_match() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = {
        "Deployment": deployment["spec"]["selector"]["matchLabels"],
        "Service": _one("Service")["spec"]["selector"],
        "PodDisruptionBudget": _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    }
    for kind, selector in selectors.items():
        assert selector, kind
        assert selector.items() <= labels.items(), f"{kind}'s selector does not match the pods"


def test_replicas_and_disruption_budget() -> None:
    assert _one("Deployment")["spec"]["replicas"] >= 2
    assert _one("PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_metrics_are_scraped_from_the_container_port() -> None:
    annotations = _one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == _container_port()[1]


def test_the_container_runs_unprivileged() -> None:
    pod = _deployment_pod()
    container = _container()
    run_as_non_root = container.get("securityContext", {}).get(
        "runAsNonRoot", pod.get("securityContext", {}).get("runAsNonRoot")
    )
    assert run_as_non_root is True
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context.get("privileged", False) is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert not context["capabilities"].get("add")
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
"""The oldest minor version the big managed offerings still run, and the newest schemas."""


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_for_kubernetes(version: str) -> None:
    for doc in DOCS:
        kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelled_field_is_caught_by_the_schema_check() -> None:
    deployment = copy.deepcopy(_one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
