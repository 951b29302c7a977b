"""Verify: start the built serving artifact, ask it known questions, always tear it down.

Checks, in order (a server that never becomes healthy fails the first and skips the rest):

1. `healthy`: the health route answers 200 before the startup timeout, the process alive.
2. `golden`: the golden rows, raw, as batches of lists in signature order, get the answers
   recorded at packaging: classification the same labels and probabilities within the
   tolerance; regression values within the tolerance relative to max(1, |expected|).
3. `golden_objects`: a few golden rows as objects keyed by feature name, same answers.
4. `unseen_category` (models with categorical features): a category never seen in training,
   and an instance of nulls only, each get 200 with a well-formed prediction.
5. `malformed`: malformed requests each get a 4xx (never a 5xx, never a crash).
6. `alive`: the server is still running after all of that.
7. `latency`: p99 over N sequential single-instance requests within the SLO.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from freshet.components.verify.answers import Check, compare, read_predictions, well_formed
from freshet.components.verify.malformed import malformed_requests
from freshet.components.verify.server import (
    ServerProcess,
    default_command,
    group_alive,
    running_server,
    sigterm_cancels,
)
from freshet.errors import BadInput, FreshetError
from freshet.serving.parse import MAX_INSTANCES
from freshet.serving.signature import (
    GoldenSet,
    Signature,
    check_bundle_dir,
    check_golden_set,
    load_golden,
    load_signature,
)

UNSEEN_CATEGORY = "freshet-verify-never-seen-category"


class VerificationFailed(FreshetError):
    """At least one check failed; the report says which and why."""


@dataclass(frozen=True)
class VerifyConfig:
    """How to start the artifact and what to demand of it."""

    command: list[str] = field(default_factory=list)
    startup_timeout_s: float = 20.0
    request_timeout_s: float = 10.0
    tolerance: float = 1e-4
    latency_requests: int = 200
    slo_p99_ms: float = 100.0
    max_instances: int = MAX_INSTANCES
    health_route: str = "/health"
    predict_route: str = "/predict"

    def check(self) -> None:
        """Rejects values verification cannot work with, naming them."""
        positive = ("startup_timeout_s", "request_timeout_s", "tolerance", "slo_p99_ms")
        for name in positive:
            if not getattr(self, name) > 0:
                raise BadInput(f"{name} must be positive: {getattr(self, name)}.")
        if self.latency_requests < 1:
            raise BadInput(f"latency_requests must be at least 1: {self.latency_requests}.")
        for name in ("health_route", "predict_route"):
            if not getattr(self, name).startswith("/"):
                raise BadInput(f"{name} must start with '/': {getattr(self, name)!r}.")


class Latency(BaseModel):
    """Sequential single-instance request latency, client side."""

    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    requests_per_s: float
    slo_p99_ms: float


class VerificationReport(BaseModel):
    """Everything verification found; `passed` only when every check passed."""

    passed: bool
    bundle: str
    command: list[str]
    run_id: str = ""
    checks: list[Check]
    startup_s: float | None = None
    first_answer_s: float | None = None
    latency: Latency | None = None
    server_exit_code: int | None = None
    teardown: str = ""
    server_log_tail: list[str] = []
    started_at: str
    seconds: float

    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        """One line: passed, or which checks failed and why."""
        failed = self.failures()
        if not failed:
            return f"all {len(self.checks)} checks passed"
        return "; ".join(f"{c.name}: {c.detail}" for c in failed)


def log_message(line: str) -> str:
    """The message of a structured (JSON) log line, or the line itself."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    return str(entry.get("message", line)) if isinstance(entry, dict) else line


