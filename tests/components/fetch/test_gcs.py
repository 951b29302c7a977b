"""gs:// sources over a real connection to a local Cloud Storage emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from freshet.components.fetch.core import FetchConfig, fetch, inspect
from freshet.components.fetch.sources import data_version
from freshet.errors import DataError


def csv_bytes(rows: int, offset: int = 0) -> str:
    frame = pd.DataFrame(
        {"x": [float(i + offset) for i in range(rows)], "label": [i % 2 for i in range(rows)]}
    )
    return str(frame.to_csv(index=False))


def test_fetch_from_bucket_prefix(gcs_client: Any, tmp_path: Path) -> None:
    bucket = gcs_client.create_bucket("fetch-prefix")
    bucket.blob("data/part-1.csv").upload_from_string(csv_bytes(30))
    bucket.blob("data/part-2.csv").upload_from_string(csv_bytes(20, offset=100))
    bucket.blob("data/README.md").upload_from_string("not data")
    bucket.blob("other/x.csv").upload_from_string(csv_bytes(5))
    schema = fetch(FetchConfig(uri="gs://fetch-prefix/data/"), tmp_path / "ds", client=gcs_client)
    assert sum(schema.rows.values()) == 50
    train = pd.read_parquet(tmp_path / "ds" / "train.parquet")
    assert set(train.columns) == {"x", "label"}


def test_version_changes_with_generation(gcs_client: Any) -> None:
    bucket = gcs_client.create_bucket("fetch-version")
    blob = bucket.blob("d/data.csv")
    blob.upload_from_string(csv_bytes(20))
    first = data_version("gs://fetch-version/d/", gcs_client)
    assert data_version("gs://fetch-version/d/", gcs_client) == first
    # Same bytes uploaded again: a new generation is new data as far as Cloud Storage says.
    bucket.blob("d/data.csv").upload_from_string(csv_bytes(20))
    assert data_version("gs://fetch-version/d/", gcs_client) != first


def test_empty_prefix_is_bad_input(gcs_client: Any) -> None:
    gcs_client.create_bucket("fetch-empty")
    with pytest.raises(DataError) as info:
        inspect(FetchConfig(uri="gs://fetch-empty/nothing/"), client=gcs_client)
    assert str(info.value) == "No CSV or Parquet objects found under 'gs://fetch-empty/nothing/'."


def test_default_client_uses_storage_emulator_host(
    gcs_client: Any, gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = gcs_client.create_bucket("fetch-default-client")
    bucket.blob("x.csv").upload_from_string(csv_bytes(20))
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "freshet-test")
    assert inspect(FetchConfig(uri="gs://fetch-default-client/x.csv")).rows == {"total": 20}
