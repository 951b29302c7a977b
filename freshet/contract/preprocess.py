"""Preprocessing fitted on the train split, applied in training and exported into the graph.

Numeric and boolean columns: median imputation, then standardisation. Categorical columns:
one-hot encoding, with a missing value as its own category ("") and a category never seen in
training encoded as all zeros (never an error). scikit-learn fits it; skl2onnx converts it, so
the graph does in serving exactly what training did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from freshet.contract.runtime import frame_feeds
from freshet.contract.signature import CATEGORICAL_INPUT, NUMERIC_INPUT, Signature

if TYPE_CHECKING:
    import pandas as pd

PREPROCESSED = "preprocessed"
OPSET = 17
ML_OPSET = 3


@dataclass
class TablePreprocessor:
    """The fitted steps for a signature's numeric and categorical inputs."""

    signature: Signature
    numeric: Any = None  # sklearn Pipeline(SimpleImputer, StandardScaler)
    categorical: Any = None  # sklearn OneHotEncoder

    @classmethod
    def fit(cls, frame: pd.DataFrame, signature: Signature) -> TablePreprocessor:
        """Fits the preprocessing on a (train split) table."""
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        feeds = frame_feeds(frame, signature)
        fitted = cls(signature)
        if NUMERIC_INPUT in feeds:
            fitted.numeric = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                ]
            ).fit(feeds[NUMERIC_INPUT])
        if CATEGORICAL_INPUT in feeds:
            fitted.categorical = OneHotEncoder(
                handle_unknown="ignore", sparse_output=False, dtype=np.float32
            ).fit(feeds[CATEGORICAL_INPUT])
        return fitted

    @property
    def width(self) -> int:
        """Columns of the preprocessed matrix (what the model head takes)."""
        numeric = len(self.signature.numeric_features) if self.numeric is not None else 0
        onehot = (
            sum(len(c) for c in self.categorical.categories_) if self.categorical is not None else 0
        )
        return numeric + onehot

    def transform_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """The preprocessed float32 matrix of graph inputs (see `frame_feeds`)."""
        parts = []
        if self.numeric is not None:
            parts.append(self.numeric.transform(feeds[NUMERIC_INPUT]))
        if self.categorical is not None:
            parts.append(self.categorical.transform(feeds[CATEGORICAL_INPUT]))
        return np.hstack(parts).astype(np.float32)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The preprocessed float32 matrix of a table."""
        return self.transform_feeds(frame_feeds(frame, self.signature))

    def to_onnx(self) -> Any:
        """The preprocessing as an ONNX model: graph inputs in, `preprocessed` (float32) out."""
        from onnx import TensorProto, helper
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType

        from freshet.contract.compose import merge_parallel, normalize

        parts = []
        if self.numeric is not None:
            width = len(self.signature.numeric_features)
            parts.append(
                convert_sklearn(
                    self.numeric,
                    initial_types=[(NUMERIC_INPUT, FloatTensorType([None, width]))],
                    target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
                )
            )
        if self.categorical is not None:
            width = len(self.signature.categorical_features)
            parts.append(
                convert_sklearn(
                    self.categorical,
                    initial_types=[(CATEGORICAL_INPUT, StringTensorType([None, width]))],
                    target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET},
                )
            )
        model = merge_parallel([normalize(p) for p in parts])
        graph = model.graph
        outputs = [o.name for o in graph.output]
        casts = []
        for name in outputs:
            cast = f"{name}_float"
            graph.node.append(helper.make_node("Cast", [name], [cast], to=TensorProto.FLOAT))
            casts.append(cast)
        graph.node.append(helper.make_node("Concat", casts, [PREPROCESSED], axis=1))
        del graph.output[:]
        graph.output.append(
            helper.make_tensor_value_info(PREPROCESSED, TensorProto.FLOAT, [None, self.width])
        )
        return model