def wait_healthy(
    server: ServerProcess, client: httpx.Client, route: str, timeout_s: float
) -> Check:
    """Polls the health route until 200, the process exits, or the timeout passes."""
    if server.start_error:
        return Check(name="healthy", passed=False, detail=server.start_error)
    deadline = server.started_at + timeout_s
    last = "no answer"
    while time.perf_counter() < deadline:
        code = server.poll()
        if code is not None:
            tail = server.log_tail(3)
            said = f": {log_message(tail[-1])}" if tail else ""
            return Check(
                name="healthy", passed=False, detail=f"the server exited with code {code}{said}"
            )
        try:
            response = client.get(route, timeout=1.0)
            if response.status_code == 200:
                seconds = time.perf_counter() - server.started_at
                return Check(name="healthy", passed=True, detail=f"healthy after {seconds:.2f} s")
            last = f"health answered {response.status_code}"
        except httpx.TransportError as exc:
            last = type(exc).__name__
        time.sleep(0.05)
    return Check(
        name="healthy",
        passed=False,
        detail=f"not healthy after {timeout_s:g} s (last: {last})",
    )


def post(client: httpx.Client, route: str, payload: Any) -> httpx.Response | str:
    """POSTs JSON; a transport failure comes back as a sentence instead of an exception."""
    try:
        return client.post(route, json=payload)
    except httpx.HTTPError as exc:
        return f"predict request failed: {type(exc).__name__} {exc}".strip()


def check_golden(
    client: httpx.Client, config: VerifyConfig, signature: Signature, golden: GoldenSet
) -> list[Check]:
    """The golden rows as batches of lists, then a few as objects keyed by feature name."""
    examples, names = golden.examples, signature.feature_names
    got: list[Any] = []
    problem = None
    for start in range(0, len(examples), config.max_instances):
        part = examples[start : start + config.max_instances]
        payload = {"instances": [e.row(names) for e in part]}
        answer = read_predictions(post(client, config.predict_route, payload), signature)
        if isinstance(answer, str):
            problem = answer
            break
        got += answer
    checks = [compare(problem or got, examples, signature, config.tolerance, "golden")]
    few = examples[:5]
    objects = {"instances": [e.instance for e in few]}
    answer = read_predictions(post(client, config.predict_route, objects), signature)
    checks.append(compare(answer, few, signature, config.tolerance, "golden_objects"))
    return checks


def check_unseen_category(
    client: httpx.Client, config: VerifyConfig, signature: Signature, golden: GoldenSet
) -> Check:
    """A never-seen category and an all-null instance must each get a well-formed answer."""
    unseen = dict(golden.examples[0].instance)
    for name in signature.categorical_features:
        unseen[name] = UNSEEN_CATEGORY
    cases = {
        "a never-seen category": unseen,
        "an instance of nulls": dict.fromkeys(signature.feature_names),
    }
    for case, instance in cases.items():
        payload = {"instances": [instance]}
        answer = read_predictions(post(client, config.predict_route, payload), signature)
        problem = answer if isinstance(answer, str) else ""
        if not problem and len(answer) != 1:
            problem = f"{len(answer)} predictions for 1 instance"
        problem = problem or well_formed(answer[0], signature)
        if problem:
            return Check(name="unseen_category", passed=False, detail=f"{case}: {problem}")
    return Check(
        name="unseen_category",
        passed=True,
        detail=f"{' and '.join(cases)} got well-formed predictions",
    )


def check_malformed(client: httpx.Client, config: VerifyConfig, signature: Signature) -> Check:
    """Every malformed request must get a 4xx."""
    bad = []
    cases = malformed_requests(signature, config.max_instances)
    for case, body in cases:
        try:
            response = client.post(
                config.predict_route, content=body, headers={"content-type": "application/json"}
            )
            status = str(response.status_code)
            if not 400 <= response.status_code < 500:
                bad.append(f"{case} -> {status}")
        except httpx.HTTPError as exc:
            bad.append(f"{case} -> {type(exc).__name__}")
    if bad:
        return Check(name="malformed", passed=False, detail="not a 4xx: " + ", ".join(bad))
    return Check(name="malformed", passed=True, detail=f"{len(cases)} malformed requests got 4xx")


