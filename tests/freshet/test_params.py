from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freshet.compile import compile_pipeline
from freshet.config import load_settings
from freshet.errors import BadInput
from freshet.params import load_template, parse_assignments, resolve, with_defaults


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return load_template(
        compile_pipeline("training", load_settings(), tmp_path_factory.mktemp("c"))
    )


def test_types_follow_the_template(spec: dict[str, Any]) -> None:
    typed = resolve(spec, {"epochs": "3", "learning_rate": "0.01", "label_column": "y"})
    assert typed == {"epochs": 3, "learning_rate": 0.01, "label_column": "y"}
    values = with_defaults(spec, typed)
    assert values["batch_size"] == 64 and isinstance(values["batch_size"], int)
    assert values["data_uri"] == "sample://digits"


def test_unknown_parameter_names_it(spec: dict[str, Any]) -> None:
    with pytest.raises(BadInput) as info:
        resolve(spec, {"epocs": "3"})
    assert str(info.value).startswith("Unknown parameter 'epocs' for pipeline 'training'; known: ")


def test_wrong_type(spec: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match="Parameter 'epochs' must be integer, not 'many'."):
        resolve(spec, {"epochs": "many"})


def test_assignments() -> None:
    assert parse_assignments(["a=1", "b=x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    with pytest.raises(BadInput, match="Parameter 'oops' is not in the form KEY=VALUE."):
        parse_assignments(["oops"])


def test_template_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="Pipeline template not found"):
        load_template(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [")
    with pytest.raises(BadInput, match="is not valid YAML"):
        load_template(bad)
    other = tmp_path / "other.yaml"
    other.write_text("a: 1")
    with pytest.raises(BadInput, match="is not a compiled KFP pipeline"):
        load_template(other)
