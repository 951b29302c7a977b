"""The local runner loads a compiled template as kfp does, with a faster YAML parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp import components

from freshet.compile import compile_for_local
from freshet.config import load_settings
from freshet.runners.local import local_component


@pytest.mark.parametrize("name", ["training", "prediction"])
def test_the_component_equals_kfps_own_load(name: str, tmp_path: Path) -> None:
    settings = load_settings(root=tmp_path, build_dir=tmp_path / "build")
    template = compile_for_local(name, settings)
    ours = local_component(template)
    theirs = components.load_component_from_file(str(template))
    assert ours.component_spec == theirs.component_spec
    assert ours.component_spec.to_pipeline_spec() == theirs.component_spec.to_pipeline_spec()
    assert ours.component_yaml == theirs.component_yaml
