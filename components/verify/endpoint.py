"""Verify on a Vertex AI endpoint: the serving image proves itself where it will run.

The candidate is uploaded to the Vertex AI Model Registry as a version with the alias
`candidate-<run>` (never `default`: the champion keeps it), deployed on a temporary endpoint
labelled `freshet-verify=<run>` on a small machine, and sent the same checks as the process
target: the golden rows through `predict` (gRPC), then the golden rows, objects, unseen
categories, malformed requests (4xx, never 5xx) and the latency series through `raw_predict`
(REST, the body as the container gets it). The endpoint is always undeployed and deleted,
also when a check, the deployment or the step fails or is cancelled (SIGTERM).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx

from freshet.components.package.core import BUNDLE_ONLY
from freshet.components.verify.answers import Check, compare, read_predictions
from freshet.components.verify.core import (
    VerificationReport,
    VerifyConfig,
    check_golden,
    check_malformed,
    check_unseen_category,
    measure_latency,
)
from freshet.components.verify.server import sigterm_cancels
from freshet.errors import BadInput, FreshetError
from freshet.gcp.endpoints import DEFAULT_MACHINE_TYPE, run_label, temporary_endpoint
from freshet.serving.signature import (
    GoldenSet,
    Signature,
    check_bundle_dir,
    check_golden_set,
    load_golden,
    load_signature,
)

TARGETS = ("process", "vertex-endpoint")


@dataclass(frozen=True)
class EndpointTarget:
    """Where and how the candidate is deployed for verification."""

    registry_uri: str
    model_name: str
    serving_image: str
    machine_type: str = DEFAULT_MACHINE_TYPE
    command: tuple[str, ...] = ()  # the container's command; empty: the image's entry point
    # The version verify uploads becomes the champion (register only moves the aliases), so it
    # carries the record register would give it.
    data_version: str = ""
    git_commit: str = ""
    template_version: str = ""


def candidate_alias(run_id: str) -> str:
    """`candidate-<run>` as a Vertex version alias: lowercase letters, digits and '-' only."""
    return re.sub(r"[^a-z0-9-]", "-", f"candidate-{run_label(run_id)}")[:128].rstrip("-")


def check_target(verify_target: str, registry_uri: str, serving_image: str) -> None:
    """Rejects a verification target that cannot work, naming the value.

    Raises:
        BadInput: An unknown target, or `vertex-endpoint` without a Vertex AI registry or
            without a serving image.
    """
    from freshet.registry.vertex import parse_uri

    if verify_target not in TARGETS:
        raise BadInput(
            f"verify_target must be one of {', '.join(TARGETS)}: '{verify_target}' is not."
        )
    if verify_target != "vertex-endpoint":
        return
    try:
        parse_uri(registry_uri)
    except FreshetError:
        raise BadInput(
            "verify_target = vertex-endpoint uploads the candidate to the Vertex AI Model "
            f"Registry, but registry_uri is '{registry_uri}' (use vertex or "
            "vertex://projects/P/locations/L?artifacts=gs://BUCKET/PATH)."
        ) from None
    if serving_image in ("", BUNDLE_ONLY):
        raise BadInput(
            "verify_target = vertex-endpoint deploys the serving image, but no image was built "
            f"(serving_image is '{serving_image}'): set serving_image, build_project and "
            "build_bucket."
        )


def init_vertex(registry_uri: str) -> None:
    """Points the Vertex SDK at the project and region the registry URI names, if any.

    A pipeline step has no freshet session; without them the SDK's defaults apply.
    """
    from google.cloud import aiplatform

    from freshet.registry.vertex import parse_uri

    location, _ = parse_uri(registry_uri)
    if location is not None:
        aiplatform.init(project=location.project, location=location.region)


class RawPredictClient:
    """The few `httpx.Client.post` calls the checks make, sent through `raw_predict`.

    The checks read status codes and bodies; `raw_predict` returns what the container said,
    through Vertex, so the same checks judge the image behind the endpoint.
    """

    def __init__(self, endpoint: Any, timeout_s: float) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s

    def post(
        self,
        route: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Posts a body (JSON or bytes); transport failures raise `httpx.TransportError`."""
        import json as jsonlib

        body = content if content is not None else jsonlib.dumps(json).encode()
        try:
            answer = self.endpoint.raw_predict(
                body=body,
                headers=headers or {"content-type": "application/json"},
                timeout=self.timeout_s,
            )
        except OSError as exc:  # requests' errors are OSErrors
            raise httpx.TransportError(f"raw_predict failed: {exc}") from None
        request = httpx.Request("POST", f"https://vertex{route}")
        return httpx.Response(answer.status_code, content=answer.content, request=request)


