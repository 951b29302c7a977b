"""Writing and checking a contract model directory (`model.onnx` + `signature.json`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.atomic import write_file
from freshet.contract.signature import (
    CATEGORICAL_INPUT,
    NUMERIC_INPUT,
    Signature,
    load_signature,
)
from freshet.errors import BadInput

MODEL_FILE = "model.onnx"
SIGNATURE_FILE = "signature.json"
_ONNX_TYPES = {1: "float32", 8: "string"}  # onnx.TensorProto.FLOAT, STRING
# A graph input or output as the checks see it: element type and width (None: dynamic).
Port = tuple[str, int | None]


def _width(dims: list[Any]) -> int | None:
    if len(dims) < 2 or not isinstance(dims[-1], int):
        return None
    return dims[-1]


def graph_ports(graph: Any) -> tuple[dict[str, Port], dict[str, Port]]:
    """The inputs and outputs of an `onnx.GraphProto` (initializers left out)."""

    def port(value: Any) -> Port:
        tensor = value.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        return _ONNX_TYPES.get(tensor.elem_type, str(tensor.elem_type)), _width(dims)

    initializers = {i.name for i in graph.initializer}
    inputs = {i.name: port(i) for i in graph.input if i.name not in initializers}
    return inputs, {o.name: port(o) for o in graph.output}


def session_ports(session: Any) -> tuple[dict[str, Port], dict[str, Port]]:
    """The inputs and outputs of an `onnxruntime.InferenceSession`."""

    def port(value: Any) -> Port:
        kind = str(value.type).removeprefix("tensor(").removesuffix(")")
        shape = value.shape if isinstance(value.shape, list) else []
        return {"float": "float32"}.get(kind, kind), _width(shape)

    return (
        {i.name: port(i) for i in session.get_inputs()},
        {o.name: port(o) for o in session.get_outputs()},
    )


def check_ports(
    inputs: dict[str, Port], outputs: dict[str, Port], signature: Signature, where: str
) -> None:
    """Checks a model's inputs and outputs against a signature.

    Args:
        inputs: Input name -> (element type, width), from `graph_ports` or `session_ports`.
        outputs: Output name -> (element type, width).
        signature: What the model must take and give.
        where: The model's location, for the sentence.

    Raises:
        BadInput: One sentence naming the first mismatch.
    """
    wanted = signature.input_names
    if sorted(inputs) != sorted(wanted):
        raise BadInput(
            f"The model '{where}' takes inputs {sorted(inputs)}, but its signature needs {wanted}."
        )
    expected = {
        NUMERIC_INPUT: ("float32", len(signature.numeric_features)),
        CATEGORICAL_INPUT: ("string", len(signature.categorical_features)),
    }
    for name in wanted:
        kind, width = expected[name]
        got_kind, got_width = inputs[name]
        if got_kind != kind:
            raise BadInput(f"The model '{where}' input '{name}' is {got_kind}, not {kind}.")
        if got_width is not None and got_width != width:
            raise BadInput(
                f"The model '{where}' input '{name}' takes {got_width} columns; the signature "
                f"lists {width}."
            )
    if signature.output_name not in outputs:
        raise BadInput(
            f"The model '{where}' has outputs {sorted(outputs)}, not '{signature.output_name}' "
            "as its signature says."
        )
    got_width = outputs[signature.output_name][1]
    if signature.task == "classification" and got_width not in (None, len(signature.labels)):
        raise BadInput(
            f"The model '{where}' gives {got_width} probabilities per row; the signature lists "
            f"{len(signature.labels)} labels."
        )


def check_graph(graph: Any, signature: Signature, where: str) -> None:
    """Checks an `onnx.GraphProto` against a signature (see `check_ports`)."""
    check_ports(*graph_ports(graph), signature, where)


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
        write_file(out / name, payload)
    return out
