"""Fixtures shared by the train tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from tests.fakes.vertex_fixtures import (  # noqa: F401  (fixtures of test_spot.py)
    pipeline_bucket,
    vertex,
    vertex_services,
)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: the machine is shared, and subprocesses must agree with the test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
