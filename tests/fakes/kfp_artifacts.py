"""The KFP fake's artifact store: what `GET /apis/v2beta1/artifacts/ID` serves.

Shaped as the `ArtifactService` of Kubeflow's Data Science Pipelines backend
(`backend/api/v2beta1/artifacts.proto` there): snake_case `Artifact` messages, `view=DOWNLOAD`
adding a `download_url` signed for `url_seconds` (15 s, the real default) that the fake's own
server answers without the API token. Each artifact is a file kfp.local wrote for a task.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DOWNLOAD_PATH = "/artifact-download/"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StoredArtifact:
    """One artifact: the API's message (without download_url) and the file kfp.local wrote."""

    body: dict[str, Any]
    path: Path


class Artifacts:
    """Artifacts by id (MLMD's ids are integers, sent as strings)."""

    def __init__(self) -> None:
        self.base_url = ""  # the server's URL, set once it listens
        self.signed_urls = True  # False: DOWNLOAD gives no download_url, only the uri
        self.url_seconds = 15.0
        self._key = secrets.token_bytes(32)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._items: dict[str, StoredArtifact] = {}

    def __getitem__(self, artifact_id: str) -> StoredArtifact:
        return self._items[artifact_id]

    def add(self, path: Path, uri: str, storage_path: str, **fields: Any) -> str:
        """Registers a file as an artifact; its id.

        Args:
            path: The file kfp.local wrote.
            uri: Where the real backend's launcher would have put it (under the pipeline root).
            storage_path: The `uri` without scheme and bucket.
            **fields: `namespace`, `artifact_type`.
        """
        with self._lock:
            artifact_id = str(next(self._ids))
            body = {
                "artifact_id": artifact_id,
                "storage_provider": uri.partition("://")[0] if "://" in uri else "file",
                "storage_path": storage_path,
                "uri": uri,
                "created_at": _now(),
                "last_updated_at": _now(),
                **fields,
            }
            if path.is_file():
                body["artifact_size"] = str(path.stat().st_size)  # int64: a JSON string
            self._items[artifact_id] = StoredArtifact(body=body, path=path)
            return artifact_id

    def get(self, artifact_id: str, view: str) -> dict[str, Any]:
        """The `Artifact` message; `view` DOWNLOAD adds a signed `download_url`.

        Raises:
            LookupError: No artifact has this id.
        """
        with self._lock:
            artifact = self._items.get(artifact_id)
            if artifact is None:
                raise LookupError(f"Artifact {artifact_id} not found.")
            body = dict(artifact.body)
        if view in ("DOWNLOAD", "2") and self.signed_urls:
            expires = str(int(time.time() + self.url_seconds))
            body["download_url"] = (
                f"{self.base_url}{DOWNLOAD_PATH}{artifact_id}?expires={expires}"
                f"&signature={self._sign(artifact_id, expires)}"
            )
        return body

    def download(self, artifact_id: str, query: dict[str, list[str]]) -> bytes:
        """The bytes behind a signed URL.

        Raises:
            PermissionError: The signature does not match or has expired.
            LookupError: No such artifact, or it is not a file.
        """
        expires = query.get("expires", ["0"])[0]
        signature = query.get("signature", [""])[0]
        if not hmac.compare_digest(signature, self._sign(artifact_id, expires)):
            raise PermissionError("The request signature does not match.")
        if not expires.isdigit() or int(expires) < time.time():
            raise PermissionError("The signed URL has expired.")
        with self._lock:
            artifact = self._items.get(artifact_id)
        if artifact is None or not artifact.path.is_file():
            raise LookupError("The object does not exist.")
        return artifact.path.read_bytes()

    def _sign(self, artifact_id: str, expires: str) -> str:
        message = f"{artifact_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
