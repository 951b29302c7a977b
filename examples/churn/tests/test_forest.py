"""The project's trainer writes a valid model contract (run with pytest from this folder)."""

from pathlib import Path

from churn_project.forest import train_forest

from freshet.components.fetch.core import FetchConfig, fetch
from freshet.contract import check_model_dir

HERE = Path(__file__).resolve().parents[1]


def test_the_forest_writes_a_contract_model(tmp_path: Path) -> None:
    fetch(FetchConfig(uri=str(HERE / "data" / "churn.csv"), label_column="churned"), tmp_path / "d")
    accuracy = train_forest(str(tmp_path / "d"), str(tmp_path / "m"), trees=20)
    signature = check_model_dir(tmp_path / "m")
    assert signature.producer == "churn_project.forest"
    assert accuracy > 0.7
