"""The notify component as the exit handler of a real (tiny) kfp.local pipeline."""

from pathlib import Path

from kfp import dsl, local

from freshet.components.notify.component import make_notify
from tests.fakes.webhook import webhook_receiver


def fail(message: str) -> None:
    raise RuntimeError(message)


def test_the_exit_handler_posts_the_final_state_of_a_failed_run(tmp_path: Path) -> None:
    notify_op = make_notify("python:3.11-slim")
    fail_op = dsl.component(base_image="python:3.11-slim", install_kfp_package=False)(fail)

    @dsl.pipeline(name="tiny")
    def tiny(webhook_url: str, run_id: str) -> None:
        exit_task = notify_op(webhook_url=webhook_url, pipeline="tiny", run_id=run_id)
        with dsl.ExitHandler(exit_task):
            fail_op(message="disk full")

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "artifacts"),
        raise_on_error=False,
    )
    with webhook_receiver() as hook:
        tiny(webhook_url=hook.url, run_id="tiny-1")
    [body] = hook.received
    assert "tiny run failed" in body["text"]
    assert "tiny-1" in body["text"]