def check_predict(
    endpoint: Any, signature: Signature, golden: GoldenSet, tolerance: float
) -> Check:
    """The golden rows through the gRPC `predict`, answers compared as with raw requests."""
    from google.api_core.exceptions import GoogleAPIError

    examples = golden.examples[:50]
    try:
        answer = endpoint.predict(instances=[e.row(signature.feature_names) for e in examples])
    except GoogleAPIError as exc:
        return Check(name="golden_predict", passed=False, detail=f"predict failed: {exc}")
    body = json.dumps({"predictions": answer.predictions}).encode()
    response = httpx.Response(200, content=body, request=httpx.Request("POST", "https://vertex"))
    check = compare(read_predictions(response, signature), examples, signature, tolerance, "")
    return Check(name="golden_predict", passed=check.passed, detail=check.detail)


def verify_on_endpoint(
    bundle_dir: str | Path,
    target: EndpointTarget,
    config: VerifyConfig | None = None,
    run_id: str = "",
) -> VerificationReport:
    """Uploads the candidate, deploys it on a temporary endpoint, checks it, tears it down.

    Args:
        bundle_dir: A bundle written by the package step.
        target: The registry, model name, serving image and machine type.
        config: Tolerance, latency series and SLO (routes: the ones the model is uploaded with).
        run_id: The pipeline run (the endpoint's label and the candidate alias).

    Returns:
        The report; the endpoint is gone when this returns (or a check says it is not).

    Raises:
        BadInput: The bundle or the configuration is unusable.
        RegistryError: The candidate could not be uploaded.
        EndpointError: The endpoint could not be created.
    """
    from freshet.registry.vertex import UploadOptions, VertexRegistry

    config = config or VerifyConfig()
    config.check()
    path = check_bundle_dir(bundle_dir).resolve()
    signature = load_signature(path)
    golden = load_golden(path)
    check_golden_set(golden, signature, str(path))
    started_at = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    options = UploadOptions(
        serving_image=target.serving_image,
        health_route=config.health_route,
        predict_route=config.predict_route,
        command=target.command,
        git_commit=target.git_commit,
        template_version=target.template_version,
    )
    registry = VertexRegistry(target.registry_uri, options=options)
    alias = candidate_alias(run_id)
    checks: list[Check] = []
    report: dict[str, Any] = {}
    endpoint_name = ""
    teardown = "nothing was created"
    with sigterm_cancels():
        version = registry.register(
            target.model_name,
            path,
            data_version=target.data_version,
            run_id=run_id,
            aliases=(alias,),
        )
        model = registry.sdk_model(target.model_name, version.version)
        try:
            with temporary_endpoint(run_id, registry.location) as endpoint:
                endpoint_name = endpoint.resource_name
                deployed = _deploy(endpoint, model, target, run_id)
                checks.append(deployed)
                if deployed.passed:
                    report["startup_s"] = round(time.perf_counter() - t0, 3)
                    checks += _probe(endpoint, config, signature, golden, report)
            teardown = f"endpoint {endpoint_name} undeployed and deleted"
        except FreshetError as exc:
            if not endpoint_name:
                raise
            teardown = str(exc)
    checks.append(Check(name="teardown", passed=teardown.endswith("deleted"), detail=teardown))
    return VerificationReport(
        passed=all(c.passed for c in checks),
        bundle=str(path),
        command=[f"vertex-endpoint {endpoint_name}", f"{target.model_name}@{version.version}"],
        run_id=run_id,
        checks=checks,
        teardown=teardown,
        started_at=started_at,
        seconds=round(time.perf_counter() - t0, 3),
        **report,
    )


def _deploy(endpoint: Any, model: Any, target: EndpointTarget, run_id: str) -> Check:
    from google.api_core.exceptions import GoogleAPIError

    t0 = time.perf_counter()
    try:
        endpoint.deploy(
            model,
            deployed_model_display_name=f"freshet-verify-{run_label(run_id)}"[:128],
            machine_type=target.machine_type,
            min_replica_count=1,
            max_replica_count=1,
            traffic_percentage=100,
        )
    except GoogleAPIError as exc:
        return Check(name="deployed", passed=False, detail=f"deployment failed: {exc}")
    seconds = time.perf_counter() - t0
    return Check(
        name="deployed",
        passed=True,
        detail=f"deployed on {target.machine_type} after {seconds:.1f} s",
    )


def _probe(
    endpoint: Any,
    config: VerifyConfig,
    signature: Signature,
    golden: GoldenSet,
    report: dict[str, Any],
) -> list[Check]:
    t0 = time.perf_counter()
    checks = [check_predict(endpoint, signature, golden, config.tolerance)]
    # The checks are written against an HTTP client; raw_predict answers like one.
    client = cast(httpx.Client, RawPredictClient(endpoint, config.request_timeout_s))
    checks += check_golden(client, config, signature, golden)
    report["first_answer_s"] = round(time.perf_counter() - t0, 3)
    if signature.categorical_features:
        checks.append(check_unseen_category(client, config, signature, golden))
    checks.append(check_malformed(client, config, signature))
    latency_check, report["latency"] = measure_latency(client, config, signature, golden)
    checks.append(latency_check)
    return checks
