"""Score: run a contract model over an input of any size, streaming, into Parquet parts.

The input is read in bounded chunks (`reader`), every row is checked against the signature
(`rows`), the valid rows run through `model.onnx` with onnxruntime (the same
`freshet.contract.runtime` every other step uses) and are written as Parquet parts; rejected
rows go to `errors` parts with their reason. Everything is written into one folder that
appears whole or not at all (`freshet.atomic.replaced_directory`); publishing it to the
user's output location is `publish`'s job.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from freshet.components.score.reader import CHUNK_ROWS, Chunk, iter_chunks, list_inputs
from freshet.components.score.rows import check_rows
from freshet.contract.runtime import ContractModel
from freshet.errors import BadInput, DataError

PART_ROWS = 1 << 20
# Readers of the output folder (pandas, pyarrow, Spark) skip names starting with "_".
ERRORS_FOLDER = "_errors"
HISTOGRAM_BINS = 10
TOP_REASONS = 10
PROBABILITY_PREFIX = "probability_"
OUTPUT_COLUMNS = (
    "prediction",
    "model_version",
    "data_version",
    "run_id",
    "source_file",
    "source_row",
    "reason",
)


@dataclass(frozen=True)
class ScoreConfig:
    """What to score and how."""

    data_uri: str
    data_version: str = ""
    model_version: str = ""
    keep_columns: tuple[str, ...] = ()
    max_error_fraction: float = 0.01
    chunk_rows: int = CHUNK_ROWS
    part_rows: int = PART_ROWS
    threads: int = 0


@dataclass
class ScoreResult:
    """What a scoring run did: counts, reasons, the distribution of predictions, speed."""

    task: str
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    distribution: dict[str, float] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    error_parts: list[str] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        """Input rows per second of scoring."""
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0

    def metrics(self) -> dict[str, float]:
        """The scalar metrics of the run."""
        return {
            "rows_in": float(self.rows_in),
            "rows_scored": float(self.rows_scored),
            "rows_rejected": float(self.rows_rejected),
            "rows_per_s": round(self.rows_per_s, 1),
            "seconds": round(self.seconds, 3),
        }

    def top_reasons(self) -> dict[str, float]:
        """The most common reasons rows were rejected, with their counts."""
        return {key: float(count) for key, count in self.reasons.most_common(TOP_REASONS)}


def parse_keep_columns(text: str) -> tuple[str, ...]:
    """`id, region` -> ("id", "region"); refuses duplicates and output column names.

    Raises:
        BadInput: A name repeats or collides with an output column.
    """
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for index, name in enumerate(names):
        if name in names[:index]:
            raise BadInput(f"keep_columns names '{name}' twice: '{text}'.")
        if name in OUTPUT_COLUMNS or name.startswith(PROBABILITY_PREFIX):
            raise BadInput(f"keep_columns names '{name}', which is an output column of scoring.")
    return names


def check_fraction(value: Any) -> float:
    """max_error_fraction as a number between 0 and 1.

    Raises:
        BadInput: Not a number in [0, 1].
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise BadInput(f"max_error_fraction must be a number between 0 and 1, not {value!r}.")
    return float(value)


class _Distribution:
    """Class counts, or a histogram whose bins come from the first chunk (plus two overflows)."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        self.counts = np.zeros(max(len(labels), 1), dtype=np.int64)
        self.edges: np.ndarray | None = None
        self.below = self.above = 0

    def add(self, predictions: np.ndarray) -> None:
        if self.labels:
            self.counts += np.bincount(predictions, minlength=len(self.labels))
            return
        finite = predictions[np.isfinite(predictions)]
        if not len(finite):
            return
        if self.edges is None:
            low, high = float(finite.min()), float(finite.max())
            high = high if high > low else low + 1.0
            self.edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
            self.counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
        self.below += int((finite < self.edges[0]).sum())
        self.above += int((finite > self.edges[-1]).sum())
        inside = finite[(finite >= self.edges[0]) & (finite <= self.edges[-1])]
        self.counts += np.histogram(inside, bins=self.edges)[0]

    def result(self) -> dict[str, float]:
        if self.labels:
            return {label: float(n) for label, n in zip(self.labels, self.counts, strict=True)}
        if self.edges is None:
            return {}
        found: dict[str, float] = {}
        if self.below:
            found[f"< {self.edges[0]:.4g}"] = float(self.below)
        for low, high, count in zip(self.edges[:-1], self.edges[1:], self.counts, strict=True):
            found[f"{low:.4g} – {high:.4g}"] = float(count)
        if self.above:
            found[f"> {self.edges[-1]:.4g}"] = float(self.above)
        return found


class _Parts:
    """Parquet parts of at most `part_rows` rows: `<stem>-00000.parquet`, ..."""

    def __init__(self, folder: Path, stem: str, part_rows: int) -> None:
        self.folder, self.stem, self.part_rows = folder, stem, part_rows
        self.writer: Any = None
        self.rows = 0
        self.names: list[str] = []

    def write(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        if self.writer is not None and self.rows + table.num_rows > self.part_rows:
            self.close()
        if self.writer is None:
            name = f"{self.stem}-{len(self.names):05d}.parquet"
            self.names.append(name)
            self.folder.mkdir(exist_ok=True)
            # Dictionaries only where values repeat (labels, versions); floats uncompressed:
            # both cost time and save nothing on probabilities.
            dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
            codecs = {
                f.name: "none" if pa.types.is_floating(f.type) else "snappy" for f in table.schema
            }
            self.writer = pq.ParquetWriter(
                self.folder / name,
                table.schema,
                use_dictionary=dictionary or False,
                compression=codecs,
            )
            self.schema = table.schema
            self.rows = 0
        try:
            self.writer.write_table(table.cast(self.schema))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise DataError(
                f"A column changes its type between input files: {str(exc).splitlines()[0]}"
            ) from None
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _read_ahead(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """The same chunks, the next one read in a thread while the caller works on this one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="freshet-score-read") as pool:
        future = pool.submit(next, chunks, None)
        while (chunk := future.result()) is not None:
            future = pool.submit(next, chunks, None)
            yield chunk


