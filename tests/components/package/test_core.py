from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freshet.components.fetch.core import DatasetSchema
from freshet.components.package.core import (
    PackageConfig,
    PackageError,
    package,
    raw_value,
    serving_diff,
)
from freshet.components.package.requirements import (
    SERVING_ROOTS,
    closure,
    imported_distributions,
    requirements_txt,
)
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, FreshetError
from freshet.registry import model_digest
from freshet.serving.signature import BUNDLE_FILES, load_golden, load_signature

TRAINING_ONLY = {"torch", "scikit-learn", "skl2onnx", "onnx", "pandas", "pyarrow", "kfp"}


def test_bundle_holds_every_file(bundle: Path) -> None:
    assert sorted(p.name for p in bundle.iterdir()) == sorted(BUNDLE_FILES)
    assert bundle.stat().st_mode & 0o755 == 0o755


@pytest.mark.parametrize("name", ["digits", "mixed", "regression"])
def test_model_and_signature_are_the_model_artifacts_own(
    name: str, request: pytest.FixtureRequest
) -> None:
    prefix = "" if name == "digits" else f"{name}_"
    _, model = request.getfixturevalue(f"{prefix}trained")
    bundle = request.getfixturevalue(f"{prefix}bundle")
    for file in ("model.onnx", "signature.json"):
        assert (bundle / file).read_bytes() == (model / file).read_bytes()
    assert load_signature(bundle) == load_signature(model)


def test_golden_examples_are_raw_test_rows_with_the_models_answers(
    bundle: Path, trained: tuple[Path, Path]
) -> None:
    dataset, model = trained
    golden = load_golden(bundle)
    assert golden.task == "classification" and len(golden.examples) == 40
    signature = load_signature(bundle)
    test = pd.read_parquet(dataset / "test.parquet").head(40)
    assert [e.row(signature.feature_names) for e in golden.examples] == (
        test[signature.feature_names].to_numpy().tolist()
    )
    probabilities = ContractModel.load(model).predict_frame(test)
    labels = signature.labels
    assert [e.label for e in golden.examples] == [labels[i] for i in probabilities.argmax(1)]
    for e, row in zip(golden.examples, probabilities, strict=True):
        assert [(e.probabilities or {})[label] for label in labels] == row.tolist()


def test_mixed_golden_rows_keep_nulls_booleans_and_text(
    mixed_bundle: Path, mixed_trained: tuple[Path, Path]
) -> None:
    dataset, _ = mixed_trained
    test = pd.read_parquet(dataset / "test.parquet").head(40)
    golden = load_golden(mixed_bundle)
    incomes, regions = test["income"].tolist(), test["region"].tolist()
    for example, income, region in zip(golden.examples, incomes, regions, strict=True):
        assert set(example.instance) == {"income", "age", "member", "plan", "region"}
        assert example.instance["income"] == (None if math.isnan(income) else income)
        assert example.instance["region"] == (None if pd.isna(region) else region)
        assert type(example.instance["member"]) is bool
        assert example.instance["plan"] in ("basic", "plus", "pro")
    assert any(e.instance["income"] is None for e in golden.examples)
    assert any(e.instance["region"] is None for e in golden.examples)
    text = (mixed_bundle / "golden.json").read_text()
    assert '"income": null' in text and '"member": true' in text and "NaN" not in text


def test_regression_golden_holds_values(
    regression_bundle: Path, regression_trained: tuple[Path, Path]
) -> None:
    dataset, model = regression_trained
    golden = load_golden(regression_bundle)
    assert golden.task == "regression"
    assert all(e.label is None and e.probabilities is None for e in golden.examples)
    test = pd.read_parquet(dataset / "test.parquet").head(40)
    want = ContractModel.load(model).predict_frame(test)
    assert [e.value for e in golden.examples] == want.tolist()
    build = json.loads((regression_bundle / "build.json").read_text())
    assert build["task"] == "regression" and build["serving_max_diff"] <= 1e-5


def test_build_metadata(bundle: Path, trained: tuple[Path, Path]) -> None:
    dataset, model = trained
    build = json.loads((bundle / "build.json").read_text())
    assert build["data_version"] == DatasetSchema.load(dataset).data_version == "digits-v1"
    assert build["model_digest"] == model_digest(model)
    assert (build["task"], build["framework"], build["producer"]) == (
        "classification",
        "scikit-learn",
        "tests.digits",
    )
    assert re.fullmatch(r"[0-9a-f]{40}", build["git_commit"] or "")  # tests run in a checkout
    assert build["image"] is None
    assert build["image_status"].startswith("bundle only")
    assert build["golden_examples"] == 40
    assert build["serving_max_diff"] < 1e-6


