"""The training pipeline: fetch, train, evaluate, gate, then package, verify and register.

Only wiring lives here. The gate and the data-version lookup read mutable state (the
registry, the data source) and are never cached; everything else is cached on its inputs,
and fetch takes the data version as an input so changed data never hits a stale cache.
Verify is never cached either: it checks that the bundle serves with today's runtime, and
register runs only after it passed, so the champion alias never moves to a model whose
serving artifact did not answer correctly.
"""

import inspect
from typing import Any, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Metrics, Model

from freshet.components.evaluate.component import make_evaluate
from freshet.components.fetch.component import make_data_version, make_fetch
from freshet.components.gate.component import make_gate
from freshet.components.notify.component import make_notify
from freshet.components.package.component import make_package
from freshet.components.register.component import make_register
from freshet.components.train.component import make_train
from freshet.components.train.spot import on_spot
from freshet.components.verify.component import make_verify
from freshet.config import Settings

NAME = "training"


class TrainingOutputs(NamedTuple):
    """What a run hands back to its runner (read into `summary.json`)."""

    data_version: str
    dataset: Dataset
    model: Model
    metrics: Metrics
    evaluation: Artifact
    gate_report: Artifact
    decision: str


def build(settings: Settings) -> Any:
    """Builds the training pipeline with images and resources taken from settings."""
    cpu_image = settings.images.components
    data_version_op = make_data_version(cpu_image)
    fetch_op = make_fetch(cpu_image)
    resources = settings.train_resources
    train_op = make_train(settings.images.trainer)
    if resources.spot:
        train_op = on_spot(train_op, resources, cpu_image, settings.gcp)
    evaluate_op = make_evaluate(cpu_image)
    gate_op = make_gate(cpu_image)
    package_op = make_package(cpu_image)
    verify_op = make_verify(cpu_image)
    register_op = make_register(cpu_image)
    notify_op = make_notify(cpu_image)

    def limits(task: Any) -> Any:
        return task.set_cpu_limit(settings.step_cpu_limit).set_memory_limit(
            settings.step_memory_limit
        )

    @dsl.pipeline(  # type: ignore[untyped-decorator]
        name=f"{NAME}-steps",
        description="Fetch, train, evaluate, gate, package, verify and register a classifier.",
    )
    def steps(
        data_uri: str = "sample://digits",
        label_column: str = "label",
        seed: int = 0,
        hidden_units: int = 128,
        hidden_layers: int = 2,
        epochs: int = 30,
        batch_size: int = 64,
        learning_rate: float = 0.001,
        patience: int = 0,
        checkpoint_root: str = "",
        checkpoint_every_steps: int = 0,
        compile_model: bool = False,
        data_loading: str = "auto",
        min_accuracy: float = 0.9,
        max_regression: float = 0.0,
        model_name: str = "classifier",
        registry_uri: str = "",
        run_id: str = "",
        golden_count: int = 100,
        git_commit: str = "",
        serving_image: str = "",
        build_project: str = "",
        build_bucket: str = "",
        serve_command: str = "",
        startup_timeout_s: float = 20.0,
        latency_requests: int = 200,
        latency_slo_p99_ms: float = 100.0,
        golden_tolerance: float = 0.0001,
    ) -> TrainingOutputs:
        version = limits(data_version_op(data_uri=data_uri)).set_caching_options(False)
        fetched = limits(
            fetch_op(
                data_uri=data_uri, data_version=version.output, label_column=label_column, seed=seed
            )
        )
        trained = train_op(
            dataset=fetched.outputs["dataset"],
            hidden_units=hidden_units,
            hidden_layers=hidden_layers,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            patience=patience,
            seed=seed,
            checkpoint_root=checkpoint_root,
            checkpoint_every_steps=checkpoint_every_steps,
            compile_model=compile_model,
            data_loading=data_loading,
        )
        if resources.retries:
            # A preempted attempt saves its checkpoint and exits 1; the retry resumes from it.
            trained.set_retry(
                num_retries=resources.retries,
                backoff_duration=f"{resources.retry_backoff_s}s",
                backoff_factor=2.0,
            )
        if resources.spot:
            # The machine type sizes the CustomJob's worker; this task is its small launcher.
            limits(trained)
        else:
            trained.set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
        if not resources.spot and resources.accelerator_type and resources.accelerator_count:
            trained.set_accelerator_type(resources.accelerator_type).set_accelerator_limit(
                resources.accelerator_count
            )
        evaluated = limits(
            evaluate_op(dataset=fetched.outputs["dataset"], model=trained.outputs["model"])
        )
        gated = limits(
            gate_op(
                evaluation=evaluated.outputs["evaluation"],
                registry_uri=registry_uri,
                model_name=model_name,
                min_accuracy=min_accuracy,
                max_regression=max_regression,
            )
        ).set_caching_options(False)
        with dsl.If(gated.outputs["Output"] == "passed", name="gate-passed"):
            packaged = limits(
                package_op(
                    dataset=fetched.outputs["dataset"],
                    model=trained.outputs["model"],
                    golden_count=golden_count,
                    git_commit=git_commit,
                    serving_image=serving_image,
                    build_project=build_project,
                    build_bucket=build_bucket,
                )
            )
            verified = limits(
                verify_op(
                    bundle=packaged.outputs["bundle"],
                    run_id=run_id,
                    serve_command=serve_command,
                    startup_timeout_s=startup_timeout_s,
                    latency_requests=latency_requests,
                    latency_slo_p99_ms=latency_slo_p99_ms,
                    tolerance=golden_tolerance,
                )
            ).set_caching_options(False)
            limits(
                register_op(
                    model=trained.outputs["model"],
                    evaluation=evaluated.outputs["evaluation"],
                    registry_uri=registry_uri,
                    model_name=model_name,
                    data_version=version.output,
                    run_id=run_id,
                )
            ).after(verified).set_caching_options(False)
        return TrainingOutputs(
            data_version=version.output,
            dataset=fetched.outputs["dataset"],
            model=trained.outputs["model"],
            metrics=evaluated.outputs["metrics"],
            evaluation=evaluated.outputs["evaluation"],
            gate_report=gated.outputs["report"],
            decision=gated.outputs["Output"],
        )

    return with_exit_notification(steps, notify_op, limits)


