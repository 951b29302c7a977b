"""The model registry in Cloud Storage, against the storage emulator."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from freshet.errors import RegistryError
from freshet.registry import LocalRegistry, ModelVersion, model_digest, open_registry
from freshet.registry_gcs import GcsRegistry
from tests.fakes.gcs import storage_client
from tests.freshet.test_registry import make_model


@pytest.fixture
def bucket(gcs_client: Any) -> str:
    name = f"registry-{uuid.uuid4().hex[:12]}"
    gcs_client.create_bucket(name)
    return name


def objects(gcs_client: Any, bucket: str) -> list[str]:
    return sorted(blob.name for blob in gcs_client.list_blobs(bucket))


def test_register_numbers_versions_and_moves_champion(
    gcs_client: Any, bucket: str, tmp_path: Path
) -> None:
    registry = GcsRegistry(f"gs://{bucket}/ml/registry", gcs_client)
    assert registry.champion("m") is None
    a = make_model(tmp_path / "a", "A")
    v1 = registry.register("m", a, run_id="r1", data_version="gen-1", metrics={"accuracy": 0.9})
    v2 = registry.register("m", make_model(tmp_path / "b", "B"), run_id="r2")

    assert (v1.version, v2.version) == (1, 2)
    champion = registry.champion("m")
    assert champion is not None and champion.version == 2 and champion.run_id == "r2"
    assert registry.get("m", 1).metrics == {"accuracy": 0.9}
    assert [v.version for v in registry.versions("m")] == [1, 2]
    digest = model_digest(a)
    assert v1.path == f"gs://{bucket}/ml/registry/m/models/{digest}"
    assert [o for o in objects(gcs_client, bucket) if "/models/" in o and digest in o] == [
        f"ml/registry/m/models/{digest}/{name}"
        for name in ("model.onnx", "signature.json", "training.json")
    ]
    blob = gcs_client.bucket(bucket).blob(f"ml/registry/m/models/{digest}/model.onnx")
    assert blob.download_as_bytes() == b"A"
    alias = gcs_client.bucket(bucket).blob("ml/registry/m/aliases/champion.json")
    assert json.loads(alias.download_as_bytes()) == {"version": 2}


def test_same_model_twice_is_one_version(gcs_client: Any, bucket: str, tmp_path: Path) -> None:
    registry = GcsRegistry(f"gs://{bucket}", gcs_client)
    a = make_model(tmp_path / "a", "A")
    registry.register("m", a)
    registry.register("m", make_model(tmp_path / "b", "B"))
    before = objects(gcs_client, bucket)

    again = registry.register("m", a)

    assert again.version == 1
    assert registry.champion("m") == again  # only the alias moved back
    assert objects(gcs_client, bucket) == before


def test_missing_version_and_corrupt_alias_are_registry_errors(
    gcs_client: Any, bucket: str, tmp_path: Path
) -> None:
    registry = GcsRegistry(f"gs://{bucket}/reg", gcs_client)
    with pytest.raises(RegistryError, match=f"Model 'm' has no version 3 in 'gs://{bucket}/reg'"):
        registry.get("m", 3)
    registry.register("m", make_model(tmp_path / "a", "A"))
    gcs_client.bucket(bucket).blob("reg/m/aliases/champion.json").upload_from_string("{oops")
    with pytest.raises(RegistryError, match=f"The alias 'gs://{bucket}/reg/m/aliases/champion"):
        registry.champion("m")


def test_bad_model_name(gcs_client: Any, bucket: str) -> None:
    with pytest.raises(RegistryError, match="Model name 'Bad Name' is not valid"):
        GcsRegistry(f"gs://{bucket}", gcs_client).champion("Bad Name")


def test_a_missing_bucket_is_one_registry_error(gcs_client: Any) -> None:
    registry = GcsRegistry("gs://no-such-bucket-here/reg", gcs_client)
    with pytest.raises(RegistryError, match="Cannot list the model registry at 'gs://no-such-"):
        registry.versions("m")


def test_open_registry_picks_the_store_by_location(
    gcs_client: Any, bucket: str, tmp_path: Path
) -> None:
    assert isinstance(open_registry(f"gs://{bucket}/reg", gcs_client), GcsRegistry)
    local = open_registry(f"file://{tmp_path}/reg")
    assert isinstance(local, LocalRegistry) and local.root == tmp_path / "reg"
    assert isinstance(open_registry(str(tmp_path / "reg")), LocalRegistry)
    for uri, message in [
        ("", "The model registry location is empty."),
        ("s3://b/reg", "Unknown model registry scheme 's3' in 's3://b/reg'"),
        ("gs:///reg", "The model registry location 'gs:///reg' names no bucket."),
    ]:
        with pytest.raises(RegistryError, match=message.replace("(", r"\(")):
            open_registry(uri, gcs_client)


def test_concurrent_registrations_get_distinct_numbers(
    gcs_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    # Every writer lists the same versions and claims the same next number at once; the
    # create-only record makes exactly one win each number, the others take the next.
    writers = 6
    models = [make_model(tmp_path / f"m{i}", f"weights-{i}") for i in range(writers)]
    start = threading.Barrier(writers)
    results: list[ModelVersion] = []
    errors: list[BaseException] = []

    def register(model_dir: Path) -> None:
        registry = GcsRegistry(f"gs://{bucket}/reg", storage_client(gcs_endpoint))
        start.wait()
        try:
            results.append(registry.register("m", model_dir))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(m,)) for m in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(v.version for v in results) == list(range(1, writers + 1))
    registry = GcsRegistry(f"gs://{bucket}/reg", storage_client(gcs_endpoint))
    stored = registry.versions("m")
    assert sorted(v.model_digest for v in stored) == sorted(model_digest(m) for m in models)
    assert registry.champion("m") in stored


def test_model_files_round_trip_a_contract_model(
    gcs_client: Any, bucket: str, tmp_path: Path
) -> None:
    from freshet.components.evaluate.core import score
    from tests.fakes.contract_models import mixed_frame, train_linear, write_dataset

    data = write_dataset(tmp_path / "data", mixed_frame(200), "classification")
    train_linear(data, tmp_path / "model")
    (tmp_path / "model" / "model.pt").write_bytes(b"not part of the contract")
    registry = GcsRegistry(f"gs://{bucket}/reg", gcs_client)
    version = registry.register("m", tmp_path / "model", metrics={"accuracy": 0.8})

    with registry.model_files(version) as files:
        assert sorted(p.name for p in files.iterdir()) == ["model.onnx", "signature.json"]
        assert model_digest(files) == version.model_digest
        assert score(files, data) == score(tmp_path / "model", data)
    assert not files.exists()  # the download is removed after


def test_model_files_that_are_gone_is_a_registry_error(
    gcs_client: Any, bucket: str, tmp_path: Path
) -> None:
    registry = GcsRegistry(f"gs://{bucket}/reg", gcs_client)
    version = registry.register("m", make_model(tmp_path / "a", "A"))
    for blob in gcs_client.list_blobs(bucket, prefix="reg/m/models/"):
        blob.delete()
    with (
        pytest.raises(RegistryError, match="The files of 'm' version 1 are missing from 'gs://"),
        registry.model_files(version),
    ):
        pass
    local = version.model_copy(update={"path": str(tmp_path)})
    with (
        pytest.raises(RegistryError, match="points at '.*', which is not in Cloud Storage"),
        registry.model_files(local),
    ):
        pass
