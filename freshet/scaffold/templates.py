"""The files `freshet init` writes, as `string.Template` texts ($name, $package, $image).

Kept as Python strings rather than package data, so that they ship with the code itself.
"""

from __future__ import annotations

FRESHET_TOML = """\
# freshet settings of this project (freshet reads freshet.toml in the working directory).
root = ".freshet"

# The project's own pipelines: name -> "package.module:function" returning a kfp pipeline.
[pipelines]
$name = "$package.pipeline:build"
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$name"
version = "0.1.0"
description = "A freshet project: $name."
requires-python = ">=3.11"
# freshet (and torch) come with freshet's images and your environment; list your own here.
dependencies = []

[tool.setuptools.packages.find]
include = ["$package*"]
"""

INIT = '''\
"""$name: a model and a pipeline of its own, run by freshet."""
'''

MODELS = '''\
"""The project's model: a torch module that freshet's train step builds, trains and exports.

freshet calls `factory(n_inputs, n_outputs, params)`. The module takes the preprocessed
float32 matrix (rows x n_inputs) and returns logits (classification: rows x n_outputs) or
the standardised target (regression: rows x 1). freshet exports it to ONNX with the
preprocessing in front, so evaluation, the gate and serving never import this file.
"""

from __future__ import annotations

from typing import Any


def factory(n_inputs: int, n_outputs: int, params: dict[str, Any]) -> Any:
    """Builds the network.

    Args:
        n_inputs: Width of the preprocessed feature matrix.
        n_outputs: Number of classes, or 1 for regression.
        params: `hidden_units`, `hidden_layers`, `seed`, `task`, and the keys of the run's
            `model_params` JSON (here `dropout`), e.g. `-p model_params='{"dropout": 0.2}'`.

    Returns:
        A `torch.nn.Module`.
    """
    from torch import nn

    width = int(params.get("hidden_units", 64))
    dropout = float(params.get("dropout", 0.1))
    layers: list[nn.Module] = []
    size = n_inputs
    for _ in range(max(1, int(params.get("hidden_layers", 2)))):
        layers += [nn.Linear(size, width), nn.ReLU(), nn.Dropout(dropout)]
        size = width
    layers.append(nn.Linear(size, n_outputs))
    return nn.Sequential(*layers)
'''

PIPELINE = '''\
"""The project's pipeline: freshet's training steps with this project's model.

`freshet run $name` compiles `build(settings)` and runs it; so do `submit`, `schedule` and
the data-update triggers. Change the defaults here, or per run with `--param KEY=VALUE`.
"""

from __future__ import annotations

from typing import Any

from freshet.config import Settings
from freshet.pipelines.training import build_training

NAME = "$name"


def build(settings: Settings) -> Any:
    """Builds the pipeline with images and resources taken from settings."""
    return build_training(
        settings,
        name=NAME,
        defaults={
            "model": "$package.models:factory",
            "model_name": "$name",
            "epochs": 10,
        },
    )
'''

TEST_PIPELINE = '''\
"""The project's pipeline compiles, and its model has the shape freshet needs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from freshet.compile import compile_pipeline
from freshet.config import load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_pipeline_compiles_with_this_project_s_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # where freshet.toml names the pipeline
    spec = yaml.safe_load(compile_pipeline("$name", load_settings(), tmp_path).read_text())
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert spec["pipelineInfo"]["name"] == "$name"
    assert parameters["model"]["defaultValue"] == "$package.models:factory"


def test_the_model_maps_inputs_to_outputs() -> None:
    import torch

    from $package.models import factory

    network = factory(5, 3, {"hidden_units": 8, "hidden_layers": 1, "task": "classification"})
    assert network(torch.zeros(4, 5)).shape == (4, 3)
'''

DOCKERFILE = """\
# syntax=docker/dockerfile:1
# The project's images: freshet's images with this project's package added, so that its steps
# (the model factory the train step imports) run on Vertex AI or Kubeflow Pipelines as here.
# Build it twice, once on each of freshet's images:
#   docker build --build-arg FRESHET_IMAGE=<components image> -t <repo>/$name-components .
#   docker build --build-arg FRESHET_IMAGE=<trainer image> -t <repo>/$name-trainer .
# and set FRESHET_IMAGES__COMPONENTS and FRESHET_IMAGES__TRAINER to them (pinned by digest).
ARG FRESHET_IMAGE=$image
FROM $${FRESHET_IMAGE}
USER root
COPY pyproject.toml /opt/project/pyproject.toml
COPY $package /opt/project/$package
RUN pip install --no-cache-dir --no-deps /opt/project && python -c "import $package.models"
USER 10001
"""

DOCKERIGNORE = """\
.freshet
build
**/__pycache__
tests
"""

GITIGNORE = """\
.freshet/
build/
__pycache__/
*.egg-info/
"""

README = """\
# $name

A freshet project: your own model (`$package/models.py`) trained by freshet's steps
(`$package/pipeline.py`): fetch the data, train, evaluate, gate against the champion,
package, verify that the package serves, register.

```bash
freshet run $name                            # on freshet's sample data (sample://digits)
freshet run $name --data path/to/table.csv -p label_column=target
freshet run $name -p model_params='{"dropout": 0.2}' -p epochs=20
freshet runs list                            # history; each run has a report.html
python -m pytest tests                       # the project's own test
```

- `freshet.toml` names the pipeline: `[pipelines] $name = "$package.pipeline:build"`.
  `freshet compile`, `run`, `submit`, `schedule` and the triggers take `$name` as they take
  freshet's own pipelines.
- `$package/models.py`: `factory(n_inputs, n_outputs, params)` returns the `torch.nn.Module`.
  freshet fits the preprocessing (numbers, booleans, text categories, gaps) and exports both
  to one ONNX graph: what is evaluated is what is served.
- Classification or regression is inferred from the label column (`-p task=regression` to
  say it).

## On Vertex AI

Build `Dockerfile` on freshet's components and trainer images (see its header), set
`FRESHET_IMAGES__COMPONENTS` and `FRESHET_IMAGES__TRAINER` to the results, set the `[gcp]`
settings, then `freshet submit $name --data gs://bucket/table/`.
"""

FILES: dict[str, str] = {
    "freshet.toml": FRESHET_TOML,
    "pyproject.toml": PYPROJECT,
    "$package/__init__.py": INIT,
    "$package/models.py": MODELS,
    "$package/pipeline.py": PIPELINE,
    "tests/test_pipeline.py": TEST_PIPELINE,
    "Dockerfile": DOCKERFILE,
    ".dockerignore": DOCKERIGNORE,
    ".gitignore": GITIGNORE,
    "README.md": README,
}