def with_exit_notification(steps: Any, notify_op: Any, limits: Any) -> Any:
    """Wraps the steps in the outer pipeline whose exit task posts failed runs to a webhook.

    The outer pipeline takes the steps' parameters (one list, declared once, on `steps`) plus
    `alert_webhook` and `report_url`. kfp refuses pipeline outputs from inside
    `dsl.ExitHandler`, so the exit task is the other form kfp offers: a task after the steps
    with `ignore_upstream_failure()`, which compiles to the same "all upstream tasks
    completed" trigger and receives the steps' final status.
    """
    inner = inspect.signature(steps.pipeline_func)
    extra = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default="", annotation=str)
        for name in ("alert_webhook", "report_url")
    ]
    signature = inner.replace(parameters=[*inner.parameters.values(), *extra])
    names = list(inner.parameters)

    def training(*args: Any) -> TrainingOutputs:
        # kfp calls the pipeline function positionally, in signature order
        params = dict(zip(signature.parameters, args, strict=True))
        task = steps(**{name: params[name] for name in names})
        limits(
            notify_op(
                webhook_url=params["alert_webhook"],
                pipeline=NAME,
                run_id=params["run_id"],
                report_url=params["report_url"],
            )
        ).after(task).ignore_upstream_failure().set_caching_options(False)
        return TrainingOutputs(**{name: task.outputs[name] for name in TrainingOutputs._fields})

    training.__signature__ = signature  # type: ignore[attr-defined]
    decorate = dsl.pipeline(name=NAME, description=steps.description)
    return decorate(training)
