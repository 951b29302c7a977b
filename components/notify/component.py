"""KFP wrapper of the notify step: the pipeline's exit handler (never cached, never fails)."""

from typing import Any

from kfp import dsl


def notify(
    status: dsl.PipelineTaskFinalStatus,
    webhook_url: str,
    pipeline: str,
    run_id: str,
    report_url: str = "",
) -> str:
    """Posts the final state of a failed run to the webhook; returns what it did.

    `webhook_url` is a secret reference (resolved here, with the run's identity).
    """
    import logging

    from freshet.components.notify.core import FinalStatus
    from freshet.components.notify.core import notify as post
    from freshet.logs import setup_logging

    setup_logging(pipeline=pipeline, run_id=run_id, step="notify")
    outcome = post(
        FinalStatus(
            state=status.state,
            job_resource_name=status.pipeline_job_resource_name,
            task_name=status.pipeline_task_name,
            error_code=status.error_code,
            error_message=status.error_message,
        ),
        webhook_url,
        pipeline,
        run_id,
        report_url,
    )
    logging.getLogger("freshet.components.notify").info(
        "notify: %s (run %s)", outcome, status.state
    )
    return outcome


def make_notify(base_image: str) -> Any:
    """The notify component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(notify)
