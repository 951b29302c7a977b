"""Python steps of a local run start as forks of one process that has imported their libraries.

kfp.local starts every Lightweight Python Component as `sh -ec '...python3 -m
kfp.dsl.executor_main ...'`: a fresh interpreter per step that imports torch, pandas, pyarrow
and scikit-learn again (seconds each) and tears them down again. Here a server started once per
run forks a child per task; before forking it imports what the task's source imports from
known import-safe packages (`IMPORTABLE`: import only, no computation, so no thread pool,
CUDA context or client exists before a fork), so each library is imported once per run, by
the first task that needs it, and a cached (warm) run imports only what its live steps use.
The child resets the signal handlers (a step's own SIGTERM handler, such as train's
checkpoint, works as in a fresh interpreter), takes the task's arguments, environment and
working directory, writes the component's source where the shell script would, runs
`kfp.dsl.executor_main` with its output on the pipe kfp reads, and leaves with `os._exit`
(no interpreter teardown). `FRESHET_FORKSERVER=off` turns it all off.

Threads that library imports start (OpenBLAS's pool via numpy and scipy, onnxruntime's,
the jemalloc background thread that loading pyarrow starts) are idle and fork-aware
(pthread_atfork handlers); the children's Arrow buffers still come from glibc malloc (the
server imports pyarrow with ARROW_DEFAULT_MEMORY_POOL=system), not from that jemalloc.
torch's intra-op pool is created lazily, in the child, which takes OMP_NUM_THREADS or
MKL_NUM_THREADS from the task's environment.

The seam (kfp 2.17.0): `kfp.local.task_dispatcher.run_single_task_implementation` builds its
handler map per task from the module attribute `subprocess_task_handler.SubprocessTaskHandler`
and looks the runner up by exact type (a `SubprocessRunner` subclass is refused), so
`forking_tasks` swaps that attribute for a subclass for the duration of a run.
tests/freshet/runners/test_forkserver_seam.py fails if a kfp upgrade moves it.

Only the command kfp 2.17.0 generates is recognised (`recognise`); anything else, or a runner
with `use_venv`, runs as kfp runs it. Steps that need clean imports start their own fresh
interpreters as before (the package step's requirements probe, verify's `freshet serve`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freshet.errors import BadInput, FreshetError
from freshet.runners.fork_imports import IMPORTABLE
from freshet.runners.fork_worker import HEADER

# The script of kfp's Lightweight Python Component command, with or without freshet's `exec env`
# (components/train/component.py), before kfp.local puts its interpreter in place of python3.
_SCRIPT = re.compile(
    r'program_path=\$\(mktemp -d\)\n\nprintf "%s" "\$0" > "\$program_path/ephemeral_component\.py"'
    r"\n(?:exec env )?_KFP_RUNTIME=true python3 -m kfp\.dsl\.executor_main\s+"
    r'--component_module_path\s+"\$program_path/ephemeral_component\.py"\s+"\$@"\n'
)


@dataclass(frozen=True)
class Task:
    """A recognised Python component task: its source and executor arguments."""

    source: str
    args: list[str]


def recognise(full_command: Sequence[str]) -> Task | None:
    """The task of a kfp Lightweight Python Component command, else None (run it as kfp does)."""
    if len(full_command) < 4 or list(full_command[:2]) != ["sh", "-ec"]:
        return None
    if not _SCRIPT.fullmatch(full_command[2]):
        return None
    return Task(source=full_command[3], args=list(full_command[4:]))


class ForkServer:
    """The orchestrator's side: starts the server, hands it tasks, streams their output."""

    def __init__(self, importable: Sequence[str] = IMPORTABLE) -> None:
        self._dir = tempfile.mkdtemp(prefix="freshet-fork-")
        self.address = str(Path(self._dir) / "server.sock")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "freshet.runners.fork_worker", self.address, *importable],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # As in every task's own environment: kfp then skips importing its API client
            # (half a second of the server's start, on the critical path of a cached run).
            env={**os.environ, "_KFP_RUNTIME": "true"},
        )
        self._ready = False

    def _wait_ready(self) -> bool:
        if not self._ready:
            assert self.process.stdout is not None
            self._ready = self.process.stdout.readline().strip() == "ready"
        return self._ready

    def run(self, task: Task, env: dict[str, str], cwd: str) -> int | None:
        """Runs a task in a forked child, printing its output lines as kfp.local does.

        Returns:
            The exit code (negative: killed by that signal), or None when the server is gone
            before the task started (the caller then runs it as a subprocess).
        """
        if not self._wait_ready():
            return None
        request = json.dumps({"source": task.source, "args": task.args, "env": env, "cwd": cwd})
        connected = self._send(request.encode())
        if connected is None:
            return None
        conn, read_end = connected
        with conn, conn.makefile("r") as replies, open(read_end, errors="replace") as output:
            pid = int(replies.readline())
            try:
                for line in iter(output.readline, ""):
                    print(line, end="")
                print("\n")
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                raise
            return int(replies.readline())

    def call(
        self, task: str, reference: str, inputs: dict[str, Any], context: dict[str, Any]
    ) -> Any:
        """Calls a task's preflight in a forked child (see `freshet.preflight.PreflightCall`).

        The server imports the preflight's libraries, which the steps use next, once for both.
        What the preflight raised is raised here as the same class (`freshet.errors`) or one
        of the same name, so the run's sentence reads as it would in this process.
        """
        from freshet.preflight import call_preflight

        request = {
            "call": {"task": task, "reference": reference, "inputs": inputs, "context": context},
            "env": dict(os.environ),
            "cwd": os.getcwd(),
            "path": list(sys.path),  # it imports what it would import here
        }
        ready = self._wait_ready()
        connected = self._send(json.dumps(request).encode(), with_stderr=True) if ready else None
        if connected is None:
            return call_preflight(task, reference, inputs, context)
        conn, read_end = connected
        with conn, conn.makefile("r") as replies, open(read_end) as result:
            pid = int(replies.readline())
            try:
                text = result.read()
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
                raise
            code = replies.readline().strip()
        if not text:
            raise FreshetError(
                f"The preflight of task '{task}' ended without an answer (exit code {code})."
            )
        reply = json.loads(text)
        if "error" in reply:
            raise rebuilt_error(reply["error"])
        return reply["value"]

    def _send(self, payload: bytes, with_stderr: bool = False) -> tuple[socket.socket, int] | None:
        """Sends a request with a new pipe's write end; the connection and read end, or None."""
        read_end, write_end = os.pipe()
        fds = [write_end, _stderr_fd()] if with_stderr else [write_end]
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.address)
            socket.send_fds(conn, [HEADER.pack(len(payload))], fds)
            conn.sendall(payload)
        except OSError:
            os.close(read_end)
            return None
        finally:
            os.close(write_end)
        return conn, read_end

    def close(self) -> None:
        """Stops the server (children of a finished run are all gone by then)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        with contextlib.suppress(OSError):
            os.unlink(self.address)
        with contextlib.suppress(OSError):
            os.rmdir(self._dir)


def _stderr_fd() -> int:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a file
        return 2


def rebuilt_error(record: dict[str, str]) -> Exception:
    """The caller's equivalent of an error a forked child reported (`fork_worker.error_record`)."""
    import builtins

    import freshet.errors

    base: type[Exception] = {"BadInput": BadInput, "FreshetError": FreshetError}.get(
        record["kind"], Exception
    )
    known = getattr(freshet.errors, record["name"], None) or getattr(builtins, record["name"], None)
    if isinstance(known, type) and issubclass(known, base):
        error: Exception = known(record["message"])
        return error
    # A class of the same name, so that "Type: message" reads as it would in this process.
    same_name: type[Exception] = type(record["name"], (base,), {})
    return same_name(record["message"])


