"""KFP wrappers of the prediction steps: resolve the model, score the input, write the output.

resolve-model reads the registry's aliases (mutable) and is never cached; score is cached
on its inputs, which hold the data version and the model version, so the same data scored
by the same model is not scored twice; write publishes to the user's location (mutable) and
is never cached.
"""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output


def resolve_model(
    registry_uri: str,
    model_name: str,
    model_alias: str,
    model_version: int,
    use_batch_prediction_job: bool,
) -> int:
    """The registered version to score with: `model_version`, or the one `model_alias` names."""
    from freshet.components.score.resolve import check_batch_job
    from freshet.components.score.resolve import resolve_model as resolve
    from freshet.errors import FreshetError

    try:
        check_batch_job(use_batch_prediction_job, registry_uri)
        found = resolve(registry_uri, model_name, model_alias, model_version)
    except FreshetError as exc:
        raise SystemExit(f"resolve-model: {exc}") from None
    print(f"resolve-model: {model_name}@{found.version} (run {found.run_id or '-'})")
    return found.version


def score(
    data_uri: str,
    data_version: str,
    registry_uri: str,
    model_name: str,
    model_version: int,
    keep_columns: str,
    max_error_fraction: float,
    predictions: Output[Dataset],
    metrics: Output[Metrics],
) -> None:
    """Scores the input with one model version into Parquet parts (see `score.core`)."""
    import json

    # The libraries this step uses: the local fork server imports them once per run.
    import onnxruntime  # type: ignore[import-untyped]  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from freshet.components.score.core import ScoreConfig, check_fraction, parse_keep_columns
    from freshet.components.score.core import score as run
    from freshet.components.score.resolve import loaded_model, version_label
    from freshet.errors import FreshetError

    label = version_label(model_name, model_version)
    try:
        config = ScoreConfig(
            data_uri=data_uri,
            data_version=data_version,
            model_version=label,
            keep_columns=parse_keep_columns(keep_columns),
            max_error_fraction=check_fraction(max_error_fraction),
        )
        with loaded_model(registry_uri, model_name, model_version) as model:
            result = run(model, config, predictions.path)
    except FreshetError as exc:
        raise SystemExit(f"score: {exc}") from None
    for name, value in result.metrics().items():
        metrics.log_metric(name, value)
    # Maps of counts: the run summary and report show them as breakdowns.
    metrics.metadata["prediction_distribution"] = result.distribution
    metrics.metadata["rejected_reasons"] = result.top_reasons()
    with open(metrics.path, "w") as handle:  # kfp.local: an output without a file is a miss
        json.dump(metrics.metadata, handle, sort_keys=True)
    predictions.metadata.update(
        {
            "data_version": data_version,
            "model_version": label,
            "task": result.task,
            "parts": result.parts,
            "errors": result.error_parts,
            **result.metrics(),
        }
    )
    print(
        f"score: {result.rows_scored} of {result.rows_in} rows scored with {label}, "
        f"{result.rows_rejected} rejected, {result.rows_per_s:.0f} rows/s"
    )


def write(
    predictions: Input[Dataset],
    output_uri: str,
    overwrite: bool,
    run_id: str,
    model_name: str,
    model_version: int,
    data_version: str,
) -> str:
    """Publishes the scored parts to `output_uri` with this run's id; returns the location."""
    from freshet.components.score.publish import expand_output, publish
    from freshet.components.score.resolve import version_label
    from freshet.errors import FreshetError

    label = version_label(model_name, model_version)
    manifest = {
        key: predictions.metadata.get(key)
        for key in ("data_version", "model_version", "task", "rows_in", "rows_scored")
    }
    manifest["rows_rejected"] = predictions.metadata.get("rows_rejected")
    for key in ("rows_in", "rows_scored", "rows_rejected"):
        if isinstance(manifest[key], float):  # artifact metadata stores every number as a float
            manifest[key] = int(manifest[key])
    try:
        uri = expand_output(output_uri, run_id, data_version, label)
        files = publish(predictions.path, uri, run_id, manifest, overwrite)
    except FreshetError as exc:
        raise SystemExit(f"write: {exc}") from None
    print(f"write: {len(files) - 1} parts and _SUCCESS in {uri}")
    return uri


def make_resolve_model(base_image: str) -> Any:
    """The resolve-model component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(resolve_model)


def make_score(base_image: str) -> Any:
    """The score component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(score)


def make_write(base_image: str) -> Any:
    """The write component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(write)
