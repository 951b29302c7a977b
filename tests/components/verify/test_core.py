from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freshet.components.verify.answers import compare
from freshet.components.verify.core import VerificationReport, VerifyConfig, verify
from freshet.components.verify.malformed import malformed_requests
from freshet.components.verify.server import group_alive
from freshet.errors import BadInput
from freshet.serving.signature import Feature, GoldenExample, Signature, load_signature
from tests.fakes.bundles import (
    copy_bundle,
    corrupt_model,
    faulty_command,
    without_preprocessing,
    wrong_golden,
)

ALL_CHECKS = ["healthy", "golden", "golden_objects", "malformed", "alive", "latency", "teardown"]

REPO = Path(__file__).resolve().parents[3]


def checks(report: VerificationReport) -> dict[str, bool]:
    return {c.name: c.passed for c in report.checks}


def pgid_of(report: VerificationReport) -> int:
    return int(report.teardown.split("process group ")[1].split()[0].rstrip(";"))


def test_a_good_bundle_passes_every_check(bundle: Path, no_leftover_servers: list[int]) -> None:
    report = verify(bundle, VerifyConfig(latency_requests=50), run_id="run-1")
    no_leftover_servers.append(pgid_of(report))
    assert report.passed, report.summary()
    assert checks(report) == dict.fromkeys(ALL_CHECKS, True)
    assert report.latency is not None and report.latency.requests == 50
    assert report.first_answer_s is not None and report.startup_s is not None
    assert report.first_answer_s >= report.startup_s
    assert report.run_id == "run-1"
    assert report.command[-1] == str(bundle.resolve())
    assert "serve" in report.command
    assert "freshet.components.verify.image_env" in report.command  # only the image's imports


def test_a_mixed_table_bundle_passes_every_check(
    mixed_bundle: Path, no_leftover_servers: list[int]
) -> None:
    report = verify(mixed_bundle, VerifyConfig(latency_requests=20))
    no_leftover_servers.append(pgid_of(report))
    assert report.passed, report.summary()
    assert checks(report) == dict.fromkeys([*ALL_CHECKS, "unseen_category"], True)
    unseen = next(c for c in report.checks if c.name == "unseen_category")
    assert unseen.detail == (
        "a never-seen category and an instance of nulls got well-formed predictions"
    )
    malformed = next(c for c in report.checks if c.name == "malformed")
    assert malformed.detail == "20 malformed requests got 4xx"


def test_a_regression_bundle_passes_every_check(
    regression_bundle: Path, no_leftover_servers: list[int]
) -> None:
    report = verify(regression_bundle, VerifyConfig(latency_requests=20))
    no_leftover_servers.append(pgid_of(report))
    assert report.passed, report.summary()
    assert checks(report) == dict.fromkeys(ALL_CHECKS, True)
    golden = next(c for c in report.checks if c.name == "golden")
    assert golden.detail.startswith("40/40 values match, max relative difference")


def test_fault_exits_at_start(bundle: Path, tmp_path: Path, no_leftover_servers: list[int]) -> None:
    report = verify(corrupt_model(bundle, tmp_path / "b"), VerifyConfig(startup_timeout_s=30))
    no_leftover_servers.append(pgid_of(report))
    assert not report.passed
    assert checks(report) == {"healthy": False, "teardown": True}
    assert "exited with code 2" in report.checks[0].detail
    assert "cannot be loaded" in report.checks[0].detail
    assert report.server_exit_code == 2


def test_fault_never_healthy(bundle: Path, no_leftover_servers: list[int]) -> None:
    config = VerifyConfig(command=faulty_command("unhealthy"), startup_timeout_s=4)
    report = verify(bundle, config)
    no_leftover_servers.append(pgid_of(report))
    assert checks(report) == {"healthy": False, "teardown": True}
    assert "not healthy after 4 s (last: health answered 503)" in report.checks[0].detail
    assert not report.passed


def test_fault_graph_without_its_preprocessing(
    bundle: Path, tmp_path: Path, no_leftover_servers: list[int]
) -> None:
    broken = without_preprocessing(bundle, tmp_path / "b")
    report = verify(broken, VerifyConfig(latency_requests=5))
    no_leftover_servers.append(pgid_of(report))
    assert not report.passed
    result = checks(report)
    assert result["healthy"] and result["malformed"] and result["teardown"]
    assert not result["golden"]
    golden = next(c for c in report.checks if c.name == "golden")
    assert "labels match" in golden.detail and "expected" in golden.detail


def test_fault_golden_answers_disagree_with_the_model(
    regression_bundle: Path, tmp_path: Path, no_leftover_servers: list[int]
) -> None:
    broken = wrong_golden(regression_bundle, tmp_path / "b")
    report = verify(broken, VerifyConfig(latency_requests=5))
    no_leftover_servers.append(pgid_of(report))
    assert [c.name for c in report.checks if not c.passed] == ["golden", "golden_objects"]
    golden = next(c for c in report.checks if c.name == "golden")
    assert golden.detail.startswith("0/40 values match") and "expected" in golden.detail


def test_fault_unseen_categories_fail(mixed_bundle: Path, no_leftover_servers: list[int]) -> None:
    report = verify(
        mixed_bundle, VerifyConfig(command=faulty_command("unseen"), latency_requests=5)
    )
    no_leftover_servers.append(pgid_of(report))
    assert [c.name for c in report.checks if not c.passed] == ["unseen_category"]
    unseen = next(c for c in report.checks if c.name == "unseen_category")
    assert unseen.detail.startswith("a never-seen category: predict answered 500")
    assert "unknown category" in unseen.detail


