from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from freshet.errors import RegistryError
from freshet.registry import LocalRegistry


def make_model(path: Path, content: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.pt").write_text(content)
    (path / "model.json").write_text("{}")
    (path / "training.json").write_text("{}")
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
    assert (Path(v1.path) / "model.pt").read_text() == "A"


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
    with pytest.raises(FileNotFoundError):
        registry.register("m", tmp_path / "does-not-exist")
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
