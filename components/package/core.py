"""Package: turn a contract model into a self-contained serving bundle (no torch to serve it).

The bundle is the Model artifact's `model.onnx` and `signature.json`, copied unchanged, plus
golden examples: the first rows of the held-out test split as raw JSON instances (objects
keyed by feature name; missing values as null) with the answers the model gives on the table
path that evaluation runs. Before anything is written, the same instances go through the
serving request parser and must get the same answers, so what is served is what was
evaluated. See `freshet.serving.signature` for the bundle layout.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from freshet.atomic import replaced_directory
from freshet.components.fetch.core import DatasetSchema
from freshet.components.package.requirements import requirements_txt, start_probe
from freshet.contract import check_model_dir
from freshet.errors import FreshetError
from freshet.git import head_commit
from freshet.registry import model_digest
from freshet.serving.signature import (
    BUILD_FILE,
    GOLDEN_FILE,
    MODEL_FILE,
    REQUIREMENTS_FILE,
    SIGNATURE_FILE,
    GoldenExample,
    GoldenSet,
    RawValue,
    Signature,
)

if TYPE_CHECKING:
    import numpy as np

    from freshet.contract.runtime import ContractModel

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

    task: str
    framework: str
    producer: str
    data_version: str
    model_digest: str
    git_commit: str | None
    built_at: str
    golden_examples: int
    serving_max_diff: float  # served path vs table path on the golden rows (see `serving_diff`)
    image: ImageRecord | None = None
    image_status: str = BUNDLE_ONLY


@dataclass(frozen=True)
class PackageConfig:
    """How to build the bundle."""

    golden_count: int = 100
    tolerance: float = 1e-5
    git_commit: str = ""

    def check(self) -> None:
        """Rejects values that cannot build a bundle, naming them."""
        if self.golden_count < 1:
            raise PackageError(f"golden_count must be at least 1: {self.golden_count}.")
        if not self.tolerance > 0:
            raise PackageError(f"tolerance must be positive: {self.tolerance}.")


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the source tree this code runs from, or None outside a git checkout."""
    return head_commit(start or Path(__file__).resolve().parent)


def raw_value(value: Any, where: str) -> RawValue:
    """A table cell as JSON carries it: null for missing, numbers, booleans, text.

    Raises:
        PackageError: The cell is an infinite number (JSON has none).
    """
    import numpy as np
    import pandas as pd

    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise PackageError(f"The test row value {where} is infinite; JSON cannot carry it.")
        return float(value)
    if isinstance(value, str):
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return str(value)


def golden_set(dataset_dir: Path, model: ContractModel, count: int) -> GoldenSet:
    """The first `count` rows of the held-out test split, raw, with the model's answers.

    The answers come from the table path (`ContractModel.predict_frame`), the one evaluation
    runs.
    """
    import pandas as pd

    signature = model.signature
    names = signature.feature_names
    path = dataset_dir / "test.parquet"
    frame = pd.read_parquet(path, columns=names).head(count)
    if frame.empty:
        raise PackageError(f"The test split '{path}' has no rows to take golden examples from.")
    columns = {name: frame[name].tolist() for name in names}
    instances = [
        {name: raw_value(columns[name][row], f"'{name}' in row {row}") for name in names}
        for row in range(len(frame))
    ]
    output = model.predict_frame(frame)
    examples = []
    for instance, answer in zip(instances, output.tolist(), strict=True):
        if signature.task == "regression":
            if not math.isfinite(answer):
                raise PackageError(f"The model gives {answer} for a test row; it must be finite.")
            examples.append(GoldenExample(instance=instance, value=answer))
        else:
            best = max(range(len(answer)), key=answer.__getitem__)
            examples.append(
                GoldenExample(
                    instance=instance,
                    label=signature.labels[best],
                    probabilities=dict(zip(signature.labels, answer, strict=True)),
                )
            )
    return GoldenSet(
        task=signature.task, source=f"{path} (first {len(frame)} rows)", examples=examples
    )


def golden_answers(golden: GoldenSet, signature: Signature) -> np.ndarray:
    """The golden answers as the model's output: probabilities (rows x labels) or values."""
    import numpy as np

    if signature.task == "regression":
        return np.asarray([e.value for e in golden.examples], dtype=np.float64)
    return np.asarray(
        [[(e.probabilities or {})[label] for label in signature.labels] for e in golden.examples],
        dtype=np.float64,
    )


