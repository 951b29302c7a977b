"""Evaluate speed: the evaluate step through onnxruntime against the PyTorch model called directly.

Issue 12's target: evaluating 10^6 rows through the contract model (onnxruntime, preprocessing
inside the graph) within 1.2x of calling the torch model directly on the same rows.

One table of 10^6 test rows (20 numeric features, 10 classes) is written as a fetched dataset
(`test.parquet` holds all of them). The contract preprocessing is fitted on a separate train
split, an MLP head (2 hidden layers of 128) is trained for a few quick epochs, exported with
`torch.onnx.export` and joined to the preprocessing graph (`attach_head`, `write_model`).
Then, in one process, alternating which goes first, best of N rounds:

  (a) ours: `freshet.components.evaluate.core.score(model_dir, dataset_dir)`: reads the
      Parquet test split in batches, runs the ONNX graph, computes the metrics;
  (b) baseline: `pandas.read_parquet` of the same file, the fitted scikit-learn preprocessing,
      the torch network under `torch.no_grad()` in the same batch size, the same metrics
      (the same scikit-learn calls).

Prints seconds, rows/s, CPU seconds (all threads of this process: less sensitive to other
processes on a shared machine) and the ratio ours/baseline (goal <= 1.2, on wall seconds).

    .venv/bin/python bench/evaluate.py                 # 10^6 rows, 3 rounds
    .venv/bin/python bench/evaluate.py --rows 200000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from freshet.components.evaluate.core import (  # noqa: E402
    BATCH_ROWS,
    Evaluation,
    classification_metrics,
    score,
)
from freshet.contract import Feature, Signature, write_model  # noqa: E402
from freshet.contract.compose import attach_head  # noqa: E402
from freshet.contract.preprocess import PREPROCESSED, TablePreprocessor  # noqa: E402

FEATURES, CLASSES, HIDDEN, SEED = 20, 10, 128, 0


def make_table(rows: int, rng: np.random.Generator, centers: np.ndarray) -> pd.DataFrame:
    """Rows drawn around one centre per class (a learnable table), label as an integer."""
    label = rng.integers(0, CLASSES, rows)
    x = centers[label] + rng.normal(0.0, 1.0, (rows, FEATURES)) * 2.0 + 5.0
    frame = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(FEATURES)])
    frame["label"] = label
    return frame


def write_dataset(root: Path, train: pd.DataFrame, test: pd.DataFrame) -> Path:
    """A fetched dataset's layout: splits as Parquet and a v2 schema.json."""
    root.mkdir(parents=True)
    train.to_parquet(root / "train.parquet", index=False)
    train.head(1000).to_parquet(root / "validation.parquet", index=False)
    test.to_parquet(root / "test.parquet", index=False)
    features = [c for c in test.columns if c != "label"]
    schema = {
        "format_version": 2,
        "uri": "bench://evaluate",
        "data_version": "bench-v1",
        "label_column": "label",
        "task": "classification",
        "task_reason": "the benchmark's labels are 10 classes",
        "features": features,
        "columns": [{"name": f, "kind": "numeric"} for f in features],
        "labels": [str(c) for c in range(CLASSES)],
        "dropped": [],
        "rows": {"train": len(train), "validation": 1000, "test": len(test)},
    }
    (root / "schema.json").write_text(json.dumps(schema, indent=2, sort_keys=True))
    return root


def make_head(width: int) -> nn.Module:
    """The MLP head: preprocessed matrix in, class probabilities out."""
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Linear(width, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, CLASSES),
        nn.Softmax(dim=1),
    )


def fit_head(head: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int = 2) -> None:
    """A few quick epochs: the benchmark times prediction, a trained head makes metrics real."""
    logits = head[:-1]
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    order = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        for batch in torch.randperm(len(xt), generator=order).split(512):
            optimizer.zero_grad()
            nn.functional.cross_entropy(logits(xt[batch]), yt[batch]).backward()
            optimizer.step()
    head.eval()


