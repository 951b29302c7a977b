from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from freshet.components.evaluate.core import Evaluation, score
from freshet.components.gate.core import UNCHANGED, ChampionScore, GatePolicy, decide, judge
from freshet.errors import BadInput
from freshet.registry import LocalRegistry
from freshet.registry_gcs import GcsRegistry
from tests.fakes.contract_models import mixed_frame, regression_frame, train_linear, write_dataset

ACCURACY = GatePolicy.parse("classification")
RMSE = GatePolicy.parse("regression")


def test_first_model_is_judged_by_the_floor_only() -> None:
    decision = decide(0.95, ACCURACY)
    assert decision.passed
    assert decision.reasons == [
        "accuracy 0.9500 meets the floor 0.9000.",
        "No champion yet: judged by the floor only.",
    ]
    rejected = decide(0.85, ACCURACY)
    assert rejected.decision == "rejected"
    assert rejected.reasons[0] == "accuracy 0.8500 is below the floor 0.9000."


def test_the_record() -> None:
    policy = GatePolicy.parse("classification", "f1_macro", "0.5", 0.01)
    decision = decide(0.7, policy, ChampionScore(version=3, score=0.705))
    assert json.loads(decision.to_json()) == {
        "metric": "f1_macro",
        "direction": "higher",
        "candidate": 0.7,
        "champion": 0.705,
        "champion_version": 3,
        "threshold": 0.5,
        "max_regression": 0.01,
        "decision": "passed",
        "reasons": [
            "f1_macro 0.7000 meets the floor 0.5000.",
            "f1_macro 0.7000 is within 0.0100 of champion v3 f1_macro 0.7050 "
            "(scored on this run's test split).",
        ],
    }


def test_higher_is_better_against_the_champion() -> None:
    policy = GatePolicy.parse("classification", "accuracy", "0.5", 0.01)
    assert decide(0.95, policy, ChampionScore(3, 0.955)).passed
    assert decide(0.99, policy, ChampionScore(3, 0.955)).passed
    rejected = decide(0.93, policy, ChampionScore(3, 0.955))
    assert not rejected.passed
    assert rejected.reasons[1].startswith(
        "accuracy 0.9300 regresses more than 0.0100 from champion v3 accuracy 0.9550"
    )
    assert decide(0.97, ACCURACY, ChampionScore(1, 0.97)).passed  # equal, no regression allowed


def test_lower_is_better_against_the_champion_and_the_ceiling() -> None:
    policy = GatePolicy.parse("regression", "rmse", "50", 2.0)
    assert decide(41.0, policy, ChampionScore(2, 40.0)).passed  # worse, but within 2
    assert decide(30.0, policy, ChampionScore(2, 40.0)).passed  # better
    rejected = decide(42.5, policy, ChampionScore(2, 40.0))
    assert not rejected.passed and rejected.direction == "lower"
    assert (
        "rmse 42.5000 regresses more than 2.0000 from champion v2 rmse 40.0000"
        in (rejected.reasons[1])
    )
    above = decide(55.0, GatePolicy.parse("regression", "rmse", "50"))
    assert not above.passed and above.reasons[0] == "rmse 55.0000 is above the ceiling 50.0000."
    assert decide(45.0, policy).reasons[0] == "rmse 45.0000 is within the ceiling 50.0000."
    log_loss = GatePolicy.parse("classification", "log_loss", "none")
    assert not decide(0.31, log_loss, ChampionScore(1, 0.3)).passed


def test_no_floor() -> None:
    decision = decide(1e6, RMSE)
    assert decision.passed and decision.threshold is None
    assert decision.reasons[0] == "No ceiling on rmse ('auto' sets one only for accuracy)."
    none = decide(0.1, GatePolicy.parse("classification", "", "none"))
    assert none.passed and none.reasons[0] == "No floor on accuracy (gate_threshold is 'none')."


def test_both_rules_are_reported() -> None:
    decision = decide(0.5, ACCURACY, ChampionScore(1, 0.99))
    assert len(decision.reasons) == 2
    assert "below the floor" in decision.reasons[0]
    assert "regresses more than" in decision.reasons[1]


