"""The champion moves only after the serving artifact answered correctly (whole pipeline)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from freshet.components.verify.server import group_alive
from freshet.registry import LocalRegistry
from tests.fakes.bundles import faulty_command
from tests.integration.helpers import freshet, steps_by_name, summary_of

pytestmark = pytest.mark.slow
PARAMS = ("-p", "epochs=4", "-p", "hidden_units=32", "-p", "gate_threshold=0.5",
          "-p", "max_regression=1.0", "-p", "latency_requests=20")  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, trained: tuple[Path, Path]) -> Path:
    """A root whose registry already has a champion (v1)."""
    root = tmp_path_factory.mktemp("serving-root")
    LocalRegistry(root / "registry").register(
        "model", trained[1], run_id="earlier", metrics={"accuracy": 0.5}
    )
    return root


def champion(root: Path) -> Any:
    return json.loads((root / "registry/model/aliases/champion.json").read_text())


@pytest.fixture(scope="module")
def faulty_run(root: Path) -> dict[str, Any]:
    command = shlex.join(faulty_command("error500"))
    result = freshet("run", "--root", str(root), *PARAMS, "-p", f"serve_command={command}")
    assert result.returncode == 1, result.stdout + result.stderr
    return summary_of(root, result.stdout)


def test_a_faulty_artifact_fails_the_run_and_keeps_the_champion(
    faulty_run: dict[str, Any], root: Path
) -> None:
    assert faulty_run["status"] == "failed"
    assert faulty_run["verification"] == "failed"
    steps = steps_by_name(faulty_run)
    assert steps["gate"]["status"] == "succeeded"
    assert steps["package"]["status"] == "succeeded"
    assert steps["verify"]["status"] == "failed"
    assert steps["register"]["status"] != "succeeded"
    assert "malformed" in faulty_run["error"]
    report = json.loads(Path(faulty_run["artifacts"]["verification_report"]).read_text())
    assert not report["passed"]
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert failed == ["malformed"]
    assert report["command"][:2] == faulty_command("error500")[:2]
    pgid = int(report["teardown"].split("process group ")[1].split()[0])
    assert not group_alive(pgid)
    assert Path(faulty_run["artifacts"]["bundle"], "model.onnx").is_file()
    assert champion(root) == {"version": 1}
    assert [v.version for v in LocalRegistry(root / "registry").versions("model")] == [1]


def test_the_real_server_passes_and_moves_the_champion(
    faulty_run: dict[str, Any], root: Path
) -> None:
    result = freshet("run", "--root", str(root), *PARAMS)
    assert result.returncode == 0, result.stdout + result.stderr
    good = summary_of(root, result.stdout)
    assert good["verification"] == "passed"
    steps = steps_by_name(good)
    assert steps["train"]["cached"] and steps["package"]["cached"]  # same inputs as the fault run
    assert not steps["verify"]["cached"] and steps["register"]["status"] == "succeeded"
    assert good["artifacts"]["bundle"] == faulty_run["artifacts"]["bundle"]
    report = json.loads(Path(good["artifacts"]["verification_report"]).read_text())
    assert report["passed"] and report["run_id"] == good["run_id"]
    assert report["latency"]["requests"] == 20
    assert champion(root) == {"version": 2}
    assert good["champion"]["promoted_by_this_run"]
    assert "verification: passed" in result.stdout
