"""Package: turn a trained model into a self-contained serving bundle (no torch to serve it).

The model's scaling and softmax go inside the exported ONNX graph, so serving is one
onnxruntime call on raw features. The bundle is checked before it is written: onnxruntime
must give the PyTorch answers on the golden examples. See `freshet.serving.signature` for
the bundle layout.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from freshet.atomic import replaced_directory
from freshet.components.fetch.core import DatasetSchema
from freshet.components.package.requirements import requirements_txt, start_probe
from freshet.errors import FreshetError
from freshet.git import head_commit
from freshet.registry import model_digest
from freshet.serving.signature import (
    BUILD_FILE,
    GOLDEN_FILE,
    MODEL_FILE,
    REQUIREMENTS_FILE,
    SIGNATURE_FILE,
    Feature,
    GoldenExample,
    GoldenSet,
    Signature,
)

if TYPE_CHECKING:
    import numpy as np

    from freshet.components.train.model import Predictor

OPSET = 17
BUNDLE_ONLY = "bundle only"


class PackageError(FreshetError):
    """The bundle could not be built or does not reproduce the trained model."""


class ImageRecord(BaseModel):
    """Where the serving image went: its URI and the digest the registry gave it."""

    uri: str
    digest: str

    @property
    def pinned(self) -> str:
        """`repository@sha256:...`, the reference a deployment should use."""
        return f"{self.uri.split('@')[0].rsplit(':', 1)[0]}@{self.digest}"


class ImageBuilder(Protocol):
    """Builds and pushes the serving image for a bundle (Cloud Build in production)."""

    def build(self, bundle_dir: Path) -> ImageRecord:
        """Builds the image with the bundle inside; returns its URI and digest."""
        ...


class BuildInfo(BaseModel):
    """`build.json`: what the bundle was built from and what was built."""

    data_version: str
    model_digest: str
    git_commit: str | None
    built_at: str
    golden_examples: int
    export_max_abs_diff: float
    image: ImageRecord | None = None
    image_status: str = BUNDLE_ONLY


@dataclass(frozen=True)
class PackageConfig:
    """How to build the bundle."""

    golden_count: int = 100
    export_tolerance: float = 1e-5
    git_commit: str = ""

    def check(self) -> None:
        """Rejects values that cannot build a bundle, naming them."""
        if self.golden_count < 1:
            raise PackageError(f"golden_count must be at least 1: {self.golden_count}.")
        if not self.export_tolerance > 0:
            raise PackageError(f"export_tolerance must be positive: {self.export_tolerance}.")


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the source tree this code runs from, or None outside a git checkout."""
    return head_commit(start or Path(__file__).resolve().parent)


def export_onnx(predictor: Predictor, path: Path) -> None:
    """Exports scaling + network + softmax as one ONNX graph with a dynamic batch axis.

    Args:
        predictor: The trained model with its preprocessing.
        path: Where to write `model.onnx`.
    """
    import torch

    class Exported(torch.nn.Module):
        mean: torch.Tensor
        scale: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.network = predictor.network
            self.register_buffer("mean", torch.tensor(predictor.spec.mean, dtype=torch.float32))
            self.register_buffer("scale", torch.tensor(predictor.spec.scale, dtype=torch.float32))

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.network((features - self.mean) / self.scale), dim=1)

    example = torch.zeros(2, len(predictor.spec.features), dtype=torch.float32)
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated but is the one that exports this graph
        # offline and exactly; see docs/decisions.md.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Exported().eval(),
            (example,),
            str(path),
            dynamo=False,
            input_names=["features"],
            output_names=["probabilities"],
            dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=OPSET,
        )


def golden_set(dataset_dir: Path, predictor: Predictor, count: int) -> GoldenSet:
    """The first `count` rows of the held-out test split with PyTorch's answers."""
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(dataset_dir / "test.parquet").head(count)
    x = np.array(frame[predictor.spec.features], dtype=np.float32)  # writable copy for torch
    probabilities = predictor.predict_proba(x)
    labels = predictor.spec.labels
    return GoldenSet(
        source=f"{dataset_dir / 'test.parquet'} (first {len(frame)} rows)",
        examples=[
            GoldenExample(
                instance=[float(v) for v in row],
                label=labels[int(p.argmax())],
                probabilities={label: float(v) for label, v in zip(labels, p, strict=True)},
            )
            for row, p in zip(x, probabilities, strict=True)
        ],
    )


