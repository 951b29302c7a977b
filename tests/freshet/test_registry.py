from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from freshet.errors import BadInput, RegistryError
from freshet.registry import LocalRegistry, ModelVersion, model_digest


def make_model(path: Path, content: str, training: str = "{}") -> Path:
    """Stand-in contract files: the registry stores bytes and never reads the graph."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.onnx").write_text(content)
    (path / "signature.json").write_text("{}")
    (path / "training.json").write_text(training)
    return path


def test_register_numbers_versions_and_moves_champion(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    assert registry.champion("m") is None
    v1 = registry.register(
        "m", make_model(tmp_path / "a", "A"), run_id="r1", metrics={"accuracy": 0.9}
    )
    v2 = registry.register("m", make_model(tmp_path / "b", "B"), run_id="r2")
    assert (v1.version, v2.version) == (1, 2)
    champion = registry.champion("m")
    assert champion is not None and champion.version == 2
    assert registry.get("m", 1).metrics == {"accuracy": 0.9}
    assert (Path(v1.path) / "model.onnx").read_text() == "A"
    assert sorted(p.name for p in Path(v1.path).iterdir()) == [
        "model.onnx",
        "signature.json",
        "training.json",
        "version.json",
    ]


def test_same_model_twice_is_one_version(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    a = make_model(tmp_path / "a", "A")
    registry.register("m", a)
    registry.register("m", make_model(tmp_path / "b", "B"))
    again = registry.register("m", a)
    assert again.version == 1
    assert [v.version for v in registry.versions("m")] == [1, 2]
    champion = registry.champion("m")
    assert champion is not None and champion.version == 1


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    models = [make_model(tmp_path / str(i), str(i)) for i in range(8)]
    threads = [threading.Thread(target=registry.register, args=("m", m)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [v.version for v in registry.versions("m")] == list(range(1, 9))


def test_failed_copy_leaves_registry_unchanged(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    registry.register("m", make_model(tmp_path / "a", "A"))
    broken = make_model(tmp_path / "b", "B")
    (broken / "training.json").unlink()
    (broken / "training.json").mkdir()  # copying it fails after the contract files were copied
    with pytest.raises(IsADirectoryError):
        registry.register("m", broken)
    assert [v.version for v in registry.versions("m")] == [1]
    assert not [
        p for p in (tmp_path / "reg" / "m" / "versions").iterdir() if p.name.startswith(".")
    ]


def test_bad_names_and_corrupt_alias(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="Model name 'Bad Name' is not valid"):
        registry.champion("Bad Name")
    registry.register("m", make_model(tmp_path / "a", "A"))
    (tmp_path / "reg" / "m" / "aliases" / "champion.json").write_text(json.dumps({"v": 1}))
    with pytest.raises(RegistryError, match="is corrupt"):
        registry.champion("m")


def test_a_directory_without_the_contract_is_bad_input(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    old = tmp_path / "old"
    old.mkdir()
    (old / "model.pt").write_text("weights")
    with pytest.raises(BadInput, match="'.*old' does not hold a model: 'model.onnx' is missing."):
        registry.register("m", old)
    with pytest.raises(BadInput, match="does not hold a model"):
        registry.register("m", tmp_path / "does-not-exist")
    assert registry.versions("m") == []


def test_extras_do_not_make_another_model(tmp_path: Path) -> None:
    a = make_model(tmp_path / "a", "A", training='{"epochs": 1}')
    b = make_model(tmp_path / "b", "A", training='{"epochs": 2}')
    assert model_digest(a) == model_digest(b)
    (b / "signature.json").write_text('{"task": "regression"}')
    assert model_digest(a) != model_digest(b)
    no_extras = make_model(tmp_path / "c", "C")
    (no_extras / "training.json").unlink()
    registry = LocalRegistry(tmp_path / "reg")
    version = registry.register("m", no_extras)
    with registry.model_files(version) as files:
        assert sorted(p.name for p in files.iterdir()) == [
            "model.onnx",
            "signature.json",
            "version.json",
        ]


def test_model_files_of_a_local_version(tmp_path: Path) -> None:
    registry = LocalRegistry(tmp_path / "reg")
    version = registry.register("m", make_model(tmp_path / "a", "A"))
    with registry.model_files(version) as files:
        assert files == Path(version.path)
        assert (files / "model.onnx").read_text() == "A"
    assert (Path(version.path) / "model.onnx").exists()  # the registry's own copy stays
    gone = ModelVersion(model="m", version=7, path=str(tmp_path / "gone"), model_digest="x")
    with (
        pytest.raises(RegistryError, match="The files of 'm' version 7 are missing from"),
        registry.model_files(gone),
    ):
        pass
