from pathlib import Path

import pytest

from freshet.contract import Feature, Signature, load_signature
from freshet.errors import BadInput


def test_defaults_follow_the_task() -> None:
    clf = Signature(task="classification", features=[Feature(name="a")], labels=["n", "y"])
    reg = Signature(task="regression", features=[Feature(name="a")])
    assert (clf.output_name, reg.output_name) == ("probabilities", "value")
    assert clf.input_names == ["numeric"]


def test_inputs_group_features_by_kind_in_order() -> None:
    sig = Signature(
        task="regression",
        features=[
            Feature(name="city", kind="categorical"),
            Feature(name="age"),
            Feature(name="member", kind="boolean"),
            Feature(name="plan", kind="categorical"),
        ],
    )
    assert sig.numeric_features == ["age", "member"]
    assert sig.categorical_features == ["city", "plan"]
    assert sig.input_names == ["numeric", "categorical"]


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"task": "classification", "features": [{"name": "a"}], "labels": ["x"]}, "two labels"),
        ({"task": "regression", "features": [{"name": "a"}], "labels": ["x"]}, "no labels"),
        ({"task": "regression", "features": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"task": "ranking", "features": [{"name": "a"}]}, "task"),
        ({"task": "regression", "features": []}, "features"),
        ({"task": "regression", "features": [{"name": "a", "kind": "text"}]}, "kind"),
    ],
)
def test_a_bad_signature_is_one_sentence(tmp_path: Path, payload: dict, problem: str) -> None:
    import json

    (tmp_path / "signature.json").write_text(json.dumps(payload))
    with pytest.raises(BadInput, match=problem) as caught:
        load_signature(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(tmp_path / "signature.json") in message


def test_a_missing_signature_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="signature.json' is missing"):
        load_signature(tmp_path)
