"""Batch prediction speed and memory: the score step's core against a bare onnxruntime loop.

Issue 13's targets: the score core within 0.9x of the rows/s of a bare onnxruntime loop over
the same Parquet file, and 10^7 rows x 20 features scored with peak resident memory under
1.5 GiB.

A synthetic Parquet file (20 float32 features, row groups of 2^17 rows) and a contract model
(the table preprocessing joined to a scikit-learn MLP head of 2 x 128, converted with
skl2onnx) are written once. Then, in one process, alternating which goes first, best of N:

  (a) ours: `freshet.components.score.core.score`: reads the file in chunks, checks every
      row against the signature, runs the graph, writes Parquet parts (prediction, class
      probabilities, model and data version) into a folder published atomically;
  (b) baseline: `pyarrow.parquet.ParquetFile.iter_batches` over the same file, the columns
      stacked into a float32 matrix, `InferenceSession.run` on each batch (same session
      options), results discarded.

Prints seconds and rows/s of both, and the ratio ours/baseline in rows/s (goal >= 0.9): of
the best rounds, the median of each round's pair, and of CPU seconds (all threads of this
process: less sensitive to other processes on a shared machine).
`--memory` instead scores the file in a fresh subprocess and prints its peak resident memory
(`ru_maxrss`), against the 1.5 GiB target.

    .venv/bin/python bench/predict.py                         # 10^6 rows, 3 rounds
    .venv/bin/python bench/predict.py --memory --rows 10000000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

FEATURES, CLASSES, SEED, ROW_GROUP = 20, 2, 0, 1 << 17
NAMES = [f"f{i:02d}" for i in range(FEATURES)]
GIB = 1 << 30


def write_input(path: Path, rows: int) -> None:
    """Synthetic features (two shifted clusters), written row group by row group."""
    rng = np.random.default_rng(SEED)
    schema = pa.schema([(name, pa.float32()) for name in NAMES])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, ROW_GROUP):
            n = min(ROW_GROUP, rows - start)
            shift = rng.integers(0, CLASSES, n)[:, None].astype(np.float32)
            x = rng.normal(0.0, 1.0, (n, FEATURES)).astype(np.float32) + shift
            writer.write_table(pa.table(dict(zip(NAMES, x.T, strict=True)), schema=schema))


def write_contract(out: Path) -> Path:
    """The preprocessing and an MLP head (2 x 128) trained briefly, as a contract model."""
    import pandas as pd
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.neural_network import MLPClassifier

    from freshet.contract import Feature, Signature, write_model
    from freshet.contract.compose import attach_head, keep_output
    from freshet.contract.preprocess import PREPROCESSED, TablePreprocessor

    rng = np.random.default_rng(SEED + 1)
    label = rng.integers(0, CLASSES, 20_000)
    train = pd.DataFrame(rng.normal(0.0, 1.0, (20_000, FEATURES)) + label[:, None], columns=NAMES)
    train["label"] = label.astype(str)
    signature = Signature(
        task="classification",
        features=[Feature(name=name) for name in NAMES],
        labels=[str(c) for c in range(CLASSES)],
        framework="scikit-learn",
        producer="bench.predict",
        data_version="bench-v1",
    )
    pre = TablePreprocessor.fit(train, signature)
    head = MLPClassifier((128, 128), max_iter=5, random_state=SEED)
    head.fit(pre.transform(train), train["label"])
    onnx_head = convert_sklearn(
        head,
        initial_types=[(PREPROCESSED, FloatTensorType([None, pre.width]))],
        options={id(head): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    keep_output(onnx_head, "probabilities", "probabilities")
    return write_model(out, attach_head(pre.to_onnx(), onnx_head, PREPROCESSED), signature)


def ours(data: Path, model_dir: Path, out: Path) -> int:
    """The score step's core: chunks in, checked rows through the graph, Parquet parts out."""
    import shutil

    from freshet.components.score.core import ScoreConfig, score
    from freshet.contract.runtime import ContractModel

    shutil.rmtree(out, ignore_errors=True)
    config = ScoreConfig(data_uri=str(data), data_version="bench-v1", model_version="bench@1")
    result = score(ContractModel.load(model_dir), config, out)
    return result.rows_scored


def baseline(data: Path, model_dir: Path) -> int:
    """A bare onnxruntime loop over the same file: batches -> float32 matrix -> run."""
    from freshet.components.score.reader import CHUNK_ROWS
    from freshet.contract.runtime import open_session

    session = open_session(model_dir / "model.onnx")
    rows = 0
    for batch in pq.ParquetFile(data).iter_batches(batch_size=CHUNK_ROWS, use_threads=False):
        x = np.column_stack([c.to_numpy() for c in batch.columns]).astype(np.float32)
        session.run(["probabilities"], {"numeric": x})
        rows += batch.num_rows
    return rows


def timed(run: Any) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of every thread of this process, rows) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    rows = run()
    return time.perf_counter() - wall, time.process_time() - cpu, rows


def speed(work: Path, data: Path, model: Path, rows: int, rounds: int) -> None:
    sides = {
        "ours": lambda: ours(data, model, work / "out"),
        "onnxruntime": lambda: baseline(data, model),
    }
    best = {name: float("inf") for name in sides}
    best_cpu = {name: float("inf") for name in sides}
    paired: list[float] = []
    for round_ in range(rounds):
        order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
        seconds: dict[str, float] = {}
        for name in order:
            wall, cpu, scored = timed(sides[name])
            assert scored == rows, (name, scored, rows)
            seconds[name] = wall
            best[name], best_cpu[name] = min(best[name], wall), min(best_cpu[name], cpu)
            print(
                f"round {round_ + 1} {name:>11}: {wall:7.2f} s  {rows / wall:12,.0f} rows/s"
                f"  (CPU {cpu:.2f} s)"
            )
        paired.append(seconds["onnxruntime"] / seconds["ours"])
    ratio = best["onnxruntime"] / best["ours"]
    print(
        f"best of {rounds}: ours {rows / best['ours']:,.0f} rows/s, bare onnxruntime "
        f"{rows / best['onnxruntime']:,.0f} rows/s, ratio {ratio:.2f}x (goal >= 0.9); "
        f"median of the rounds' ratios {float(np.median(paired)):.2f}x; "
        f"CPU seconds ratio {best_cpu['onnxruntime'] / best_cpu['ours']:.2f}x"
    )


def memory(work: Path, data: Path, model: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[4]); from bench.predict import ours; "
        "from pathlib import Path; "
        "print(ours(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))"
    )
    root = str(Path(__file__).resolve().parents[1])
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(data), str(model), str(work / "out"), root],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    rows = int(done.stdout.strip().splitlines()[-1])
    print(
        f"scored {rows:,} rows x {FEATURES} features ({data.stat().st_size / GIB:.2f} GiB Parquet) "
        f"in {seconds:.1f} s; peak resident memory of the scoring process "
        f"{peak / GIB:.2f} GiB (target < 1.5 GiB)"
    )


def main() -> None:
    """Writes the data and the model, then measures speed (default) or memory (--memory)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="peak RSS of the core instead")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="freshet-bench-predict-") as tmp:
        work = Path(tmp)
        data = work / "input.parquet"
        write_input(data, args.rows)
        model = write_contract(work / "model")
        if args.memory:
            memory(work, data, model)
        else:
            speed(work, data, model, args.rows, args.rounds)


if __name__ == "__main__":
    main()
