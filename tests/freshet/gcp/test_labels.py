"""Run labels: valid for Vertex whatever the data version or reason looks like."""

from __future__ import annotations

import re

from freshet.gcp.labels import git_commit, label_value, run_labels


def test_labels_identify_the_run_and_keep_team_labels() -> None:
    labels = run_labels(
        {"team": "ml"}, "Training", "gs://Bucket/data@1712345678901234", "abc123", "data update"
    )
    assert labels == {
        "team": "ml",
        "freshet-pipeline": "training",
        "freshet-data-version": "gs-bucket-data-1712345678901234",
        "freshet-git-commit": "abc123",
        "freshet-reason": "data-update",
    }


def test_label_values_are_cut_to_63_valid_characters() -> None:
    value = label_value("sha256-" + "F" * 100)
    assert len(value) == 63 and re.fullmatch(r"[a-z0-9_-]+", value)


def test_unknown_values_are_left_out() -> None:
    assert run_labels({}, "training", None, None) == {"freshet-pipeline": "training"}


def test_git_commit_outside_a_checkout_is_none(tmp_path: object) -> None:
    assert git_commit(str(tmp_path)) is None
