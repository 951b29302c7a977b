"""Checkpoint stores: atomic local files, Cloud Storage objects, the background writer."""

from __future__ import annotations

import os
import pickle
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import torch

from freshet.components.train import checkpoint
from freshet.errors import BadInput


def state(value: float) -> dict[str, Any]:
    return {"model": {"w": torch.full((3,), value)}, "loop": {"step": int(value)}}


def test_local_store_replaces_the_file_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    store = checkpoint.open_store(str(tmp_path / "ckpt"))
    assert store.read() is None
    store.write(checkpoint.dumps(state(1)))
    store.write(checkpoint.dumps(state(2)))
    data = store.read()
    assert data is not None
    assert checkpoint.loads(data)["loop"] == {"step": 2}
    assert os.listdir(tmp_path / "ckpt") == ["last.pt"]


def test_a_failed_local_write_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    store = checkpoint.LocalStore(tmp_path / "last.pt")
    store.write(b"old")
    with pytest.raises(TypeError):  # fails once the temporary file exists
        store.write(None)  # type: ignore[arg-type]
    assert store.read() == b"old"
    assert os.listdir(tmp_path) == ["last.pt"]


def test_file_uri_is_a_local_directory(tmp_path: Path) -> None:
    store = checkpoint.open_store(f"file://{tmp_path}/ckpt")
    assert isinstance(store, checkpoint.LocalStore)
    assert store.path == tmp_path / "ckpt" / "last.pt"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("", "The checkpoint location is empty; give a directory or a gs:// URI."),
        ("gs://", "The checkpoint location 'gs://' names no bucket."),
        (
            "s3://bucket/x",
            "Unknown checkpoint location scheme 's3' in 's3://bucket/x'; "
            "use a local directory or gs://bucket/prefix.",
        ),
    ],
)
def test_bad_locations_are_named(location: str, message: str) -> None:
    with pytest.raises(BadInput) as info:
        checkpoint.open_store(location)
    assert str(info.value) == message


def test_checkpoints_refuse_anything_but_tensors_and_plain_data() -> None:
    with pytest.raises(pickle.UnpicklingError):
        checkpoint.loads(checkpoint.dumps({"x": Fraction(1, 3)}))


def test_gcs_store_round_trip(gcs_client: Any) -> None:
    gcs_client.create_bucket("ckpt-roundtrip")
    store = checkpoint.open_store("gs://ckpt-roundtrip/runs/abc/", gcs_client)
    assert store.uri == "gs://ckpt-roundtrip/runs/abc/last.pt"
    assert store.read() is None
    store.write(checkpoint.dumps(state(1)))
    first = gcs_client.bucket("ckpt-roundtrip").get_blob("runs/abc/last.pt").generation
    store.write(checkpoint.dumps(state(5)))
    blob = gcs_client.bucket("ckpt-roundtrip").get_blob("runs/abc/last.pt")
    assert blob.generation != first  # replaced as a new object generation, never in place
    data = store.read()
    assert data is not None
    assert torch.equal(checkpoint.loads(data)["model"]["w"], torch.full((3,), 5.0))


def test_writer_writes_in_order_and_counts_its_time(tmp_path: Path) -> None:
    store = checkpoint.LocalStore(tmp_path / "last.pt")
    writer = checkpoint.CheckpointWriter(store)
    live = state(1)
    writer.save(live)
    live["model"]["w"].fill_(99.0)  # changed after save: the snapshot must not see it
    for value in range(2, 6):
        writer.save(state(value))
    writer.close()
    data = store.read()
    assert data is not None
    assert checkpoint.loads(data)["loop"] == {"step": 5}
    assert writer.saves == 5 and writer.write_seconds > 0 and writer.blocking_seconds > 0


def test_writer_surfaces_a_failed_background_write(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    writer = checkpoint.CheckpointWriter(checkpoint.LocalStore(blocker / "last.pt"))
    writer.save(state(1))
    with pytest.raises(OSError):
        writer.close()
