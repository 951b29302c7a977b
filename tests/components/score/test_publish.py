"""Publishing scored parts: all together with `_SUCCESS` last, locally and in Cloud Storage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from freshet.components.score.core import ScoreConfig, score
from freshet.components.score.publish import MARKER, expand_output, publish
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput


@pytest.fixture(scope="module")
def parts(trained: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    dataset, model = trained
    root = tmp_path_factory.mktemp("parts")
    frame = pd.read_parquet(dataset / "test.parquet").astype({"pixel_0_3": str})
    frame.loc[0, "pixel_0_3"] = "x"
    frame.to_parquet(root / "in.parquet")
    config = ScoreConfig(data_uri=str(root / "in.parquet"), chunk_rows=50, part_rows=100)
    score(ContractModel.load(model), config, root / "scored")
    return root / "scored"


def test_local_output_appears_whole_with_the_run_id(parts: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions"
    files = publish(parts, str(out), "run-1", {"model_version": "model@1"})
    assert files[-1] == MARKER
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER,
        "_errors",
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    manifest = json.loads((out / MARKER).read_text())
    assert manifest["run_id"] == "run-1" and manifest["model_version"] == "model@1"
    assert manifest["files"] == files[:-1]
    scored = pd.read_parquet(out)
    assert len(scored) == 269 and set(scored["run_id"]) == {"run-1"}
    assert len(pd.read_parquet(out / "_errors")) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["predictions"]  # no staging left


def test_a_finished_output_is_refused_unless_overwrite(parts: Path, tmp_path: Path) -> None:
    out = tmp_path / "predictions"
    publish(parts, str(out), "run-1", {})
    before = (out / MARKER).read_text()
    with pytest.raises(BadInput, match="already holds a finished run's predictions"):
        publish(parts, str(out), "run-2", {})
    assert (out / MARKER).read_text() == before
    publish(parts, str(out), "run-2", {}, overwrite=True)
    assert set(pd.read_parquet(out)["run_id"]) == {"run-2"}


def test_a_folder_with_other_files_is_never_replaced(parts: Path, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(BadInput, match="already holds other files and no _SUCCESS"):
        publish(parts, str(tmp_path / "mine"), "run-1", {}, overwrite=True)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_output_placeholders() -> None:
    assert (
        expand_output("/p/{data_version}/{model_version}/{run_id}", "r1", "gs://b/o#7", "m@2")
        == "/p/gs_b_o_7/m_2/r1"
    )
    with pytest.raises(BadInput, match="output_uri is not set"):
        expand_output(" ", "r1", "", "")
    with pytest.raises(BadInput, match="placeholder other than"):
        expand_output("/p/{day}", "r1", "", "")
    with pytest.raises(BadInput, match="neither a local folder nor gs://"):
        publish(Path("."), "s3://bucket/x", "r1", {})


def test_cloud_storage_output(parts: Path, gcs_client: Any) -> None:
    bucket = gcs_client.create_bucket("predictions-out")
    uri = "gs://predictions-out/daily/2026-11-30"
    files = publish(parts, uri, "run-1", {}, client=gcs_client)
    names = sorted(b.name for b in gcs_client.list_blobs("predictions-out"))
    assert names == sorted(f"daily/2026-11-30/{name}" for name in files)  # staging removed
    marker = json.loads(bucket.blob(f"daily/2026-11-30/{MARKER}").download_as_bytes())
    assert marker["run_id"] == "run-1"
    with pytest.raises(BadInput, match="already holds a finished run's predictions"):
        publish(parts, uri, "run-2", {}, client=gcs_client)
    publish(parts, uri, "run-2", {}, overwrite=True, client=gcs_client)
    marker = json.loads(bucket.blob(f"daily/2026-11-30/{MARKER}").download_as_bytes())
    assert marker["run_id"] == "run-2"
    assert len(list(gcs_client.list_blobs("predictions-out"))) == len(files)
    bucket.blob("other/notes.txt").upload_from_string("keep me")
    with pytest.raises(BadInput, match="already holds other objects"):
        publish(parts, "gs://predictions-out/other", "run-3", {}, client=gcs_client)
