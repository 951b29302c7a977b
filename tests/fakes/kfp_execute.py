"""Runs one pipeline spec with kfp.local, as the KFP fake's worker (a script, one per run).

Usage: python kfp_execute.py SPEC.json PARAMS.json WORKDIR RESULT.json

The spec is what the client sent (or the stored pipeline version); the run's parameters are
the run's `runtime_config.parameters`. The result file says how it ended: `{"state":
"SUCCEEDED"|"FAILED", "error": ..., "failed_task": ..., "outputs": {...}, "tasks": {...}}`,
where `tasks` maps each component kfp.local executed (`comp-evaluate`) to its status and the
files of its output artifacts (`{"status": "SUCCESS", "artifacts": {"evaluation": PATH}}`), as
the server records a task's outputs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any


def main(spec_path: str, params_path: str, workdir: str, result_path: str) -> int:
    """Executes the spec; always writes the result file."""
    from kfp import components, local

    work = Path(workdir)
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(work / "artifacts"),
        raise_on_error=True,
    )
    tasks: dict[str, Any] = {}
    _record_tasks(tasks)
    result: dict[str, Any] = {
        "state": "SUCCEEDED",
        "error": None,
        "failed_task": None,
        "tasks": tasks,
    }
    try:
        pipeline = components.load_component_from_file(spec_path)
        task = pipeline(**json.loads(Path(params_path).read_text()))
        outputs = dict(getattr(task, "outputs", {}) or {})
        result["outputs"] = {k: v for k, v in outputs.items() if _plain(v)}
    except Exception as exc:  # kfp.local raises RuntimeError naming the failed task
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # kfp.local colours its messages
        failed = re.search(r"Inner task failed: '([^']+)'", message)
        result.update(state="FAILED", error=message, failed_task=failed and failed.group(1))
    Path(result_path).write_text(json.dumps(result))
    return 0


def _record_tasks(tasks: dict[str, Any]) -> None:
    """Wraps kfp.local's one-task function to note each task's status and artifact files."""
    from kfp import dsl
    from kfp.local import task_dispatcher

    original = task_dispatcher.run_single_task_implementation

    def recorded(**kwargs: Any) -> Any:
        outputs, status = original(**kwargs)
        artifacts = {
            name: value.uri
            for name, value in (outputs or {}).items()
            if isinstance(value, dsl.Artifact) and value.uri
        }
        tasks[kwargs["component_name"]] = {"status": status.name, "artifacts": artifacts}
        return outputs, status

    task_dispatcher.run_single_task_implementation = recorded


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict)) or value is None


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
