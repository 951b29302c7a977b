"""Start a serving command in its own process group on a loopback port, and always stop it.

The command gets the port and routes the way Vertex AI gives them to a custom container
(`AIP_HTTP_PORT`, `AIP_HEALTH_ROUTE`, `AIP_PREDICT_ROUTE`). Stopping signals the whole
process group (TERM, then KILL), so helpers the server spawned go too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from freshet.serving.signature import REQUIREMENTS_FILE


class Cancelled(BaseException):
    """The step was asked to stop (SIGTERM): unwinds like KeyboardInterrupt, tearing down."""


def default_command(bundle_dir: Path | None = None) -> list[str]:
    """The serving image's entry point, `freshet serve`, bound to loopback.

    With a bundle that has a `requirements.txt`, the CLI runs under
    `freshet.components.verify.image_env`, which leaves importable only what the image will hold.
    """
    requirements = bundle_dir / REQUIREMENTS_FILE if bundle_dir is not None else None
    if requirements is not None and requirements.is_file():
        base = [sys.executable, "-m", "freshet.components.verify.image_env", str(requirements)]
    else:
        script = Path(sys.executable).parent / "freshet"
        base = [str(script)] if script.is_file() else [sys.executable, "-m", "freshet"]
    return [*base, "serve", "--host", "127.0.0.1"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def group_alive(pgid: int) -> bool:
    """True while any process of the group exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


class ServerProcess:
    """One started server: its process, port, base URL and log."""

    def __init__(self, command: list[str], port: int, log_path: Path) -> None:
        self.command = command
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.exit_code: int | None = None
        self.teardown = "not started"
        self.tail: list[str] = []
        self.start_error = ""

    @property
    def base_url(self) -> str:
        """Where the server listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pgid(self) -> int | None:
        """The process group id (the leader's pid), None before start."""
        return self.process.pid if self.process is not None else None

    def start(self, env: dict[str, str]) -> None:
        """Spawns the command as the leader of a new process group (session)."""
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def poll(self) -> int | None:
        """The exit code once the leader has exited, else None."""
        if self.process is None:
            return None
        code = self.process.poll()
        if code is not None and self.exit_code is None:
            self.exit_code = code
        return code

    def stop(self, grace_s: float = 3.0) -> str:
        """Terminates the whole process group; returns how it went (for the report)."""
        if self.process is None:
            return self.teardown
        pgid = self.process.pid
        exited_before = self.poll() is not None
        if group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while group_alive(pgid) and time.monotonic() < deadline:
                if self.poll() is not None:
                    # The server is down; what is left are helpers: no grace for them.
                    deadline = min(deadline, time.monotonic() + 0.3)
                time.sleep(0.02)
            _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.poll()
        deadline = time.monotonic() + 5
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if group_alive(pgid):
            self.teardown = f"process group {pgid} is still alive after SIGKILL"
        elif exited_before:
            self.teardown = f"server had exited (code {self.exit_code}); process group {pgid} gone"
        else:
            self.teardown = f"process group {pgid} terminated"
        return self.teardown

    def log_tail(self, lines: int = 20) -> list[str]:
        """The last lines the server printed."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]


def _raise_cancelled(signum: int, frame: FrameType | None) -> None:
    raise Cancelled("verification was cancelled by SIGTERM")


@contextmanager
def sigterm_cancels() -> Iterator[None]:
    """Turns SIGTERM into `Cancelled` inside the block (main thread only), so finally runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_cancelled)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def sigterm_deferred() -> Iterator[None]:
    """Holds SIGTERM back while tearing down; raises `Cancelled` afterwards if one came."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
    if received and previous is _raise_cancelled:
        raise Cancelled("verification was cancelled by SIGTERM")


@contextmanager
def running_server(
    command: list[str], env_overrides: dict[str, str], port: int | None = None
) -> Iterator[ServerProcess]:
    """Starts `command` and yields it; on leaving, for any reason, stops its process group.

    Args:
        command: The full command line (the bundle path included).
        env_overrides: Variables set for the server on top of this process's environment.
        port: The port to give it in AIP_HTTP_PORT (default: a free one).

    Yields:
        The running server.
    """
    workdir = Path(tempfile.mkdtemp(prefix="freshet-verify-"))
    server = ServerProcess(command, port or free_port(), workdir / "server.log")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **env_overrides}
    env["AIP_HTTP_PORT"] = str(server.port)
    try:
        try:
            server.start(env)
        except OSError as exc:  # a command that does not exist or may not run
            server.start_error = f"the server command could not start: {exc}"
            server.teardown = "nothing was started"
        yield server
    finally:
        with sigterm_deferred():
            try:
                server.stop()
            finally:
                server.tail = server.log_tail()
                shutil.rmtree(workdir, ignore_errors=True)