@pytest.mark.parametrize("fixture", ["bundle", "mixed_bundle", "regression_bundle"])
def test_requirements_are_pinned_and_free_of_training_libraries(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    bundle = request.getfixturevalue(fixture)
    lines = [
        line
        for line in (bundle / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    names = {line.split("==")[0] for line in lines}
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+", line) for line in lines), lines
    assert {"onnxruntime", "fastapi", "uvicorn", "numpy", "typer", "starlette"} <= names
    assert not names & (TRAINING_ONLY | {"google-cloud-aiplatform"})


def test_git_commit_given_wins(trained: tuple[Path, Path], tmp_path: Path) -> None:
    dataset, model = trained
    info = package(model, dataset, tmp_path / "b", PackageConfig(golden_count=3, git_commit="abc"))
    assert info.git_commit == "abc"
    assert len(load_golden(tmp_path / "b").examples) == 3


def test_closure_refuses_training_libraries_and_unknown_packages() -> None:
    for name in ("torch", "pandas", "scikit-learn"):
        with pytest.raises(FreshetError, match=f"would need '{name}'"):
            closure((name,))
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
    assert not imported & TRAINING_ONLY


def test_serving_diff_measures_the_difference(bundle: Path) -> None:
    model = ContractModel.load(bundle)
    golden = load_golden(bundle)
    assert serving_diff(model, golden) == 0.0
    first = golden.examples[0]
    assert first.probabilities is not None and first.label is not None
    first.probabilities[first.label] -= 0.25
    assert serving_diff(model, golden) == pytest.approx(0.25, abs=1e-6)
    other = next(label for label in model.signature.labels if label != first.label)
    first.probabilities[other] = 2.0  # now another label wins
    assert serving_diff(model, golden) == 1.0


def test_serving_diff_is_relative_for_regression(regression_bundle: Path) -> None:
    model = ContractModel.load(regression_bundle)
    golden = load_golden(regression_bundle)
    first = golden.examples[0]
    assert first.value is not None and first.value > 1
    served = first.value
    first.value = served / (1 + 1e-3)  # |served - want| / |want| = 1e-3
    assert serving_diff(model, golden) == pytest.approx(1e-3, rel=1e-3)


def test_a_model_needing_a_feature_the_dataset_lacks_writes_nothing(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, model = trained
    other = tmp_path / "dataset"
    shutil.copytree(dataset, other)
    schema = json.loads((other / "schema.json").read_text())
    schema["features"].remove("pixel_3_4")
    schema["columns"] = [c for c in schema["columns"] if c["name"] != "pixel_3_4"]
    (other / "schema.json").write_text(json.dumps(schema))
    with pytest.raises(PackageError, match="needs feature 'pixel_3_4', which the dataset at"):
        package(model, other, tmp_path / "out" / "bundle")
    assert not (tmp_path / "out" / "bundle").exists()


def test_feature_order_of_the_dataset_does_not_matter(
    mixed_trained: tuple[Path, Path], tmp_path: Path
) -> None:
    dataset, model = mixed_trained
    other = tmp_path / "dataset"
    shutil.copytree(dataset, other)
    schema = json.loads((other / "schema.json").read_text())
    schema["features"].reverse()
    schema["columns"].reverse()
    (other / "schema.json").write_text(json.dumps(schema))
    info = package(model, other, tmp_path / "b", PackageConfig(golden_count=5))
    assert info.serving_max_diff == 0.0


def test_a_directory_that_is_not_a_contract_model_writes_nothing(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "model.pt").write_bytes(b"weights")
    with pytest.raises(BadInput, match="'model.onnx' is missing"):
        package(legacy, trained[0], tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_bad_config(trained: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="golden_count must be at least 1: 0"):
        package(trained[1], trained[0], tmp_path / "b", PackageConfig(golden_count=0))
    with pytest.raises(PackageError, match="tolerance must be positive: 0"):
        package(trained[1], trained[0], tmp_path / "b", PackageConfig(tolerance=0))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("cell", "raw"),
    [
        (np.float64("nan"), None),
        (float("nan"), None),
        (None, None),
        (pd.NA, None),
        (np.float32(1.5), 1.5),
        (np.int64(7), 7),
        (np.bool_(True), True),
        (False, False),
        ("pro", "pro"),
        (pd.Timestamp("2024-01-02"), "2024-01-02 00:00:00"),
    ],
)
def test_cells_become_json_values(cell: object, raw: object) -> None:
    got = raw_value(cell, "'x' in row 0")
    assert got == raw and type(got) is type(raw)


def test_an_infinite_cell_is_named() -> None:
    with pytest.raises(PackageError, match="The test row value 'x' in row 3 is infinite"):
        raw_value(np.float64("inf"), "'x' in row 3")
