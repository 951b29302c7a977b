"""The prediction pipeline: score new data with the registered champion (or a fixed version).

    data-version (never cached) -> resolve-model (never cached) -> score (cached) -> write

Only wiring lives here. score's inputs hold the data version and the resolved model version,
so kfp's cache key covers both: the same data scored by the same model is served from cache,
and a new champion re-scores. There is no fetch step: fetch needs a label and splits the
table, while scoring streams the raw input and the model's signature decides the columns.
"""

# No `from __future__ import annotations`: kfp reads the outputs' annotations as types.
from typing import Any, NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Metrics

from freshet.config import Settings
from freshet.pipelines.steps import Parameters, Steps, with_exit_notification, with_parameters
from freshet.preflight import declare

NAME = "prediction"
PREDICTION_PARAMETERS: Parameters = [
    ("data_uri", str, "sample://digits"),
    ("output_uri", str, ""),
    ("model_name", str, "model"),
    ("model_alias", str, "champion"),
    ("model_version", int, 0),
    ("keep_columns", str, ""),
    ("max_error_fraction", float, 0.01),
    ("overwrite", bool, False),
    ("use_batch_prediction_job", bool, False),
    ("registry_uri", str, ""),
    ("run_id", str, ""),
]
PREFLIGHTS = "freshet.components.score.preflight"


class PredictionOutputs(NamedTuple):
    """What a prediction run hands back to its runner (read into `summary.json`)."""

    data_version: str
    model_version: int
    predictions: Dataset
    metrics: Metrics
    output_uri: str


def build(settings: Settings, name: str = NAME, defaults: dict[str, Any] | None = None) -> Any:
    """Builds the prediction pipeline.

    Args:
        settings: Images and resources (`[predict_resources]` for the score task).
        name: The pipeline's name.
        defaults: Parameter defaults to change, e.g. `{"keep_columns": "id"}`.

    Returns:
        The kfp pipeline, wrapped with the exit notification.
    """
    from freshet.components.score.component import make_resolve_model, make_score, make_write

    steps = Steps(settings)
    image = settings.images.components
    resolve_op, score_op, write_op = make_resolve_model(image), make_score(image), make_write(image)
    resources = settings.predict_resources

    def body(p: dict[str, Any]) -> PredictionOutputs:
        version = steps.limits(steps.data_version_op(data_uri=p["data_uri"]))
        version.set_caching_options(False)
        resolved = steps.limits(
            resolve_op(
                registry_uri=p["registry_uri"],
                model_name=p["model_name"],
                model_alias=p["model_alias"],
                model_version=p["model_version"],
                use_batch_prediction_job=p["use_batch_prediction_job"],
            )
        ).set_caching_options(False)
        declare(resolved, f"{PREFLIGHTS}:check_model")
        scored = score_op(
            data_uri=p["data_uri"],
            data_version=version.output,
            registry_uri=p["registry_uri"],
            model_name=p["model_name"],
            model_version=resolved.output,
            keep_columns=p["keep_columns"],
            max_error_fraction=p["max_error_fraction"],
        )
        scored.set_cpu_limit(resources.cpu_limit).set_memory_limit(resources.memory_limit)
        if resources.retries:
            scored.set_retry(
                num_retries=resources.retries,
                backoff_duration=f"{resources.retry_backoff_s}s",
                backoff_factor=2.0,
            )
        declare(scored, f"{PREFLIGHTS}:check_input")
        written = steps.limits(
            write_op(
                predictions=scored.outputs["predictions"],
                output_uri=p["output_uri"],
                overwrite=p["overwrite"],
                run_id=p["run_id"],
                model_name=p["model_name"],
                model_version=resolved.output,
                data_version=version.output,
            )
        ).set_caching_options(False)
        declare(written, f"{PREFLIGHTS}:check_output")
        return PredictionOutputs(
            data_version=version.output,
            model_version=resolved.output,
            predictions=scored.outputs["predictions"],
            metrics=scored.outputs["metrics"],
            output_uri=written.output,
        )

    inner = dsl.pipeline(
        name=f"{name}-steps",
        description="Resolve the champion, score new data with it, write the predictions.",
    )(with_parameters(body, PREDICTION_PARAMETERS, PredictionOutputs, defaults))
    return with_exit_notification(inner, steps.notify_op, steps.limits, name)
