"""Pipelines for the KFP tests: one that takes long enough to be cancelled."""

# No `from __future__ import annotations`: kfp reads the components' annotations as types.
from typing import Any

from kfp import dsl

IMAGE = "python:3.11-slim"


@dsl.component(base_image=IMAGE)
def nap(seconds: int) -> int:
    """Sleeps, as a long training step does."""
    import time

    time.sleep(seconds)
    return seconds


def sleepy() -> Any:
    """One step that sleeps `seconds` (default a minute)."""

    @dsl.pipeline(name="sleepy")
    def pipeline(seconds: int = 60) -> int:
        return nap(seconds=seconds).set_caching_options(False).output

    return pipeline


@dsl.component(base_image=IMAGE)
def note(data_uri: str) -> str:
    """Echoes the data it was started for."""
    return data_uri


def consume() -> Any:
    """One step taking the data URI a trigger passes."""

    @dsl.pipeline(name="consume")
    def pipeline(data_uri: str) -> str:
        return note(data_uri=data_uri).output

    return pipeline


@dsl.component(base_image=IMAGE)
def train(x: int) -> int:
    """Stands in for a GPU training step."""
    return x * 2


@dsl.pipeline(name="gpunap")
def GPU_PIPELINE(x: int = 2) -> int:  # noqa: N802  (a pipeline object, named as a constant)
    """A 'training' task with the train resources of the settings the test uses."""
    task = train(x=x).set_cpu_limit("8").set_memory_limit("32G")
    task.set_accelerator_type("NVIDIA_L4").set_accelerator_limit(1)
    task.set_retry(num_retries=2)
    return task.output


def kubernetes_reference() -> Any:
    """What kfp-kubernetes itself compiles for GPU on GKE, Spot and a secret as env."""
    from kfp import kubernetes

    @dsl.pipeline(name="reference")
    def reference() -> None:
        task = train(x=1)
        kubernetes.add_node_selector(task, "cloud.google.com/gke-accelerator", "nvidia-l4")
        kubernetes.add_node_selector(task, "cloud.google.com/gke-spot", "true")
        kubernetes.add_toleration(
            task,
            key="cloud.google.com/gke-spot",
            operator="Equal",
            value="true",
            effect="NoSchedule",
        )
        kubernetes.use_secret_as_env(
            task, "alerts-webhook", {"url": "FRESHET_SECRET_ALERTS_WEBHOOK_URL"}
        )

    return reference


@dsl.component(base_image=IMAGE)
def evaluate(right: int, rows: int, evaluation: dsl.Output[dsl.Artifact]) -> float:
    """Writes an `evaluation` file as the shipped evaluate step does (scores from its inputs)."""
    import json

    accuracy = right / rows
    scores = {"accuracy": accuracy, "f1_macro": accuracy * 0.9, "log_loss": 1.0 - accuracy}
    with open(evaluation.path, "w") as handle:
        json.dump({"task": "classification", "metrics": scores, "test_rows": rows}, handle)
    return accuracy


@dsl.component(base_image=IMAGE)
def gate(accuracy: float, floor: float, report: dsl.Output[dsl.Artifact]) -> str:
    """Writes a `report` file as the shipped gate step does."""
    import json

    decision = "passed" if accuracy >= floor else "rejected"
    reasons = [f"accuracy {accuracy:.4f} against the floor {floor:.4f}."]
    with open(report.path, "w") as handle:
        json.dump({"metric": "accuracy", "decision": decision, "reasons": reasons}, handle)
    return decision


def scored() -> Any:
    """A training pipeline's shape in small: evaluate and gate tasks inside a sub-pipeline."""

    @dsl.pipeline(name="steps")
    def steps(right: int, rows: int, floor: float) -> float:
        scores = evaluate(right=right, rows=rows)
        gate(accuracy=scores.outputs["Output"], floor=floor)
        return scores.outputs["Output"]

    @dsl.pipeline(name="scored")
    def pipeline(right: int = 7, rows: int = 9, floor: float = 0.5) -> float:
        return steps(right=right, rows=rows, floor=floor).output

    return pipeline
