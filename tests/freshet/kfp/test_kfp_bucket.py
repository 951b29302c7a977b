"""Picking a task's output file among the objects of a run under its pipeline root."""

from __future__ import annotations

from datetime import UTC, datetime

from freshet.kfp.bucket import output_file

EARLY = datetime(2026, 1, 1, tzinfo=UTC)
LATE = datetime(2026, 1, 2, tzinfo=UTC)


def test_the_uuid_part_of_kfp_2_4_and_later_is_any_segment() -> None:
    names = [
        ("train/0d9c1c44-7d6e-4bb5-9a3f-0d5b1c1a2b3c/model/model.onnx", EARLY),
        ("evaluate/5f2b6c1e-1111-4a2b-8c3d-9e8f7a6b5c4d/executor-logs", EARLY),
        ("evaluate/5f2b6c1e-1111-4a2b-8c3d-9e8f7a6b5c4d/evaluation", EARLY),
        ("gate/a1b2c3d4-2222-4e5f-8a9b-0c1d2e3f4a5b/report", EARLY),
    ]
    assert output_file(names, "evaluate", "evaluation") == names[2][0]
    assert output_file(names, "gate", "report") == names[3][0]
    assert output_file(names, "gate", "evaluation") is None


def test_kfp_2_2_and_2_3_put_the_file_right_under_the_task() -> None:
    assert output_file([("evaluate/evaluation", None)], "evaluate", "evaluation") == (
        "evaluate/evaluation"
    )


def test_a_folder_output_or_another_task_is_not_the_file() -> None:
    names = [
        ("evaluate/u1/evaluation/part-0.json", LATE),  # a folder artifact named evaluation
        ("evaluate-2/u2/evaluation", LATE),  # another task whose name begins the same
        ("steps/evaluate/evaluation", LATE),  # not the task at the first segment
    ]
    assert output_file(names, "evaluate", "evaluation") is None


def test_the_newest_of_two_executions_wins() -> None:
    names = [("evaluate/u-old/evaluation", EARLY), ("evaluate/u-new/evaluation", LATE)]
    assert output_file(names, "evaluate", "evaluation") == "evaluate/u-new/evaluation"
    assert output_file(list(reversed(names)), "evaluate", "evaluation") == (
        "evaluate/u-new/evaluation"
    )
