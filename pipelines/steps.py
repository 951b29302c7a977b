"""freshet's steps for pipeline authors: the components with images, resources and checks.

A pipeline of your own reuses freshet's steps through `Steps` and swaps in its own where it
wants (a train component that writes the model contract, see docs/model-contract.md)::

    steps = Steps(settings)
    version, fetched = steps.fetch_data(data_uri, label_column="label", task="auto", seed=0)
    trained = my_train_op(dataset=fetched.outputs["dataset"])
    shipped = steps.ship(dataset=fetched.outputs["dataset"], model=trained.outputs["model"],
                         data_version=version.output, **ship_parameters)

`ship` wires evaluate -> gate -> [passed] package -> verify -> register. Steps that read
mutable state (the data version, the gate's champion, verification, registration) are never
cached; the others are cached on their inputs.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Metrics, Model

from freshet.config import Settings
from freshet.preflight import declare

# The parameters of `Steps.ship`, with their pipeline defaults: one list for every pipeline.
SHIP_PARAMETERS: list[tuple[str, type, Any]] = [
    ("gate_metric", str, ""),
    ("gate_threshold", str, "auto"),
    ("max_regression", float, 0.0),
    ("model_name", str, "model"),
    ("registry_uri", str, ""),
    ("run_id", str, ""),
    ("golden_count", int, 100),
    ("git_commit", str, ""),
    ("serving_image", str, ""),
    ("build_project", str, ""),
    ("build_bucket", str, ""),
    ("serve_command", str, ""),
    ("startup_timeout_s", float, 20.0),
    ("latency_requests", int, 200),
    ("latency_slo_p99_ms", float, 100.0),
    ("golden_tolerance", float, 0.0001),
    ("verify_target", str, "process"),
    ("verify_machine_type", str, "n1-standard-2"),
    ("template_version", str, ""),  # a system input: the runner fills it
]
DATA_PARAMETERS: list[tuple[str, type, Any]] = [
    ("data_uri", str, "sample://digits"),
    ("label_column", str, "label"),
    ("task", str, "auto"),
    ("seed", int, 0),
]


class ContinuousTrainingOutputs(NamedTuple):
    """What a continuous-training run hands back to its runner (read into `summary.json`)."""

    data_version: str
    dataset: Dataset
    model: Model
    metrics: Metrics
    evaluation: Artifact
    gate_report: Artifact
    decision: str


@dataclass
class Shipped:
    """The tasks `Steps.ship` added."""

    evaluated: Any
    gated: Any


class Steps:
    """freshet's components for one set of settings (images compiled in)."""

    def __init__(self, settings: Settings) -> None:
        from freshet.components.evaluate.component import make_evaluate
        from freshet.components.fetch.component import make_data_version, make_fetch
        from freshet.components.gate.component import make_gate
        from freshet.components.notify.component import make_notify
        from freshet.components.package.component import make_package
        from freshet.components.register.component import make_register
        from freshet.components.verify.component import make_verify

        self.settings = settings
        cpu = settings.images.components
        self.data_version_op = make_data_version(cpu)
        self.fetch_op = make_fetch(cpu)
        self.evaluate_op = make_evaluate(cpu)
        self.gate_op = make_gate(cpu)
        self.package_op = make_package(cpu)
        self.verify_op = make_verify(cpu)
        self.register_op = make_register(cpu)
        self.notify_op = make_notify(cpu)

    def limits(self, task: Any) -> Any:
        """Applies the per-step CPU and memory limits from settings."""
        return task.set_cpu_limit(self.settings.step_cpu_limit).set_memory_limit(
            self.settings.step_memory_limit
        )

    def fetch_data(self, data_uri: Any, label_column: Any, task: Any, seed: Any) -> tuple[Any, Any]:
        """The data-version task (never cached) and the fetch task keyed by its output."""
        version = self.limits(self.data_version_op(data_uri=data_uri)).set_caching_options(False)
        fetched = self.limits(
            self.fetch_op(
                data_uri=data_uri,
                data_version=version.output,
                label_column=label_column,
                task=task,
                seed=seed,
            )
        )
        declare(fetched, "freshet.components.fetch.preflight:check")
        return version, fetched

    def train_torch(self, dataset: Any, **parameters: Any) -> Any:
        """The PyTorch train task, with the train resources, retries and Spot from settings."""
        from freshet.components.train.component import make_train
        from freshet.components.train.spot import on_spot

        resources = self.settings.train_resources
        train_op = make_train(self.settings.images.trainer)
        if resources.spot:
            train_op = on_spot(
                train_op, resources, self.settings.images.components, self.settings.gcp
            )
        trained = train_op(dataset=dataset, **parameters)
        declare(trained, "freshet.components.train.preflight:check")
        if resources.retries:
            # A preempted attempt saves its checkpoint and exits 1; the retry resumes from it.
            trained.set_retry(
                num_retries=resources.retries,
                backoff_duration=f"{resources.retry_backoff_s}s",
                backoff_factor=2.0,
            )
        if resources.spot:
            # The machine type sizes the CustomJob's worker; this task is its small launcher.
            self.limits(trained)
        else:
            trained.set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
        if not resources.spot and resources.accelerator_type and resources.accelerator_count:
            trained.set_accelerator_type(resources.accelerator_type).set_accelerator_limit(
                resources.accelerator_count
            )
        return trained

    def ship(self, dataset: Any, model: Any, data_version: Any, **params: Any) -> Shipped:
        """Evaluate, gate and, when the gate passed, package, verify and register.

        Args:
            dataset: The fetched Dataset (its test split scores candidate and champion).
            model: A Model artifact holding the model contract.
            data_version: The data version task output (recorded with the version).
            **params: The `SHIP_PARAMETERS` (pipeline parameters or constants).
        """
        evaluated = self.limits(self.evaluate_op(dataset=dataset, model=model))
        gated = self.limits(
            self.gate_op(
                dataset=dataset,
                evaluation=evaluated.outputs["evaluation"],
                registry_uri=params["registry_uri"],
                model_name=params["model_name"],
                gate_metric=params["gate_metric"],
                gate_threshold=params["gate_threshold"],
                max_regression=params["max_regression"],
            )
        ).set_caching_options(False)
        declare(gated, "freshet.components.gate.preflight:check")
        with dsl.If(gated.outputs["Output"] == "passed", name="gate-passed"):
            packaged = self.limits(
                self.package_op(
                    dataset=dataset,
                    model=model,
                    golden_count=params["golden_count"],
                    git_commit=params["git_commit"],
                    serving_image=params["serving_image"],
                    build_project=params["build_project"],
                    build_bucket=params["build_bucket"],
                )
            )
            verified = self.limits(
                self.verify_op(
                    bundle=packaged.outputs["bundle"],
                    run_id=params["run_id"],
                    serve_command=params["serve_command"],
                    startup_timeout_s=params["startup_timeout_s"],
                    latency_requests=params["latency_requests"],
                    latency_slo_p99_ms=params["latency_slo_p99_ms"],
                    tolerance=params["golden_tolerance"],
                    verify_target=params["verify_target"],
                    registry_uri=params["registry_uri"],
                    model_name=params["model_name"],
                    serving_image=packaged.outputs["Output"],
                    verify_machine_type=params["verify_machine_type"],
                    data_version=data_version,
                    git_commit=params["git_commit"],
                    template_version=params["template_version"],
                )
            ).set_caching_options(False)
            self.limits(
                self.register_op(
                    model=model,
                    evaluation=evaluated.outputs["evaluation"],
                    registry_uri=params["registry_uri"],
                    model_name=params["model_name"],
                    data_version=data_version,
                    run_id=params["run_id"],
                    serving_image=packaged.outputs["Output"],
                    git_commit=params["git_commit"],
                    template_version=params["template_version"],
                )
            ).after(verified).set_caching_options(False)
        return Shipped(evaluated=evaluated, gated=gated)

    def outputs(
        self, version: Any, fetched: Any, trained: Any, shipped: Shipped
    ) -> ContinuousTrainingOutputs:
        """The standard outputs of a continuous-training pipeline."""
        return ContinuousTrainingOutputs(
            data_version=version.output,
            dataset=fetched.outputs["dataset"],
            model=trained.outputs["model"],
            metrics=shipped.evaluated.outputs["metrics"],
            evaluation=shipped.evaluated.outputs["evaluation"],
            gate_report=shipped.gated.outputs["report"],
            decision=shipped.gated.outputs["Output"],
        )


