"""KFP wrapper of the notify step: the pipeline's exit handler (never cached, never fails)."""

from typing import Any

from kfp import dsl


def notify(
    status: dsl.PipelineTaskFinalStatus,
    webhook_url: str,
    pipeline: str,
    run_id: str,
    report_url: str = "",
    verify_target: str = "process",
    registry_uri: str = "",
) -> str:
    """Posts the final state of a failed run to the webhook; returns what it did.

    `webhook_url` is a secret reference (resolved here, with the run's identity). A run that
    did not succeed and verified on a Vertex AI endpoint (`verify_target`) first has the
    endpoints labelled with its run id removed; that never fails this task.
    """
    import logging

    from freshet.components.notify.core import FinalStatus, cleanup_verification
    from freshet.components.notify.core import notify as post
    from freshet.logs import setup_logging

    setup_logging(pipeline=pipeline, run_id=run_id, step="notify")
    log = logging.getLogger("freshet.components.notify")
    final = FinalStatus(
        state=status.state,
        job_resource_name=status.pipeline_job_resource_name,
        task_name=status.pipeline_task_name,
        error_code=status.error_code,
        error_message=status.error_message,
    )
    if verify_target != "process":
        log.info("notify: %s", cleanup_verification(final, verify_target, registry_uri, run_id))
    outcome = post(
        final,
        webhook_url,
        pipeline,
        run_id,
        report_url,
    )
    log.info("notify: %s (run %s)", outcome, status.state)
    return outcome


def make_notify(base_image: str) -> Any:
    """The notify component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(notify)
