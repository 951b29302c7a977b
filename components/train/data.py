"""Training data on its way to the model: held on the device, or streamed from Parquet.

Features go through `freshet.contract.preprocess.TablePreprocessor` (imputation, scaling,
one-hot encoding), fitted on the train split only: the whole split when it is held in
memory; when it streams, the first `FIT_ROWS` rows (read in batches; fetch shuffles rows
before splitting, so they are a fair sample). The same fitted preprocessing is exported into
the model's graph, so serving sees what training saw. Regression targets are standardised
with the mean and standard deviation of the whole train split's label column.

Data that fits in memory is preprocessed once and held as tensors on the device; batches are
drawn by index from a seeded permutation, with no per-sample work. Larger data streams through
a DataLoader with workers and pinned memory: one item is one Parquet row group (read and
preprocessed by a worker, shuffled with its own seed), and the loop slices batches from it on
the device. Both orders depend only on the seed and the epoch (not on the number of workers),
so a resumed run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from freshet.components.fetch.core import DatasetSchema
from freshet.errors import BadInput, DataError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch

    from freshet.contract.preprocess import TablePreprocessor
    from freshet.contract.signature import Signature

MODES = ("auto", "memory", "stream")
HOST_MEMORY_SHARE = 0.25  # pandas, numpy and tensor copies coexist while loading
GPU_MEMORY_SHARE = 0.5
EVAL_ROWS = 65_536
FIT_ROWS = 1_000_000  # rows of the train split the preprocessing is fitted on, streaming
CHECK_ROWS = 1_000  # validation rows the exported graph is compared with torch on

Batch = tuple["torch.Tensor", "torch.Tensor"]


def label_codes(values: Any, labels: list[str], where: str) -> np.ndarray:
    """Maps raw label values to class indices in `labels` order (vectorised).

    Raises:
        DataError: A value is not one of the schema's labels.
    """
    import numpy as np
    import pandas as pd

    text = np.asarray(values).astype(str)
    codes: np.ndarray = pd.Index(labels).get_indexer(text).astype(np.int64)
    if (codes < 0).any():
        bad = text[int(np.argmax(codes < 0))]
        raise DataError(f"{where} holds the label '{bad}', which the dataset schema does not list.")
    return codes


def label_values(values: Any, label_column: str, where: str) -> np.ndarray:
    """A regression label column as float64.

    Raises:
        DataError: A value is missing or not a number.
    """
    import numpy as np
    import pandas as pd

    raw = pd.Series(values)
    numbers: np.ndarray = pd.to_numeric(raw, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    bad = ~np.isfinite(numbers)
    if bad.any():
        example = raw.tolist()[int(np.argmax(bad))]
        if pd.isna(example):
            raise DataError(
                f"{where} has a missing value in the label column '{label_column}'; "
                "a regression label must be a number."
            )
        raise DataError(
            f"{where} has the value {example!r} in the label column '{label_column}'; "
            "a regression label must be a finite number."
        )
    return numbers


@dataclass(frozen=True)
class Targets:
    """How label values become training targets: class indices, or the standardised value."""

    task: str
    label_column: str
    labels: list[str]
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, schema: DatasetSchema, label_chunks: Iterable[Any]) -> Targets:
        """Targets of a schema; regression mean and std (population) over the label chunks."""
        import numpy as np

        if schema.task != "regression":
            return cls(schema.task, schema.label_column, list(schema.labels))
        n, mean, m2 = 0.0, 0.0, 0.0
        for chunk in label_chunks:
            y = label_values(chunk, schema.label_column, "The train split")
            if not len(y):
                continue
            n_b, mean_b = float(len(y)), float(y.mean())
            m2_b = float(((y - mean_b) ** 2).sum())
            delta, total = mean_b - mean, n + n_b
            mean, m2 = mean + delta * n_b / total, m2 + m2_b + delta**2 * n * n_b / total
            n = total
        std = float(np.sqrt(m2 / max(n, 1.0)))
        return cls(schema.task, schema.label_column, [], mean, std if std > 1e-12 else 1.0)

    def encode(self, values: Any, where: str) -> np.ndarray:
        """Class indices (int64) or standardised values (float32) of raw label values."""
        import numpy as np

        if self.task != "regression":
            return label_codes(values, self.labels, where)
        y = label_values(values, self.label_column, where)
        result: np.ndarray = ((y - self.mean) / self.std).astype(np.float32)
        return result


def frame_arrays(
    frame: pd.DataFrame, preprocessor: TablePreprocessor, targets: Targets, where: str
) -> tuple[Any, Any]:
    """Preprocessed feature matrix (float32) and targets of a raw table."""
    x = preprocessor.transform(frame)
    return x, targets.encode(frame[targets.label_column].to_numpy(), where)


def _columns(schema: DatasetSchema) -> list[str]:
    return [*schema.features, schema.label_column]


def validation_sample(dataset_dir: Path, schema: DatasetSchema, rows: int = CHECK_ROWS) -> Any:
    """The first `rows` raw rows of the validation split (features and label)."""
    import pyarrow.parquet as pq

    batches = pq.ParquetFile(dataset_dir / "validation.parquet").iter_batches(
        batch_size=rows, columns=_columns(schema)
    )
    first = next(batches, None)
    if first is None:
        raise BadInput("The validation split is empty; training needs at least one row.")
    return first.to_pandas()


def choose_mode(requested: str, dataset_dir: Path, schema: DatasetSchema, device: Any) -> str:
    """Resolves `auto` to `memory` when the splits fit comfortably, else `stream`.

    The estimate counts, per cell, the raw column (8 bytes) and the preprocessed float32
    matrix (4 bytes); one-hot encoding widens the matrix, which the memory shares leave room for.
    """
    import pyarrow.parquet as pq
    import torch

    if requested not in MODES:
        raise BadInput(f"data_loading must be auto, memory or stream: '{requested}'.")
    if requested != "auto":
        return requested
    rows = sum(
        pq.ParquetFile(dataset_dir / f"{split}.parquet").metadata.num_rows
        for split in ("train", "validation")
    )
    need = rows * (12 * len(schema.features) + 16)
    host = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    fits = need <= HOST_MEMORY_SHARE * host
    if device.type == "cuda":
        fits = fits and need <= GPU_MEMORY_SHARE * torch.cuda.mem_get_info(device)[0]
    return "memory" if fits else "stream"


def _fit_preprocessor(frame: pd.DataFrame, signature: Signature) -> TablePreprocessor:
    from freshet.contract.preprocess import TablePreprocessor

    if frame.empty:
        raise DataError("The train split is empty; training needs at least one row.")
    return TablePreprocessor.fit(frame, signature)


class InMemory:
    """Both splits as preprocessed tensors on the device; batches drawn by index."""

    mode = "memory"

    def __init__(
        self, dataset_dir: Path, schema: DatasetSchema, signature: Signature, device: Any
    ) -> None:
        import pandas as pd
        import torch

        train = pd.read_parquet(dataset_dir / "train.parquet", columns=_columns(schema))
        val = pd.read_parquet(dataset_dir / "validation.parquet", columns=_columns(schema))
        self.preprocessor = _fit_preprocessor(train, signature)
        self.targets = Targets.fit(schema, [train[schema.label_column].to_numpy()])
        x_train, y_train = frame_arrays(train, self.preprocessor, self.targets, "The train split")
        x_val, y_val = frame_arrays(val, self.preprocessor, self.targets, "The validation split")
        self.rows = int(len(x_train))
        self.x_train = torch.from_numpy(x_train).to(device)
        self.y_train = torch.from_numpy(y_train).to(device)
        self.x_val = torch.from_numpy(x_val).to(device)
        self.y_val = torch.from_numpy(y_val).to(device)

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one epoch."""
        return math.ceil(self.rows / batch_size)

    def draw(self, generator: Any) -> Any:
        """The epoch's randomness: a permutation of the training rows."""
        import torch

        return torch.randperm(self.rows, generator=generator)

    def batches(self, plan: Any, start_step: int, batch_size: int) -> Iterator[Batch]:
        """The epoch's batches from `start_step` on."""
        perm = plan.to(self.x_train.device)
        for start in range(start_step * batch_size, self.rows, batch_size):
            idx = perm[start : start + batch_size]
            yield self.x_train[idx], self.y_train[idx]

    def validation(self) -> Iterator[Batch]:
        """The validation split in large chunks."""
        for start in range(0, int(self.x_val.shape[0]), EVAL_ROWS):
            yield self.x_val[start : start + EVAL_ROWS], self.y_val[start : start + EVAL_ROWS]


