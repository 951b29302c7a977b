"""The contract end to end: preprocessing + head composed, written, checked, run on raw rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from freshet.contract import Feature, Signature, check_model_dir, write_model
from freshet.contract.compose import attach_head
from freshet.contract.preprocess import TablePreprocessor
from freshet.contract.runtime import ContractModel, frame_feeds
from freshet.errors import BadInput
from tests.fakes.contract_models import mixed_frame, regression_frame, train_linear, write_dataset


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("mixed")
    dataset = write_dataset(root / "dataset", mixed_frame(), "classification")
    train_linear(dataset, root / "model")
    return dataset, root / "model"


def test_raw_rows_with_gaps_and_unseen_categories_get_answers(mixed: tuple[Path, Path]) -> None:
    _, model_dir = mixed
    model = ContractModel.load(model_dir)
    rows = pd.DataFrame(
        [
            {"income": None, "age": 30.0, "member": True, "plan": "pro", "region": None},
            {"income": 60.0, "age": None, "member": None, "plan": "never-seen", "region": "x"},
        ]
    )
    probabilities = model.predict_frame(rows)
    assert probabilities.shape == (2, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_graph_does_what_the_fitted_preprocessing_does(mixed: tuple[Path, Path]) -> None:
    dataset, _ = mixed
    train = pd.read_parquet(dataset / "train.parquet")
    signature = Signature(
        task="classification",
        features=[
            Feature(name="income"),
            Feature(name="age"),
            Feature(name="member", kind="boolean"),
            Feature(name="plan", kind="categorical"),
            Feature(name="region", kind="categorical"),
        ],
        labels=["no", "yes"],
    )
    pre = TablePreprocessor.fit(train, signature)
    onnx_model = pre.to_onnx()
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_model.SerializeToString())
    got = session.run(None, frame_feeds(train, signature))[0]
    assert got.shape == (len(train), pre.width)
    assert np.abs(got - pre.transform(train)).max() < 1e-5
    # 3 numeric (income, age, member) + plan (3) + region (4 and the missing category "")
    assert pre.width == 3 + 3 + 5


def test_regression_values_are_one_per_row(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "dataset", regression_frame(), "regression")
    train_linear(dataset, tmp_path / "model")
    model = ContractModel.load(tmp_path / "model")
    test = pd.read_parquet(dataset / "test.parquet")
    values = model.predict_frame(test)
    assert values.shape == (len(test),)
    assert np.corrcoef(values, test["label"])[0, 1] > 0.4


def test_a_table_without_a_feature_column_is_refused(mixed: tuple[Path, Path]) -> None:
    _, model_dir = mixed
    with pytest.raises(BadInput, match="no column 'age', which the model needs"):
        ContractModel.load(model_dir).predict_frame(pd.DataFrame({"income": [1.0]}))


def test_write_model_refuses_a_graph_that_disagrees_with_the_signature(
    mixed: tuple[Path, Path], tmp_path: Path
) -> None:
    import onnx

    _, model_dir = mixed
    graph = onnx.load(str(model_dir / "model.onnx"))
    numeric_only = Signature(
        task="classification", features=[Feature(name="income")], labels=["no", "yes"]
    )
    with pytest.raises(BadInput, match="takes inputs"):
        write_model(tmp_path / "out", graph, numeric_only)
    assert not (tmp_path / "out").exists()
    three_labels = check_model_dir(model_dir).model_copy(update={"labels": ["a", "b", "c"]})
    with pytest.raises(BadInput, match="2 probabilities per row; the signature lists 3"):
        write_model(tmp_path / "out", graph, three_labels)


def test_check_model_dir_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        check_model_dir(tmp_path / "nothing")
    with pytest.raises(BadInput, match="'model.onnx' is missing"):
        check_model_dir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"not onnx")
    (tmp_path / "signature.json").write_text('{"task": "regression", "features": [{"name": "a"}]}')
    with pytest.raises(BadInput, match="not a valid ONNX file"):
        check_model_dir(tmp_path)


def test_a_torch_head_composes_with_the_preprocessing(
    mixed: tuple[Path, Path], tmp_path: Path
) -> None:
    import io
    import warnings

    import onnx
    import torch

    dataset, _ = mixed
    train = pd.read_parquet(dataset / "train.parquet")
    signature = check_model_dir(mixed[1])
    pre = TablePreprocessor.fit(train, signature)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(pre.width, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net(x), dim=1)

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Head().eval(),
            (torch.zeros(2, pre.width),),
            buffer,
            dynamo=False,
            input_names=["preprocessed"],
            output_names=["probabilities"],
            dynamic_axes={"preprocessed": {0: "rows"}, "probabilities": {0: "rows"}},
            opset_version=17,
        )
    full = attach_head(pre.to_onnx(), onnx.load_from_string(buffer.getvalue()), "preprocessed")
    write_model(tmp_path / "model", full, signature)
    got = ContractModel.load(tmp_path / "model").predict_frame(train)
    with torch.no_grad():
        want = Head()(torch.from_numpy(pre.transform(train))).numpy()
    assert np.abs(got - want).max() < 1e-5
