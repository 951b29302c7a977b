"""Publishing a scoring run's parts to the user's output location: all together, `_SUCCESS` last.

A local folder is staged beside the target and renamed over it (`freshet.atomic`). Cloud
Storage cannot rename a set of objects at once: the parts are uploaded under a staging
prefix, copied to their names, and `_SUCCESS` (the run's manifest) is written last; a reader
that waits for `_SUCCESS` sees every part or none. An output that already holds a finished
run (a `_SUCCESS`) is refused unless `overwrite` is set.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa

from freshet.errors import BadInput

MARKER = "_SUCCESS"
_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


@dataclass(frozen=True)
class Output:
    """A parsed output location: a local folder or gs://bucket/prefix."""

    uri: str
    bucket: str = ""
    prefix: str = ""
    path: Path | None = None


def expand_output(uri: str, run_id: str, data_version: str, model_version: str) -> str:
    """Fills `{run_id}`, `{data_version}` and `{model_version}` in an output location.

    Versions are made path-safe (`gs://b/o#7` -> `gs_b_o_7`) so a trigger can write each
    run's predictions beside the others.

    Raises:
        BadInput: The location is empty or names another placeholder.
    """
    if not uri.strip():
        raise BadInput(
            "output_uri is not set: give the folder or gs:// prefix to write predictions to "
            "(--param output_uri=...)."
        )
    values = {
        "run_id": run_id,
        "data_version": _UNSAFE.sub("_", data_version).strip("_"),
        "model_version": _UNSAFE.sub("_", model_version).strip("_"),
    }
    try:
        return uri.format(**values)
    except (KeyError, IndexError, ValueError):
        raise BadInput(
            f"output_uri '{uri}' has a placeholder other than {{run_id}}, {{data_version}} "
            "and {model_version}."
        ) from None


def parse_output(uri: str) -> Output:
    """Parses an output location.

    Raises:
        BadInput: Another scheme than a local path, file:// or gs://.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "gs":
        if not parsed.netloc:
            raise BadInput(f"The output '{uri}' names no bucket.")
        return Output(uri=uri, bucket=parsed.netloc, prefix=parsed.path.strip("/"))
    if parsed.scheme == "file":
        return Output(uri=uri, path=Path(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:
        raise BadInput(f"The output '{uri}' is neither a local folder nor gs://bucket/prefix.")
    return Output(uri=uri, path=Path(uri).expanduser())


def _storage(client: Any) -> Any:
    if client is not None:
        return client
    import importlib

    return importlib.import_module("google.cloud.storage").Client()


def _key(output: Output, name: str) -> str:
    return f"{output.prefix}/{name}" if output.prefix else name


def check_output(uri: str, overwrite: bool, client: Any = None) -> Output:
    """Refuses an output that holds a finished run (unless `overwrite`) or someone else's files.

    Raises:
        BadInput: One sentence naming the output.
    """
    output = parse_output(uri)
    if output.path is not None:
        finished = (output.path / MARKER).exists()
        foreign = output.path.exists() and (
            not output.path.is_dir() or (not finished and any(output.path.iterdir()))
        )
        if foreign:
            raise BadInput(
                f"The output '{uri}' already holds other files and no {MARKER} marker; "
                "choose a new or empty location."
            )
    else:
        storage = _storage(client)
        finished = storage.bucket(output.bucket).blob(_key(output, MARKER)).exists()
        prefix = _key(output, "")
        if not finished and next(iter(storage.list_blobs(output.bucket, prefix=prefix)), None):
            raise BadInput(
                f"The output '{uri}' already holds other objects and no {MARKER} marker; "
                "choose a new or empty location."
            )
    if finished and not overwrite:
        raise BadInput(
            f"The output '{uri}' already holds a finished run's predictions ({MARKER}); "
            "pass --param overwrite=true to replace them, or choose another output_uri."
        )
    return output


def _with_run_id(source: Path, target: Path, run_id: str) -> int:
    import pyarrow.parquet as pq

    rows = 0
    parquet = pq.ParquetFile(source)
    writer = None
    try:
        for batch in parquet.iter_batches(batch_size=1 << 16, use_threads=False):
            ids = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(batch.num_rows, dtype=np.int32)), [run_id]
            )
            table = pa.Table.from_batches([batch]).append_column("run_id", ids)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema)
            writer.write_table(table)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # an empty part keeps its schema
        schema = parquet.schema_arrow.append(
            pa.field("run_id", pa.dictionary(pa.int32(), pa.string()))
        )
        pq.write_table(schema.empty_table(), target)
    return rows


@contextmanager
def _local_staging(output: Output) -> Iterator[Path]:
    from freshet.atomic import replaced_directory

    if output.path is not None:
        with replaced_directory(output.path) as staging:
            yield staging
    else:
        with tempfile.TemporaryDirectory(prefix="freshet-publish-") as staging:
            yield Path(staging)


def publish(
    parts_dir: str | Path,
    uri: str,
    run_id: str,
    manifest: dict[str, Any],
    overwrite: bool = False,
    client: Any = None,
) -> list[str]:
    """Writes the scored parts (with a `run_id` column) and `_SUCCESS` to the output.

    Args:
        parts_dir: The score step's folder: `part-*.parquet`, `_errors/errors-*.parquet`.
        uri: The output location (placeholders already filled).
        run_id: The run publishing them.
        manifest: What `_SUCCESS` records besides the run id and the file names.
        overwrite: Replace an output that holds a finished run.
        client: A `google.cloud.storage.Client` for gs://.

    Returns:
        The published file names, `_SUCCESS` last.

    Raises:
        BadInput: The output holds a finished run (without `overwrite`) or other files.
    """
    output = check_output(uri, overwrite, client)
    names = sorted(str(p.relative_to(parts_dir)) for p in Path(parts_dir).rglob("*.parquet"))
    record = {**manifest, "run_id": run_id, "files": names}
    with _local_staging(output) as staging:
        for name in names:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            _with_run_id(Path(parts_dir) / name, staging / name, run_id)
        if output.path is None:
            _upload(staging, names, output, record, _storage(client))
        else:
            (staging / MARKER).write_text(json.dumps(record, indent=2, sort_keys=True))
    return [*names, MARKER]


def _upload(
    staging: Path, names: list[str], output: Output, record: dict[str, Any], client: Any
) -> None:
    bucket = client.bucket(output.bucket)
    stage = _key(output, f"_staging-{uuid.uuid4().hex[:12]}")
    staged = []
    try:
        for name in names:
            blob = bucket.blob(f"{stage}/{name}")
            blob.upload_from_filename(str(staging / name))
            staged.append(blob)
        marker = bucket.blob(_key(output, MARKER))
        if marker.exists():  # overwrite: the output is unfinished from here on
            previous = json.loads(marker.download_as_bytes()).get("files", [])
            marker.delete()
            for name in set(previous) - set(names):
                old = bucket.blob(_key(output, str(name)))
                if old.exists():
                    old.delete()
        for blob, name in zip(staged, names, strict=True):
            bucket.copy_blob(blob, bucket, _key(output, name))
        marker.upload_from_string(json.dumps(record, indent=2, sort_keys=True))
    finally:
        for blob in staged:
            blob.delete()