def serving_diff(model: ContractModel, golden: GoldenSet) -> float:
    """Sends the golden instances through the serving request parser and the model.

    Returns:
        The largest difference from the golden answers: absolute for probabilities, relative
        (`|got - want| / max(1, |want|)`) for regression values. A classification whose
        labels differ counts as 1.
    """
    import numpy as np

    from freshet.serving.parse import RequestParser

    signature = model.signature
    body = json.dumps({"instances": [e.instance for e in golden.examples]}).encode()
    feeds, _ = RequestParser(signature, max_instances=len(golden.examples)).parse(body)
    got = model.run(feeds).astype(np.float64)
    want = golden_answers(golden, signature)
    if signature.task == "regression":
        return float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max())
    if (got.argmax(axis=1) != want.argmax(axis=1)).any():
        return 1.0
    return float(np.abs(got - want).max())


def check_features(
    signature: Signature, schema: DatasetSchema, model_dir: Path, data: Path
) -> None:
    """Every feature of the model must be a feature of the dataset.

    Raises:
        PackageError: Naming the first feature the dataset lacks.
    """
    have = set(schema.features)
    missing = [name for name in signature.feature_names if name not in have]
    if missing:
        raise PackageError(
            f"The model at '{model_dir}' needs feature '{missing[0]}', which the dataset at "
            f"'{data}' does not have."
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
        model_dir: A Model artifact (`model.onnx` + `signature.json`) from any trainer.
        dataset_dir: A directory written by the fetch step (`test.parquet`, `schema.json`).
        out_dir: The bundle directory to create (the KFP artifact path).
        config: Golden count, tolerance, git commit.
        builder: Builds and pushes the serving image; None builds the bundle only.
        image_status: What to record when there is no builder (why only the bundle was built).

    Returns:
        The build metadata, also written as `build.json`.

    Raises:
        BadInput: The model directory is not a contract model.
        PackageError: The model needs features the dataset lacks, the served path does not
            give the table path's answers, or the serving requirements cannot be pinned.
    """
    from freshet.contract.runtime import ContractModel

    config = config or PackageConfig()
    config.check()
    model_dir, dataset_dir, out = Path(model_dir), Path(dataset_dir), Path(out_dir)
    signature = check_model_dir(model_dir)
    schema = DatasetSchema.load(dataset_dir)
    check_features(signature, schema, model_dir, dataset_dir)
    probe = start_probe()  # finds the serving imports while the golden answers are computed
    try:
        with replaced_directory(out, prefix=".bundle-") as staging:
            staging.chmod(0o755)  # readable by the serving image's non-root user
            for name in (MODEL_FILE, SIGNATURE_FILE):
                shutil.copyfile(model_dir / name, staging / name)
            model = ContractModel.load(staging, threads=1)
            golden = golden_set(dataset_dir, model, config.golden_count)
            diff = serving_diff(model, golden)
            if not diff <= config.tolerance:
                raise PackageError(
                    f"The served path (JSON instances) answers differently from the table path "
                    f"by {diff:.2e} on the golden examples (tolerance {config.tolerance:.0e})."
                )
            (staging / GOLDEN_FILE).write_text(golden.model_dump_json(indent=2))
            (staging / REQUIREMENTS_FILE).write_text(requirements_txt(probe=probe))
            info = BuildInfo(
                task=signature.task,
                framework=signature.framework,
                producer=signature.producer,
                data_version=signature.data_version or schema.data_version,
                model_digest=model_digest(model_dir),
                git_commit=config.git_commit or git_commit(),
                built_at=datetime.now(UTC).isoformat(),
                golden_examples=len(golden.examples),
                serving_max_diff=diff,
                image_status=image_status,
            )
            if builder is not None:
                info.image = builder.build(staging)
                info.image_status = "built and pushed"
            (staging / BUILD_FILE).write_text(info.model_dump_json(indent=2))
    finally:
        if probe.poll() is None:  # packaging failed before the probe was read
            probe.kill()
            probe.communicate()
    return info


def read_build_info(bundle_dir: str | Path) -> BuildInfo:
    """Reads `build.json` of a bundle."""
    return BuildInfo.model_validate(json.loads((Path(bundle_dir) / BUILD_FILE).read_text()))
