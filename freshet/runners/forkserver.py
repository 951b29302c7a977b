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

import ast
import contextlib
import gc
import importlib
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Packages the server may import for a task (those a task's source names, and what they import):
# import-safe libraries and freshet's own modules (none reads the environment or starts work
# at import). A project's own modules are imported by its tasks, in the child.
IMPORTABLE = (
    "freshet",
    "kfp",
    "numpy",
    "onnx",
    "onnxruntime",
    "pandas",
    "pyarrow",
    "sklearn",
    "skl2onnx",
    "torch",
)
# Imported when the server starts: what every task runs.
ALWAYS = ("kfp.dsl.executor_main",)

# The script of kfp's Lightweight Python Component command, with or without freshet's `exec env`
# (components/train/component.py), before kfp.local puts its interpreter in place of python3.
_SCRIPT = re.compile(
    r'program_path=\$\(mktemp -d\)\n\nprintf "%s" "\$0" > "\$program_path/ephemeral_component\.py"'
    r"\n(?:exec env )?_KFP_RUNTIME=true python3 -m kfp\.dsl\.executor_main\s+"
    r'--component_module_path\s+"\$program_path/ephemeral_component\.py"\s+"\$@"\n'
)
_HEADER = struct.Struct("!Q")


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
            [sys.executable, "-m", "freshet.runners.forkserver", self.address, *importable],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
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
        read_end, write_end = os.pipe()
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.address)
            payload = request.encode()
            socket.send_fds(conn, [_HEADER.pack(len(payload))], [write_end])
            conn.sendall(payload)
        except OSError:
            os.close(read_end)
            return None
        finally:
            os.close(write_end)
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


# ---- the server process -------------------------------------------------------------------


def imports_of(source: str, importable: Sequence[str], function: str | None = None) -> list[str]:
    """The modules a task's source imports whose package is importable.

    With `function`, only the module level and that function count: kfp puts the whole
    component file in every task's source, and a step must not import its neighbours' needs.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    roots: list[ast.AST] = [tree]
    if function is not None:
        chosen = [
            node
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
            or (isinstance(node, ast.FunctionDef) and node.name == function)
        ]
        if any(isinstance(node, ast.FunctionDef) for node in chosen):
            roots = list(chosen)
    names: list[str] = []
    for root in roots:
        for node in ast.walk(root):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
    allowed = set(importable)
    return [n for n in dict.fromkeys(names) if n.split(".")[0] in allowed]


def _function_of(args: Sequence[str]) -> str | None:
    """The `--function_to_execute` value of a task's executor arguments."""
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--function_to_execute":
            return value
    return None


def _preload(modules: Sequence[str]) -> None:
    """Imports modules in the server (import only); a failing one is left to the child."""
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return
    # Arrow's buffers from glibc malloc rather than from the jemalloc shared across forks.
    ours = "ARROW_DEFAULT_MEMORY_POOL" not in os.environ
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    for name in missing:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    if ours:
        os.environ.pop("ARROW_DEFAULT_MEMORY_POOL", None)
    gc.collect()
    gc.freeze()  # what the server imported stays shared with its children


def _exit_code(exc: SystemExit) -> int:
    # What the interpreter does with an uncaught SystemExit.
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _thread_settings(env: dict[str, str]) -> None:
    # OpenMP read OMP_NUM_THREADS when the server loaded it; the task's value must still count.
    torch = sys.modules.get("torch")
    if torch is None:
        return
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = env.get(key, "")
        if value.isdigit() and int(value) > 0:
            torch.set_num_threads(int(value))
            return


def _child(request: dict[str, Any], out_fd: int) -> None:
    """Runs one task in the forked child; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        env: dict[str, str] = request["env"]
        os.environ.clear()
        os.environ.update(env)
        tempfile.tempdir = None
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]  # `python -m` puts the working directory first
        _thread_settings(env)
        program = Path(tempfile.mkdtemp()) / "ephemeral_component.py"
        program.write_text(request["source"])
        sys.argv = ["executor_main", "--component_module_path", str(program), *request["args"]]
        from kfp.dsl.executor_main import executor_main

        executor_main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], int]:
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 1)
    (size,) = _HEADER.unpack(header)
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("request cut short")
        chunks.append(chunk)
        left -= len(chunk)
    request: dict[str, Any] = json.loads(b"".join(chunks))
    return request, fds[0]


def serve(address: str, importable: Sequence[str], control: IO[str], ready: IO[str]) -> None:
    """The server loop: forks a child per request until `control` (its stdin) closes.

    Before forking, it imports what the task's source imports from `importable` packages, so
    that the libraries of a run are imported once, by the first task that needs them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    _preload(ALWAYS)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen()
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ, "accept")
    events.register(control, selectors.EVENT_READ, "control")
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    ready.write("ready\n")
    ready.flush()
    while True:
        for key, _ in events.select():
            if key.data == "control":
                for pid, conn in children.values():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                    conn.close()
                return
            if key.data == "accept":
                conn, _ = listener.accept()
                try:
                    request, out_fd = _receive(conn)
                except (OSError, ValueError, IndexError):
                    conn.close()
                    continue
                function = _function_of(request["args"])
                _preload(imports_of(request["source"], importable, function))
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    for other_fd, (_, other) in children.items():
                        os.close(other_fd)
                        other.close()
                    conn.close()
                    listener.close()
                    events.close()
                    _child(request, out_fd)
                os.close(out_fd)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, conn)
                events.register(pidfd, selectors.EVENT_READ, "child")
                with contextlib.suppress(OSError):
                    conn.sendall(f"{pid}\n".encode())
            else:
                pidfd = key.fd
                pid, conn = children.pop(pidfd)
                events.unregister(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                with contextlib.suppress(OSError):
                    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:], sys.stdin, sys.stdout)
