"""From a trained torch module to the model contract: ONNX export, checks, `model.onnx`.

The head (the network plus softmax, or the network with the target's scaling undone) is
exported with the TorchScript exporter, joined behind the exported preprocessing and checked
against torch on raw validation rows before it is written. An export that fails is explained
by exporting each submodule alone on the input it saw in a forward pass: the first that fails
is named, so the user knows which layer to change.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from typing import TYPE_CHECKING, Any

from freshet.components.train.config import factory_name
from freshet.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from freshet.components.train.data import Targets
    from freshet.contract.preprocess import TablePreprocessor
    from freshet.contract.signature import Signature

OPSET = 17
HEAD_INPUT = "preprocessed"
PROBE_ROWS = 2
PROBABILITY_TOLERANCE = 1e-4
VALUE_TOLERANCE = 1e-4  # relative: times max(1, |y|)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(exc).__name__


def head_module(network: Any, task: str, mean: float = 0.0, std: float = 1.0) -> Any:
    """The network with its output made a contract output.

    Classification: softmax over the logits (`probabilities`, rows x labels). Regression:
    the standardised prediction times `std` plus `mean` (`value`, rows x 1).
    """
    import torch
    from torch import nn

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.network(x)
            if task == "regression":
                return out.reshape(-1, 1) * std + mean
            return torch.softmax(out, dim=1)

    return Head().eval()


def _export(
    module: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
) -> bytes:
    """One module to ONNX bytes (opset 17, TorchScript exporter, batch axis dynamic)."""
    import torch

    buffer = io.BytesIO()
    inputs = input_names or [f"input{i}" for i in range(len(args))]
    axes = {name: {0: "batch"} for name in [*inputs, *(output_names or [])]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer warnings
        torch.onnx.export(
            module,
            args,
            buffer,  # type: ignore[arg-type]  # typed as a path; a binary file works too
            kwargs=kwargs,
            dynamo=False,
            opset_version=OPSET,
            input_names=inputs,
            output_names=output_names,
            dynamic_axes=axes,
        )
    return buffer.getvalue()


def _culprit(network: Any, x: torch.Tensor) -> tuple[str, str, str] | None:
    """The first submodule (in the order their forward passes end) that fails to export alone.

    Returns:
        (qualified name, class name, first line of the error), or None when every
        submodule exports and the failure is in the network's own forward.
    """
    import torch

    names = {id(module): name for name, module in network.named_modules() if name}
    seen: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []

    def record(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], _: Any) -> None:
        name = names.get(id(module))
        if name is not None and all(name != s[0] for s in seen):
            seen.append((name, module, args, kwargs))

    hooks = [
        module.register_forward_hook(record, with_kwargs=True)
        for name, module in network.named_modules()
        if name
    ]
    try:
        # A forward that fails still records the layers before the failure; the export's
        # error is the one to report.
        with torch.no_grad(), contextlib.suppress(Exception):
            network(x)
    finally:
        for hook in hooks:
            hook.remove()
    for name, module, args, kwargs in seen:
        try:
            _export(module, args, kwargs or None)
        except Exception as exc:  # any exporter failure names this layer
            return name, type(module).__name__, _first_line(exc)
    return None


def export_head(
    network: Any, n_inputs: int, task: str, model_factory: str, targets: Targets | None = None
) -> bytes:
    """Exports the network's contract head as ONNX (input `preprocessed`, dynamic batch).

    Args:
        network: The torch module (moved to the CPU and put in eval mode).
        n_inputs: Width of the preprocessed matrix.
        task: "classification" or "regression".
        model_factory: The factory that made the network, for the sentence.
        targets: The regression target's scaling (identity when None).

    Returns:
        The serialised ONNX model.

    Raises:
        BadInput: The export fails; the sentence names the layer that fails, when one does.
    """
    import torch

    from freshet.contract.signature import OUTPUT_NAMES

    network = network.cpu().eval()
    mean, std = (targets.mean, targets.std) if targets is not None else (0.0, 1.0)
    head = head_module(network, task, mean, std)
    x = torch.zeros(PROBE_ROWS, n_inputs)
    output = OUTPUT_NAMES[task]
    try:
        return _export(head, (x,), input_names=[HEAD_INPUT], output_names=[output])
    except Exception as exc:  # any exporter failure is the model's
        culprit = _culprit(network, x)
        start = f"The model from factory '{factory_name(model_factory)}' cannot be exported to ONNX"
        if culprit is None:
            raise BadInput(
                f"{start}: the failure is in the model's own forward, not in one of its "
                f"layers: {_first_line(exc)}."
            ) from None
        name, kind, error = culprit
        raise BadInput(f"{start}: layer '{name}' ({kind}) fails: {error}.") from None


def check_outputs(network: Any, n_inputs: int, n_outputs: int, task: str, factory: str) -> None:
    """Runs the network on a dummy batch and checks the shape of what it gives.

    Raises:
        BadInput: The forward pass fails or the output is not rows x n_outputs (or rows
            for regression).
    """
    import torch

    name = factory_name(factory)
    network.eval()
    try:
        with torch.no_grad():
            out = network(torch.zeros(PROBE_ROWS, n_inputs))
    except Exception as exc:  # the user's forward
        raise BadInput(
            f"The model from factory '{name}' fails on a batch of {PROBE_ROWS} rows x "
            f"{n_inputs} inputs: {type(exc).__name__}: {_first_line(exc)}."
        ) from None
    finally:
        network.train()
    wanted: list[tuple[int, ...]] = [(PROBE_ROWS, n_outputs)]
    if task == "regression":
        wanted.append((PROBE_ROWS,))
    shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
    if shape not in wanted:
        got = list(shape) if shape is not None else type(out).__name__
        raise BadInput(
            f"The model from factory '{name}' gives {got} for a batch of {PROBE_ROWS} rows; "
            f"a {task} model with {n_inputs} inputs must give {list(wanted[0])}."
        )


def probe(network: Any, n_inputs: int, n_outputs: int, task: str, factory: str) -> None:
    """Checks, before training, that the network's output fits the task and that it exports.

    Raises:
        BadInput: Naming the factory and, for an export failure, the layer.
    """
    check_outputs(network, n_inputs, n_outputs, task, factory)
    try:
        export_head(network, n_inputs, task, factory)
    finally:
        network.train()


def contract_model(head: bytes, preprocessor: TablePreprocessor) -> Any:
    """The full contract graph: the preprocessing's output feeds the exported head."""
    import onnx

    from freshet.contract.compose import attach_head

    return attach_head(preprocessor.to_onnx(), onnx.load_from_string(head), HEAD_INPUT)


