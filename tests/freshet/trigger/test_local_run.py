"""One message -> one real local pipeline run through `freshet.runners.submit` (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from freshet.trigger.handler import InboundMessage, TemplateFn, TriggerHandler
from tests.freshet.trigger.conftest import make_settings
from tests.freshet.trigger.messages import data_update


@pytest.mark.slow
def test_a_message_runs_the_local_pipeline_once(
    tmp_path: Path, build_dir: Path, templates: TemplateFn
) -> None:
    settings = make_settings(tmp_path / "root", build_dir)
    handler = TriggerHandler(settings, templates=templates)  # the real runners.submit
    body = data_update("sample://digits", "digits-v1", parameters={"epochs": 2})
    first = handler.handle(InboundMessage("m1", body))
    assert (first.action, first.status) == ("ack", "submitted"), first.reason
    summary_path = tmp_path / "root" / "runs" / str(first.run_id) / "summary.json"
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "succeeded", summary.get("error")
    assert summary["reason"] == "data-update:digits-v1"
    assert summary["parameters"]["epochs"] == 2

    again = handler.handle(InboundMessage("m2", body))
    assert (again.action, again.status, again.run_id) == ("ack", "already_exists", first.run_id)
    assert [p.name for p in (tmp_path / "root" / "runs").iterdir()] == [first.run_id]
