"""Local pipeline overhead: `freshet run` vs the same core functions called in one process.

Runs, in one process and one sitting, on the same data and parameters:
  1. the compiled pipeline through the local runner (kfp.local, one subprocess per step), cold;
  2. the same again, warm (fetch, train and evaluate served from the cache);
  3. fetch -> train -> evaluate -> gate -> package -> verify -> register called directly,
     in this process (verify still starts `freshet serve` as a child, as the step does).
Prints wall seconds of each and the ratios pipeline/direct and warm/cold.

Usage: .venv/bin/python bench/pipeline.py [--data URI] [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from freshet.components.evaluate.core import score
from freshet.components.fetch.core import FetchConfig, fetch
from freshet.components.gate.core import judge
from freshet.components.gate.policy import GatePolicy
from freshet.components.package.core import package
from freshet.components.register.core import register
from freshet.components.train.config import TrainConfig
from freshet.components.train.core import train
from freshet.components.verify.core import VerifyConfig, verify
from freshet.config import load_settings
from freshet.registry import open_registry
from freshet.runners import RunRequest, submit


def direct(data: str, work: Path) -> float:
    started = time.perf_counter()
    schema = fetch(FetchConfig(uri=data), work / "dataset")
    train(work / "dataset", work / "model", TrainConfig())
    result = score(work / "model", work / "dataset")
    registry = open_registry(str(work / "registry"))
    policy = GatePolicy.parse(result.task)
    if judge(result, work / "dataset", registry, "model", policy).passed:
        package(work / "model", work / "dataset", work / "bundle")
        report = verify(work / "bundle", VerifyConfig(), run_id="bench")
        assert report.passed, report
        register(
            str(work / "registry"),
            "model",
            work / "model",
            result,
            schema.data_version,
            "bench",
        )
    return time.perf_counter() - started


def pipeline(data: str, root: Path) -> float:
    settings = load_settings(root=root, build_dir=root / "build")
    quiet = Console(stderr=True, quiet=True)
    started = time.perf_counter()
    result = submit(RunRequest(data_uri=data), settings, console=quiet)
    elapsed = time.perf_counter() - started
    assert result.status == "succeeded", result.summary
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample://digits")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold, warm, plain = [], [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            plain.append(direct(args.data, base / "direct"))
            cold.append(pipeline(args.data, base / "root"))
            warm.append(pipeline(args.data, base / "root"))
        print(
            f"round {i + 1}: direct {plain[-1]:.2f} s, cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s"
        )
    d, c, w = (statistics.median(x) for x in (plain, cold, warm))
    table = Table(
        title=f"local pipeline vs direct core calls ({args.data}, median of "
        f"{args.repeat}; {platform.machine()}, {__import__('os').cpu_count()} cores)"
    )
    for column in ("measure", "seconds", "ratio"):
        table.add_column(column)
    table.add_row("direct core calls (baseline)", f"{d:.2f}", "1.00")
    table.add_row("freshet run, cold", f"{c:.2f}", f"{c / d:.2f} x direct")
    table.add_row("freshet run, warm (cached)", f"{w:.2f}", f"{w / c:.2%} of cold")
    Console().print(table)


if __name__ == "__main__":
    main()
