from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from freshet.config import load_settings
from freshet.errors import BadInput, PipelineFailed
from freshet.run_id import derive_run_id
from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.handler import CompiledTemplates, InboundMessage, TemplateFn, TriggerHandler
from freshet.trigger.ledger import Ledger
from tests.freshet.trigger.conftest import make_settings
from tests.freshet.trigger.messages import data_update, gcs_notification, schedule


def notification(name: str, generation: int, message_id: str = "m1") -> InboundMessage:
    data, attributes = gcs_notification("data-bucket", name, generation)
    return InboundMessage(message_id, data, attributes)


def test_first_delivery_submits_and_repeats_already_exist(
    handler: TriggerHandler, ledger: Ledger, templates: TemplateFn
) -> None:
    first = handler.handle(notification("incoming/a.csv", 7, "m1"))
    again = handler.handle(notification("incoming/a.csv", 7, "m2"))
    assert (first.action, first.status) == ("ack", "submitted")
    assert (again.action, again.status) == ("ack", "already_exists")
    version = templates("training")[1]
    expected = derive_run_id("training", version, "gs://data-bucket/incoming/a.csv#7")
    assert first.run_id == again.run_id == expected
    [run] = ledger.runs()
    assert run["data_uri"] == "gs://data-bucket/incoming/a.csv"
    assert run["source_message_id"] == "m1"
    assert run["reason"] == "gcs-notification:gs://data-bucket/incoming/a.csv#7"


def test_a_new_generation_is_a_new_run(handler: TriggerHandler, ledger: Ledger) -> None:
    handler.handle(notification("incoming/a.csv", 7))
    outcome = handler.handle(notification("incoming/a.csv", 8))
    assert outcome.status == "submitted"
    assert len(ledger.runs()) == 2


def test_concurrent_duplicates_start_one_run(handler: TriggerHandler, ledger: Ledger) -> None:
    messages = [notification("incoming/b.csv", 1, f"m{i}") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(handler.handle, messages))
    assert sorted(o.status for o in outcomes).count("submitted") == 1
    assert all(o.action == "ack" for o in outcomes)
    assert len(ledger.runs()) == 1


def test_ignored_messages_are_acked_without_submitting(
    handler: TriggerHandler, ledger: Ledger
) -> None:
    outcome = handler.handle(notification("elsewhere/a.csv", 1))
    assert (outcome.action, outcome.status) == ("ack", "ignored")
    assert "no route matches" in outcome.reason
    assert ledger.calls() == []


def test_poison_is_dead_lettered_with_reason(handler: TriggerHandler, ledger: Ledger) -> None:
    outcome = handler.handle(InboundMessage("m1", b"garbage"))
    assert (outcome.action, outcome.status) == ("dead_letter", "poison")
    assert "not valid JSON" in outcome.reason
    assert ledger.calls() == []


def test_unknown_pipeline_is_poison(handler: TriggerHandler, ledger: Ledger) -> None:
    outcome = handler.handle(InboundMessage("m1", schedule("no-such-pipeline")))
    assert outcome.action == "dead_letter"
    assert "Unknown pipeline 'no-such-pipeline'" in outcome.reason


def test_bad_input_from_the_runner_is_poison(
    tmp_path: Path, build_dir: Path, templates: TemplateFn
) -> None:
    def refuse(request: RunRequest) -> RunResult:
        raise BadInput("Unknown parameter 'epoch' for pipeline 'training'.")

    handler = TriggerHandler(make_settings(tmp_path, build_dir), submit=refuse, templates=templates)
    outcome = handler.handle(InboundMessage("m1", data_update("gs://b/x.csv", "v1")))
    assert (outcome.action, outcome.reason) == (
        "dead_letter",
        "Unknown parameter 'epoch' for pipeline 'training'.",
    )
    assert outcome.run_id is not None


def test_transient_failure_nacks_then_the_retry_submits(
    tmp_path: Path, build_dir: Path, templates: TemplateFn, ledger: Ledger
) -> None:
    failures = iter([ConnectionError("runner unreachable"), PipelineFailed("engine hiccup")])

    def flaky(request: RunRequest) -> RunResult:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return ledger.submit(request)

    handler = TriggerHandler(make_settings(tmp_path, build_dir), submit=flaky, templates=templates)
    message = InboundMessage("m1", data_update("gs://b/x.csv", "v1"))
    first, second, third = (handler.handle(message) for _ in range(3))
    assert (first.action, first.reason) == ("nack", "ConnectionError: runner unreachable")
    assert second.action == "nack"
    assert (third.action, third.status) == ("ack", "submitted")
    assert len(ledger.runs()) == 1


def test_schedule_redelivery_is_one_run_but_next_tick_is_another(
    handler: TriggerHandler, ledger: Ledger
) -> None:
    tick = schedule("training", epochs=2)
    statuses = [handler.handle(InboundMessage(mid, tick)).status for mid in ("t1", "t1", "t2")]
    assert statuses == ["submitted", "already_exists", "submitted"]
    assert [r["data_version"] for r in ledger.runs()] == ["schedule:t1", "schedule:t2"]


@pytest.mark.parametrize(("runner", "custom_job"), [("local", False), ("vertex", True)])
def test_spot_templates_are_compiled_for_the_runner_that_runs_them(
    tmp_path: Path, runner: str, custom_job: bool
) -> None:
    settings = load_settings(
        runner=runner,
        build_dir=tmp_path / "build",
        train_resources={"spot": True, "machine_type": "g2-standard-8"},
    )
    path, _ = CompiledTemplates(settings)("training")
    assert ("custom_job.launcher" in path.read_text()) is custom_job