def check_export(model_path: Path, signature: Signature, golden: GoldenSet) -> float:
    """Runs the exported graph on the golden inputs; returns the largest probability error."""
    from freshet.serving.model import ServedModel

    model = ServedModel.load_file(model_path, signature)
    x: np.ndarray = _matrix(golden)
    got = model.predict_proba(x)
    want = _matrix(golden, field="probabilities", labels=signature.labels)
    return float(abs(got - want).max())


def _matrix(golden: GoldenSet, field: str = "instance", labels: list[str] | None = None) -> Any:
    import numpy as np

    if field == "instance":
        return np.asarray([e.instance for e in golden.examples], dtype=np.float32)
    assert labels is not None
    return np.asarray(
        [[e.probabilities[label] for label in labels] for e in golden.examples], dtype=np.float64
    )


def package(
    model_dir: str | Path,
    dataset_dir: str | Path,
    out_dir: str | Path,
    config: PackageConfig | None = None,
    builder: ImageBuilder | None = None,
    image_status: str = BUNDLE_ONLY,
) -> BuildInfo:
    """Builds the serving bundle in `out_dir` (whole or not at all).

    Args:
        model_dir: A directory written by the train step (`model.pt`, `model.json`).
        dataset_dir: A directory written by the fetch step (`test.parquet`, `schema.json`).
        out_dir: The bundle directory to create (the KFP artifact path).
        config: Golden count, export tolerance, git commit.
        builder: Builds and pushes the serving image; None builds the bundle only.
        image_status: What to record when there is no builder (why only the bundle was built).

    Returns:
        The build metadata, also written as `build.json`.

    Raises:
        PackageError: The export does not reproduce the PyTorch model, or the serving
            requirements cannot be pinned.
    """
    from freshet.components.train.model import Predictor

    config = config or PackageConfig()
    config.check()
    model_dir, dataset_dir, out = Path(model_dir), Path(dataset_dir), Path(out_dir)
    schema = DatasetSchema.load(dataset_dir)
    predictor = Predictor.load(model_dir)
    if predictor.spec.features != schema.features:
        raise PackageError(
            f"The model at '{model_dir}' was trained on other features than the dataset "
            f"at '{dataset_dir}' holds."
        )
    signature = Signature(
        features=[Feature(name=name) for name in predictor.spec.features],
        labels=predictor.spec.labels,
        label_column=predictor.spec.label_column,
    )
    probe = start_probe()  # finds the serving imports while the model is exported
    try:
        with replaced_directory(out, prefix=".bundle-") as staging:
            staging.chmod(0o755)  # readable by the serving image's non-root user
            export_onnx(predictor, staging / MODEL_FILE)
            golden = golden_set(dataset_dir, predictor, config.golden_count)
            diff = check_export(staging / MODEL_FILE, signature, golden)
            if not diff <= config.export_tolerance:
                raise PackageError(
                    f"The exported ONNX model differs from PyTorch by {diff:.2e} on the golden "
                    f"examples (tolerance {config.export_tolerance:.0e})."
                )
            (staging / SIGNATURE_FILE).write_text(signature.model_dump_json(indent=2))
            (staging / GOLDEN_FILE).write_text(golden.model_dump_json(indent=2))
            (staging / REQUIREMENTS_FILE).write_text(requirements_txt(probe=probe))
            info = BuildInfo(
                data_version=predictor.spec.data_version or schema.data_version,
                model_digest=model_digest(model_dir),
                git_commit=config.git_commit or git_commit(),
                built_at=datetime.now(UTC).isoformat(),
                golden_examples=len(golden.examples),
                export_max_abs_diff=diff,
                image_status=image_status,
            )
            if builder is not None:
                info.image = builder.build(staging)
                info.image_status = "built and pushed"
            (staging / BUILD_FILE).write_text(info.model_dump_json(indent=2))
    finally:
        if probe.poll() is None:  # the export failed before the probe was read
            probe.kill()
            probe.communicate()
    return info


def read_build_info(bundle_dir: str | Path) -> BuildInfo:
    """Reads `build.json` of a bundle."""
    return BuildInfo.model_validate(json.loads((Path(bundle_dir) / BUILD_FILE).read_text()))
