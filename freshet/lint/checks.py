"""The checks that rules in rules.yaml refer to; each yields (task, message) violations."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from freshet.lint.spec import tasks_of

Violation = tuple[str, str]
Check = Callable[[dict[str, Any], dict[str, Any]], Iterator[Violation]]

_PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,127}$")
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def resource_limits(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Every task sets a CPU and a memory limit."""
    for task in tasks_of(spec):
        missing = [
            kind
            for kind, keys in (
                ("CPU", ("resourceCpuLimit", "cpuLimit")),
                ("memory", ("resourceMemoryLimit", "memoryLimit")),
            )
            if not any(task.resources.get(k) for k in keys)
        ]
        if missing:
            yield task.name, f"no {' and no '.join(missing)} limit"
        for worker in task.workers:
            if not worker.machine_type:
                yield task.name, "starts a CustomJob worker with no machine type"


def accelerator_allowlist(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Only the allowed tasks request an accelerator."""
    allowed = set(params.get("tasks", []))
    for task in tasks_of(spec):
        if task.name in allowed:
            continue
        accelerator = task.resources.get("accelerator")
        kinds = [w.accelerator for w in task.workers if w.accelerator]
        if accelerator:
            kinds.append(
                accelerator.get("resourceType") or accelerator.get("type") or "accelerator"
            )
        for kind in kinds:
            yield task.name, f"requests {kind} but only {sorted(allowed)} may use accelerators"


def image_digest(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Every image is pinned by digest."""
    for task in tasks_of(spec):
        for image in [task.image, *(w.image for w in task.workers)]:
            if not re.search(r"@sha256:[0-9a-f]{64}$", image):
                yield task.name, f"image '{image}' is not pinned by digest"


def data_version_input(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Cached tasks that read external data also take its version as an input."""
    data_inputs = set(params.get("data_inputs", []))
    version_inputs = set(params.get("version_inputs", []))
    for task in tasks_of(spec):
        reads = task.inputs & data_inputs
        if reads and task.caching and not task.inputs & version_inputs:
            yield (
                task.name,
                (
                    f"reads {sorted(reads)} and is cached, but takes none of "
                    f"{sorted(version_inputs)}: the cache could serve stale data"
                ),
            )


def gated_by(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Guarded tasks run only under a condition on a gate task's output."""
    gates = set(params.get("gate_tasks", []))
    guarded = set(params.get("guarded_tasks", []))
    for task in tasks_of(spec):
        if task.name in guarded and not task.condition_producers & gates:
            yield task.name, f"does not run under a condition on {sorted(gates)}"


def vertex_names(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Pipeline name and parameter names are accepted by Vertex AI Pipelines."""
    name = spec.get("pipelineInfo", {}).get("name", "")
    if not _PIPELINE_NAME.match(name):
        yield (
            "(pipeline)",
            (
                f"pipeline name '{name}' must be lowercase letters, digits and "
                "hyphens, start with a letter, at most 128 characters"
            ),
        )
    root_params = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for param in sorted(root_params):
        if not _PARAMETER_NAME.match(param):
            yield "(pipeline)", f"parameter name '{param}' is not a valid identifier"


def spot_retries(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """Tasks on Spot VMs are retried, so that a reclaimed attempt resumes instead of failing."""
    least = int(params.get("min_retries", 1))
    for task in tasks_of(spec):
        if task.scheduling == "SPOT" and task.retries < least:
            yield (
                task.name,
                (
                    f"runs on Spot VMs with {task.retries} retries: a reclaimed worker fails "
                    f"the run instead of resuming (at least {least} needed)"
                ),
            )


def credential_defaults(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """A parameter named like a credential has no default other than empty or a reference."""
    from freshet.secrets.references import is_reference, looks_like_credential

    root_params = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for name in sorted(root_params):
        default = root_params[name].get("defaultValue")
        literal = isinstance(default, str) and default and not is_reference(default)
        if literal and looks_like_credential(name):
            yield (
                "(pipeline)",
                f"parameter '{name}' looks like a credential and has a literal default: "
                "make it empty or a secret reference (sm://..., k8s://...)",
            )


def _accelerator_kinds(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for task in tasks_of(spec):
        accelerator = task.resources.get("accelerator") or {}
        kind = accelerator.get("resourceType") or accelerator.get("type")
        if kind:
            yield task.name, str(kind)
        for worker in task.workers:
            if worker.accelerator:
                yield task.name, worker.accelerator


def kubernetes_accelerators(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """A KFP template asks for accelerators by Kubernetes resource name (nvidia.com/gpu)."""
    for task, kind in _accelerator_kinds(spec):
        if "/" not in kind:
            yield task, f"requests the Vertex accelerator {kind}; on KFP use nvidia.com/gpu"


def vertex_accelerators(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """A Vertex template names accelerators as Vertex does (NVIDIA_L4), not as Kubernetes."""
    for task, kind in _accelerator_kinds(spec):
        if "/" in kind:
            yield task, f"requests the Kubernetes resource {kind}; Vertex names e.g. NVIDIA_L4"


def no_custom_jobs(spec: dict[str, Any], params: dict[str, Any]) -> Iterator[Violation]:
    """A KFP template starts no Vertex CustomJob (Spot on GKE is a node selector)."""
    for task in tasks_of(spec):
        if task.workers:
            yield task.name, "starts a Vertex AI CustomJob, which Kubeflow Pipelines cannot run"


CHECKS: dict[str, Check] = {
    "resource_limits": resource_limits,
    "accelerator_allowlist": accelerator_allowlist,
    "image_digest": image_digest,
    "data_version_input": data_version_input,
    "gated_by": gated_by,
    "vertex_names": vertex_names,
    "spot_retries": spot_retries,
    "credential_defaults": credential_defaults,
    "kubernetes_accelerators": kubernetes_accelerators,
    "vertex_accelerators": vertex_accelerators,
    "no_custom_jobs": no_custom_jobs,
}
