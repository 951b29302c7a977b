"""KFP wrappers of the fetch step: resolve the data version, then fetch and split."""

from typing import Any

from kfp import dsl
from kfp.dsl import Dataset, Output


def data_version(data_uri: str) -> str:
    """Resolves the version of the data behind `data_uri` (run uncached, every time)."""
    from freshet.components.fetch.sources import data_version as resolve
    from freshet.errors import FreshetError

    try:
        return resolve(data_uri)
    except FreshetError as exc:
        raise SystemExit(f"data-version: {exc}") from None


def fetch(
    data_uri: str,
    data_version: str,
    label_column: str,
    task: str,
    seed: int,
    dataset: Output[Dataset],
) -> None:
    """Fetches and splits the dataset; `data_version` keys the cache to the content.

    `task` is "auto" (decided from the label), "classification" or "regression".
    """
    # The libraries this step uses: the local fork server imports them once per run.
    from collections import Counter

    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    from freshet.components.fetch.core import FetchConfig
    from freshet.components.fetch.core import fetch as run
    from freshet.errors import FreshetError

    config = FetchConfig(uri=data_uri, label_column=label_column, task=task, seed=seed)
    try:
        schema = run(config, dataset.path)
    except FreshetError as exc:
        raise SystemExit(f"fetch: {exc}") from None
    if schema.data_version != data_version:
        raise SystemExit(
            f"fetch: the data at '{data_uri}' changed while the run started "
            f"(version {data_version}, now {schema.data_version}); start the run again."
        )
    print(f"task: {schema.task} ({schema.task_reason})")
    for column in schema.dropped:
        print(column["reason"])
    dataset.metadata.update(
        {
            "data_version": schema.data_version,
            "rows": schema.rows,
            "task": schema.task,
            "task_reason": schema.task_reason,
            "labels": schema.labels,
            "features": len(schema.features),
            "kinds": dict(Counter(column["kind"] for column in schema.columns)),
            "dropped": [column["name"] for column in schema.dropped],
            "uri": data_uri,
        }
    )


def make_data_version(base_image: str) -> Any:
    """The data-version component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(data_version)


def make_fetch(base_image: str) -> Any:
    """The fetch component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(fetch)
