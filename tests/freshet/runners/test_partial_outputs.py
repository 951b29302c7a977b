"""Outputs of a failed run, read from the executor outputs of the tasks that finished."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from freshet.runners.partial_outputs import partial_outputs, run_folder

SPEC: dict[str, Any] = {
    "root": {
        "dag": {
            "tasks": {"steps": {"componentRef": {"name": "comp-steps"}}},
            "outputs": {
                "artifacts": {
                    "metrics": {
                        "artifactSelectors": [
                            {"producerSubtask": "steps", "outputArtifactKey": "metrics"}
                        ]
                    },
                    "model": {
                        "artifactSelectors": [
                            {"producerSubtask": "steps", "outputArtifactKey": "model"}
                        ]
                    },
                },
                "parameters": {
                    "decision": {
                        "valueFromParameter": {
                            "producerSubtask": "steps",
                            "outputParameterKey": "decision",
                        }
                    }
                },
            },
        }
    },
    "components": {
        "comp-steps": {
            "dag": {
                "tasks": {
                    "evaluate": {"componentRef": {"name": "comp-evaluate"}},
                    "gate": {"componentRef": {"name": "comp-gate"}},
                    "train": {"componentRef": {"name": "comp-train"}},
                },
                "outputs": {
                    "artifacts": {
                        "metrics": {
                            "artifactSelectors": [
                                {"producerSubtask": "evaluate", "outputArtifactKey": "metrics"}
                            ]
                        },
                        "model": {
                            "artifactSelectors": [
                                {"producerSubtask": "train", "outputArtifactKey": "model"}
                            ]
                        },
                    },
                    "parameters": {
                        "decision": {
                            "valueFromParameter": {
                                "producerSubtask": "gate",
                                "outputParameterKey": "Output",
                            }
                        }
                    },
                },
            }
        },
        "comp-evaluate": {"executorLabel": "exec-evaluate"},
        "comp-gate": {"executorLabel": "exec-gate"},
        "comp-train": {"executorLabel": "exec-train"},
    },
}


def write_output(folder: Path, task: str, content: dict[str, Any]) -> None:
    (folder / task).mkdir(parents=True)
    (folder / task / "executor_output.json").write_text(json.dumps(content))


def test_outputs_of_finished_tasks_through_the_nested_pipeline(tmp_path: Path) -> None:
    folder = tmp_path / "training-2030"
    metrics = {"name": "metrics", "uri": str(folder / "evaluate/metrics"), "metadata": {"a": 1}}
    write_output(folder, "evaluate", {"artifacts": {"metrics": {"artifacts": [metrics]}}})
    write_output(folder, "gate", {"parameterValues": {"Output": "passed"}})
    # train has no executor output: it did not finish

    found = partial_outputs(SPEC, folder)

    assert set(found) == {"metrics", "decision"}
    assert found["decision"] == "passed"
    assert found["metrics"].uri == metrics["uri"] and found["metrics"].metadata == {"a": 1}


def test_the_run_folder_comes_from_the_run_s_own_log(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    run = "training-2030-01-01-00-00-00-000001"
    log = f'Executing task \'fetch\'\n    "outputFile": "{root}/{run}/fetch/executor_output.json"\n'
    assert run_folder(log, root) == root / run
    assert run_folder("no task ran", root) is None
    assert run_folder(log, tmp_path / "elsewhere") is None
