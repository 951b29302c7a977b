"""Create-only run claims: exactly one KFP run per freshet run id.

Kubeflow Pipelines picks its own run ids and accepts any number of runs with one display
name, so it cannot refuse a second run of one data version the way Vertex refuses a repeated
job id. Before creating a run, a submitter creates the object `<claims_root>/<run_id>` with a
create-only write (Cloud Storage `ifGenerationMatch=0`; locally `O_CREAT|O_EXCL`): exactly one
submitter wins and creates the run, then records the KFP run id in the claim. Every other
submitter (a racing trigger worker, a redelivered message, the same `--run-id` again) finds
the claim and reports `already_exists`. A claim whose run could not be created is deleted, so
the next delivery tries again. A claim stuck as "claimed" (its submitter died between claim
and create) is taken over after `STALE_S` if no run with that display name exists; the
take-over itself is a compare-and-delete (generation match; a rename locally), so two
submitters cannot both take it over.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

STALE_S = 300.0


@dataclass(frozen=True)
class Claim:
    """What a claim object says, and the version it was read at (for take-over)."""

    state: str  # "claimed" or "submitted"
    owner: str
    claimed_at: float
    kfp_run_id: str | None
    version: str
    meta: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        """The JSON stored."""
        fields = {
            "state": self.state,
            "owner": self.owner,
            "claimed_at": self.claimed_at,
            "kfp_run_id": self.kfp_run_id,
            "meta": self.meta,
        }
        return json.dumps(fields).encode()

    @classmethod
    def parse(cls, data: bytes, version: str) -> Claim:
        """Reads a stored claim."""
        fields = json.loads(data)
        return cls(
            state=fields["state"],
            owner=fields["owner"],
            claimed_at=float(fields["claimed_at"]),
            kfp_run_id=fields.get("kfp_run_id"),
            version=version,
            meta=fields.get("meta") or {},
        )


class ClaimStore(Protocol):
    """Where claims live; every method is atomic."""

    def create(self, name: str, data: bytes) -> bool:
        """Creates `name` unless it exists; True if this call created it."""

    def read(self, name: str) -> tuple[bytes, str] | None:
        """The content and version of `name`, or None."""

    def write(self, name: str, data: bytes) -> None:
        """Replaces `name` (only its owner does this)."""

    def delete(self, name: str, version: str | None = None) -> bool:
        """Deletes `name` (only at `version` if given); True if this call deleted it."""


class LocalClaims:
    """Claims as files in a directory every submitter shares."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def create(self, name: str, data: bytes) -> bool:
        """See `ClaimStore`."""
        try:
            fd = os.open(self.root / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return True

    def read(self, name: str) -> tuple[bytes, str] | None:
        """See `ClaimStore`; the version is the inode and modification time."""
        path = self.root / name
        for _ in range(50):
            try:
                data, stat = path.read_bytes(), path.stat()
            except FileNotFoundError:
                return None
            if data:  # a creator between O_EXCL and its write: read again
                return data, f"{stat.st_ino}-{stat.st_mtime_ns}"
            time.sleep(0.01)
        return None

    def write(self, name: str, data: bytes) -> None:
        """See `ClaimStore`."""
        from freshet.atomic import write_file

        write_file(self.root / name, data)

    def delete(self, name: str, version: str | None = None) -> bool:
        """See `ClaimStore`: a rename aside, which only one caller can do."""
        aside = self.root / f".{name}.{uuid.uuid4().hex}"
        try:
            os.rename(self.root / name, aside)
        except FileNotFoundError:
            return False
        stat = aside.stat()
        if version is not None and f"{stat.st_ino}-{stat.st_mtime_ns}" != version:
            os.rename(aside, self.root / name)  # changed since read: put it back
            return False
        aside.unlink()
        return True


class GcsClaims:
    """Claims as Cloud Storage objects, created with `ifGenerationMatch=0`."""

    def __init__(self, uri: str, client: Any = None) -> None:
        from google.cloud import storage  # type: ignore[attr-defined,unused-ignore]

        bucket, _, prefix = uri.removeprefix("gs://").partition("/")
        self._client = client or storage.Client()
        self._bucket = self._client.bucket(bucket)
        self._prefix = f"{prefix.rstrip('/')}/" if prefix else ""

    def _blob(self, name: str) -> Any:
        return self._bucket.blob(self._prefix + name)

    def create(self, name: str, data: bytes) -> bool:
        """See `ClaimStore`."""
        from google.api_core.exceptions import PreconditionFailed

        try:
            self._blob(name).upload_from_string(data, if_generation_match=0)
        except PreconditionFailed:
            return False
        return True

    def read(self, name: str) -> tuple[bytes, str] | None:
        """See `ClaimStore`; the version is the object generation."""
        from google.api_core.exceptions import NotFound

        blob = self._blob(name)
        try:
            data = blob.download_as_bytes()
        except NotFound:
            return None
        return data, str(blob.generation)

    def write(self, name: str, data: bytes) -> None:
        """See `ClaimStore`."""
        self._blob(name).upload_from_string(data)

    def delete(self, name: str, version: str | None = None) -> bool:
        """See `ClaimStore`."""
        from google.api_core.exceptions import NotFound, PreconditionFailed

        try:
            if version is None:
                self._blob(name).delete()
            else:
                self._blob(name).delete(if_generation_match=int(version))
        except (NotFound, PreconditionFailed):
            return False
        return True


def open_claims(uri: str, client: Any = None) -> ClaimStore:
    """The claim store at a gs:// URI or a local directory (`file://` or absolute path)."""
    if uri.startswith("gs://"):
        return GcsClaims(uri, client)
    return LocalClaims(Path(uri.removeprefix("file://")))


class Claims:
    """Claim, record and look up run ids in one store."""

    def __init__(self, store: ClaimStore, stale_s: float = STALE_S) -> None:
        self.store = store
        self.stale_s = stale_s
        self.owner = uuid.uuid4().hex

    def claim(self, run_id: str, run_exists: Any) -> Claim | None:
        """Claims `run_id`: None if this caller now owns it, else the existing claim.

        Args:
            run_id: freshet's run id.
            run_exists: `run_exists(run_id) -> str | None`, the KFP id of a run with this
                display name, asked only before taking over a stale claim.
        """
        mine = Claim("claimed", self.owner, time.time(), None, "")
        for _ in range(3):
            if self.store.create(run_id, mine.body()):
                return None
            found = self.store.read(run_id)
            if found is None:
                continue  # deleted in between (its run failed to start): try again
            existing = Claim.parse(*found)
            stale = time.time() - existing.claimed_at > self.stale_s
            if existing.state != "claimed" or not stale:
                return existing
            kfp_run_id = run_exists(run_id)
            if kfp_run_id:
                done = Claim("submitted", existing.owner, existing.claimed_at, kfp_run_id, "")
                self.store.write(run_id, done.body())
                return done
            self.store.delete(run_id, existing.version)  # only one taker succeeds
        found = self.store.read(run_id)
        return Claim.parse(*found) if found else mine

    def record(self, run_id: str, kfp_run_id: str, meta: dict[str, Any]) -> None:
        """Marks an owned claim as submitted, with the KFP run id and what the run is."""
        done = Claim("submitted", self.owner, time.time(), kfp_run_id, "", meta)
        self.store.write(run_id, done.body())

    def release(self, run_id: str) -> None:
        """Deletes an owned claim whose run was not created."""
        self.store.delete(run_id)

    def lookup(self, run_id: str) -> Claim | None:
        """The claim of a freshet run id, if any."""
        found = self.store.read(run_id)
        return Claim.parse(*found) if found else None
