"""Writing and checking a contract model directory (`model.onnx` + `signature.json`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from freshet.contract.signature import (
    CATEGORICAL_INPUT,
    NUMERIC_INPUT,
    Signature,
    load_signature,
)
from freshet.errors import BadInput

MODEL_FILE = "model.onnx"
SIGNATURE_FILE = "signature.json"
_FLOAT = 1  # onnx.TensorProto.FLOAT
_STRING = 8  # onnx.TensorProto.STRING


def _width(value_info: Any) -> int | None:
    dims = value_info.type.tensor_type.shape.dim
    if len(dims) < 2 or not dims[-1].HasField("dim_value"):
        return None
    return int(dims[-1].dim_value)


def check_graph(graph: Any, signature: Signature, where: str) -> None:
    """Checks an ONNX graph's inputs and outputs against a signature.

    Args:
        graph: An `onnx.GraphProto`.
        signature: What the graph must take and give.
        where: The model's location, for the sentence.

    Raises:
        BadInput: One sentence naming the first mismatch.
    """
    initializers = {i.name for i in graph.initializer}
    inputs = {i.name: i for i in graph.input if i.name not in initializers}
    outputs = {o.name: o for o in graph.output}
    wanted = signature.input_names
    if sorted(inputs) != sorted(wanted):
        raise BadInput(
            f"The model '{where}' takes inputs {sorted(inputs)}, but its signature needs {wanted}."
        )
    expected = {
        NUMERIC_INPUT: (_FLOAT, len(signature.numeric_features), "float32"),
        CATEGORICAL_INPUT: (_STRING, len(signature.categorical_features), "string"),
    }
    for name in wanted:
        elem, width, type_name = expected[name]
        if inputs[name].type.tensor_type.elem_type != elem:
            raise BadInput(f"The model '{where}' input '{name}' must be {type_name}.")
        got = _width(inputs[name])
        if got is not None and got != width:
            raise BadInput(
                f"The model '{where}' input '{name}' takes {got} columns; the signature "
                f"lists {width}."
            )
    if signature.output_name not in outputs:
        raise BadInput(
            f"The model '{where}' has outputs {sorted(outputs)}, not '{signature.output_name}' "
            "as its signature says."
        )
    if signature.task == "classification":
        got = _width(outputs[signature.output_name])
        if got is not None and got != len(signature.labels):
            raise BadInput(
                f"The model '{where}' gives {got} probabilities per row; the signature lists "
                f"{len(signature.labels)} labels."
            )


def check_model_dir(model_dir: str | Path) -> Signature:
    """Checks that a directory holds a contract model; returns its signature.

    Raises:
        BadInput: The directory, `model.onnx` or `signature.json` is missing or they disagree.
    """
    import onnx

    path = Path(model_dir)
    if not path.is_dir():
        raise BadInput(f"The model directory '{model_dir}' does not exist.")
    if not (path / MODEL_FILE).is_file():
        raise BadInput(f"'{model_dir}' does not hold a model: '{MODEL_FILE}' is missing.")
    signature = load_signature(path)
    try:
        model = onnx.load(str(path / MODEL_FILE), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others, untyped
        raise BadInput(f"The model '{path / MODEL_FILE}' is not a valid ONNX file: {exc}") from None
    check_graph(model.graph, signature, str(path / MODEL_FILE))
    return signature


def write_model(out_dir: str | Path, model: Any, signature: Signature) -> Path:
    """Writes a contract model (for any producer: torch, scikit-learn, your own trainer).

    The graph is checked against the signature before anything is written; each file is
    written to a temporary name and renamed, so a reader never sees half a model.

    Args:
        out_dir: The Model artifact directory (created when missing).
        model: An `onnx.ModelProto` or its serialized bytes.
        signature: What the graph takes and gives.

    Returns:
        The directory.

    Raises:
        BadInput: The graph does not match the signature.
    """
    import onnx

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load_from_string(model)
    check_graph(proto.graph, signature, str(Path(out_dir) / MODEL_FILE))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, payload in (
        (MODEL_FILE, proto.SerializeToString()),
        (SIGNATURE_FILE, signature.to_json().encode()),
    ):
        part = out / f".{name}.part"
        part.write_bytes(payload)
        os.replace(part, out / name)
    return out
