"""Joining ONNX graphs: preprocessing beside preprocessing, then preprocessing into a head.

The head is whatever a trainer produced from the preprocessed matrix: a torch network
exported with `torch.onnx.export`, a scikit-learn or LightGBM model converted with skl2onnx or
onnxmltools. Graphs from different converters declare different opsets; they are brought to
one (`OPSET` for the default domain) before they are merged.
"""

from __future__ import annotations

from typing import Any

OPSET = 17
ML_OPSET = 3
IR_VERSION = 8


def normalize(model: Any) -> Any:
    """Brings a model to opset `OPSET` (default domain), `ML_OPSET` (ai.onnx.ml), IR 8."""
    from onnx import helper, version_converter

    default = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if default is not None and default != OPSET:
        model = version_converter.convert_version(model, OPSET)
    domains = {o.domain or "": o.version for o in model.opset_import}
    domains[""] = OPSET
    if "ai.onnx.ml" in domains:
        domains["ai.onnx.ml"] = ML_OPSET
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(domains.items()))
    model.ir_version = IR_VERSION
    return model


def _with_domains(model: Any, domains: dict[str, int]) -> Any:
    from onnx import helper

    have = {o.domain or "": o.version for o in model.opset_import}
    for domain, version in domains.items():
        if domain not in have:
            model.opset_import.append(helper.make_opsetid(domain, version))
    return model


def merge_parallel(models: list[Any]) -> Any:
    """One model running several independent graphs side by side (inputs and outputs kept)."""
    from onnx import compose

    merged = models[0]
    for index, other in enumerate(models[1:], start=1):
        domains = {o.domain or "": o.version for m in (merged, other) for o in m.opset_import}
        merged = compose.merge_models(
            _with_domains(merged, domains),
            _with_domains(other, domains),
            io_map=[],
            prefix2=f"part{index}_",
        )
        # merge_models prefixes the second graph's inputs too; give them their names back.
        _unprefix(merged.graph, merged.graph.input, f"part{index}_")
    return merged


def rename_tensor(graph: Any, old: str, new: str) -> None:
    """Renames one tensor everywhere in a graph: node inputs and outputs, graph inputs, outputs."""
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]
    for value in [*graph.input, *graph.output]:
        if value.name == old:
            value.name = new


def keep_output(model: Any, name: str, rename: str = "") -> Any:
    """Keeps one graph output (under `rename`, e.g. the contract's `probabilities`), drops the rest.

    Converters give more than the contract wants (skl2onnx's classifiers: a label and the
    probabilities); a head keeps the one output the signature names.
    """
    graph = model.graph
    kept = [value for value in graph.output if value.name == name]
    if not kept:
        raise ValueError(f"the graph has no output '{name}'")
    del graph.output[:]
    graph.output.extend(kept)
    if rename and rename != name:
        rename_tensor(graph, name, rename)
    return model


def _unprefix(graph: Any, values: Any, prefix: str) -> None:
    """Renames graph inputs or outputs that start with `prefix` back to their own names."""
    for value in list(values):
        if value.name.startswith(prefix):
            rename_tensor(graph, value.name, value.name[len(prefix) :])


def attach_head(preprocessing: Any, head: Any, head_input: str) -> Any:
    """The full model: `preprocessing`'s output feeds `head`'s input `head_input`.

    Args:
        preprocessing: From `TablePreprocessor.to_onnx()` (output `preprocessed`).
        head: An ONNX model taking the preprocessed float32 matrix.
        head_input: The name of that input in `head`.

    Returns:
        An `onnx.ModelProto` with the raw inputs of `preprocessing` and the outputs of `head`,
        checked with `onnx.checker`.
    """
    from onnx import checker, compose

    from freshet.contract.preprocess import PREPROCESSED

    head = normalize(head)
    preprocessing = normalize(preprocessing)
    domains = {o.domain or "": o.version for m in (preprocessing, head) for o in m.opset_import}
    model = compose.merge_models(
        _with_domains(preprocessing, domains),
        _with_domains(head, domains),
        io_map=[(PREPROCESSED, head_input)],
        prefix2="head_",
    )
    _unprefix(model.graph, model.graph.output, "head_")
    # Converters name graphs with random ids; a fixed name keeps model.onnx byte-stable.
    model.graph.name = "freshet_model"
    model.graph.doc_string = ""
    checker.check_model(model)
    return model
