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
    """Scores the model on the test split; returns its accuracy."""
    import json

    from freshet.components.evaluate.core import evaluate as run

    result = run(dataset.path, model.path)
    for name, value in result.scalars().items():
        metrics.log_metric(name, value)
    metrics.log_metric("test_rows", result.test_rows)
    classification.log_confusion_matrix(result.labels, result.confusion_matrix)
    # Metadata-only artifacts get a file too: kfp.local treats an output whose file is
    # missing as a cache miss.
    for artifact in (metrics, classification):
        with open(artifact.path, "w") as handle:
            json.dump(artifact.metadata, handle, sort_keys=True)
    with open(evaluation.path, "w") as handle:
        handle.write(result.to_json())
    return result.accuracy


def make_evaluate(base_image: str) -> Any:
    """The evaluate component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(evaluate)
