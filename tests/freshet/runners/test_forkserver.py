"""The fork server: kfp.local tasks forked from one process, as they would run on their own."""

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl, local

from freshet.components.fetch.core import FetchConfig, fetch
from freshet.components.train.component import make_train
from freshet.runners.fork_imports import imports_of
from freshet.runners.forkserver import ForkServer, forking_tasks, recognise

IMAGE = "python:3.11-slim"


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def where() -> str:
    import json
    import os
    import signal
    import sys

    def ancestors() -> list[int]:
        pids, pid = [], os.getppid()
        while pid > 1 and len(pids) < 3:
            pids.append(pid)
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        return pids

    return json.dumps(
        {
            "ppid": os.getppid(),
            "ancestors": ancestors(),
            "cwd": os.getcwd(),
            "marker": os.environ.get("FORKSERVER_TEST_MARKER", ""),
            "kfp_runtime": os.environ.get("_KFP_RUNTIME", ""),
            "sigterm": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            "path": sys.path[:2],  # kfp puts the component's folder before the working one
            "torch_loaded": "torch" in sys.modules,
        }
    )


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def exits(message: str) -> None:
    raise SystemExit(message)


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def raises() -> None:
    raise ValueError("a value the step could not use")


@dsl.component(base_image=IMAGE, install_kfp_package=False)
def train_until_stopped(dataset: str, model: str) -> None:
    from freshet.components.train.config import TrainConfig
    from freshet.components.train.core import train

    config = TrainConfig(
        hidden_units=32,
        hidden_layers=2,
        epochs=50,
        batch_size=16,
        checkpoint_every_steps=30,
        seed=3,
        loader_workers=1,
        data_loading="memory",
    )
    train(dataset, model, config)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    local.init(
        local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path_factory.mktemp("forkserver-root")),
        raise_on_error=False,
    )
    with forking_tasks() as started:
        assert started is not None
        yield started
    assert started.process.returncode == 0  # it left when the run closed its stdin


def run_where() -> dict[str, Any]:
    import json

    task = where()
    result: dict[str, Any] = json.loads(task.output)
    return result


def test_a_task_runs_in_a_child_of_the_server_with_the_task_environment(
    server: ForkServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FORKSERVER_TEST_MARKER", "set after the server started")
    seen = run_where()
    assert seen["ppid"] == server.process.pid
    assert seen["cwd"] == str(tmp_path)
    assert seen["path"][1] == str(tmp_path)
    assert seen["marker"] == "set after the server started"
    assert seen["kfp_runtime"] == "true"


def test_the_child_has_the_default_signal_handlers(server: ForkServer) -> None:
    seen = run_where()
    assert seen["sigterm"] is True
    assert seen["sigint"] is True


def test_the_server_imports_only_what_a_task_names(server: ForkServer) -> None:
    # `where` imports no heavy library: nothing forces torch on it.
    assert run_where()["torch_loaded"] is False


def test_exit_codes_and_messages_reach_kfp(
    server: ForkServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local.init(local.SubprocessRunner(use_venv=False), str(tmp_path), raise_on_error=True)
    try:
        with pytest.raises(RuntimeError, match="FAILURE"):
            exits(message="train: the dataset has no rows")
        assert "train: the dataset has no rows" in capsys.readouterr().out
        with pytest.raises(RuntimeError, match="FAILURE"):
            raises()
    finally:
        local.init(local.SubprocessRunner(use_venv=False), str(tmp_path), raise_on_error=False)
    out = capsys.readouterr().out
    assert "Traceback" in out and "ValueError: a value the step could not use" in out


def test_a_dead_server_falls_back_to_a_subprocess(tmp_path: Path) -> None:
    local.init(local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    with forking_tasks() as dead:
        assert dead is not None
        dead.process.kill()
        dead.process.wait()
        seen = run_where()
    assert dead.process.pid not in seen["ancestors"]
    assert os.getpid() in seen["ancestors"]  # through kfp's `sh -ec`


def test_off_switch_runs_fresh_interpreters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_FORKSERVER", "off")
    local.init(local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    with forking_tasks() as none:
        assert none is None
        assert os.getpid() in run_where()["ancestors"][:2]  # through kfp's `sh -ec`


def test_recognise_takes_kfp_commands_and_leaves_the_rest() -> None:
    for component in (where, make_train(IMAGE)):
        container = component.component_spec.implementation.container
        task = recognise([*container.command, *container.args])
        assert task is not None
        assert "--function_to_execute" in task.args
    command = [*where.component_spec.implementation.container.command]
    assert recognise(["python3", "-c", "print(1)", "x"]) is None
    assert recognise([command[0], command[1], command[2] + "rm -rf /tmp/x\n", "src"]) is None


def test_imports_of_keeps_importable_packages_only() -> None:
    source = "import os\ndef f():\n    import torch.nn\n    from pandas import DataFrame\n"
    source += "    from mypkg.models import build\n    from . import sibling\n"
    assert imports_of(source, ("torch", "pandas")) == ["torch.nn", "pandas"]
    assert imports_of("def (", ("torch",)) == []
    whole_file = "import numpy\ndef a():\n    import torch\ndef b():\n    import pandas\n"
    assert imports_of(whole_file, ("numpy", "torch", "pandas"), "b") == ["numpy", "pandas"]
    assert imports_of(whole_file, ("numpy", "torch", "pandas"), "c") == ["numpy", "torch", "pandas"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fork-train") / "dataset"
    fetch(FetchConfig(uri="sample://synthetic?rows=3000&features=8&classes=3&seed=5"), out)
    return out


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_sigterm_to_a_forked_train_step_saves_its_checkpoint(
    server: ForkServer, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model"
    runner = threading.Thread(
        target=lambda: train_until_stopped(dataset=str(dataset), model=str(model))
    )
    runner.start()
    deadline = time.monotonic() + 120
    while not (model / "checkpoint" / "last.pt").exists():
        assert runner.is_alive(), capsys.readouterr().out
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    [child] = children_of(server.process.pid)
    os.kill(child, signal.SIGTERM)
    runner.join(timeout=60)
    assert not runner.is_alive()
    out = capsys.readouterr().out
    assert "TrainingInterrupted: Training stopped by SIGTERM at step" in out
    assert not (model / "model.pt").exists()


def test_a_preflight_call_runs_in_a_child_and_returns_plain_values(server: ForkServer) -> None:
    context = {"notes": ["n"], "runner": "local"}
    found = server.call("t", "tests.freshet.preflight_checks:where", {"x": 4}, context)
    assert found["parent"] == server.process.pid and found["pid"] != os.getpid()
    assert found["inputs"] == {"x": 4} and found["context"] == context


def test_what_a_forked_preflight_raises_reads_as_it_would_here(server: ForkServer) -> None:
    from freshet.errors import BadInput

    refuse = "tests.freshet.preflight_checks:refuse"
    with pytest.raises(BadInput, match=r"^x must not be negative: -1\.$"):
        server.call("t", refuse, {"x": -1}, {})
    with pytest.raises(Exception, match="^cannot reach gs://bucket from here$") as crashed:
        server.call("t", "tests.freshet.preflight_checks:crash", {}, {})
    assert type(crashed.value).__name__ == "ConnectionError"
    assert not isinstance(crashed.value, BadInput)
    with pytest.raises(BadInput, match="^Preflight of task 't' 'no_such_module:check'"):
        server.call("t", "no_such_module:check", {}, {})
    with pytest.raises(TypeError, match="not JSON serializable"):
        server.call("t", "tests.freshet.preflight_checks:not_json", {}, {})
