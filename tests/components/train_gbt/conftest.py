"""Fixtures shared by the train_gbt tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sklearn.ensemble  # noqa: F401  (loads OpenMP now, so that the limit below reaches it)
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One OpenMP thread: on a shared machine the booster's spinning threads cost 10x."""
    with threadpool_limits(limits=1):
        yield