def test_a_candidate_metric_that_is_not_a_number_is_rejected() -> None:
    decision = decide(math.nan, GatePolicy.parse("regression", "r2", "none"))
    assert not decision.passed and decision.reasons == [
        "r2 of the candidate is not a number (nan)."
    ]


def test_champion_that_could_not_be_scored_leaves_the_floor() -> None:
    decision = decide(0.95, ACCURACY, ChampionScore(4, None, "it is a regression model."))
    assert decision.passed and decision.champion is None and decision.champion_version == 4
    assert decision.reasons[1] == (
        "Champion v4 could not be scored on this run's test split, so the candidate is judged "
        "by the floor only: it is a regression model."
    )


# Judging against a registry: the champion is scored again on this run's data.


def shifted_frame(rows: int, seed: int) -> pd.DataFrame:
    """Like mixed_frame, but 'member' no longer matters and 'pro' matters the other way."""
    frame = mixed_frame(rows, seed)
    rng = np.random.default_rng(seed + 100)
    score_ = 0.04 * (frame["income"].fillna(50) - 50) - (frame["plan"] == "pro") * 1.5
    frame["label"] = np.where(score_ + rng.normal(0, 0.5, rows) > 0.0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    paths = {
        "old": write_dataset(root / "old", mixed_frame(600), "classification", data_version="v1"),
        "new": write_dataset(root / "new", shifted_frame(600, 1), "classification", "label", "v2"),
        "reg": write_dataset(root / "reg", regression_frame(300), "regression", data_version="r1"),
    }
    for name in ("old", "new", "reg"):
        train_linear(paths[name], root / f"model-{name}")
        paths[f"model-{name}"] = root / f"model-{name}"
    return paths


def registered(registry: Any, model_dir: Path, dataset: Path) -> int:
    stored = score(model_dir, dataset)
    return int(registry.register("m", model_dir, metrics=stored.metrics).version)


def test_the_champion_is_scored_on_this_runs_test_split(
    world: dict[str, Path], tmp_path: Path
) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, world["model-old"], world["old"])
    stored = registry.get("m", 1).metrics["accuracy"]
    candidate = score(world["model-new"], world["new"])
    on_new_data = score(world["model-old"], world["new"]).metrics["accuracy"]
    assert abs(stored - on_new_data) > 0.1  # the data really shifted

    policy = GatePolicy.parse("classification", "accuracy", "none", 0.0)
    decision = judge(candidate, world["new"], registry, "m", policy)

    assert decision.champion == on_new_data and decision.champion_version == 1
    assert decision.candidate == candidate.metrics["accuracy"]
    assert decision.passed  # the stored 0.8+ would have rejected the new model
    assert candidate.metrics["accuracy"] < stored
    assert (
        f"champion v1 accuracy {on_new_data:.4f} (scored on this run's test split)"
        in (decision.reasons[1])
    )


def test_a_champion_better_on_this_data_rejects(world: dict[str, Path], tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, world["model-new"], world["new"])
    candidate = score(world["model-old"], world["new"])  # a model that missed the shift
    decision = judge(candidate, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert not decision.passed
    assert decision.champion == score(world["model-new"], world["new"]).metrics["accuracy"]


def test_no_champion(world: dict[str, Path], tmp_path: Path) -> None:
    candidate = score(world["model-reg"], world["reg"])
    decision = judge(candidate, world["reg"], LocalRegistry(tmp_path / "r"), "m", RMSE)
    assert decision.passed and decision.champion is None and decision.champion_version is None
    assert decision.metric == "rmse" and decision.candidate == candidate.metrics["rmse"]


def test_a_champion_of_another_task_leaves_the_floor(
    world: dict[str, Path], tmp_path: Path
) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, world["model-reg"], world["reg"])
    candidate = score(world["model-new"], world["new"])
    decision = judge(candidate, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert decision.champion is None and decision.champion_version == 1
    assert decision.reasons[1].endswith(
        "judged by the floor only: it is a regression model and the candidate a "
        "classification model."
    )
    assert decision.passed == (candidate.metrics["accuracy"] >= 0.9)


def test_a_champion_with_other_labels_leaves_the_floor(
    world: dict[str, Path], tmp_path: Path
) -> None:
    frame = mixed_frame(600, seed=4)
    frame["label"] = np.where(frame["income"].fillna(50) > 60, "maybe", frame["label"])
    three = write_dataset(tmp_path / "three", frame, "classification")
    train_linear(three, tmp_path / "model-three")
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, tmp_path / "model-three", three)
    candidate = score(world["model-new"], world["new"])
    decision = judge(candidate, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert decision.champion is None
    assert (
        "it predicts the labels ['maybe', 'no', 'yes'] and the candidate ['no', 'yes']."
        in (decision.reasons[1])
    )


def test_a_champion_needing_a_feature_the_data_lacks_leaves_the_floor(
    world: dict[str, Path], tmp_path: Path
) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, world["model-old"], world["old"])
    frame = shifted_frame(600, 2).drop(columns=["region"])
    fewer = write_dataset(tmp_path / "fewer", frame, "classification")
    train_linear(fewer, tmp_path / "model-fewer")
    candidate = score(tmp_path / "model-fewer", fewer)
    decision = judge(candidate, fewer, registry, "m", GatePolicy.parse("classification", "", "0.5"))
    assert decision.champion is None and decision.passed
    assert "has no column 'region', which the model needs." in decision.reasons[1]