Parameters = list[tuple[str, type, Any]]
# Adds the train task: (steps, fetched Dataset, pipeline parameter values) -> the task.
Train = Callable[["Steps", Any, dict[str, Any]], Any]


def continuous_training(
    settings: Settings,
    name: str,
    description: str,
    train: Train,
    train_parameters: Parameters,
    defaults: dict[str, Any] | None = None,
    data_parameters: Parameters | None = None,
) -> Any:
    """A continuous-training pipeline: fetch -> your train task -> evaluate, gate and ship.

    Args:
        settings: Images and resources to compile in.
        name: The pipeline's name.
        description: One line for the pipeline's description.
        train: Adds the train task; its `model` output must hold the model contract.
        train_parameters: The train task's pipeline parameters (name, type, default).
        defaults: Parameter defaults to change (any of the pipeline's parameters).
        data_parameters: The data parameters (default `DATA_PARAMETERS`).

    Returns:
        The kfp pipeline, wrapped with the exit notification.
    """
    steps = Steps(settings)
    data = DATA_PARAMETERS if data_parameters is None else data_parameters
    fixed = {key: default for key, _, default in DATA_PARAMETERS}

    def body(p: dict[str, Any]) -> ContinuousTrainingOutputs:
        values = {**fixed, **p}
        version, fetched = steps.fetch_data(
            values["data_uri"], values["label_column"], values["task"], values["seed"]
        )
        trained = train(steps, fetched.outputs["dataset"], values)
        shipped = steps.ship(
            fetched.outputs["dataset"],
            trained.outputs["model"],
            version.output,
            **{key: values[key] for key, _, _ in SHIP_PARAMETERS},
        )
        return steps.outputs(version, fetched, trained, shipped)

    parameters = data + train_parameters + SHIP_PARAMETERS
    inner = dsl.pipeline(name=f"{name}-steps", description=description)(
        with_parameters(body, parameters, ContinuousTrainingOutputs, defaults)
    )
    return with_exit_notification(inner, steps.notify_op, steps.limits, name)


