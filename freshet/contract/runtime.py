"""Running a contract model with onnxruntime: raw rows or a table in, predictions out.

Evaluation, the gate, verification, serving and batch scoring all run models through this
module, so what is evaluated is exactly what is served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from freshet.contract.files import MODEL_FILE, check_model_dir
from freshet.contract.signature import CATEGORICAL_INPUT, NUMERIC_INPUT, Signature
from freshet.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

MISSING_CATEGORY = ""


def _numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    import pandas as pd

    parts = []
    for name in columns:
        values = frame[name]
        if pd.api.types.is_bool_dtype(values) or values.dtype == object:
            values = pd.to_numeric(values.astype("object").map(_as_number), errors="coerce")
        parts.append(values.to_numpy(dtype=np.float64, na_value=np.nan))
    matrix = np.column_stack(parts) if parts else np.empty((len(frame), 0))
    return matrix.astype(np.float32)


def _as_number(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    return value


def category_text(value: Any) -> str:
    """A categorical value as the graph sees it: missing as "", anything else as its text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_CATEGORY
    return str(value)


def frame_feeds(frame: pd.DataFrame, signature: Signature) -> dict[str, np.ndarray]:
    """The graph inputs for a table holding (at least) the signature's feature columns.

    Raises:
        BadInput: A feature column is missing from the table.
    """
    missing = [name for name in signature.feature_names if name not in frame.columns]
    if missing:
        raise BadInput(f"The table has no column '{missing[0]}', which the model needs.")
    feeds: dict[str, np.ndarray] = {}
    if signature.numeric_features:
        feeds[NUMERIC_INPUT] = _numeric_matrix(frame, signature.numeric_features)
    if signature.categorical_features:
        text = frame[signature.categorical_features].astype("object")
        text = text.where(text.notna(), MISSING_CATEGORY).astype(str)
        feeds[CATEGORICAL_INPUT] = text.to_numpy(dtype=object)
    return feeds


def open_session(path: Path, threads: int = 0) -> Any:
    """An onnxruntime session on the CPU (`threads` intra-op threads, 0: onnxruntime's choice).

    Raises:
        BadInput: onnxruntime cannot load the file (its first line, shortened).
    """
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        detail = str(exc).splitlines()[0][:200]
        raise BadInput(f"The model '{path}' cannot be loaded: {detail}") from None


@dataclass(frozen=True)
class ContractModel:
    """A loaded contract model: its signature and an onnxruntime session."""

    signature: Signature
    session: Any
    path: Path

    @classmethod
    def load(cls, model_dir: str | Path, threads: int = 0) -> ContractModel:
        """Checks and loads a model (or serving bundle) directory.

        Args:
            model_dir: A directory holding `model.onnx` and `signature.json`.
            threads: onnxruntime intra-op threads (0: onnxruntime's default).

        Raises:
            BadInput: The directory does not hold a valid contract model.
        """
        signature = check_model_dir(model_dir)
        path = Path(model_dir) / MODEL_FILE
        return cls(signature, open_session(path, threads), path)

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Runs the graph: probabilities (rows x labels) or values (rows,)."""
        result: np.ndarray = self.session.run([self.signature.output_name], feeds)[0]
        if self.signature.task == "regression":
            return result.reshape(-1)
        return result

    def predict_frame(self, frame: pd.DataFrame, batch_rows: int = 262_144) -> np.ndarray:
        """Predictions for every row of a table, in batches of `batch_rows`."""
        parts = [
            self.run(frame_feeds(frame.iloc[start : start + batch_rows], self.signature))
            for start in range(0, len(frame), batch_rows)
        ]
        if not parts:
            width = (len(self.signature.labels),) if self.signature.labels else ()
            return np.empty((0, *width), dtype=np.float32)
        return np.concatenate(parts)
