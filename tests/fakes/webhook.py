"""A real HTTP webhook receiver on loopback: records JSON posts, can fail or never answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the receiver was sent, and how it behaves."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 503
    status: int = 200
    hang: bool = False
    attempts: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(**behaviour: Any) -> Iterator[Receiver]:
    """Runs a receiver on 127.0.0.1 on a free port for the duration of the block.

    Args:
        **behaviour: `fail_first` (answer `fail_status` that many times), `status` (answer
            afterwards), `hang` (read the request, never answer).
    """
    state = Receiver(**behaviour)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.attempts += 1
                attempt = state.attempts
            if state.hang:
                state.release.wait(30)
                return
            if attempt <= state.fail_first:
                self._answer(state.fail_status, b"try again")
                return
            with state.lock:
                state.received.append(json.loads(body))
            self._answer(state.status, b"ok")

        def _answer(self, code: int, text: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
