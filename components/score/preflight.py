"""The prediction steps' preflights: bad input is refused before a run writes anything.

Declared on the resolve-model task (`check_model`: unknown model or alias, no champion, a
BatchPredictionJob asked for), the score task (`check_input`: the input lacks a column the
model needs, bad `keep_columns` or `max_error_fraction`) and the write task (`check_output`:
the output already holds a finished run). They share what they find through the context:
`model_version`, `model_features`, `data_version`.
"""

from __future__ import annotations

from typing import Any

from freshet.errors import BadInput


def _text(inputs: dict[str, Any], name: str, default: str = "") -> str:
    value = inputs.get(name, default)
    if not isinstance(value, str):
        raise BadInput(f"The input '{name}' must be text: {value!r}.")
    return value


def check_model(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Finds the model version the run will score with, and its feature columns.

    Returns:
        `model_version` (number), `model_label` (`name@N`), `model_features` and `notes`;
        empty when the registry is not known before the run.

    Raises:
        BadInput: Unknown model or alias, no champion, an unknown version, or
            `use_batch_prediction_job=true`.
    """
    from freshet.components.score.resolve import check_batch_job, resolve_model, version_label
    from freshet.contract.signature import load_signature
    from freshet.registry import open_registry

    registry_uri = _text(inputs, "registry_uri")
    check_batch_job(inputs.get("use_batch_prediction_job", False), registry_uri)
    if not registry_uri or "model_name" not in inputs:
        return {}
    name = _text(inputs, "model_name")
    version = inputs.get("model_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise BadInput(f"model_version must be a version number (0: the alias), not {version!r}.")
    found = resolve_model(registry_uri, name, _text(inputs, "model_alias", "champion"), version)
    with open_registry(registry_uri).model_files(found) as folder:
        signature = load_signature(folder)
    label = version_label(name, found.version)
    notes = [*context.get("notes", []), f"scoring with {label} ({signature.task})"]
    return {
        "model_version": found.version,
        "model_label": label,
        "model_features": signature.feature_names,
        "notes": notes,
    }


def check_input(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """Checks the scoring parameters and that every input file has the model's columns.

    On Vertex (`context["runner"]`) the input is not read from here: only the parameters
    are checked and the data version listed.

    Returns:
        `data_version` of the input; empty when the input is not known before the run.

    Raises:
        BadInput: A bad parameter, an unreadable input, or a file lacking a feature column or
            a kept column.
    """
    from freshet.components.fetch.sources import data_version
    from freshet.components.score.core import check_fraction, parse_keep_columns
    from freshet.components.score.reader import columns_of, list_inputs

    keep = parse_keep_columns(_text(inputs, "keep_columns"))
    if "max_error_fraction" in inputs:
        check_fraction(inputs["max_error_fraction"])
    if "data_uri" not in inputs:
        return {}
    uri = _text(inputs, "data_uri")
    if context.get("runner") == "vertex":
        return {"data_version": data_version(uri)}
    needed = [*context.get("model_features", []), *keep]
    for file in list_inputs(uri):
        columns = set(columns_of(file))
        missing = [name for name in needed if name not in columns]
        if missing:
            which = "kept" if missing[0] in keep else "feature"
            raise BadInput(
                f"The input '{file.name}' has no column '{missing[0]}', a {which} column "
                "the prediction needs."
            )
    return {"data_version": data_version(uri)}


def check_output(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    """Refuses an output location that holds a finished run, unless `overwrite` is set.

    Raises:
        BadInput: No output location, a malformed one, or one holding a finished run.
    """
    from freshet.components.score.publish import check_output as check
    from freshet.components.score.publish import expand_output

    if "output_uri" not in inputs:
        return None
    overwrite = inputs.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise BadInput(f"overwrite must be true or false, not {overwrite!r}.")
    uri = expand_output(
        _text(inputs, "output_uri"),
        _text(inputs, "run_id"),
        str(context.get("data_version", "")),
        str(context.get("model_label", "")),
    )
    check(uri, overwrite)
    return None
