"""Preflights the tests' small pipelines declare: each records how it was called.

In this process in `CALLS`; and, when `PREFLIGHT_CALLS_FILE` names a file, as a JSON line
there with the calling process (a local run calls them in a child of its fork server).
"""

from __future__ import annotations

import json
import os
from typing import Any

from freshet.errors import BadInput
from freshet.preflight_cache import cached_on, inputs_only

CALLS: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
NOT_CALLABLE = 3


def _record(name: str, inputs: dict[str, Any], context: dict[str, Any]) -> None:
    CALLS.append((name, dict(inputs), dict(context)))
    path = os.environ.get("PREFLIGHT_CALLS_FILE")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps({"name": name, "pid": os.getpid(), "context": context}) + "\n")


def tie(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    _record("tie", inputs, context)


def first(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    _record("first", inputs, context)
    return {
        "data_version": f"v{inputs['x']}",
        "notes": [*context.get("notes", []), f"x is {inputs['x']}"],
    }


def second(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    _record("second", inputs, context)
    return {"notes": ["second looked"], "seen_version": context.get("data_version")}


def nested(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    _record("nested", inputs, context)


def refuse(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    _record("refuse", inputs, context)
    if inputs["x"] < 0:
        raise BadInput(f"x must not be negative: {inputs['x']}.")


def crash(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    raise ConnectionError("cannot reach gs://bucket from here")


def not_a_dict(inputs: dict[str, Any], context: dict[str, Any]) -> list[str]:
    return ["x"]


def _data_version(inputs: dict[str, Any], context: dict[str, Any]) -> str | None:
    return os.environ.get("PREFLIGHT_DATA_VERSION")  # unset: cannot tell, never reused


@cached_on(_data_version)
def versioned(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    _record("versioned", inputs, context)
    return {"data_version": f"{os.environ.get('PREFLIGHT_DATA_VERSION')}-{inputs['x']}"}


@cached_on(inputs_only)
def refuse_kept(inputs: dict[str, Any], context: dict[str, Any]) -> None:
    _record("refuse_kept", inputs, context)
    if inputs["x"] < 0:
        raise BadInput(f"x must not be negative: {inputs['x']}.")


def where(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {"pid": os.getpid(), "parent": os.getppid(), "inputs": inputs, "context": context}


def not_json(inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {"labels": {1, 2}}