def _constant(value: str, rows: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), [value])


def _kept(
    batch: pa.RecordBatch, keep: tuple[str, ...], mask: np.ndarray | None
) -> dict[str, pa.Array]:
    names = set(batch.schema.names)
    selected = pa.array(mask) if mask is not None else None
    found = {}
    for name in keep:
        column = batch.column(name) if name in names else pa.nulls(batch.num_rows, pa.string())
        found[name] = column.filter(selected) if selected is not None else column
    return found


def _outputs(
    model: ContractModel,
    feeds: dict[str, np.ndarray],
    config: ScoreConfig,
    kept: dict[str, pa.Array],
) -> tuple[pa.Table, np.ndarray]:
    signature = model.signature
    predicted = model.run(feeds)
    rows = len(predicted)
    columns: dict[str, Any] = dict(kept)
    if signature.task == "classification":
        index = predicted.argmax(axis=1).astype(np.int32)
        columns["prediction"] = pa.DictionaryArray.from_arrays(pa.array(index), signature.labels)
        for k, label in enumerate(signature.labels):
            columns[f"{PROBABILITY_PREFIX}{label}"] = pa.array(
                np.ascontiguousarray(predicted[:, k], dtype=np.float32)
            )
        distribution = index
    else:
        columns["prediction"] = pa.array(predicted.astype(np.float32))
        distribution = predicted
    columns["model_version"] = _constant(config.model_version, rows)
    columns["data_version"] = _constant(config.data_version, rows)
    return pa.table(columns), distribution


def score(model: ContractModel, config: ScoreConfig, out_dir: str | Path) -> ScoreResult:
    """Scores the input with the model into `out_dir` (created whole, or not at all).

    Args:
        model: The loaded contract model.
        config: The input, versions to record, kept columns and error budget.
        out_dir: The folder to create: `part-*.parquet` (kept columns, `prediction`,
            `probability_<label>` for a classifier, `model_version`, `data_version`) and
            `_errors/errors-*.parquet` (kept columns, `source_file`, `source_row`, `reason`)
            when rows were rejected.

    Returns:
        The counts, reasons, distribution, speed and the part names.

    Raises:
        DataError: The input cannot be read, holds no rows, or more than
            `max_error_fraction` of its rows do not fit the signature.
    """
    from freshet.atomic import replaced_directory

    signature = model.signature
    files = list_inputs(config.data_uri)
    wanted = list(dict.fromkeys([*signature.feature_names, *config.keep_columns]))
    result = ScoreResult(task=signature.task)
    distribution = _Distribution(signature.labels)
    started = time.perf_counter()
    with replaced_directory(out_dir) as folder:
        parts = _Parts(folder, "part", config.part_rows)
        errors = _Parts(folder / ERRORS_FOLDER, "errors", config.part_rows)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="freshet-score-write")
        pending: Future[None] | None = None
        try:
            for chunk in _read_ahead(iter_chunks(files, wanted, config.chunk_rows)):
                checked = check_rows(chunk.batch, signature)
                result.rows_in += chunk.batch.num_rows
                if checked.valid.any():
                    some = None if checked.valid.all() else checked.valid
                    kept = _kept(chunk.batch, config.keep_columns, some)
                    table, predicted = _outputs(model, checked.feeds, config, kept)
                    if pending is not None:
                        pending.result()
                    # Parquet encoding releases the GIL: it overlaps the next chunk's inference.
                    pending = pool.submit(parts.write, table)
                    distribution.add(predicted)
                    result.rows_scored += table.num_rows
                if checked.reasons:
                    rejected = ~checked.valid
                    rows = np.flatnonzero(rejected) + chunk.offset
                    errors.write(
                        pa.table(
                            {
                                **_kept(chunk.batch, config.keep_columns, rejected),
                                "source_file": _constant(chunk.file, len(rows)),
                                "source_row": pa.array(rows, pa.int64()),
                                "reason": pa.array(checked.reasons, pa.string()),
                            }
                        )
                    )
                    result.rows_rejected += len(rows)
                    result.reasons.update(checked.keys)
            if pending is not None:
                pending.result()
        finally:
            pool.shutdown(wait=True)
            parts.close()
            errors.close()
        result.seconds = time.perf_counter() - started
        result.parts = parts.names
        result.error_parts = [f"{ERRORS_FOLDER}/{name}" for name in errors.names]
        result.distribution = distribution.result()
        _check_budget(result, config)
    return result


def _check_budget(result: ScoreResult, config: ScoreConfig) -> None:
    if not result.rows_in:
        raise DataError(f"The input '{config.data_uri}' holds no rows to score.")
    share = result.rows_rejected / result.rows_in
    if share > config.max_error_fraction:
        reason, count = result.reasons.most_common(1)[0]
        raise DataError(
            f"{result.rows_rejected} of {result.rows_in} rows ({share:.2%}) of "
            f"'{config.data_uri}' do not fit the model's signature, more than "
            f"max_error_fraction {config.max_error_fraction:g}; most often: {reason} "
            f"({count} rows)."
        )
