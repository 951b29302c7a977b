"""The served model: one onnxruntime session over a bundle's `model.onnx` (no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from freshet.errors import BadInput
from freshet.serving.signature import MODEL_FILE, Signature, check_bundle_dir, load_signature


@dataclass(frozen=True)
class Prediction:
    """One answer: the most probable label and every label's probability."""

    label: str
    probabilities: dict[str, float]


class ServedModel:
    """A loaded bundle: validates shapes against the signature and runs the graph."""

    def __init__(self, signature: Signature, session: Any) -> None:
        self.signature = signature
        self.session = session

    @classmethod
    def load(cls, bundle_dir: str | Path, threads: int = 1) -> ServedModel:
        """Loads and checks a bundle directory.

        Args:
            bundle_dir: A directory written by the package step.
            threads: onnxruntime intra-op threads (1 is fastest for small batches).

        Returns:
            The model, ready to answer.

        Raises:
            BadInput: The directory is not a bundle, a file is malformed, or the ONNX graph
                does not match the signature.
        """
        path = check_bundle_dir(bundle_dir)
        return cls.load_file(path / MODEL_FILE, load_signature(path), threads)

    @classmethod
    def load_file(cls, model_path: Path, signature: Signature, threads: int = 1) -> ServedModel:
        """Loads an ONNX file and checks it against a signature (see `load`)."""
        import onnxruntime as ort  # type: ignore[import-untyped]

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            detail = str(exc).splitlines()[0][:200]
            raise BadInput(f"The model '{model_path}' cannot be loaded: {detail}") from None
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = {o.name: o for o in session.get_outputs()}
        if signature.input_name not in inputs or signature.output_name not in outputs:
            raise BadInput(
                f"The model '{model_path}' has inputs {sorted(inputs)} and outputs "
                f"{sorted(outputs)}, not '{signature.input_name}' -> "
                f"'{signature.output_name}' as its signature says."
            )
        width = inputs[signature.input_name].shape[-1]
        if isinstance(width, int) and width != len(signature.features):
            raise BadInput(
                f"The model '{model_path}' takes {width} features but its signature "
                f"lists {len(signature.features)}."
            )
        return cls(signature, session)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for a float32 matrix of raw features (rows x features)."""
        sig = self.signature
        result: np.ndarray = self.session.run([sig.output_name], {sig.input_name: features})[0]
        return result

    def predict(self, features: np.ndarray) -> list[Prediction]:
        """Labels and probabilities for a float32 matrix of raw features."""
        labels = self.signature.labels
        probabilities = self.predict_proba(features)
        best = probabilities.argmax(axis=1)
        return [
            Prediction(
                label=labels[int(i)],
                probabilities=dict(zip(labels, map(float, row), strict=True)),
            )
            for i, row in zip(best, probabilities, strict=True)
        ]
