"""Session-wide fixtures: real local servers that tests talk to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.bundles import (  # noqa: F401
    bundle,
    mixed_bundle,
    mixed_trained,
    no_leftover_servers,
    regression_bundle,
    regression_trained,
    trained,
)
from tests.fakes.gcs import storage_client, storage_emulator


@pytest.fixture(autouse=True)
def human_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands speak to a person (`error: ...` lines), as on a terminal, unless a test asks.

    Under pytest stderr is never a terminal, which alone would switch every command, and
    every subprocess that inherits this environment, to JSON records; the tests of the JSON
    form set FRESHET_LOG_FORMAT=json themselves.
    """
    monkeypatch.setenv("FRESHET_LOG_FORMAT", "console")


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """Endpoint of a Cloud Storage emulator running for the whole session."""
    with storage_emulator() as endpoint:
        yield endpoint


@pytest.fixture
def gcs_client(gcs_endpoint: str) -> Any:
    """A google-cloud-storage client connected to the emulator."""
    return storage_client(gcs_endpoint)