# `FRESHET_FORKSERVER=off` runs every step as kfp.local does (a fresh interpreter each).
SWITCH = "FRESHET_FORKSERVER"


def enabled() -> bool:
    """Whether local runs fork their Python steps (read per run, not at import)."""
    return os.environ.get(SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


@contextlib.contextmanager
def forking_tasks(importable: Sequence[str] = IMPORTABLE) -> Iterator[ForkServer | None]:
    """Within the block, kfp.local runs recognised Python tasks as forks of one server.

    Yields the server, or None when `FRESHET_FORKSERVER=off` (kfp.local's own subprocesses).
    """
    from kfp.local import status, subprocess_task_handler

    if not enabled():
        yield None
        return

    original = subprocess_task_handler.SubprocessTaskHandler
    server = ForkServer(importable)

    class ForkingTaskHandler(original):  # type: ignore[misc,valid-type]
        """kfp's subprocess handler, with recognised tasks forked from the server."""

        def run(self) -> status.Status:
            task = recognise(self.full_command)
            if task is None or self.runner.use_venv:
                return super().run()
            env = {**os.environ, **self.env_vars, "_KFP_RUNTIME": "true"}
            code = server.run(task, env, os.getcwd())
            if code is None:
                return super().run()
            return status.Status.SUCCESS if code == 0 else status.Status.FAILURE

    subprocess_task_handler.SubprocessTaskHandler = ForkingTaskHandler
    try:
        yield server
    finally:
        subprocess_task_handler.SubprocessTaskHandler = original
        server.close()
