"""The CustomJob methods of Vertex AI's JobService, for the Vertex fake: workers run here.

CreateCustomJob checks the job as Vertex does (a worker pool with a machine type and a
container image), stores it and starts the first pool's container, `command` + `args`, as a
local process: the images of these tests are this environment, so `python3` is this
interpreter. The job is RUNNING while the process runs, then SUCCEEDED or FAILED by its exit
status. `preempt_next` reclaims a worker the way a Spot VM's reclaim stops a container: SIGTERM
to the container's top process only, SIGKILL to everything left after the grace period; the
job then FAILED.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from google.cloud import aiplatform_v1 as v1

JOB_SERVICE = "google.cloud.aiplatform.v1.JobService"
JobState = v1.JobState
Unary = Callable[[str, Callable[[Any, grpc.ServicerContext], Any], Any, Any], Any]


@dataclass
class _Run:
    job: v1.CustomJob
    log: Path
    done: threading.Event


class FakeCustomJobs:
    """Stored CustomJobs and their worker processes."""

    def __init__(self, grace_s: float = 30.0) -> None:
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._preemptions: deque[Callable[[], bool]] = deque()
        self._count = 0
        self._logs = Path(tempfile.mkdtemp(prefix="fake-custom-jobs-"))

    def reset(self) -> None:
        """Forgets every job and pending preemption (running workers finish on their own)."""
        with self._lock:
            self._runs.clear()
            self._preemptions.clear()

    def preempt_next(self, when: Callable[[], bool]) -> None:
        """The next job's worker is reclaimed as soon as `when()` is true."""
        with self._lock:
            self._preemptions.append(when)

    def jobs(self) -> list[v1.CustomJob]:
        """The stored jobs, oldest first."""
        with self._lock:
            return [v1.CustomJob(run.job) for run in self._runs.values()]

    def log(self, name: str) -> str:
        """What a job's worker wrote (stdout and stderr)."""
        with self._lock:
            run = self._runs[name]
        run.done.wait(timeout=self.grace_s + 120)
        return run.log.read_text()

    def handler(self, unary: Unary) -> grpc.GenericRpcHandler:
        """The JobService handler, its methods wrapped by the fake's `unary`."""
        return grpc.method_handlers_generic_handler(
            JOB_SERVICE,
            {
                "CreateCustomJob": unary(
                    "CreateCustomJob",
                    self._create,
                    v1.CreateCustomJobRequest,
                    v1.CustomJob.serialize,
                ),
                "GetCustomJob": unary(
                    "GetCustomJob", self._get, v1.GetCustomJobRequest, v1.CustomJob.serialize
                ),
            },
        )

    def _create(
        self, request: v1.CreateCustomJobRequest, context: grpc.ServicerContext
    ) -> v1.CustomJob:
        job = v1.CustomJob(request.custom_job)
        pools = job.job_spec.worker_pool_specs
        if not pools or not pools[0].machine_spec.machine_type:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a worker pool needs a machine type")
        if not pools[0].container_spec.image_uri:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a worker pool needs an image")
        with self._lock:
            self._count += 1
            job.name = f"{request.parent}/customJobs/{self._count}"
            job.state = JobState.JOB_STATE_PENDING
            job.create_time = datetime.now(UTC)
            preempt = self._preemptions.popleft() if self._preemptions else None
            run = _Run(job=job, log=self._logs / f"{self._count}.log", done=threading.Event())
            self._runs[job.name] = run
            created = v1.CustomJob(job)
        threading.Thread(target=self._work, args=(run, preempt), daemon=True).start()
        return created

    def _get(self, request: v1.GetCustomJobRequest, context: grpc.ServicerContext) -> v1.CustomJob:
        with self._lock:
            run = self._runs.get(request.name)
            if run is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"CustomJob {request.name} not found.")
            return v1.CustomJob(run.job)

    def _work(self, run: _Run, preempt: Callable[[], bool] | None) -> None:
        container = run.job.job_spec.worker_pool_specs[0].container_spec
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            **{variable.name: variable.value for variable in container.env},
        }
        with self._lock:
            run.job.state = JobState.JOB_STATE_RUNNING
            run.job.start_time = datetime.now(UTC)
        preempted = False
        with run.log.open("w") as out:
            process = subprocess.Popen(
                [*container.command, *container.args],
                env=env,
                cwd=self._logs,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            while preempt is not None and process.poll() is None:
                if preempt():
                    preempted = True
                    self._reclaim(process)
                    break
                time.sleep(0.02)
            code = process.wait()
        with self._lock:
            run.job.end_time = datetime.now(UTC)
            if code == 0:
                run.job.state = JobState.JOB_STATE_SUCCEEDED
            else:
                run.job.state = JobState.JOB_STATE_FAILED
                reason = "was preempted" if preempted else f"exited with status {code}"
                run.job.error = {"code": 14 if preempted else 13, "message": f"Worker {reason}."}
        run.done.set()

    def _reclaim(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=self.grace_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
