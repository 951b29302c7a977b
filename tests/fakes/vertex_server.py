"""A local fake of the Vertex AI API: a real gRPC server over TLS.

It serves `google.cloud.aiplatform.v1.PipelineService`, `ScheduleService` and the CustomJob
methods of `JobService` (tests/fakes/vertex_jobs.py) with generic
handlers, (de)serialising with the proto-plus classes google-cloud-aiplatform ships, so the
unmodified SDK talks to it exactly as it talks to `REGION-aiplatform.googleapis.com`.

Behaviour kept from the real service: a repeated pipeline job id is ALREADY_EXISTS; a job
moves PENDING -> RUNNING -> SUCCEEDED (or a scripted sequence) one step after each
GetPipelineJob;
schedules are created ACTIVE, pause/resume flip their state and refuse the wrong one; delete
is a finished long-running operation carrying its (empty) response. Tests can inject errors
(`fail_next`) and read every request the server received (`requests`).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud import aiplatform_v1 as v1
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2

from tests.fakes.tls import SelfSigned
from tests.fakes.vertex_endpoints import FakeEndpoints
from tests.fakes.vertex_jobs import FakeCustomJobs
from tests.fakes.vertex_metadata import FakeMetadata
from tests.fakes.vertex_models import FakeModels
from tests.fakes.vertex_predict import FakePredictions

PIPELINE_SERVICE = "google.cloud.aiplatform.v1.PipelineService"
SCHEDULE_SERVICE = "google.cloud.aiplatform.v1.ScheduleService"
State = v1.PipelineState
DEFAULT_STATES = (
    State.PIPELINE_STATE_PENDING,
    State.PIPELINE_STATE_RUNNING,
    State.PIPELINE_STATE_SUCCEEDED,
)
_DONE = {
    State.PIPELINE_STATE_SUCCEEDED,
    State.PIPELINE_STATE_FAILED,
    State.PIPELINE_STATE_CANCELLED,
}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class _Job:
    job: v1.PipelineJob
    states: deque[v1.PipelineState] = field(default_factory=deque)


class FakeVertex:
    """The in-process fake: start it, point the SDK at `endpoint`, inspect `calls`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._schedules: dict[str, v1.Schedule] = {}
        self._scripts: dict[str, list[v1.PipelineState]] = {}
        # job id -> task name -> output name -> the artifact's metadata, recorded on success
        self._outputs: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._failures: dict[str, deque[tuple[grpc.StatusCode, str]]] = defaultdict(deque)
        self._next_schedule = 1
        self.calls: list[Call] = []
        self._server: grpc.Server | None = None
        self.port = 0
        self.custom_jobs = FakeCustomJobs()
        self.models = FakeModels()  # ModelService (tests/fakes/vertex_models.py)
        self.endpoints = FakeEndpoints(self.models)  # EndpointService, serving containers
        self.predictions = FakePredictions(self.endpoints)  # PredictionService
        self.metadata = FakeMetadata()  # MetadataService (experiments)

    @property
    def endpoint(self) -> str:
        """`host:port` for `aiplatform.init(api_endpoint=...)`."""
        return f"localhost:{self.port}"

    def start(self, tls: SelfSigned) -> None:
        """Serves on a free loopback port over TLS with `tls`."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        server.add_generic_rpc_handlers(self._handlers())
        credentials = grpc.ssl_server_credentials([(tls.key_pem, tls.cert_pem)])
        self.port = server.add_secure_port("localhost:0", credentials)
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stops serving."""
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    # Test controls ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forgets every job, schedule, script, injected failure and recorded call."""
        with self._lock:
            self._jobs.clear()
            self._schedules.clear()
            self._scripts.clear()
            self._outputs.clear()
            self._next_schedule = 1  # ids as a fresh project's, whatever ran before
            self._failures.clear()
            self.calls.clear()
        self.custom_jobs.reset()
        self.models.reset()
        self.endpoints.reset()
        self.metadata.reset()

    def script(
        self,
        job_id: str,
        states: Iterable[v1.PipelineState],
        outputs: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> None:
        """The states a job with `job_id` goes through: the first at creation, then the next
        one after each GetPipelineJob; with `outputs` ({task: {output: metadata}}), the output
        artifacts its tasks record when it succeeds, as Vertex lists them in task details."""
        with self._lock:
            self._scripts[job_id] = list(states)
            if outputs is not None:
                self._outputs[job_id] = outputs

    def fail_next(self, method: str, code: grpc.StatusCode, times: int = 1) -> None:
        """The next `times` calls of `method` (e.g. "CreatePipelineJob") fail with `code`."""
        with self._lock:
            for _ in range(times):
                self._failures[method].append((code, f"injected {code.name}"))

    def requests(self, method: str) -> list[Any]:
        """Every request of `method` received so far, in order."""
        with self._lock:
            return [c.request for c in self.calls if c.method == method]

    def job(self, job_id: str) -> v1.PipelineJob | None:
        """A stored job by id."""
        with self._lock:
            for name, entry in self._jobs.items():
                if name.rsplit("/", 1)[-1] == job_id:
                    return entry.job
        return None

    def schedules(self) -> list[v1.Schedule]:
        """The stored schedules."""
        with self._lock:
            return list(self._schedules.values())

    # Plumbing -----------------------------------------------------------------------------

    def _unary(
        self, method: str, fn: Callable[[Any, grpc.ServicerContext], Any], req: Any, resp: Any
    ) -> grpc.RpcMethodHandler:
        """A handler that records the call, plays injected failures and wants credentials."""

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = {k: str(v) for k, v in context.invocation_metadata()}
            with self._lock:
                self.calls.append(Call(method, request, metadata))
                failure = self._failures[method].popleft() if self._failures[method] else None
            if failure is not None:
                context.abort(*failure)
            if "authorization" not in metadata:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "no credentials sent")
            return fn(request, context)

        return grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=req.deserialize, response_serializer=resp
        )

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        unary = self._unary
        pipeline = {
            "CreatePipelineJob": unary(
                "CreatePipelineJob",
                self._create_job,
                v1.CreatePipelineJobRequest,
                v1.PipelineJob.serialize,
            ),
            "GetPipelineJob": unary(
                "GetPipelineJob", self._get_job, v1.GetPipelineJobRequest, v1.PipelineJob.serialize
            ),
            "ListPipelineJobs": unary(
                "ListPipelineJobs",
                self._list_jobs,
                v1.ListPipelineJobsRequest,
                v1.ListPipelineJobsResponse.serialize,
            ),
            "CancelPipelineJob": unary(
                "CancelPipelineJob",
                self._cancel_job,
                v1.CancelPipelineJobRequest,
                empty_pb2.Empty.SerializeToString,
            ),
        }
        schedule = {
            "CreateSchedule": unary(
                "CreateSchedule",
                self._create_schedule,
                v1.CreateScheduleRequest,
                v1.Schedule.serialize,
            ),
            "GetSchedule": unary(
                "GetSchedule", self._get_schedule, v1.GetScheduleRequest, v1.Schedule.serialize
            ),
            "ListSchedules": unary(
                "ListSchedules",
                self._list_schedules,
                v1.ListSchedulesRequest,
                v1.ListSchedulesResponse.serialize,
            ),
            "PauseSchedule": unary(
                "PauseSchedule",
                self._pause_schedule,
                v1.PauseScheduleRequest,
                empty_pb2.Empty.SerializeToString,
            ),
            "ResumeSchedule": unary(
                "ResumeSchedule",
                self._resume_schedule,
                v1.ResumeScheduleRequest,
                empty_pb2.Empty.SerializeToString,
            ),
            "DeleteSchedule": unary(
                "DeleteSchedule",
                self._delete_schedule,
                v1.DeleteScheduleRequest,
                operations_pb2.Operation.SerializeToString,
            ),
        }
        return [
            grpc.method_handlers_generic_handler(PIPELINE_SERVICE, pipeline),
            grpc.method_handlers_generic_handler(SCHEDULE_SERVICE, schedule),
            self.custom_jobs.handler(unary),
            self.models.handler(unary),
            self.endpoints.handler(unary),
            self.predictions.handler(unary),
            self.metadata.handler(unary),
        ]

    # PipelineService ----------------------------------------------------------------------

    def _create_job(
        self, request: v1.CreatePipelineJobRequest, context: grpc.ServicerContext
    ) -> v1.PipelineJob:
        job_id = request.pipeline_job_id
        name = f"{request.parent}/pipelineJobs/{job_id}"
        with self._lock:
            if name in self._jobs:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"PipelineJob {name} already exists.")
            job = v1.PipelineJob(request.pipeline_job)
            job.name = name
            job.create_time = datetime.now(UTC)
            states = deque(self._scripts.get(job_id, DEFAULT_STATES))
            job.state = states.popleft()
            run_context = self.metadata.pipeline_run_context(request.parent, job_id)
            job.job_detail = v1.PipelineJobDetail(pipeline_run_context=run_context)
            self._jobs[name] = _Job(job=job, states=states)
            return v1.PipelineJob(job)

    def _get_job(
        self, request: v1.GetPipelineJobRequest, context: grpc.ServicerContext
    ) -> v1.PipelineJob:
        with self._lock:
            entry = self._jobs.get(request.name)
            if entry is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"PipelineJob {request.name} not found.")
            seen = v1.PipelineJob(entry.job)
            if entry.states and entry.job.state not in _DONE:
                entry.job.state = entry.states.popleft()
                _update_tasks(entry.job, self._outputs.get(request.name.rsplit("/", 1)[-1], {}))
            return seen

    def _list_jobs(
        self, request: v1.ListPipelineJobsRequest, context: grpc.ServicerContext
    ) -> v1.ListPipelineJobsResponse:
        """The filter subset freshet sends (AND of `labels.K="V"`, `labels.K:*`, `state="S"`),
        `create_time` ordering and pages, as documented for ListPipelineJobs."""
        try:
            keep = _job_filter(request.filter)
        except ValueError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self._lock:
            jobs = [
                v1.PipelineJob(e.job)
                for n, e in self._jobs.items()
                if n.startswith(request.parent + "/") and keep(e.job)
            ]
        if request.order_by not in ("", "create_time", "create_time desc"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported order {request.order_by}")
        if request.order_by:
            jobs.sort(key=lambda j: j.create_time, reverse=request.order_by.endswith("desc"))
        start = int(request.page_token or 0)
        size = request.page_size or len(jobs)
        more = start + size < len(jobs)
        return v1.ListPipelineJobsResponse(
            pipeline_jobs=jobs[start : start + size],
            next_page_token=str(start + size) if more else "",
        )

    def _cancel_job(
        self, request: v1.CancelPipelineJobRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        with self._lock:
            entry = self._jobs.get(request.name)
            if entry is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"PipelineJob {request.name} not found.")
            entry.job.state = State.PIPELINE_STATE_CANCELLED
            entry.states.clear()
        return empty_pb2.Empty()

    # ScheduleService ----------------------------------------------------------------------

    def _create_schedule(
        self, request: v1.CreateScheduleRequest, context: grpc.ServicerContext
    ) -> v1.Schedule:
        schedule = v1.Schedule(request.schedule)
        if not schedule.cron or not schedule.create_pipeline_job_request.pipeline_job:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "cron and pipeline job are required")
        with self._lock:
            schedule.name = f"{request.parent}/schedules/{self._next_schedule}"
            self._next_schedule += 1
            schedule.state = v1.Schedule.State.ACTIVE
            schedule.create_time = datetime.now(UTC)
            self._schedules[schedule.name] = schedule
            return v1.Schedule(schedule)

    def _stored_schedule(self, name: str, context: grpc.ServicerContext) -> v1.Schedule:
        schedule = self._schedules.get(name)
        if schedule is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Schedule {name} not found.")
        return schedule

    def _get_schedule(
        self, request: v1.GetScheduleRequest, context: grpc.ServicerContext
    ) -> v1.Schedule:
        with self._lock:
            return v1.Schedule(self._stored_schedule(request.name, context))

    def _list_schedules(
        self, request: v1.ListSchedulesRequest, context: grpc.ServicerContext
    ) -> v1.ListSchedulesResponse:
        with self._lock:
            found = [s for n, s in self._schedules.items() if n.startswith(request.parent + "/")]
            return v1.ListSchedulesResponse(schedules=found)

    def _set_schedule_state(
        self,
        name: str,
        expected: v1.Schedule.State,
        new: v1.Schedule.State,
        context: grpc.ServicerContext,
    ) -> empty_pb2.Empty:
        with self._lock:
            schedule = self._stored_schedule(name, context)
            if schedule.state != expected:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Schedule {name} is {schedule.state.name}, not {expected.name}.",
                )
            schedule.state = new
        return empty_pb2.Empty()

    def _pause_schedule(
        self, request: v1.PauseScheduleRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        active, paused = v1.Schedule.State.ACTIVE, v1.Schedule.State.PAUSED
        return self._set_schedule_state(request.name, active, paused, context)

    def _resume_schedule(
        self, request: v1.ResumeScheduleRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        active, paused = v1.Schedule.State.ACTIVE, v1.Schedule.State.PAUSED
        return self._set_schedule_state(request.name, paused, active, context)

    def _delete_schedule(
        self, request: v1.DeleteScheduleRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        with self._lock:
            self._stored_schedule(request.name, context)
            del self._schedules[request.name]
        response = any_pb2.Any()
        response.Pack(empty_pb2.Empty())
        return operations_pb2.Operation(
            name=f"{request.name}/operations/delete", done=True, response=response
        )


def _job_filter(text: str) -> Callable[[v1.PipelineJob], bool]:
    """A predicate for a ListPipelineJobs filter; ValueError for what the fake does not know."""
    tests: list[Callable[[v1.PipelineJob], bool]] = []
    for clause in filter(None, (c.strip() for c in text.split(" AND "))):
        if match := re.fullmatch(r'labels\.([a-z0-9_-]+)="([^"]*)"', clause):
            key, value = match.groups()
            tests.append(lambda job, k=key, v=value: dict(job.labels).get(k) == v)
        elif match := re.fullmatch(r"labels\.([a-z0-9_-]+):\*", clause):
            present = match.group(1)
            tests.append(lambda job, k=present: k in dict(job.labels))
        elif match := re.fullmatch(r'state="(PIPELINE_STATE_[A-Z_]+)"', clause):
            wanted = match.group(1)
            tests.append(lambda job, state=wanted: job.state.name == state)
        else:
            raise ValueError(f"unsupported filter clause: {clause}")
    return lambda job: all(test(job) for test in tests)


def _task_names(spec: dict[str, Any]) -> list[str]:
    """Every task of a pipeline spec, those inside sub-DAGs (exit handler, conditions) too."""
    components = spec.get("components", {})

    def walk(dag: dict[str, Any]) -> list[str]:
        names: list[str] = []
        for name, task in dag.get("tasks", {}).items():
            names.append(name)
            inner = components.get(task.get("componentRef", {}).get("name", ""), {})
            names += walk(inner.get("dag", {}))
        return names

    return walk(spec.get("root", {}).get("dag", {}))


def _update_tasks(
    job: v1.PipelineJob, outputs: dict[str, dict[str, dict[str, Any]]] | None = None
) -> None:
    """Gives a job task details that follow its state, as Vertex reports them (with the
    scripted output artifacts of its tasks once it succeeded)."""
    tasks = _task_names(dict(job.pipeline_spec))
    task_state = v1.PipelineTaskDetail.State
    if job.state == State.PIPELINE_STATE_RUNNING:
        states = [task_state.SUCCEEDED] + [task_state.RUNNING] + [task_state.PENDING] * len(tasks)
    elif job.state == State.PIPELINE_STATE_SUCCEEDED:
        states = [task_state.SUCCEEDED] * len(tasks)
    elif job.state == State.PIPELINE_STATE_FAILED:
        states = [task_state.SUCCEEDED, task_state.FAILED] + [task_state.SKIPPED] * len(tasks)
        job.error = {"code": 9, "message": f"The DAG failed because task '{tasks[1]}' failed."}
    else:
        return
    job.job_detail = v1.PipelineJobDetail(
        pipeline_run_context=job.job_detail.pipeline_run_context,
        task_details=[
            v1.PipelineTaskDetail(task_id=i + 1, task_name=name, state=state)
            for i, (name, state) in enumerate(zip(tasks, states, strict=False))
        ],
    )
    if job.state != State.PIPELINE_STATE_SUCCEEDED:
        return
    root = job.runtime_config.gcs_output_directory.rstrip("/")
    for task in job.job_detail.task_details:
        for output, metadata in (outputs or {}).get(task.task_name, {}).items():
            artifact = v1.Artifact(uri=f"{root}/{task.task_name}/{output}", metadata=metadata)
            task.outputs[output] = v1.PipelineTaskDetail.ArtifactList(artifacts=[artifact])
