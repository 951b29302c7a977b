"""Training data on its way to the model: held on the device, or streamed from Parquet.

Data that fits in memory is standardised once and held as tensors on the device; batches are
drawn by index from a seeded permutation, with no per-sample work. Larger data streams through
a DataLoader with workers and pinned memory: one item is one Parquet row group (read by a
worker, standardised, shuffled with its own seed), and the loop slices batches from it on the
device. Both orders depend only on the seed and the epoch (not on the number of workers), so a
resumed run sees the same batches as an uninterrupted one.
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

MODES = ("auto", "memory", "stream")
HOST_MEMORY_SHARE = 0.25  # pandas, numpy and tensor copies coexist while loading
GPU_MEMORY_SHARE = 0.5
EVAL_ROWS = 65_536

Batch = tuple["torch.Tensor", "torch.Tensor"]


@dataclass(frozen=True)
class Standardizer:
    """Per-feature mean and scale of the training split."""

    mean: np.ndarray
    scale: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardises a float32 feature matrix."""
        result: np.ndarray = (x - self.mean) / self.scale
        return result


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


def frame_arrays(frame: pd.DataFrame, schema: DatasetSchema, where: str) -> tuple[Any, Any]:
    """Feature matrix (float32) and class indices (int64) of a table."""
    import numpy as np

    x = frame[schema.features].to_numpy(dtype=np.float32)
    y = label_codes(frame[schema.label_column].to_numpy(), schema.labels, where)
    return x, y


def _combine(stats: tuple[float, Any, Any], x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Chan's parallel update of (count, mean, M2) with a chunk, in float64."""
    import numpy as np

    n_a, mean_a, m2_a = stats
    chunk = x.astype(np.float64)
    n_b = float(len(chunk))
    mean_b = chunk.mean(axis=0)
    m2_b = ((chunk - mean_b) ** 2).sum(axis=0)
    n = n_a + n_b
    delta = mean_b - mean_a
    return n, mean_a + delta * n_b / n, m2_a + m2_b + delta**2 * n_a * n_b / n


def standardizer(chunks: Iterator[np.ndarray]) -> Standardizer:
    """Fits the standardisation over feature chunks in one pass (population std)."""
    import numpy as np

    stats: tuple[float, Any, Any] = (0.0, 0.0, 0.0)
    for chunk in chunks:
        if len(chunk):
            stats = _combine(stats, chunk)
    n, mean, m2 = stats
    std = np.sqrt(np.asarray(m2) / max(n, 1.0))
    scale = np.where(std > 1e-12, std, 1.0).astype(np.float32)
    return Standardizer(np.asarray(mean, dtype=np.float32), scale)


def choose_mode(requested: str, dataset_dir: Path, schema: DatasetSchema, device: Any) -> str:
    """Resolves `auto` to `memory` when the splits fit comfortably, else `stream`."""
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
    need = rows * (4 * len(schema.features) + 8)
    host = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    fits = need <= HOST_MEMORY_SHARE * host
    if device.type == "cuda":
        fits = fits and need <= GPU_MEMORY_SHARE * torch.cuda.mem_get_info(device)[0]
    return "memory" if fits else "stream"


class InMemory:
    """Both splits as standardised tensors on the device; batches drawn by index."""

    mode = "memory"

    def __init__(self, dataset_dir: Path, schema: DatasetSchema, device: Any) -> None:
        import pandas as pd
        import torch

        def arrays(split: str) -> tuple[Any, Any]:
            frame = pd.read_parquet(dataset_dir / f"{split}.parquet")
            return frame_arrays(frame, schema, f"The {split} split")

        x_train, y_train = arrays("train")
        x_val, y_val = arrays("validation")
        self.standardizer = standardizer(iter([x_train]))
        self.rows = int(len(x_train))
        self.x_train = torch.from_numpy(self.standardizer.apply(x_train)).to(device)
        self.y_train = torch.from_numpy(y_train).to(device)
        self.x_val = torch.from_numpy(self.standardizer.apply(x_val)).to(device)
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
    """Map-style dataset: item i is row group `groups[i]`, standardised and shuffled."""

    def __init__(
        self,
        path: Path,
        schema: DatasetSchema,
        scaler: Standardizer,
        groups: list[int],
        seeds: list[int],
    ) -> None:
        self.path, self.schema, self.scaler = path, schema, scaler
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
        columns = [*self.schema.features, self.schema.label_column]
        frame = self._file.read_row_group(group, columns=columns).to_pandas()
        x, y = frame_arrays(frame, self.schema, f"Row group {group} of '{self.path.name}'")
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seeds[i]))
        return torch.from_numpy(self.scaler.apply(x))[order], torch.from_numpy(y)[order]


class Streamed:
    """The training split streamed by row groups through a DataLoader."""

    mode = "stream"

    def __init__(
        self, dataset_dir: Path, schema: DatasetSchema, device: Any, workers: int = -1
    ) -> None:
        import pyarrow.parquet as pq

        self.schema, self.device = schema, device
        self.train_path = dataset_dir / "train.parquet"
        self.val_path = dataset_dir / "validation.parquet"
        meta = pq.ParquetFile(self.train_path).metadata
        self.group_rows = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.rows = sum(self.group_rows)
        self.workers = workers if workers >= 0 else min(4, max(1, (os.cpu_count() or 2) - 1))
        self.standardizer = standardizer(self._feature_chunks(self.train_path))

    def _feature_chunks(self, path: Path) -> Iterator[np.ndarray]:
        import numpy as np
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(
            batch_size=EVAL_ROWS, columns=self.schema.features
        ):
            yield batch.to_pandas()[self.schema.features].to_numpy(dtype=np.float32)

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
            self.train_path, self.schema, self.standardizer, order[first:], seeds[first:]
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
        """The validation split, read and standardised chunk by chunk."""
        import pyarrow.parquet as pq
        import torch

        columns = [*self.schema.features, self.schema.label_column]
        for batch in pq.ParquetFile(self.val_path).iter_batches(
            batch_size=EVAL_ROWS, columns=columns
        ):
            x, y = frame_arrays(batch.to_pandas(), self.schema, "The validation split")
            yield (
                torch.from_numpy(self.standardizer.apply(x)).to(self.device),
                torch.from_numpy(y).to(self.device),
            )


def open_source(
    dataset_dir: Path, schema: DatasetSchema, mode: str, device: Any, workers: int = -1
) -> InMemory | Streamed:
    """Loads (or prepares to stream) the training data in the resolved `mode`."""
    if mode == "memory":
        return InMemory(dataset_dir, schema, device)
    return Streamed(dataset_dir, schema, device, workers)
