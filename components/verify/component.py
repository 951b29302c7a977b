"""KFP wrapper of the verify step: never cached (it checks the serving runtime of today)."""

from typing import Any

from kfp import dsl
from kfp.dsl import Artifact, Input, Metrics, Model, Output


def verify(
    bundle: Input[Model],
    run_id: str,
    serve_command: str,
    startup_timeout_s: float,
    latency_requests: int,
    latency_slo_p99_ms: float,
    tolerance: float,
    report: Output[Artifact],
    metrics: Output[Metrics],
    verify_target: str = "process",
    registry_uri: str = "",
    model_name: str = "",
    serving_image: str = "",
    verify_machine_type: str = "n1-standard-2",
    data_version: str = "",
    git_commit: str = "",
    template_version: str = "",
) -> str:
    """Serves the bundle, checks its answers, tears it down; fails the step on any failed check.

    `verify_target`: `process` serves the bundle here; `serve_command` (shell words, the
    bundle path appended) replaces the default: `freshet serve --host 127.0.0.1` with only the
    bundle's requirements importable. `vertex-endpoint` uploads the candidate to the Vertex AI
    Model Registry (`registry_uri`, `model_name`) with `serving_image` and checks it on a
    temporary endpoint (`verify_machine_type`), always deleted; that version carries
    `data_version`, `git_commit` and `template_version` (it is the one register promotes).
    Returns "passed".
    """
    import json
    import shlex

    from freshet.components.verify.core import VerifyConfig
    from freshet.components.verify.core import verify as run
    from freshet.errors import FreshetError

    config = VerifyConfig(
        command=shlex.split(serve_command),
        startup_timeout_s=startup_timeout_s,
        latency_requests=latency_requests,
        slo_p99_ms=latency_slo_p99_ms,
        tolerance=tolerance,
    )
    try:
        from freshet.components.verify.endpoint import check_target

        check_target(verify_target, registry_uri, serving_image)
        if verify_target == "vertex-endpoint":
            from freshet.components.verify.endpoint import (
                EndpointTarget,
                init_vertex,
                verify_on_endpoint,
            )

            init_vertex(registry_uri)
            target = EndpointTarget(
                registry_uri,
                model_name,
                serving_image,
                verify_machine_type,
                data_version=data_version,
                git_commit=git_commit,
                template_version=template_version,
            )
            result = verify_on_endpoint(bundle.path, target, config, run_id=run_id)
        else:
            result = run(bundle.path, config, run_id=run_id)
    except FreshetError as exc:
        raise SystemExit(f"verify: {exc}") from None
    with open(report.path, "w") as handle:
        handle.write(result.model_dump_json(indent=2))
    metrics.log_metric("passed", int(result.passed))
    metrics.log_metric("checks_failed", len(result.failures()))
    for name in ("startup_s", "first_answer_s"):
        value = getattr(result, name)
        if value is not None:
            metrics.log_metric(name, value)
    if result.latency is not None:
        for name in ("p50_ms", "p99_ms", "requests_per_s"):
            metrics.log_metric(f"latency_{name}", getattr(result.latency, name))
    # A metadata-only artifact gets a file too: kfp.local treats a missing file as a cache miss.
    with open(metrics.path, "w") as handle:
        json.dump(metrics.metadata, handle, sort_keys=True)
    report.metadata.update(
        {"passed": result.passed, "summary": result.summary(), "target": verify_target}
    )
    if not result.passed:
        raise SystemExit(f"verify: the serving artifact failed verification: {result.summary()}")
    print(f"verify: passed ({result.summary()}); report at {report.path}")
    return "passed"


def make_verify(base_image: str) -> Any:
    """The verify component for an image."""
    return dsl.component(base_image=base_image, install_kfp_package=False)(verify)
