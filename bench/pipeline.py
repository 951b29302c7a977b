"""Local pipeline overhead: `freshet run` vs the same core functions called in one process.

Each measure is a fresh interpreter timed from outside, as a user meets it (`time freshet run`
against `time python my_script.py`): interpreter start, imports, compile, preflights, the
steps, summary and report all count. Per round, on the same data and parameters:
  1. direct: fetch -> train -> evaluate -> gate -> package -> verify -> register called in
     one process (verify still starts `freshet serve` as a child, as the step does);
  2. the compiled pipeline through the local runner (kfp.local orchestrating, each Python
     step forked from the run's fork server), cold: a new root and build folder;
  3. the same again, warm (same root: the preflights' results, fetch, train and evaluate
     served from the cache; the gate finds the candidate is the champion's very model, so
     package, verify and register are skipped as `unchanged`);
  4. cold again with FRESHET_FORKSERVER=off (a fresh interpreter per step, as before).
Prints wall seconds of each, the ratios pipeline/direct and warm/cold, and the fixed cost of
one step: a component that does nothing, run by kfp.local forked and as a subprocess.

Usage: .venv/bin/python bench/pipeline.py [--data URI] [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SWITCH = "FRESHET_FORKSERVER"


def direct(data: str, work: Path) -> None:
    """The core functions a user would call from a script of their own."""
    from freshet.components.evaluate.core import score
    from freshet.components.fetch.core import FetchConfig, fetch
    from freshet.components.gate.core import judge
    from freshet.components.gate.policy import GatePolicy
    from freshet.components.package.core import package
    from freshet.components.register.core import register
    from freshet.components.train.config import TrainConfig
    from freshet.components.train.core import train
    from freshet.components.verify.core import VerifyConfig, verify
    from freshet.registry import open_registry

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


def pipeline(data: str, root: Path) -> None:
    """What `freshet run training --data DATA` does, with its root and build folder in `root`."""
    from freshet.config import load_settings
    from freshet.runners import RunRequest, submit

    settings = load_settings(root=root, build_dir=root / "build")
    quiet = Console(stderr=True, quiet=True)
    result = submit(RunRequest(data_uri=data), settings, console=quiet)
    assert result.status == "succeeded", result.summary


def timed(mode: str, data: str, work: Path, fork: bool = True) -> float:
    """Wall seconds of one measure in a fresh interpreter (this script with `--one MODE`)."""
    env = {**os.environ, SWITCH: "on" if fork else "off"}
    command = [sys.executable, __file__, "--one", mode, "--data", data, "--work", str(work)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def step_overhead(rounds: int = 5) -> tuple[float, float]:
    """Median seconds of a do-nothing component: forked, and in a fresh interpreter."""
    from kfp import dsl, local

    from freshet.runners.forkserver import forking_tasks

    def nothing() -> None:
        pass

    nothing.__annotations__ = {}  # this module's `from __future__ import annotations` makes strings
    task = dsl.component(base_image="python:3.11-slim", install_kfp_package=False)(nothing)

    def timed() -> float:
        started = time.perf_counter()
        task()
        return time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp, open(os.devnull, "w") as sink:
        local.init(local.SubprocessRunner(use_venv=False), pipeline_root=tmp)
        with contextlib.redirect_stdout(sink):
            with forking_tasks() as server:
                assert server is not None
                timed()  # the server's start
                forked = statistics.median(timed() for _ in range(rounds))
            fresh = statistics.median(timed() for _ in range(rounds))
    return forked, fresh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample://digits")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", choices=("direct", "pipeline"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one == "direct":
        return direct(args.data, args.work)
    if args.one == "pipeline":
        return pipeline(args.data, args.work)
    cold, warm, plain, before = [], [], [], []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            plain.append(timed("direct", args.data, base / "direct"))
            cold.append(timed("pipeline", args.data, base / "root"))
            warm.append(timed("pipeline", args.data, base / "root"))
            before.append(timed("pipeline", args.data, base / "fresh", fork=False))
        print(
            f"round {i + 1}: direct {plain[-1]:.2f} s, cold {cold[-1]:.2f} s, "
            f"warm {warm[-1]:.2f} s, cold without the fork server {before[-1]:.2f} s"
        )
    forked, fresh = step_overhead()
    d, c, w, b = (statistics.median(x) for x in (plain, cold, warm, before))
    table = Table(
        title=f"local pipeline vs direct core calls ({args.data}, median of "
        f"{args.repeat}, each a fresh interpreter; {platform.machine()}, {os.cpu_count()} cores)"
    )
    for column in ("measure", "seconds", "ratio"):
        table.add_column(column)
    table.add_row("direct core calls, one script (baseline)", f"{d:.2f}", "1.00")
    table.add_row("freshet run, cold", f"{c:.2f}", f"{c / d:.2f} x direct")
    table.add_row("freshet run, warm (cached)", f"{w:.2f}", f"{w / c:.2%} of cold")
    table.add_row(
        "freshet run, cold, fresh interpreter per step", f"{b:.2f}", f"{b / d:.2f} x direct"
    )
    table.add_row("one do-nothing step, forked", f"{forked:.3f}", "fixed cost per step")
    table.add_row(
        "one do-nothing step, fresh interpreter", f"{fresh:.3f}", f"{fresh / forked:.1f} x forked"
    )
    Console().print(table)


if __name__ == "__main__":
    main()