def test_a_champion_from_before_the_contract_leaves_the_floor(
    world: dict[str, Path], tmp_path: Path
) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    version = registered(registry, world["model-old"], world["old"])
    folder = Path(registry.get("m", version).path)
    (folder / "model.onnx").unlink()
    (folder / "signature.json").unlink()
    (folder / "model.pt").write_bytes(b"torch weights")
    candidate = score(world["model-new"], world["new"])
    decision = judge(candidate, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert decision.champion is None
    assert "'signature.json' is missing." in decision.reasons[1]


def test_a_candidate_evaluation_without_the_metric(world: dict[str, Path], tmp_path: Path) -> None:
    candidate = Evaluation(task="classification", metrics={"accuracy": 0.9}, test_rows=3)
    policy = GatePolicy.parse("classification", "log_loss")
    with pytest.raises(BadInput, match="has no metric 'log_loss'; it has: accuracy."):
        judge(candidate, world["new"], LocalRegistry(tmp_path / "r"), "m", policy)


def test_the_champion_in_cloud_storage_is_downloaded_and_scored(
    world: dict[str, Path], gcs_client: Any
) -> None:
    gcs_client.create_bucket("gate-champion")
    registry = GcsRegistry("gs://gate-champion/registry", gcs_client)
    registered(registry, world["model-old"], world["old"])
    candidate = score(world["model-new"], world["new"])
    policy = GatePolicy.parse("classification", "log_loss", "auto", 0.05)
    decision = judge(candidate, world["new"], registry, "m", policy)
    assert decision.champion == score(world["model-old"], world["new"]).metrics["log_loss"]
    assert decision.direction == "lower" and decision.threshold is None
    assert decision.passed == (candidate.metrics["log_loss"] <= decision.champion + 0.05)


def test_the_champions_very_model_is_unchanged_without_scoring_it(
    world: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = LocalRegistry(tmp_path / "registry")
    registered(registry, world["model-old"], world["old"])
    candidate = score(world["model-old"], world["new"])  # the same model, on newer rows
    assert candidate.model_digest == registry.get("m", 1).model_digest != ""

    def no_scoring(*args: Any) -> None:
        raise AssertionError("the champion was scored again")

    monkeypatch.setattr("freshet.components.gate.core.champion_score", no_scoring)
    decision = judge(candidate, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert decision.decision == UNCHANGED and not decision.passed
    assert decision.champion_version == 1 and decision.champion is None
    assert decision.reasons == [
        f"The candidate is champion v1 itself (model {candidate.model_digest}): nothing new "
        "to package, verify or register."
    ]
    # another model is judged as before: against the champion scored on this split
    other = score(world["model-new"], world["new"])
    monkeypatch.undo()
    judged = judge(other, world["new"], registry, "m", GatePolicy.parse("classification"))
    assert judged.decision != UNCHANGED and judged.champion is not None
