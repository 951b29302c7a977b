"""The fork server's own process: it imports a run's libraries once and forks a child per request.

Started by `freshet.runners.forkserver.ForkServer` as `python -m freshet.runners.fork_worker
ADDRESS IMPORTABLE...`; it says "ready" on stdout and serves requests on a Unix socket until
its stdin closes. A request is JSON with the caller's environment and working directory and
either a kfp task (`source`, `args`: run `kfp.dsl.executor_main` as kfp's command would, its
output on the pipe passed with the request) or a preflight call (`call`: task, reference,
inputs, context; the JSON result on the passed pipe, the child's own output on the caller's
stderr). The reply on the socket is the child's pid, then its exit code.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from freshet.runners.fork_imports import ALWAYS, imports_of, preflight_imports, preload

HEADER = struct.Struct("!Q")


def _function_of(args: Sequence[str]) -> str | None:
    """The `--function_to_execute` value of a task's executor arguments."""
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--function_to_execute":
            return value
    return None


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


def _enter(request: dict[str, Any], out_fd: int) -> None:
    """Makes the forked child the caller's: signals, output, environment, working directory."""
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


def _leave(code: int) -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _in_child(request: dict[str, Any], out_fd: int, body: Callable[[], None]) -> None:
    """Runs `body` as the caller's process would (`_enter`), then leaves; never returns."""
    code = 1
    try:
        _enter(request, out_fd)
        body()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:
        traceback.print_exc()
    finally:
        _leave(code)


def _child(request: dict[str, Any], out_fd: int) -> None:
    """Runs one task in the forked child, as kfp's command would; never returns."""

    def execute() -> None:
        program = Path(tempfile.mkdtemp()) / "ephemeral_component.py"
        program.write_text(request["source"])
        sys.argv = ["executor_main", "--component_module_path", str(program), *request["args"]]
        from kfp.dsl.executor_main import executor_main

        executor_main()

    _in_child(request, out_fd, execute)


def error_record(exc: BaseException) -> dict[str, str]:
    """What the caller needs to raise an equivalent error: its name, kind and sentence."""
    from freshet.errors import BadInput, FreshetError

    kind = "BadInput" if isinstance(exc, BadInput) else "Exception"
    if kind == "Exception" and isinstance(exc, FreshetError):
        kind = "FreshetError"
    return {"name": type(exc).__name__, "kind": kind, "message": str(exc)}


def _call_child(request: dict[str, Any], result_fd: int, log_fd: int) -> None:
    """Calls one preflight in the forked child, its JSON result on `result_fd`; never returns."""

    def call() -> None:
        sys.path[:] = request["path"]
        from freshet.preflight import call_preflight

        asked = request["call"]
        try:
            value = call_preflight(
                asked["task"], asked["reference"], asked["inputs"], asked["context"]
            )
            reply = json.dumps({"value": value})
        except Exception as exc:  # the caller raises its equivalent
            reply = json.dumps({"error": error_record(exc)})
        with open(result_fd, "w") as result:
            result.write(reply)

    _in_child(request, log_fd, call)


def _modules_of(request: dict[str, Any], importable: Sequence[str]) -> list[str]:
    """What the server imports before forking for a request."""
    if "call" in request:
        return preflight_imports(str(request["call"]["reference"]), importable)
    return imports_of(request["source"], importable, _function_of(request["args"]))


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, HEADER.size, 2)
    (size,) = HEADER.unpack(header)
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("request cut short")
        chunks.append(chunk)
        left -= len(chunk)
    if not fds:
        raise ValueError("a request comes with its output pipe")
    request: dict[str, Any] = json.loads(b"".join(chunks))
    return request, fds


def serve(address: str, importable: Sequence[str], control: IO[str], ready: IO[str]) -> None:
    """The server loop: forks a child per request until `control` (its stdin) closes.

    Before forking, it imports what the task's source imports from `importable` packages, so
    that the libraries of a run are imported once, by the first task that needs them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator decides when to stop
    preload(ALWAYS)
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
                    request, fds = _receive(conn)
                    modules = _modules_of(request, importable)
                except (OSError, ValueError, IndexError, KeyError, TypeError):
                    conn.close()
                    continue
                preload(modules)
                sys.stdout.flush()
                pid = os.fork()
                if pid == 0:
                    for other_fd, (_, other) in children.items():
                        os.close(other_fd)
                        other.close()
                    conn.close()
                    listener.close()
                    events.close()
                    if "call" in request:
                        _call_child(request, *fds)
                    _child(request, fds[0])
                for fd in fds:
                    os.close(fd)
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