def check_against_torch(
    model: Any,
    signature: Signature,
    network: Any,
    preprocessor: TablePreprocessor,
    targets: Targets,
    frame: pd.DataFrame,
    model_factory: str = "",
) -> float:
    """Compares the contract graph on raw rows with torch on the same preprocessed rows.

    Returns:
        The largest absolute difference (probabilities, or values in the label's units).

    Raises:
        BadInput: The difference is above the tolerance (1e-4 for probabilities; relative
            1e-4 * max(1, |y|) for values).
    """
    import numpy as np
    import torch

    from freshet.contract.files import write_model
    from freshet.contract.runtime import ContractModel

    head = head_module(network.cpu().eval(), signature.task, targets.mean, targets.std)
    with torch.no_grad():
        expected = head(torch.from_numpy(preprocessor.transform(frame))).numpy()
    with tempfile.TemporaryDirectory(prefix="freshet-export-") as tmp:
        write_model(tmp, model, signature)
        got = ContractModel.load(tmp, threads=1).predict_frame(frame)
    if signature.task == "regression":
        expected = expected.reshape(-1)
        allowed = VALUE_TOLERANCE * np.maximum(1.0, np.abs(expected))
    else:
        allowed = np.full(expected.shape, PROBABILITY_TOLERANCE)
    worst = float("inf")
    if got.shape == expected.shape:
        diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
        worst = float(diff.max()) if diff.size else 0.0
        if (diff <= allowed).all():
            return worst
    raise BadInput(
        f"The model from factory '{factory_name(model_factory)}' gives other "
        f"{signature.output_name} in ONNX than in torch on {len(frame)} validation rows "
        f"(largest difference {worst:.3g}); the exporter traces one path through forward, so "
        "a forward that branches on its input's values or shape does not export as it runs."
    )
