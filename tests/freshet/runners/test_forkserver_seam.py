"""Pins the kfp.local seam of the fork server (kfp 2.17.0): a kfp upgrade that moves it fails.

`kfp.local.task_dispatcher.run_single_task_implementation` picks the task handler by the exact
type of the runner from a map it builds per task out of the module attribute
`kfp.local.subprocess_task_handler.SubprocessTaskHandler`; `forking_tasks` swaps that attribute.
"""

import inspect
import os
from pathlib import Path

from kfp import dsl, local
from kfp.local import subprocess_task_handler, task_dispatcher

from freshet.runners.forkserver import forking_tasks


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def parent_pid() -> int:
    import os

    return os.getppid()


@dsl.component(base_image="python:3.11-slim", install_kfp_package=False)
def grandparent_pid() -> int:
    import os

    with open(f"/proc/{os.getppid()}/stat") as stat:  # kfp's `sh -ec` starts Python
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_the_dispatcher_reads_the_handler_attribute_per_task(tmp_path: Path) -> None:
    local.init(local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    original = subprocess_task_handler.SubprocessTaskHandler
    with forking_tasks() as server:
        assert server is not None
        assert subprocess_task_handler.SubprocessTaskHandler is not original
        assert parent_pid().output == server.process.pid  # forked, not a subprocess of ours
    assert subprocess_task_handler.SubprocessTaskHandler is original
    assert grandparent_pid().output == os.getpid()


def test_the_dispatcher_source_still_has_the_seam() -> None:
    source = inspect.getsource(task_dispatcher.run_single_task_implementation)
    assert "subprocess_task_handler.SubprocessTaskHandler" in source
    assert "task_handler_map[runner_type]" in source
    handler = inspect.signature(subprocess_task_handler.SubprocessTaskHandler.__init__)
    assert list(handler.parameters) == [
        "self",
        "image",
        "full_command",
        "pipeline_root",
        "runner",
        "env_vars",
    ]
