"""The model contract: what every step after training reads, whatever framework trained it.

A Model artifact is a directory holding::

    model.onnx       raw feature columns in (preprocessing inside the graph), predictions out
    signature.json   `Signature`: task, features and their kinds, labels or output, framework

Graph inputs group the raw columns by kind, in signature order: `numeric` (float32, rows x
numeric and boolean features; booleans as 0/1, missing values as NaN) and `categorical`
(string, rows x categorical features; missing values as ""). A graph has only the inputs its
features need. Outputs: `probabilities` (float32, rows x labels) for classification, `value`
(float32, rows or rows x 1) for regression. `docs/model-contract.md` is the long form.

Light modules (`signature`, `files`) import no numpy or onnx; `runtime` needs onnxruntime and
numpy; `preprocess` and `compose` need scikit-learn, skl2onnx and onnx (training images only).
"""

from freshet.contract.files import MODEL_FILE, SIGNATURE_FILE, check_model_dir, write_model
from freshet.contract.signature import (
    CATEGORICAL_INPUT,
    NUMERIC_INPUT,
    Feature,
    FeatureKind,
    Signature,
    Task,
    load_signature,
)

__all__ = [
    "CATEGORICAL_INPUT",
    "MODEL_FILE",
    "NUMERIC_INPUT",
    "SIGNATURE_FILE",
    "Feature",
    "FeatureKind",
    "Signature",
    "Task",
    "check_model_dir",
    "load_signature",
    "write_model",
]