def export(head: nn.Module, width: int, out: Path) -> Any:
    """The head as ONNX (input `preprocessed`, output `probabilities`, any number of rows)."""
    import onnx

    path = out / "head.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is chosen (dynamo=False)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            head,
            (torch.zeros(2, width),),
            str(path),
            input_names=[PREPROCESSED],
            output_names=["probabilities"],
            dynamic_axes={PREPROCESSED: {0: "rows"}, "probabilities": {0: "rows"}},
            opset_version=17,
            dynamo=False,
        )
    return onnx.load(str(path))


def baseline(
    dataset: Path, pre: TablePreprocessor, head: nn.Module, labels: list[str]
) -> tuple[float, int]:
    """The torch model called directly on the same rows; returns (accuracy, rows)."""
    frame = pd.read_parquet(dataset / "test.parquet")
    y_true = frame["label"].to_numpy()  # the classes are 0..9: their own indices
    parts = []
    with torch.no_grad():
        for start in range(0, len(frame), BATCH_ROWS):
            x = pre.transform(frame.iloc[start : start + BATCH_ROWS])
            parts.append(head(torch.from_numpy(x)).numpy())
    scalars, _, _ = classification_metrics(y_true, np.concatenate(parts), labels)
    return scalars["accuracy"], len(frame)


def ours(dataset: Path, model: Path) -> tuple[float, int]:
    """The evaluate step's core."""
    result: Evaluation = score(model, dataset)
    return result.metrics["accuracy"], result.test_rows


def main() -> None:
    """Builds the model and data, runs both sides alternately, prints the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    centers = rng.normal(0.0, 1.0, (CLASSES, FEATURES))
    train = make_table(50_000, rng, centers)
    test = make_table(args.rows, rng, centers)
    with tempfile.TemporaryDirectory(prefix="freshet-bench-evaluate-") as tmp:
        work = Path(tmp)
        dataset = write_dataset(work / "dataset", train, test)
        del test
        labels = [str(c) for c in range(CLASSES)]
        signature = Signature(
            task="classification",
            features=[Feature(name=f"f{i:02d}") for i in range(FEATURES)],
            labels=labels,
            framework=f"pytorch {torch.__version__}",
            producer="bench.evaluate",
            data_version="bench-v1",
        )
        pre = TablePreprocessor.fit(train, signature)
        head = make_head(pre.width)
        fit_head(head, pre.transform(train), train["label"].to_numpy())
        model = write_model(
            work / "model",
            attach_head(pre.to_onnx(), export(head, pre.width, work), PREPROCESSED),
            signature,
        )

        sides = {
            "ours": lambda: ours(dataset, model),
            "torch": lambda: baseline(dataset, pre, head, labels),
        }
        best = {name: float("inf") for name in sides}
        best_cpu = {name: float("inf") for name in sides}
        accuracy: dict[str, float] = {}
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for name in order:
                start, start_cpu = time.perf_counter(), time.process_time()
                accuracy[name], rows = sides[name]()
                seconds = time.perf_counter() - start
                cpu = time.process_time() - start_cpu
                best[name] = min(best[name], seconds)
                best_cpu[name] = min(best_cpu[name], cpu)
                print(
                    f"round {round_ + 1} {name:5s} {seconds:7.3f} s ({cpu:.3f} CPU s)", flush=True
                )

    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads); batch {BATCH_ROWS} rows"
    )
    print(f"{'':24s}{'seconds':>10s}{'rows/s':>14s}{'CPU s':>10s}{'accuracy':>10s}")
    titles = {"ours": "evaluate (onnxruntime)", "torch": "torch called directly"}
    for name in sides:
        print(
            f"{titles[name]:24s}{best[name]:10.3f}{rows / best[name]:14,.0f}"
            f"{best_cpu[name]:10.3f}{accuracy[name]:10.4f}"
        )
    print(
        f"ratio ours/torch: {best['ours'] / best['torch']:.2f} wall (goal <= 1.2), "
        f"{best_cpu['ours'] / best_cpu['torch']:.2f} CPU; best of {args.rounds} rounds"
    )


if __name__ == "__main__":
    main()
