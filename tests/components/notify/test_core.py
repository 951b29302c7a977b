from __future__ import annotations

import pytest

from freshet.components.notify.core import (
    FinalStatus,
    console_link,
    failed_steps,
    final_state_alert,
    notify,
)
from tests.fakes.webhook import webhook_receiver

VERTEX_FAILED = FinalStatus(
    state="FAILED",
    job_resource_name="projects/my-project/locations/us-central1/pipelineJobs/training-abc",
    task_name="exit-handler-1",
    error_code=9,
    error_message="The DAG failed because some tasks failed. The failed tasks are: [train].",
)


def test_a_successful_run_posts_nothing() -> None:
    with webhook_receiver() as hook:
        assert notify(FinalStatus(state="SUCCEEDED"), hook.url, "training", "r1") == "succeeded"
    assert hook.attempts == 0


def test_a_failed_vertex_run_names_the_step_error_and_console_link() -> None:
    alert = final_state_alert(VERTEX_FAILED, "training", "training-abc")
    assert alert is not None
    assert alert.step == "train"
    assert alert.title == "training run failed in step 'train'"
    assert alert.report == (
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/"
        "training-abc?project=my-project"
    )


def test_the_alert_reaches_the_webhook_once() -> None:
    with webhook_receiver() as hook:
        assert notify(VERTEX_FAILED, hook.url, "training", "training-abc") == "posted"
    [body] = hook.received
    assert "train" in body["text"] and "The failed tasks are: [train]" in body["text"]


def test_the_webhook_arrives_as_a_reference_resolved_in_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with webhook_receiver() as hook:
        monkeypatch.setenv(
            "FRESHET_SECRET_ALERTS_WEBHOOK_URL", hook.url
        )  # as kfp-kubernetes mounts
        assert notify(VERTEX_FAILED, "k8s://alerts-webhook/url", "training", "r") == "posted"
    assert len(hook.received) == 1


def test_an_unresolvable_reference_never_fails_the_step() -> None:
    assert notify(VERTEX_FAILED, "k8s://alerts-webhook/url", "training", "r") == "not delivered"


def test_an_unreachable_webhook_never_fails_the_step() -> None:
    with webhook_receiver(hang=True) as hook:
        outcome = notify(VERTEX_FAILED, hook.url, "training", "r", timeout_s=0.2, deadline_s=0.5)
    assert outcome == "not delivered"


def test_no_webhook_means_no_post() -> None:
    assert notify(VERTEX_FAILED, "", "training", "r") == "no webhook"


def test_parsing_of_engine_messages() -> None:
    assert failed_steps("The failed tasks are: [fetch, 'train'].") == ["fetch", "train"]
    assert failed_steps("Task exit-handler-1 failed.") == []
    assert failed_steps(None) == []
    assert console_link("local-pipeline-exit-handler-1") is None
    cancelled = final_state_alert(FinalStatus(state="CANCELLED"), "training", "r")
    assert cancelled is not None and "cancelled" in cancelled.title
