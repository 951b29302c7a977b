"""Pipeline parameters: parse `KEY=VALUE` and check them against the compiled template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from freshet.errors import BadInput

_TYPES = {
    "STRING": "text",
    "NUMBER_INTEGER": "integer",
    "NUMBER_DOUBLE": "number",
    "BOOLEAN": "true or false",
}


def yaml_documents(text: str) -> list[Any]:
    """The YAML documents of a text, parsed by libyaml when PyYAML has it (~8x faster).

    Raises:
        yaml.YAMLError: The text is not YAML.
    """
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return list(yaml.load_all(text, Loader=loader))


def load_template(path: Path) -> dict[str, Any]:
    """Reads a compiled pipeline YAML.

    Raises:
        BadInput: The file is missing or is not a KFP pipeline spec.
    """
    if not path.exists():
        raise BadInput(f"Pipeline template not found: '{path}'.")
    try:
        # A template with Kubernetes settings has a second document: the platform spec.
        spec = next(iter(yaml_documents(path.read_text())), None)
    except yaml.YAMLError:
        raise BadInput(f"The pipeline template '{path}' is not valid YAML.") from None
    if not isinstance(spec, dict) or "pipelineInfo" not in spec or "root" not in spec:
        raise BadInput(f"The file '{path}' is not a compiled KFP pipeline.")
    return spec


def template_parameters(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The pipeline's input parameters: name -> {parameterType, defaultValue?}."""
    params: dict[str, dict[str, Any]] = (
        spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    )
    return params


def parse_assignments(items: list[str]) -> dict[str, str]:
    """Parses `KEY=VALUE` strings; the last of repeated keys wins.

    Raises:
        BadInput: An item has no '=' or an empty key.
    """
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"Parameter '{item}' is not in the form KEY=VALUE.")
        parsed[key.strip()] = value
    return parsed


def _coerce(name: str, raw: Any, kind: str) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if kind == "NUMBER_INTEGER":
            return int(raw)
        if kind == "NUMBER_DOUBLE":
            return float(raw)
    except ValueError:
        raise BadInput(f"Parameter '{name}' must be {_TYPES[kind]}, not '{raw}'.") from None
    if kind == "BOOLEAN":
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise BadInput(f"Parameter '{name}' must be true or false, not '{raw}'.")
    return raw


def resolve(spec: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Checks names and converts values to the template's parameter types.

    Args:
        spec: The compiled pipeline.
        given: Parameter values (strings from the command line, or typed values).

    Returns:
        The given parameters, typed.

    Raises:
        BadInput: A name the pipeline does not have, or a value of the wrong type.
    """
    known = template_parameters(spec)
    resolved = {}
    for name, raw in given.items():
        if name not in known:
            raise BadInput(
                f"Unknown parameter '{name}' for pipeline "
                f"'{spec['pipelineInfo']['name']}'; known: {', '.join(sorted(known))}."
            )
        resolved[name] = _coerce(name, raw, known[name]["parameterType"])
    return resolved


def with_defaults(spec: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The full parameter set: template defaults overlaid with the given values."""
    values = {
        name: int(info["defaultValue"])
        if info["parameterType"] == "NUMBER_INTEGER"
        else info["defaultValue"]
        for name, info in template_parameters(spec).items()
        if "defaultValue" in info
    }
    values.update(given)
    return values


def request_values(
    spec: dict[str, Any], parameters: dict[str, Any], data_uri: str | None
) -> dict[str, Any]:
    """The typed parameters of a run request: its parameters, and its data as `data_uri`.

    Raises:
        BadInput: Unknown parameter, a value of the wrong type, or data given to a pipeline
            that takes no `data_uri` parameter.
    """
    given = dict(parameters)
    if data_uri is not None:
        if "data_uri" not in template_parameters(spec):
            raise BadInput(
                f"Pipeline '{spec['pipelineInfo']['name']}' has no data_uri parameter, so it "
                f"cannot be given data ('{data_uri}')."
            )
        given["data_uri"] = data_uri
    return resolve(spec, given)


def with_system_inputs(
    spec: dict[str, Any], values: dict[str, Any], offered: dict[str, Any]
) -> dict[str, Any]:
    """`values` plus each system input the template declares and the run left empty.

    The machinery offers values it owns (the run id, where the registry lives); a template
    receives only those its root declares, so a pipeline that takes none runs as it is.

    Args:
        spec: The compiled pipeline.
        values: The run's parameters (given, with or without defaults).
        offered: System input name -> value.

    Returns:
        A new dict; the given values are never overwritten by a non-empty system value.
    """
    declared = template_parameters(spec)
    merged = dict(values)
    for name, value in offered.items():
        if name in declared and not merged.get(name):
            merged[name] = value
    return merged


def check_complete(spec: dict[str, Any], values: dict[str, Any]) -> None:
    """Raises `BadInput` naming the first required parameter without a value.

    Raises:
        BadInput: A parameter without a default that the run does not give.
    """
    for name, info in sorted(template_parameters(spec).items()):
        if name not in values and "defaultValue" not in info and not info.get("isOptional"):
            kind = _TYPES.get(info.get("parameterType", ""), "a value")
            raise BadInput(
                f"Pipeline '{spec['pipelineInfo']['name']}' needs parameter '{name}' "
                f"({kind}); give it with --param {name}=VALUE."
            )
