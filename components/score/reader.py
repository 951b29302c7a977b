"""Reading the input of a scoring run in bounded chunks: Parquet row groups, CSV blocks.

Memory stays bounded whatever the input size: a Parquet file is read `chunk_rows` rows at a
time (row group by row group), a CSV file block by block (`block_bytes`), Cloud Storage
objects through a seekable streaming reader. CSV columns the scorer reads are taken as text,
so a stray value in a numeric column reaches the row checks instead of failing the reader.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from freshet.errors import DataError

SUFFIXES = (".parquet", ".csv")
CHUNK_ROWS = 65_536
BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class InputFile:
    """One file or object of the input."""

    name: str
    open: Callable[[], Any]  # a binary file object (a file, a Cloud Storage reader)
    parquet: bool | None = None  # None: told by the name's suffix

    @property
    def is_parquet(self) -> bool:
        """Whether the file is Parquet (else CSV)."""
        return self.name.endswith(".parquet") if self.parquet is None else self.parquet


@dataclass(frozen=True)
class Chunk:
    """A slice of one input file: `batch` holds rows `offset` .. offset + len(batch)."""

    file: str
    offset: int
    batch: pa.RecordBatch


def _local_files(path: Path, uri: str) -> list[InputFile]:
    if not path.exists():
        raise DataError(f"The input '{uri}' does not exist.")
    if path.is_file():
        if not path.name.endswith(SUFFIXES):
            raise DataError(f"The input '{uri}' is neither CSV nor Parquet (.csv or .parquet).")
        files = [path]
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
        if not files:
            raise DataError(f"The directory '{uri}' holds no CSV or Parquet files.")
    return [InputFile(name=str(f), open=partial(f.open, "rb")) for f in files]


def _gcs_files(bucket: str, prefix: str, uri: str, client: Any) -> list[InputFile]:
    if client is None:
        import importlib

        client = importlib.import_module("google.cloud.storage").Client()
    blobs = sorted(
        (b for b in client.list_blobs(bucket, prefix=prefix or None) if b.name.endswith(SUFFIXES)),
        key=lambda b: b.name,
    )
    if not blobs:
        raise DataError(f"No CSV or Parquet objects found under '{uri}'.")
    return [InputFile(name=f"gs://{bucket}/{b.name}", open=partial(b.open, "rb")) for b in blobs]


def _sample_file(uri: str) -> list[InputFile]:
    from freshet.components.fetch.sources import iter_tables

    def opened() -> BinaryIO:
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        for frame in iter_tables(uri):
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
        buffer.seek(0)
        return buffer

    return [InputFile(name=uri, open=opened, parquet=True)]


def list_inputs(uri: str, client: Any = None) -> list[InputFile]:
    """The files of an input: a CSV or Parquet file, a directory, a gs:// prefix or a sample.

    Args:
        uri: The input location (as `data_uri` of the fetch step).
        client: A `google.cloud.storage.Client` for gs:// (a default client when None).

    Raises:
        DataError: The location does not exist, holds no table files, or has another scheme.
    """
    from freshet.components.fetch.sources import parse_uri

    source = parse_uri(uri)
    if source.kind == "sample":
        return _sample_file(uri)
    if source.kind == "gcs":
        return _gcs_files(source.location, source.prefix, uri, client)
    return _local_files(Path(source.location).expanduser(), uri)


def columns_of(file: InputFile) -> list[str]:
    """The column names of one input file, read from its footer or its header line only.

    Raises:
        DataError: The file cannot be read as CSV or Parquet.
    """
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    try:
        with file.open() as handle:
            if file.is_parquet:
                return list(pq.ParquetFile(handle).schema_arrow.names)
            reader = csv.open_csv(handle, read_options=csv.ReadOptions(block_size=BLOCK_BYTES))
            return list(reader.schema.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(f"Could not read '{file.name}': {_first_line(exc)}.") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _row_groups(parquet: Any, columns: list[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
    # One reader per row group: a single reader over the whole file keeps what it decoded and
    # grows with the file (about 80 MiB per 10^6 rows of 20 floats in pyarrow 26).
    for group in range(parquet.num_row_groups):
        yield from parquet.iter_batches(
            batch_size=chunk_rows, row_groups=[group], columns=columns, use_threads=False
        )


def iter_chunks(
    files: list[InputFile],
    columns: list[str],
    chunk_rows: int = CHUNK_ROWS,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[Chunk]:
    """Yields the input in chunks of at most `chunk_rows` rows (Parquet) or one CSV block.

    Only `columns` that a file has are read; a column it lacks is absent from its chunks
    (the row checks reject those rows).

    Raises:
        DataError: A file cannot be read.
    """
    import pyarrow.csv as csv
    import pyarrow.parquet as pq

    for file in files:
        offset = 0
        try:
            with file.open() as handle:
                if file.is_parquet:
                    parquet = pq.ParquetFile(handle)
                    present = [c for c in columns if c in parquet.schema_arrow.names]
                    batches: Iterator[pa.RecordBatch] = _row_groups(parquet, present, chunk_rows)
                else:
                    names = columns_of(file)
                    present = [c for c in columns if c in names]
                    reader = csv.open_csv(
                        handle,
                        read_options=csv.ReadOptions(block_size=block_bytes, use_threads=False),
                        convert_options=csv.ConvertOptions(
                            include_columns=present,
                            column_types={c: pa.string() for c in present},
                            strings_can_be_null=True,
                        ),
                    )
                    batches = iter(reader)
                for batch in batches:
                    if batch.num_rows:
                        yield Chunk(file=file.name, offset=offset, batch=batch)
                        offset += batch.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"Could not read '{file.name}': {_first_line(exc)}.") from None