class _RowGroups:
    """Map-style dataset: item i is row group `groups[i]`, preprocessed and shuffled."""

    def __init__(
        self,
        path: Path,
        columns: list[str],
        preprocessor: TablePreprocessor,
        targets: Targets,
        groups: list[int],
        seeds: list[int],
    ) -> None:
        self.path, self.columns = path, columns
        self.preprocessor, self.targets = preprocessor, targets
        self.groups, self.seeds = groups, seeds
        self._file: Any = None  # opened lazily, so that each worker has its own handle

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> Batch:
        import pyarrow.parquet as pq
        import torch

        if self._file is None:
            self._file = pq.ParquetFile(self.path)
        group = self.groups[i]
        frame = self._file.read_row_group(group, columns=self.columns).to_pandas()
        where = f"Row group {group} of '{self.path.name}'"
        x, y = frame_arrays(frame, self.preprocessor, self.targets, where)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seeds[i]))
        return torch.from_numpy(x)[order], torch.from_numpy(y)[order]


class Streamed:
    """The training split streamed by row groups through a DataLoader."""

    mode = "stream"

    def __init__(
        self,
        dataset_dir: Path,
        schema: DatasetSchema,
        signature: Signature,
        device: Any,
        workers: int = -1,
    ) -> None:
        import pyarrow.parquet as pq

        self.columns, self.device = _columns(schema), device
        self.train_path = dataset_dir / "train.parquet"
        self.val_path = dataset_dir / "validation.parquet"
        meta = pq.ParquetFile(self.train_path).metadata
        self.group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.rows = sum(self.group_rows)
        self.workers = workers if workers >= 0 else min(4, max(1, (os.cpu_count() or 2) - 1))
        self.preprocessor = _fit_preprocessor(self._fit_sample(schema.features), signature)
        self.targets = Targets.fit(
            schema,
            (
                batch.column(0).to_numpy(zero_copy_only=False)
                for batch in pq.ParquetFile(self.train_path).iter_batches(
                    batch_size=EVAL_ROWS, columns=[schema.label_column]
                )
            ),
        )

    def _fit_sample(self, features: list[str]) -> pd.DataFrame:
        """The first `FIT_ROWS` rows of the train split's features, read in batches."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        batches, rows = [], 0
        for batch in pq.ParquetFile(self.train_path).iter_batches(
            batch_size=EVAL_ROWS, columns=features
        ):
            batches.append(batch.slice(0, FIT_ROWS - rows))
            rows += batches[-1].num_rows
            if rows >= FIT_ROWS:
                break
        if not batches:
            return pa.table({name: [] for name in features}).to_pandas()
        return pa.Table.from_batches(batches).to_pandas()

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one epoch (each row group ends with its own short batch)."""
        return sum(math.ceil(rows / batch_size) for rows in self.group_rows)

    def draw(self, generator: Any) -> Any:
        """The epoch's randomness: an order of the row groups and a seed for each."""
        import torch

        order = torch.randperm(len(self.group_rows), generator=generator)
        seeds = torch.randint(0, 2**62, (len(self.group_rows),), generator=generator)
        return order.tolist(), seeds.tolist()

    def batches(self, plan: Any, start_step: int, batch_size: int) -> Iterator[Batch]:
        """The epoch's batches from `start_step` on; whole row groups before it are not read."""
        from torch.utils.data import DataLoader

        order, seeds = plan
        first, skip = 0, start_step
        while first < len(order) and skip >= math.ceil(self.group_rows[order[first]] / batch_size):
            skip -= math.ceil(self.group_rows[order[first]] / batch_size)
            first += 1
        dataset = _RowGroups(
            self.train_path,
            self.columns,
            self.preprocessor,
            self.targets,
            order[first:],
            seeds[first:],
        )
        loader: Iterable[Batch] = DataLoader(
            dataset,  # type: ignore[arg-type]
            batch_size=None,
            shuffle=False,
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            prefetch_factor=2 if self.workers else None,
        )
        for x_group, y_group in loader:
            # One host-to-device copy per row group; batches are then views on the device.
            x = x_group.to(self.device, non_blocking=True)
            y = y_group.to(self.device, non_blocking=True)
            for start in range(skip * batch_size, int(x.shape[0]), batch_size):
                yield x[start : start + batch_size], y[start : start + batch_size]
            skip = 0

    def validation(self) -> Iterator[Batch]:
        """The validation split, read and preprocessed chunk by chunk."""
        import pyarrow.parquet as pq
        import torch

        for batch in pq.ParquetFile(self.val_path).iter_batches(
            batch_size=EVAL_ROWS, columns=self.columns
        ):
            x, y = frame_arrays(
                batch.to_pandas(), self.preprocessor, self.targets, "The validation split"
            )
            yield torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)


def open_source(
    dataset_dir: Path,
    schema: DatasetSchema,
    signature: Signature,
    mode: str,
    device: Any,
    workers: int = -1,
) -> InMemory | Streamed:
    """Loads (or prepares to stream) the training data in the resolved `mode`."""
    if mode == "memory":
        return InMemory(dataset_dir, schema, signature, device)
    return Streamed(dataset_dir, schema, signature, device, workers)
