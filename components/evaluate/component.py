"""KFP wrapper of the evaluate step."""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output


def evaluate(
    dataset: Input[Dataset],
    model: Input[Model],
    metrics: Output[Metrics],
    classification: Output[ClassificationMetrics],
    evaluation: Output[Artifact],
) -> float:
    """Scores the model on the test split; returns the task's headline metric.

    The headline is accuracy for a classifier and rmse for a regression model. The confusion
    matrix goes to `classification` for a classifier only.
    """
    # The libraries this step uses: the local fork server imports them once per run.
    import json

    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.metrics  # noqa: F401

    from freshet.components.evaluate.core import score
    from freshet.errors import FreshetError

    try:
        result = score(model.path, dataset.path)
    except FreshetError as exc:
        raise SystemExit(f"evaluate: {exc}") from None
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    metrics.log_metric("test_rows", result.test_rows)
    if result.task == "classification":
        classification.log_confusion_matrix(result.labels, result.confusion_matrix)
    # Metadata-only artifacts get a file too: kfp.local treats an output whose file is
    # missing as a cache miss.
    for artifact in (metrics, classification):
        with open(artifact.path, "w") as handle:
            json.dump(artifact.metadata, handle, sort_keys=True)
    with open(evaluation.path, "w") as handle:
        handle.write(result.to_json())
    print(
        f"evaluate: {result.task} on {result.test_rows} test rows: "
        + ", ".join(f"{name} {value:.4f}" for name, value in result.metrics.items())
    )
    return result.metrics[result.headline]


def make_evaluate(base_image: str) -> Any:
    """The evaluate component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(evaluate)