def with_parameters(
    body: Callable[[dict[str, Any]], Any],
    parameters: Parameters,
    returns: Any,
    defaults: dict[str, Any] | None = None,
) -> Callable[..., Any]:
    """A function kfp can decorate as a pipeline: `parameters` become its signature.

    kfp reads a pipeline's inputs from the function's signature and calls it positionally;
    building the signature from one list lets a pipeline and its variants (other defaults,
    another trainer) share the declaration.

    Raises:
        ValueError: `defaults` names a parameter that is not in `parameters`.
    """
    overrides = dict(defaults or {})
    unknown = sorted(set(overrides) - {name for name, _, _ in parameters})
    if unknown:
        raise ValueError(f"unknown pipeline parameters in defaults: {', '.join(unknown)}")
    signature = inspect.Signature(
        [
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=overrides.get(name, default),
                annotation=kind,
            )
            for name, kind, default in parameters
        ],
        return_annotation=returns,
    )

    def pipeline(*args: Any) -> Any:
        return body(dict(zip(signature.parameters, args, strict=True)))

    pipeline.__signature__ = signature  # type: ignore[attr-defined]
    return pipeline


def with_exit_notification(steps: Any, notify_op: Any, limits: Any, name: str) -> Any:
    """Wraps the steps in the outer pipeline whose exit task posts failed runs to a webhook.

    The outer pipeline takes the steps' parameters plus `alert_webhook` and `report_url`.
    `alert_webhook` carries a secret reference (`sm://...`, `k8s://...`; runners fill it from
    `[ops] webhook_url`), never the URL: the notify task resolves it at run time, and its
    compiled default stays empty (`freshet lint` rule no-secret-defaults).
    kfp refuses pipeline outputs from inside `dsl.ExitHandler`, so the exit task is the other
    form kfp offers: a task after the steps with `ignore_upstream_failure()`, which compiles
    to the same "all upstream tasks completed" trigger and receives the steps' final status.
    """
    inner = inspect.signature(steps.pipeline_func)
    returns = inner.return_annotation
    parameters: Parameters = [
        (p.name, p.annotation, p.default) for p in inner.parameters.values()
    ] + [("alert_webhook", str, ""), ("report_url", str, "")]
    names = list(inner.parameters)

    def body(params: dict[str, Any]) -> Any:
        task = steps(**{key: params[key] for key in names})
        limits(
            notify_op(
                webhook_url=params["alert_webhook"],
                pipeline=name,
                run_id=params.get("run_id", ""),
                report_url=params["report_url"],
                # What a verify step on a Vertex AI endpoint left behind is removed here.
                verify_target=params.get("verify_target", "process"),
                registry_uri=params.get("registry_uri", ""),
            )
        ).after(task).ignore_upstream_failure().set_caching_options(False)
        return returns(**{field: task.outputs[field] for field in returns._fields})

    decorate = dsl.pipeline(name=name, description=steps.description)
    return decorate(with_parameters(body, parameters, returns))
