from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from freshet.components.fetch.core import DatasetSchema
from freshet.components.package.core import PackageConfig, PackageError, check_export, package
from freshet.components.package.requirements import (
    SERVING_ROOTS,
    closure,
    imported_distributions,
    requirements_txt,
)
from freshet.components.train.model import Predictor
from freshet.errors import FreshetError
from freshet.registry import model_digest
from freshet.serving.model import ServedModel
from freshet.serving.signature import BUNDLE_FILES, load_golden, load_signature


def test_bundle_holds_every_file(bundle: Path) -> None:
    assert sorted(p.name for p in bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert bundle.stat().st_mode & 0o755 == 0o755


def test_signature_matches_the_model(bundle: Path, trained: tuple[Path, Path]) -> None:
    predictor = Predictor.load(trained[1])
    signature = load_signature(bundle)
    assert signature.feature_names == predictor.spec.features
    assert {f.dtype for f in signature.features} == {"float32"}
    assert signature.labels == predictor.spec.labels
    assert signature.label_column == "label"


def test_golden_examples_are_test_rows_with_pytorch_answers(
    bundle: Path, trained: tuple[Path, Path]
) -> None:
    import pandas as pd

    dataset, model = trained
    golden = load_golden(bundle)
    assert len(golden.examples) == 40
    test = pd.read_parquet(dataset / "test.parquet")
    predictor = Predictor.load(model)
    x = np.array(test[predictor.spec.features].head(40), dtype=np.float32)
    np.testing.assert_array_equal(x, [e.instance for e in golden.examples])
    probabilities = predictor.predict_proba(x)
    labels = predictor.spec.labels
    assert [e.label for e in golden.examples] == [labels[i] for i in probabilities.argmax(1)]
    for e, row in zip(golden.examples, probabilities, strict=True):
        assert [e.probabilities[label] for label in labels] == pytest.approx(row.tolist(), abs=1e-7)


def test_onnx_graph_holds_scaling_and_softmax(bundle: Path, trained: tuple[Path, Path]) -> None:
    """Raw features in, probabilities out, for any batch size: serving needs nothing else."""
    served = ServedModel.load(bundle)
    predictor = Predictor.load(trained[1])
    rng = np.random.default_rng(0)
    for rows in (1, 7, 300):
        x = rng.uniform(0, 16, size=(rows, len(predictor.spec.features))).astype(np.float32)
        got = served.predict_proba(x)
        np.testing.assert_allclose(got, predictor.predict_proba(x), atol=1e-5)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_build_metadata(bundle: Path, trained: tuple[Path, Path]) -> None:
    dataset, model = trained
    build = json.loads((bundle / "build.json").read_text())
    assert build["data_version"] == DatasetSchema.load(dataset).data_version
    assert build["model_digest"] == model_digest(model)
    assert re.fullmatch(r"[0-9a-f]{40}", build["git_commit"] or "")  # tests run in a checkout
    assert build["image"] is None
    assert build["image_status"].startswith("bundle only")
    assert build["golden_examples"] == 40
    assert build["export_max_abs_diff"] < 1e-5


def test_requirements_are_pinned_and_torch_free(bundle: Path) -> None:
    lines = [
        line
        for line in (bundle / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    names = {line.split("==")[0] for line in lines}
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+", line) for line in lines), lines
    assert {"onnxruntime", "fastapi", "uvicorn", "numpy", "typer", "starlette"} <= names
    assert not names & {"torch", "kfp", "scikit-learn", "pandas", "google-cloud-aiplatform"}


def test_git_commit_given_wins(trained: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, model = trained
    info = package(model, dataset, tmp_path / "b", PackageConfig(golden_count=3, git_commit="abc"))
    assert info.git_commit == "abc"
    assert len(load_golden(tmp_path / "b").examples) == 3


def test_closure_refuses_torch_and_unknown_packages() -> None:
    with pytest.raises(FreshetError, match="would need 'torch'"):
        closure(("torch",))
    with pytest.raises(FreshetError, match="'no-such-dist' .* is not installed"):
        closure(("no-such-dist",))
    assert requirements_txt(SERVING_ROOTS).count("\n") == len(closure()) + 1


def test_requirements_hold_everything_the_serving_path_imports(bundle: Path) -> None:
    from packaging.utils import canonicalize_name

    pinned = {
        line.split("==")[0]
        for line in (bundle / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    imported = {canonicalize_name(name) for name in imported_distributions()}
    assert imported <= pinned
    assert {"fastapi", "onnxruntime", "uvicorn", "typer"} <= imported


def test_export_check_measures_the_difference(bundle: Path) -> None:
    golden = load_golden(bundle)
    signature = load_signature(bundle)
    assert check_export(bundle / "model.onnx", signature, golden) < 1e-5
    first = golden.examples[0]
    label = signature.labels[0]
    first.probabilities[label] += 0.25
    assert check_export(bundle / "model.onnx", signature, golden) == pytest.approx(0.25, abs=1e-5)


def test_mismatched_model_and_dataset_write_nothing(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, model = trained
    other = tmp_path / "dataset"
    shutil.copytree(dataset, other)
    schema = json.loads((other / "schema.json").read_text())
    schema["features"] = schema["features"][::-1]
    (other / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(PackageError, match="trained on other features"):
        package(model, other, tmp_path / "out" / "bundle")
    assert not (tmp_path / "out" / "bundle").exists()


def test_bad_config(trained: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="golden_count must be at least 1: 0"):
        package(trained[1], trained[0], tmp_path / "b", PackageConfig(golden_count=0))
    assert not list(tmp_path.iterdir())
