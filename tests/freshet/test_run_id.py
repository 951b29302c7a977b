from __future__ import annotations

from datetime import UTC, datetime

import pytest

from freshet.errors import BadInput
from freshet.run_id import check_run_id, derive_run_id, new_run_id


def test_derived_id_is_stable_and_sensitive_to_each_part() -> None:
    base = derive_run_id("training", "t1", "d1")
    assert base == derive_run_id("training", "t1", "d1")
    assert base.startswith("training-")
    others = {
        derive_run_id("training", "t2", "d1"),
        derive_run_id("training", "t1", "d2"),
        derive_run_id("other", "t1", "d1"),
    }
    assert base not in others and len(others) == 3
    check_run_id(base)


def test_ids_are_valid_job_ids() -> None:
    assert check_run_id(derive_run_id("My_Pipeline!", "t", "d")).startswith("my-pipeline-")
    assert check_run_id(derive_run_id("9lives", "t", "d")).startswith("p-9lives-")
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_run_id("training", stamp).startswith("training-20260102-030405-")
    assert new_run_id("training") != new_run_id("training")


@pytest.mark.parametrize("bad", ["", "Upper", "1abc", "has space", "x" * 129])
def test_bad_run_ids(bad: str) -> None:
    with pytest.raises(BadInput, match="is not valid"):
        check_run_id(bad)
