from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kfp import components

from freshet.compile import compile_all, compile_pipeline, pipeline_names, template_version
from freshet.config import load_settings
from freshet.errors import BadInput


def test_compile_is_byte_identical(tmp_path: Path) -> None:
    settings = load_settings()
    first = compile_pipeline("training", settings, tmp_path / "a")
    second = compile_pipeline("training", settings, tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert template_version(first) == template_version(second)


def test_every_compiled_yaml_loads_as_a_component(tmp_path: Path) -> None:
    paths = compile_all(load_settings(), tmp_path)
    assert [p.stem for p in paths] == pipeline_names()
    for path in paths:
        assert components.load_component_from_file(str(path)).name == path.stem


# The training pipeline's wiring; it belongs with the pipeline's own tests (tests/pipelines).
def test_images_come_from_settings(tmp_path: Path) -> None:
    settings = load_settings(
        images={
            "components": "registry.example/c@sha256:" + "a" * 64,
            "trainer": "registry.example/t@sha256:" + "b" * 64,
        }
    )
    path = compile_pipeline("training", settings, tmp_path)
    spec = yaml.safe_load(path.read_text())
    executors = spec["deploymentSpec"]["executors"]
    images = {name: e["container"]["image"] for name, e in executors.items()}
    assert images["exec-train"].startswith("registry.example/t@")
    assert all(v.startswith("registry.example/c@") for k, v in images.items() if k != "exec-train")


def test_unchanged_compile_does_not_touch_the_file(tmp_path: Path) -> None:
    path = compile_pipeline("training", load_settings(), tmp_path)
    before = path.stat().st_mtime_ns
    compile_pipeline("training", load_settings(), tmp_path)
    assert path.stat().st_mtime_ns == before


def test_unknown_pipeline(tmp_path: Path) -> None:
    known = ", ".join(pipeline_names())
    with pytest.raises(BadInput, match=f"^Unknown pipeline 'nope'; known pipelines: {known}.$"):
        compile_pipeline("nope", load_settings(), tmp_path)
