"""Loading a bundle for serving: one onnxruntime session over the contract model (no torch).

The graph is checked against the signature through the session itself, so serving needs
neither the `onnx` package nor pandas: `freshet.contract.runtime.ContractModel` runs it,
the same class that evaluation and packaging run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.contract.runtime import ContractModel
from freshet.contract.signature import CATEGORICAL_INPUT, NUMERIC_INPUT, Signature
from freshet.errors import BadInput
from freshet.serving.signature import MODEL_FILE, check_bundle_dir, load_signature

_TYPES = {NUMERIC_INPUT: "tensor(float)", CATEGORICAL_INPUT: "tensor(string)"}


def _width(shape: Any) -> int | None:
    if not isinstance(shape, list) or len(shape) < 2:
        return None
    last = shape[-1]
    return last if isinstance(last, int) else None


def check_session(session: Any, signature: Signature, where: str) -> None:
    """Checks a loaded graph's inputs and outputs against the signature.

    Args:
        session: An `onnxruntime.InferenceSession`.
        signature: What the graph must take and give.
        where: The model's location, for the sentence.

    Raises:
        BadInput: One sentence naming the first mismatch.
    """
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    wanted = signature.input_names
    if sorted(inputs) != sorted(wanted):
        raise BadInput(
            f"The model '{where}' takes inputs {sorted(inputs)}, but its signature needs {wanted}."
        )
    widths = {
        NUMERIC_INPUT: len(signature.numeric_features),
        CATEGORICAL_INPUT: len(signature.categorical_features),
    }
    for name in wanted:
        if inputs[name].type != _TYPES[name]:
            raise BadInput(
                f"The model '{where}' input '{name}' is {inputs[name].type}, not {_TYPES[name]}."
            )
        got = _width(inputs[name].shape)
        if got is not None and got != widths[name]:
            raise BadInput(
                f"The model '{where}' input '{name}' takes {got} columns; the signature "
                f"lists {widths[name]}."
            )
    if signature.output_name not in outputs:
        raise BadInput(
            f"The model '{where}' has outputs {sorted(outputs)}, not '{signature.output_name}' "
            "as its signature says."
        )
    if signature.task == "classification":
        got = _width(outputs[signature.output_name].shape)
        if got is not None and got != len(signature.labels):
            raise BadInput(
                f"The model '{where}' gives {got} probabilities per row; the signature lists "
                f"{len(signature.labels)} labels."
            )


def load_bundle(bundle_dir: str | Path, threads: int = 1) -> ContractModel:
    """Loads and checks a serving bundle.

    Args:
        bundle_dir: A directory written by the package step (or any contract model).
        threads: onnxruntime intra-op threads (1 is fastest for small batches).

    Returns:
        The model, ready to answer.

    Raises:
        BadInput: The directory is not a bundle, a file is malformed, or the graph does not
            match the signature.
    """
    import onnxruntime as ort  # type: ignore[import-untyped]

    path = check_bundle_dir(bundle_dir)
    signature = load_signature(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    model_path = path / MODEL_FILE
    try:
        session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        detail = str(exc).splitlines()[0][:200]
        raise BadInput(f"The model '{model_path}' cannot be loaded: {detail}") from None
    check_session(session, signature, str(model_path))
    return ContractModel(signature, session, model_path)
