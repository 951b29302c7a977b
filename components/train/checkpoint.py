"""Checkpoints that are never half-written, on local disk or in Cloud Storage.

A checkpoint is one blob of bytes (`torch.save` of a dict). Locally it is written to a
temporary file, fsynced and renamed over the old one; in Cloud Storage an object only becomes
visible when its upload completes, and the upload is checked with CRC32C, so a reader sees the
old checkpoint or the new one, whole. Writes run on a background thread so the training loop
only pays for serialising the state, not for the disk or the network.
"""

from __future__ import annotations

import importlib
import io
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from freshet.atomic import write_file
from freshet.errors import BadInput

FILE_NAME = "last.pt"


class CheckpointStore(Protocol):
    """Where one checkpoint lives."""

    uri: str

    def read(self) -> bytes | None:
        """The stored checkpoint, or None when there is none."""

    def write(self, data: bytes) -> None:
        """Replaces the stored checkpoint atomically."""


class LocalStore:
    """A checkpoint file on a local (or mounted) file system."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.uri = str(self.path)

    def read(self) -> bytes | None:
        """The stored checkpoint, or None when there is none."""
        return self.path.read_bytes() if self.path.exists() else None

    def write(self, data: bytes) -> None:
        """Writes a temporary sibling, fsyncs it and renames it over the checkpoint."""
        write_file(self.path, data)


class GcsStore:
    """A checkpoint object in Cloud Storage."""

    def __init__(self, bucket: str, name: str, client: Any = None) -> None:
        if client is None:
            # Imported by name: the package ships no type information for mypy.
            storage = importlib.import_module("google.cloud.storage")
            client = storage.Client()
        self.blob = client.bucket(bucket).blob(name)
        self.uri = f"gs://{bucket}/{name}"

    def read(self) -> bytes | None:
        """The stored checkpoint (checksum verified by the client), or None."""
        from google.api_core.exceptions import NotFound

        try:
            data: bytes = self.blob.download_as_bytes(checksum="crc32c")
        except NotFound:
            return None
        return data

    def write(self, data: bytes) -> None:
        """Uploads the checkpoint; the object changes only once the upload has completed."""
        self.blob.upload_from_string(
            data, content_type="application/octet-stream", checksum="crc32c"
        )


def open_store(location: str, client: Any = None) -> CheckpointStore:
    """The store for a checkpoint directory: a local path or a `gs://bucket/prefix` URI.

    Args:
        location: Directory (or object prefix) that holds `last.pt`.
        client: A `google.cloud.storage.Client` for gs:// locations; a default client is
            made when None.

    Returns:
        The checkpoint store.

    Raises:
        BadInput: The location is empty, names no bucket or uses another scheme.
    """
    if not location.strip():
        raise BadInput("The checkpoint location is empty; give a directory or a gs:// URI.")
    parsed = urlparse(location)
    if parsed.scheme == "gs":
        if not parsed.netloc:
            raise BadInput(f"The checkpoint location '{location}' names no bucket.")
        prefix = parsed.path.strip("/")
        name = f"{prefix}/{FILE_NAME}" if prefix else FILE_NAME
        return GcsStore(parsed.netloc, name, client)
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:
        raise BadInput(
            f"Unknown checkpoint location scheme '{parsed.scheme}' in '{location}'; "
            "use a local directory or gs://bucket/prefix."
        )
    path = parsed.path if parsed.scheme == "file" else location
    return LocalStore(Path(path) / FILE_NAME)


def dumps(state: dict[str, Any]) -> bytes:
    """Serialises a checkpoint (tensors and plain Python values)."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def loads(data: bytes) -> dict[str, Any]:
    """Deserialises a checkpoint onto the CPU, refusing anything but tensors and plain data."""
    import torch

    state: dict[str, Any] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return state


class CheckpointWriter:
    """Serialises checkpoints in the caller and writes them on one background thread.

    At most one write is in flight: a new `save` first waits for the previous write, so the
    store always moves forward in order. Errors of a background write surface on the next
    `save` or `flush`.
    """

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending: Future[None] | None = None
        self._lock = threading.Lock()
        self.blocking_seconds = 0.0
        self.write_seconds = 0.0
        self.saves = 0

    def _write(self, data: bytes) -> None:
        started = time.perf_counter()
        self.store.write(data)
        with self._lock:
            self.write_seconds += time.perf_counter() - started

    def save(self, state: dict[str, Any], wait: bool = False) -> None:
        """Snapshots `state` now and writes it in the background (or before returning).

        Args:
            state: The checkpoint; serialised before this returns, so the caller may go on
                changing the tensors it holds.
            wait: Return only once the checkpoint is stored (used on SIGTERM).
        """
        started = time.perf_counter()
        data = dumps(state)
        self._wait()
        self._pending = self._pool.submit(self._write, data)
        if wait:
            self._wait()
        self.saves += 1
        self.blocking_seconds += time.perf_counter() - started

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def flush(self) -> None:
        """Waits for the last write; raises its error if it failed."""
        started = time.perf_counter()
        self._wait()
        self.blocking_seconds += time.perf_counter() - started

    def close(self) -> None:
        """Finishes the last write and stops the thread."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)
