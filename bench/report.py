"""Times write_report for one run's summary in fresh interpreters: no cache, cache cold, cache warm.

Usage: .venv/bin/python bench/report.py SUMMARY.json [ROUNDS] [OLD_TREE]
Run from the summary's folder (link `build` there to the checkout's for the template's DAG).
Each measure is a new interpreter (as after a local run): the import of freshet.report and
everything write_report imports counts. OLD_TREE (a `git archive` of the code before) adds a
"before" row run with PYTHONPATH=OLD_TREE.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The local runner has freshet.summary (pydantic) loaded when it writes the report: so here.
CHILD = """
import json, sys, time
import freshet.summary
t0 = time.perf_counter()
from freshet.report import write_report
summary = json.loads(open(sys.argv[1]).read())
kwargs = {"figure_cache": sys.argv[3]} if sys.argv[3] else {}
write_report(summary, sys.argv[2], **kwargs)
import freshet
print(json.dumps({"s": time.perf_counter() - t0, "mpl": "matplotlib" in sys.modules,
                  "at": freshet.__file__}))
"""


def once(summary: str, cache: str, env: dict[str, str]) -> dict[str, float]:
    out = tempfile.mktemp(suffix=".html")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, summary, out, cache],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(summary).parent,
    )
    wall = time.perf_counter() - start
    row = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall": wall, "in": row["s"], "mpl": row["mpl"], "at": row["at"]}


def main() -> None:
    summary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    old = sys.argv[3] if len(sys.argv) > 3 else None
    env = dict(os.environ)
    rows: dict[str, list[dict[str, float]]] = {"before": [], "no cache": [], "cold": [], "warm": []}
    for _ in range(rounds):
        if old:
            rows["before"].append(once(summary, "", {**env, "PYTHONPATH": old}))
        rows["no cache"].append(once(summary, "", env))
        cache = tempfile.mkdtemp()
        rows["cold"].append(once(summary, cache, env))
        rows["warm"].append(once(summary, cache, env))
        shutil.rmtree(cache)
    for name, runs in rows.items():
        if not runs:
            continue
        wall = statistics.median(r["wall"] for r in runs)
        inner = statistics.median(r["in"] for r in runs)
        print(
            f"{name:9s} process {wall:5.2f} s  write_report (with its imports) {inner:5.2f} s  "
            f"matplotlib imported: {runs[0]['mpl']}  ({Path(runs[0]['at']).parent})"
        )


if __name__ == "__main__":
    main()
