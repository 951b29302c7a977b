"""The kfp compile target: one pipeline source, its Vertex-only features in Kubernetes form.

* Spot: on Vertex a CustomJob (which only Vertex can start); on GKE a node selector
  `cloud.google.com/gke-spot: "true"` and the matching toleration on the train task's pod, so
  the kfp template is built with `spot` off and the train task keeps its retries, which
  resume from the checkpoint as on Vertex.
* GPU: Vertex names the accelerator (`NVIDIA_L4`); Kubernetes asks for `nvidia.com/gpu` and
  picks the node by the GKE label `cloud.google.com/gke-accelerator: nvidia-l4`.
* Secrets: a `k8s://NAME/KEY` webhook reference (`[ops] webhook_url`) is mounted as an
  environment variable (`freshet.secrets.references.kubernetes_secret_env`) into the steps
  that receive the pipeline's `alert_webhook`, as kfp-kubernetes' `use_secret_as_env` does.

The Kubernetes settings are a second YAML document (the platform spec), in the shape
kfp-kubernetes compiles; each executor's config is checked against kfp-kubernetes' own
`KubernetesExecutorConfig` message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.config import Settings

GPU_RESOURCE = "nvidia.com/gpu"
ACCELERATOR_LABEL = "cloud.google.com/gke-accelerator"
SPOT_LABEL = "cloud.google.com/gke-spot"
ALERT_PARAMETER = "alert_webhook"


def gke_accelerator(vertex_name: str) -> str:
    """The GKE node label value of a Vertex accelerator: NVIDIA_TESLA_T4 -> nvidia-tesla-t4."""
    return vertex_name.lower().replace("_", "-")


def kfp_settings(settings: Settings) -> Settings:
    """The settings the kfp template is built with: never a Vertex CustomJob."""
    resources = settings.train_resources
    if not resources.spot:
        return settings
    return settings.model_copy(
        update={"train_resources": resources.model_copy(update={"spot": False})}
    )


def _is_train(container: dict[str, Any], settings: Settings) -> bool:
    """The executors carrying the train resources (the pipeline wires which task that is)."""
    resources = container.get("resources") or {}
    train = settings.train_resources
    return bool(resources.get("accelerator")) or (
        resources.get("resourceCpuLimit") == train.cpu_limit
        and resources.get("resourceMemoryLimit") == train.memory_limit
        and (train.cpu_limit, train.memory_limit)
        != (settings.step_cpu_limit, settings.step_memory_limit)
    )


def _alert_executors(spec: dict[str, Any]) -> set[str]:
    """Executors of the steps that receive the pipeline's `alert_webhook` (nested DAGs too)."""
    components = spec.get("components", {})
    found: set[str] = set()

    def walk(dag: dict[str, Any], carriers: set[str]) -> None:
        for task in dag.get("tasks", {}).values():
            inputs = task.get("inputs", {}).get("parameters", {})
            fed = {n for n, v in inputs.items() if v.get("componentInputParameter") in carriers}
            if not fed:
                continue
            component = components.get(task.get("componentRef", {}).get("name", ""), {})
            if "dag" in component:
                walk(component["dag"], fed)
            elif component.get("executorLabel"):
                found.add(component["executorLabel"])

    walk(spec.get("root", {}).get("dag", {}), {ALERT_PARAMETER})
    return found


def kubernetes_executors(spec: dict[str, Any], settings: Settings) -> dict[str, dict[str, Any]]:
    """Rewrites accelerators in `spec` for Kubernetes; the per-executor Kubernetes configs."""
    from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
    from kfp.kubernetes.kubernetes_executor_config_pb2 import KubernetesExecutorConfig

    configs: dict[str, dict[str, Any]] = {}
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    alerted = _alert_executors(spec)
    webhook = settings.ops.webhook_url or ""
    for label, executor in executors.items():
        container = executor.get("container") or {}
        config: dict[str, Any] = {}
        labels: dict[str, str] = {}
        accelerator = (container.get("resources") or {}).get("accelerator")
        if accelerator:
            name = accelerator.get("resourceType") or accelerator.get("type") or ""
            if name != GPU_RESOURCE:
                labels[ACCELERATOR_LABEL] = gke_accelerator(name)
            accelerator.update(type=GPU_RESOURCE, resourceType=GPU_RESOURCE)
        if settings.train_resources.spot and container and _is_train(container, settings):
            labels[SPOT_LABEL] = "true"
            config["tolerations"] = [
                {"key": SPOT_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}
            ]
        if labels:
            config["nodeSelector"] = {"labels": labels}
        if label in alerted and webhook.startswith("k8s://"):
            from freshet.secrets.references import kubernetes_secret_env

            secret, key, variable = kubernetes_secret_env(webhook)
            config["secretAsEnv"] = [
                {
                    "secretName": secret,
                    # kfp-kubernetes 2.17 also names it as a parameter (newer backends read it)
                    "secretNameParameter": {"runtimeValue": {"constant": secret}},
                    "keyToEnv": [{"secretKey": key, "envVar": variable}],
                    "optional": False,
                }
            ]
        if config:
            message = json_format.ParseDict(config, KubernetesExecutorConfig())
            configs[label] = json_format.MessageToDict(message)
    return configs


def to_kfp(path: Path, settings: Settings) -> None:
    """Rewrites a compiled template in place for the kfp target (see the module docstring)."""
    import yaml

    documents = list(yaml.safe_load_all(path.read_text()))
    spec = documents[0]
    executors = kubernetes_executors(spec, settings)
    platform = documents[1] if len(documents) > 1 else {}
    if executors:
        kubernetes = platform.setdefault("platforms", {}).setdefault("kubernetes", {})
        targets = kubernetes.setdefault("deploymentSpec", {}).setdefault("executors", {})
        for label, config in executors.items():
            targets.setdefault(label, {}).update(config)
    out = [spec] + ([platform] if platform else [])
    path.write_text(yaml.safe_dump_all(out, sort_keys=True))
