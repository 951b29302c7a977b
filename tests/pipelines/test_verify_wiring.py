"""How the verify and register steps are wired for the Vertex endpoint target (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipelines.test_wiring import TRAINERS, compiled


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_verify_and_register_get_the_target_and_the_built_image(name: str, tmp_path: Path) -> None:
    spec, tasks = compiled(name, tmp_path)
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["verify_target"]["defaultValue"] == "process"
    assert parameters["verify_machine_type"]["defaultValue"] == "n1-standard-2"
    for step in ("verify", "register"):
        inputs = tasks[step]["inputs"]["parameters"]
        image = inputs["serving_image"]["taskOutputParameter"]
        assert (image["producerTask"], image["outputParameterKey"]) == ("package", "Output")
    verify = tasks["verify"]["inputs"]["parameters"]
    for name_ in ("verify_target", "verify_machine_type", "registry_uri", "model_name"):
        assert verify[name_]["componentInputParameter"].endswith(name_), name_
