"""A fitted scikit-learn booster as the ONNX head of a contract model.

skl2onnx converts the booster into a graph taking the preprocessed matrix; this module gives
its outputs the contract's names: a classifier keeps only its probabilities (one column per
label, in the signature's order), a regressor's output becomes `value`.
"""

from __future__ import annotations

from typing import Any

from freshet.contract.compose import ML_OPSET, OPSET, rename_tensor
from freshet.contract.preprocess import PREPROCESSED
from freshet.contract.signature import OUTPUT_NAMES

_FLOAT = 1  # onnx.TensorProto.FLOAT


def float32_thresholds(estimator: Any) -> None:
    """Rounds a fitted booster's split thresholds down to float32, in place.

    scikit-learn compares a feature with a float64 threshold, the midpoint between two
    training values; ONNX trees hold float32 thresholds. Rounded to the nearest float32, a
    midpoint between two neighbouring float32 values can land on the upper one, which then
    goes left in ONNX and right in scikit-learn. The largest float32 not above the threshold
    splits every float32 input as the float64 threshold does, so the booster's predictions on
    float32 inputs are unchanged and the ONNX trees agree with them.
    """
    import numpy as np

    for iteration in estimator._predictors:  # skl2onnx reads the same private trees
        for predictor in iteration:
            nodes = predictor.nodes
            branch = nodes["is_leaf"] == 0
            exact = nodes["num_threshold"][branch]
            rounded = exact.astype(np.float32)
            above = rounded.astype(np.float64) > exact
            rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
            nodes["num_threshold"][branch] = rounded.astype(np.float64)


def _convert(estimator: Any, width: int, options: dict[str, Any] | None) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    float32_thresholds(estimator)
    return convert_sklearn(
        estimator,
        initial_types=[(PREPROCESSED, FloatTensorType([None, width]))],
        options={id(estimator): options} if options else None,
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
    )


def classifier_head(estimator: Any, width: int, n_labels: int) -> Any:
    """The classifier's graph: `preprocessed` in, `probabilities` (rows x `n_labels`) out.

    The booster was fitted on label indices, so its `classes_` are the signature columns it
    knows. A label absent from the train split gets a column of zeros: a selection matrix
    (ones and zeros, which leave the probabilities bit for bit) spreads the booster's columns
    over all labels.

    Args:
        estimator: A fitted `HistGradientBoostingClassifier` whose classes are label indices.
        width: Columns of the preprocessed matrix.
        n_labels: Labels in the signature.

    Returns:
        An `onnx.ModelProto`.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    model = _convert(estimator, width, {"zipmap": False})
    graph = model.graph
    probabilities = next(o for o in graph.output if o.type.tensor_type.elem_type == _FLOAT)
    output = OUTPUT_NAMES["classification"]
    rename_tensor(graph, probabilities.name, "booster_probabilities")
    classes = [int(c) for c in estimator.classes_]
    selection = np.zeros((len(classes), n_labels), dtype=np.float32)
    selection[np.arange(len(classes)), classes] = 1.0
    graph.initializer.append(numpy_helper.from_array(selection, "label_selection"))
    graph.node.append(
        helper.make_node("MatMul", ["booster_probabilities", "label_selection"], [output])
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(output, _FLOAT, [None, n_labels]))
    return model


def regressor_head(estimator: Any, width: int) -> Any:
    """The regressor's graph: `preprocessed` in, `value` (rows x 1) out."""
    from onnx import helper

    model = _convert(estimator, width, None)
    graph = model.graph
    output = OUTPUT_NAMES["regression"]
    source = graph.output[0].name
    graph.node.append(helper.make_node("Identity", [source], [output]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(output, _FLOAT, [None, 1]))
    return model