def measure_latency(
    client: httpx.Client, config: VerifyConfig, signature: Signature, golden: GoldenSet
) -> tuple[Check, Latency]:
    """Sequential single-instance requests cycling through the golden inputs."""
    import numpy as np

    names = signature.feature_names
    bodies = [json.dumps({"instances": [e.row(names)]}).encode() for e in golden.examples]
    times = []
    errors = 0
    started = time.perf_counter()
    for i in range(config.latency_requests):
        body = bodies[i % len(bodies)]
        t0 = time.perf_counter()
        try:
            response = client.post(
                config.predict_route, content=body, headers={"content-type": "application/json"}
            )
            errors += response.status_code != 200
        except httpx.HTTPError:
            errors += 1
            times.append((time.perf_counter() - t0) * 1000)
            break  # a server that stopped answering is not worth timing further
        times.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    ms = np.asarray(times)
    latency = Latency(
        requests=len(times),
        errors=errors,
        p50_ms=round(float(np.percentile(ms, 50)), 3),
        p99_ms=round(float(np.percentile(ms, 99)), 3),
        mean_ms=round(float(ms.mean()), 3),
        requests_per_s=round(len(times) / elapsed, 1),
        slo_p99_ms=config.slo_p99_ms,
    )
    ok = errors == 0 and latency.p99_ms <= config.slo_p99_ms
    detail = (
        f"p50 {latency.p50_ms:.2f} ms, p99 {latency.p99_ms:.2f} ms over {latency.requests} "
        f"requests (SLO p99 <= {config.slo_p99_ms:g} ms)"
    )
    if errors:
        detail += f"; {errors} requests failed"
    return Check(name="latency", passed=ok, detail=detail), latency


def verify(
    bundle_dir: str | Path, config: VerifyConfig | None = None, run_id: str = ""
) -> VerificationReport:
    """Starts the bundle's server, runs every check and tears the server down.

    Args:
        bundle_dir: A bundle written by the package step.
        config: The server command, timeouts, tolerance and SLO.
        run_id: The pipeline run, for the record.

    Returns:
        The report (check `passed`); the server's process group is gone when this returns.

    Raises:
        BadInput: The bundle or the configuration is unusable.
    """
    config = config or VerifyConfig()
    config.check()
    path = check_bundle_dir(bundle_dir).resolve()
    signature = load_signature(path)
    golden = load_golden(path)
    check_golden_set(golden, signature, str(path))
    command = [*(config.command or default_command(path)), str(path)]
    started_at = datetime.now(UTC).isoformat()
    t0 = time.perf_counter()
    checks: list[Check] = []
    report: dict[str, Any] = {}
    env = {"AIP_HEALTH_ROUTE": config.health_route, "AIP_PREDICT_ROUTE": config.predict_route}
    with (
        sigterm_cancels(),
        running_server(command, env) as server,
        httpx.Client(base_url=server.base_url, timeout=config.request_timeout_s) as client,
    ):
        healthy = wait_healthy(server, client, config.health_route, config.startup_timeout_s)
        checks.append(healthy)
        if healthy.passed:
            report["startup_s"] = round(time.perf_counter() - server.started_at, 3)
            golden_checks = check_golden(client, config, signature, golden)
            report["first_answer_s"] = round(time.perf_counter() - server.started_at, 3)
            checks += golden_checks
            if signature.categorical_features:
                checks.append(check_unseen_category(client, config, signature, golden))
            checks.append(check_malformed(client, config, signature))
            code = server.poll()
            checks.append(
                Check(
                    name="alive",
                    passed=code is None,
                    detail="still running" if code is None else f"exited with code {code}",
                )
            )
            if code is None:
                latency_check, report["latency"] = measure_latency(
                    client, config, signature, golden
                )
                checks.append(latency_check)
    gone = server.pgid is None or not group_alive(server.pgid)
    checks.append(Check(name="teardown", passed=gone, detail=server.teardown))
    return VerificationReport(
        passed=all(c.passed for c in checks),
        bundle=str(path),
        command=command,
        run_id=run_id,
        checks=checks,
        server_exit_code=server.exit_code,
        teardown=server.teardown,
        server_log_tail=server.tail,
        started_at=started_at,
        seconds=round(time.perf_counter() - t0, 3),
        **report,
    )
