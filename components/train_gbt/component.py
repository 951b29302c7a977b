"""KFP wrapper of the train_gbt step."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


def train_gbt(
    dataset: Input[Dataset],
    model: Output[Model],
    seed: int,
    max_iter: int,
    learning_rate: float,
    max_leaf_nodes: int,
) -> None:
    """Trains gradient-boosted trees (scikit-learn) into a contract model (ONNX + signature)."""
    # The libraries this step uses: the local fork server imports them once per run.
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import skl2onnx  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    from freshet.components.train_gbt.core import PRODUCER, GbtConfig
    from freshet.components.train_gbt.core import train_gbt as run
    from freshet.errors import FreshetError

    config = GbtConfig(
        seed=seed,
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
    )
    try:
        result = run(dataset.path, model.path, config)
    except FreshetError as exc:
        raise SystemExit(f"train_gbt: {exc}") from None
    model.metadata.update(
        {
            "task": result.task,
            "framework": result.framework,
            "producer": PRODUCER,
            "validation_metric": result.validation_metric,
            "validation_score": result.validation_score,
            "n_iter": result.n_iter,
            "seconds": result.seconds,
            "data_version": dataset.metadata.get("data_version", ""),
        }
    )


def make_train_gbt(base_image: str) -> Any:
    """The train_gbt component for an image (it needs scikit-learn, skl2onnx, onnxruntime)."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(train_gbt)