def test_fault_slower_than_the_slo(bundle: Path, no_leftover_servers: list[int]) -> None:
    config = VerifyConfig(command=faulty_command("slow"), latency_requests=10, slo_p99_ms=40)
    report = verify(bundle, config)
    no_leftover_servers.append(pgid_of(report))
    assert not report.passed
    assert [c.name for c in report.checks if not c.passed] == ["latency"]
    assert report.latency is not None and report.latency.p50_ms >= 80


def test_fault_500_on_malformed_input(bundle: Path, no_leftover_servers: list[int]) -> None:
    report = verify(bundle, VerifyConfig(command=faulty_command("error500"), latency_requests=5))
    no_leftover_servers.append(pgid_of(report))
    assert not report.passed
    assert [c.name for c in report.checks if not c.passed] == ["malformed"]
    malformed = next(c for c in report.checks if c.name == "malformed")
    assert "not JSON -> 500" in malformed.detail
    assert "oversized batch -> 500" in malformed.detail


def test_helpers_the_server_spawned_are_killed_too(
    bundle: Path, no_leftover_servers: list[int]
) -> None:
    report = verify(bundle, VerifyConfig(command=faulty_command("orphan"), latency_requests=5))
    no_leftover_servers.append(pgid_of(report))
    assert report.passed, report.summary()
    assert not group_alive(pgid_of(report))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_cancel_by_sigterm_tears_the_server_down(bundle: Path) -> None:
    code = (
        "import sys; from freshet.components.verify.core import VerifyConfig, verify; "
        "from tests.fakes.bundles import faulty_command; "
        f"verify({str(bundle)!r}, VerifyConfig(command=faulty_command('unhealthy'), "
        "startup_timeout_s=120))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    servers: list[int] = []
    while not servers and time.monotonic() < deadline:
        servers = _children(process.pid)
        time.sleep(0.1)
    assert servers, "verify never started the server"
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0
    assert b"cancelled by SIGTERM" in err
    assert not group_alive(servers[0])


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (VerifyConfig(latency_requests=0), "latency_requests must be at least 1: 0"),
        (VerifyConfig(slo_p99_ms=0), "slo_p99_ms must be positive: 0"),
        (VerifyConfig(predict_route="predict"), "predict_route must start with '/'"),
    ],
)
def test_bad_config_is_refused_before_starting(
    bundle: Path, config: VerifyConfig, words: str
) -> None:
    with pytest.raises(BadInput, match=words):
        verify(bundle, config)


def test_golden_rows_that_do_not_fit_the_signature_are_bad_input(
    mixed_bundle: Path, tmp_path: Path
) -> None:
    broken = copy_bundle(mixed_bundle, tmp_path / "b")
    golden = json.loads((broken / "golden.json").read_text())
    del golden["examples"][2]["instance"]["plan"]
    (broken / "golden.json").write_text(json.dumps(golden))
    with pytest.raises(BadInput, match="Golden example 2 in '.*' lacks feature 'plan'"):
        verify(broken)


def test_an_old_golden_file_is_bad_input(bundle: Path, tmp_path: Path) -> None:
    broken = copy_bundle(bundle, tmp_path / "b")
    old = {"source": "", "examples": [{"instance": [0.0], "label": "0", "probabilities": {}}]}
    (broken / "golden.json").write_text(json.dumps(old))
    with pytest.raises(BadInput, match="golden.json' is not valid: task: Field required"):
        verify(broken)


def test_a_missing_bundle_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        verify(tmp_path / "nope")


def test_a_command_that_cannot_start_fails_the_report(bundle: Path, tmp_path: Path) -> None:
    report = verify(bundle, VerifyConfig(command=[str(tmp_path / "no-such-server")]))
    assert not report.passed
    assert checks(report) == {"healthy": False, "teardown": True}
    assert "could not start" in report.checks[0].detail


def test_log_message_reads_structured_lines() -> None:
    from freshet.components.verify.core import log_message

    assert log_message('{"severity": "ERROR", "message": "bind failed"}') == "bind failed"
    assert log_message("error: plain words") == "error: plain words"
    assert log_message("[1, 2]") == "[1, 2]"


REGRESSION = Signature(task="regression", features=[Feature(name="x")])


@pytest.mark.parametrize(
    ("got", "want", "passed"),
    [
        (1000.05, 1000.0, True),  # relative 5e-5
        (1000.2, 1000.0, False),  # relative 2e-4
        (0.00005, 0.0, True),  # near zero the difference is absolute
        (0.5002, 0.5, False),  # absolute 2e-4
        (-2e6, -2.0001e6, True),
    ],
)
def test_regression_tolerance_is_relative(got: float, want: float, passed: bool) -> None:
    example = GoldenExample(instance={"x": 1.0}, value=want)
    check = compare([got], [example], REGRESSION, 1e-4, "golden")
    assert check.passed is passed, check.detail


def test_malformed_cases_follow_the_signatures_kinds(mixed_bundle: Path, bundle: Path) -> None:
    mixed = dict(malformed_requests(load_signature(mixed_bundle), 10))
    assert mixed["a text value in a numeric feature"] == (
        b'{"instances": [["abc", 0.0, false, "a", "a"]]}'
    )
    assert mixed["a 2 in a boolean feature"] == b'{"instances": [[0.0, 0.0, 2, "a", "a"]]}'
    assert "a boolean in a categorical feature" in mixed
    digits = dict(malformed_requests(load_signature(bundle), 10))
    assert "a text value in a numeric feature" in digits
    assert "a 2 in a boolean feature" not in digits
    assert "a boolean in a categorical feature" not in digits
    assert "null value" not in digits  # null is a missing value, not a malformed one
