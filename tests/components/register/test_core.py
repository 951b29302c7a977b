from __future__ import annotations

from pathlib import Path

from freshet.components.evaluate.core import Evaluation
from freshet.components.register.core import champion_accuracy, register


def evaluation(accuracy: float) -> Evaluation:
    return Evaluation(
        accuracy=accuracy,
        f1_macro=accuracy,
        log_loss=0.1,
        test_rows=10,
        labels=["a", "b"],
        confusion_matrix=[[5, 0], [0, 5]],
        per_class={},
    )


def test_register_records_metrics_and_champion(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.pt").write_bytes(b"weights")
    (model / "model.json").write_text("{}")
    registry = str(tmp_path / "reg")
    assert champion_accuracy(registry, "clf") == (None, None)
    version = register(registry, "clf", model, evaluation(0.97), "sha256-x", "run-1")
    assert version.version == 1
    assert version.data_version == "sha256-x"
    assert champion_accuracy(registry, "clf") == (0.97, 1)
