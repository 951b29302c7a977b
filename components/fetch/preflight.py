"""The fetch step's preflight: the same checks fetch makes, before a run writes anything.

A pipeline task declares it with the environment variable
`FRESHET_PREFLIGHT=freshet.components.fetch.preflight:check`; the runners call `check` with
the task's inputs whose values are known before the run.
"""

from __future__ import annotations

from typing import Any

from freshet.errors import BadInput
from freshet.preflight_cache import cached_on


def _text(inputs: dict[str, Any], name: str, default: str) -> str:
    value = inputs.get(name, default)
    if not isinstance(value, str):
        raise BadInput(f"The fetch input '{name}' must be text: {value!r}.")
    return value


def _seed(inputs: dict[str, Any]) -> int:
    value = inputs.get("seed", 0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise BadInput(f"The fetch input 'seed' must be an integer: {value!r}.")
    return int(value)


def _data_identity(inputs: dict[str, Any], context: dict[str, Any]) -> str | None:
    """The data's version (what the result depends on beyond the inputs), for a local run."""
    if context.get("runner") != "local" or not isinstance(inputs.get("data_uri"), str):
        return None
    from freshet.components.fetch.sources import data_version

    try:
        return data_version(inputs["data_uri"])
    except Exception:  # the check itself says what is wrong with the data
        return None


@cached_on(_data_identity)
def check(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Reads and checks the dataset as fetch will, and says what the run will train.

    Args:
        inputs: The fetch task's inputs known before the run: `data_uri`, `label_column`,
            `task`, `seed` (`data_version` is resolved by the run and ignored here).
        context: What earlier preflights returned; its "notes" are extended.

    Returns:
        `data_version`, `task`, `labels`, `n_inputs` (columns of the preprocessed matrix),
        `n_outputs` (classes, or 1 for regression) and `notes` (the task and the dropped
        columns, one sentence each). Empty when the data URI is not known before the run;
        only `data_version` when submitting to Vertex (`context["runner"]`), where the table
        is read by the step itself.

    Raises:
        BadInput: The dataset or an input is unusable (the same sentence fetch would say).
    """
    from freshet.components.fetch.core import FetchConfig, check_config, inspect_table
    from freshet.components.fetch.sources import data_version
    from freshet.contract.preprocess import TablePreprocessor

    if "data_uri" not in inputs:
        return {}
    config = FetchConfig(
        uri=_text(inputs, "data_uri", ""),
        label_column=_text(inputs, "label_column", "label"),
        task=_text(inputs, "task", "auto"),
        seed=_seed(inputs),
    )
    if context.get("runner") == "vertex":
        # Submitting (a trigger on Cloud Run, a laptop) must not read a whole dataset: check
        # the inputs and list the data's version; the fetch step checks the table where it runs.
        check_config(config)
        return {"data_version": data_version(config.uri)}
    # What reading the table uses: a local run's fork server imports it once for this check
    # and the steps.
    import pandas  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    inspected = inspect_table(config)
    schema = inspected.schema
    features = inspected.frame.drop(columns=[schema.label_column])
    width = TablePreprocessor.fit(features, schema.signature()).width
    notes = [*context.get("notes", []), f"task: {schema.task} ({schema.task_reason})"]
    notes += [column["reason"] for column in schema.dropped]
    return {
        "data_version": schema.data_version,
        "task": schema.task,
        "labels": schema.labels,
        "n_inputs": width,
        "n_outputs": len(schema.labels) if schema.task == "classification" else 1,
        "notes": notes,
    }
