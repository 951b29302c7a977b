"""A fake Kubeflow Pipelines API server (REST, v2beta1) that really runs what it is given.

It serves the endpoints `kfp.Client` 2.17 calls (healthz, experiments, pipelines upload and
upload_version, runs create/get/list/terminate, recurringruns create/get/list/enable/disable/
delete) with snake_case JSON as the `kfp_server_api` models read it (the recurring-run list
under `recurringRuns`, as the real server's grpc-gateway sends it). A request without the
expected bearer token gets 401. Each created run's pipeline spec (sent inline, or the stored
pipeline version's) is executed with kfp.local in a subprocess of this interpreter
(`kfp_execute.py`), moving the run PENDING -> RUNNING -> SUCCEEDED/FAILED; terminate kills it
and the run ends CANCELED. With `execute=False` runs succeed without executing (cheap runs for
tests that count runs, not what they do).

A run's task details list every task kfp.local executed, nested ones (inside a sub-DAG or a
condition) with their `parent_task_id`, and each task's output artifacts as `outputs: {name:
{artifact_ids: [ID]}}`. `GET /apis/v2beta1/artifacts/ID` serves them as the `ArtifactService`
of Kubeflow's Data Science Pipelines backend does (`view=DOWNLOAD` adds a `download_url`,
signed and short-lived, that this server answers without the bearer token, refusing a bad or
expired signature with 403 and a request carrying credentials with 400, as S3 does; see
`kfp_artifacts.py`). With
`artifact_api=False` that path answers 404 as upstream KFP 2.x does; with
`signed_urls=False` the artifact has its `uri` but no `download_url`.

Each output artifact's `uri` is where upstream's driver puts it,
`<pipeline_root>/<pipeline name>/<run id>/<task name>/<uuid4>/<output name>` (kubeflow/pipelines
2.17.0 `backend/src/v2/driver/driver.go` `provisionOutputs`), and with `storage_endpoint` set
(a Cloud Storage emulator) a run whose pipeline root is `gs://` has its task's files uploaded
there, as upstream's launcher does, before the run ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from tests.fakes.kfp_artifacts import DOWNLOAD_PATH, Artifacts

PREFIX = "/apis/v2beta1"
EXECUTOR = Path(__file__).with_name("kfp_execute.py")
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiError(Exception):
    """An answer other than 200: HTTP status and google.rpc.Status code and message."""

    def __init__(self, status: HTTPStatus, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Run:
    body: dict[str, Any]
    spec: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    cancelled: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class FakeKfp:
    """The server's state: experiments, pipelines and versions, runs, recurring runs."""

    def __init__(
        self,
        token: str | None = "fake-token",
        execute: bool = True,
        artifact_api: bool = True,
        signed_urls: bool = True,
        storage_endpoint: str | None = None,
    ) -> None:
        self.token = token
        self.storage_endpoint = storage_endpoint  # gs:// pipeline roots are this emulator
        self.execute = execute
        self.artifact_api = artifact_api
        self.artifacts = Artifacts()
        self.artifacts.signed_urls = signed_urls
        self.multi_user = False
        self.refuse_runs = 0  # the next N run creations answer 503
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self._lock = threading.Lock()
        self.experiments: dict[str, dict[str, Any]] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, _Run] = {}
        self.recurring: dict[str, dict[str, Any]] = {}
        self._work = Path(tempfile.mkdtemp(prefix="fake-kfp-"))

    # -- experiments --------------------------------------------------------------------
    def create_experiment(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("display_name")
        if not name:
            raise ApiError(HTTPStatus.BAD_REQUEST, 3, "Experiment display_name is required.")
        with self._lock:
            if any(e["display_name"] == name for e in self.experiments.values()):
                raise ApiError(HTTPStatus.CONFLICT, 6, f"Experiment {name} already exists.")
            experiment = {
                "experiment_id": str(uuid.uuid4()),
                "display_name": name,
                "description": body.get("description") or "",
                "namespace": body.get("namespace") or "",
                "created_at": _now(),
                "storage_state": "AVAILABLE",
            }
            self.experiments[experiment["experiment_id"]] = experiment
            return experiment

    # -- pipelines ----------------------------------------------------------------------
    def upload(self, name: str, spec: dict[str, Any], description: str) -> dict[str, Any]:
        with self._lock:
            if any(p["display_name"] == name for p in self.pipelines.values()):
                raise ApiError(HTTPStatus.CONFLICT, 6, f"Pipeline {name} already exists.")
            pipeline = {
                "pipeline_id": str(uuid.uuid4()),
                "display_name": name,
                "name": name,
                "description": description,
                "created_at": _now(),
            }
            self.pipelines[pipeline["pipeline_id"]] = pipeline
        self.upload_version(pipeline["pipeline_id"], name, spec, description)
        return pipeline

    def upload_version(
        self, pipeline_id: str, name: str, spec: dict[str, Any], description: str
    ) -> dict[str, Any]:
        with self._lock:
            if pipeline_id not in self.pipelines:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Pipeline {pipeline_id} not found.")
            if any(
                v["pipeline_id"] == pipeline_id and v["display_name"] == name
                for v in self.versions.values()
            ):
                raise ApiError(HTTPStatus.CONFLICT, 6, f"Pipeline version {name} already exists.")
            version = {
                "pipeline_id": pipeline_id,
                "pipeline_version_id": str(uuid.uuid4()),
                "display_name": name,
                "name": name,
                "description": description,
                "created_at": _now(),
                "pipeline_spec": spec,
            }
            self.versions[version["pipeline_version_id"]] = version
            return version

    # -- runs ---------------------------------------------------------------------------
    def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self.refuse_runs:
                self.refuse_runs -= 1
                raise ApiError(HTTPStatus.SERVICE_UNAVAILABLE, 14, "The API server is restarting.")
        spec = body.get("pipeline_spec")
        reference = body.get("pipeline_version_reference") or {}
        with self._lock:
            if not spec and reference:
                version = self.versions.get(reference.get("pipeline_version_id", ""))
                if version is None or version["pipeline_id"] != reference.get("pipeline_id"):
                    raise ApiError(HTTPStatus.NOT_FOUND, 5, "Pipeline version not found.")
                spec = version["pipeline_spec"]
            if isinstance(spec, dict) and "root" not in spec and "pipeline_spec" in spec:
                spec = spec["pipeline_spec"]  # sent with its platform spec (kfp-kubernetes)
            if not spec:
                raise ApiError(HTTPStatus.BAD_REQUEST, 3, "A run needs a pipeline spec.")
            experiment_id = body.get("experiment_id") or ""
            if experiment_id and experiment_id not in self.experiments:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Experiment {experiment_id} not found.")
            run = {
                **{k: v for k, v in body.items() if v is not None},
                "run_id": str(uuid.uuid4()),
                "state": "PENDING",
                "created_at": _now(),
                "storage_state": "AVAILABLE",
                "state_history": [{"update_time": _now(), "state": "PENDING"}],
            }
            record = _Run(body=run, spec=spec)
            self.runs[run["run_id"]] = record
            created = json.loads(json.dumps(run))
        threading.Thread(target=self._execute, args=(record,), daemon=True).start()
        return created

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            record = self.runs.get(run_id)
            if record is None:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Run {run_id} not found.")
            return json.loads(json.dumps(record.body))

    def terminate(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            record = self.runs.get(run_id)
            if record is None:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Run {run_id} not found.")
            if record.body["state"] in TERMINAL:
                return {}
            record.cancelled = True
            self._set_state(record, "CANCELING")
            process = record.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        return {}

    def wait(self, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Blocks until a run ends (test helper)."""
        self.runs[run_id].done.wait(timeout)
        return self.get_run(run_id)

    def _set_state(self, record: _Run, state: str) -> None:
        record.body["state"] = state
        record.body["state_history"].append({"update_time": _now(), "state": state})
        if state in TERMINAL:
            record.body["finished_at"] = _now()

    def _execute(self, record: _Run) -> None:
        tasks = list(record.spec.get("root", {}).get("dag", {}).get("tasks", {}))
        with self._lock:
            if record.cancelled:
                self._finish(record, {"state": "CANCELED"}, tasks)
                return
            self._set_state(record, "RUNNING")
            record.body["scheduled_at"] = _now()
        result: dict[str, Any] = {"state": "SUCCEEDED"}
        if self.execute:
            result = self._spawn(record)
        with self._lock:
            self._finish(record, result, tasks)

    def _spawn(self, record: _Run) -> dict[str, Any]:
        work = self._work / record.body["run_id"]
        work.mkdir()
        (work / "spec.json").write_text(json.dumps(record.spec))
        params = (record.body.get("runtime_config") or {}).get("parameters") or {}
        (work / "params.json").write_text(json.dumps(params))
        with self._lock:
            if record.cancelled:
                return {"state": "CANCELED"}
            with (work / "log.txt").open("wb") as log:
                record.process = subprocess.Popen(
                    [sys.executable, str(EXECUTOR)]
                    + [str(work / n) for n in ("spec.json", "params.json")]
                    + [str(work), str(work / "result.json")],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=os.getcwd(),
                    start_new_session=True,
                )
        record.process.wait()
        if record.cancelled:
            return {"state": "CANCELED"}
        try:
            result: dict[str, Any] = json.loads((work / "result.json").read_text())
        except FileNotFoundError:
            log_text = (work / "log.txt").read_text(errors="replace")[-2000:]
            return {"state": "FAILED", "error": f"The executor died: {log_text}"}
        return result

    def _finish(self, record: _Run, result: dict[str, Any], tasks: list[str]) -> None:
        state = "CANCELED" if record.cancelled else result["state"]
        executed = result.get("tasks")
        if executed and not record.cancelled:
            details = self._executed_details(record, executed)
        else:
            details = self._root_details(record, state, result.get("failed_task"), tasks)
        record.body["run_details"] = {"task_details": details}
        if state == "FAILED":
            record.body["error"] = {"code": 2, "message": result.get("error") or "failed"}
        self._set_state(record, state)
        record.done.set()

    def _detail(self, record: _Run, name: str, state: str) -> dict[str, Any]:
        return {
            "run_id": record.body["run_id"],
            "task_id": str(uuid.uuid4()),
            "display_name": name,
            "create_time": record.body["created_at"],
            "start_time": record.body.get("scheduled_at") or record.body["created_at"],
            "end_time": _now(),
            "state": state,
        }

    def _root_details(
        self, record: _Run, state: str, failed: str | None, tasks: list[str]
    ) -> list[dict[str, Any]]:
        """Every root task in the run's state (a run not executed, or cut short)."""
        details = []
        for name in tasks:
            task_state = state
            if state == "FAILED":
                task_state = "FAILED" if name == failed or failed is None else "SUCCEEDED"
            details.append(self._detail(record, name, task_state))
        return details

    def _executed_details(self, record: _Run, executed: dict[str, Any]) -> list[dict[str, Any]]:
        """The tasks kfp.local ran, nested ones under their DAG task, with output artifacts."""
        components = record.spec.get("components", {})
        details: list[dict[str, Any]] = []

        def walk(dag: dict[str, Any], parent: str | None) -> str | None:
            worst: str | None = None  # FAILED beats SUCCEEDED; None: nothing ran
            for name, task in dag.get("tasks", {}).items():
                component = task.get("componentRef", {}).get("name", "")
                spec = components.get(component, {})
                detail = self._detail(record, name, "")
                if parent:
                    detail["parent_task_id"] = parent
                if "dag" in spec:
                    state = walk(spec["dag"], detail["task_id"])
                else:
                    ran = executed.get(component)
                    state = None
                    if ran is not None:
                        state = "SUCCEEDED" if ran["status"] == "SUCCESS" else "FAILED"
                        detail["outputs"] = self._outputs(record, name, spec, ran["artifacts"])
                if state is None:
                    continue  # never ran (a condition that was false, a task after a failure)
                detail["state"] = state
                details.append(detail)
                worst = "FAILED" if "FAILED" in (worst, state) else "SUCCEEDED"
            return worst

        walk(record.spec.get("root", {}).get("dag", {}), None)
        return details

    def _outputs(
        self, record: _Run, task: str, spec: dict[str, Any], files: dict[str, str]
    ) -> dict[str, Any]:
        """Registers a task's artifact files; its `outputs` as the API lists them."""
        declared = spec.get("outputDefinitions", {}).get("artifacts", {})
        root = (record.body.get("runtime_config") or {}).get("pipeline_root") or str(
            self._work / record.body["run_id"] / "artifacts"
        )
        pipeline = record.spec.get("pipelineInfo", {}).get("name", "pipeline")
        experiment = self.experiments.get(record.body.get("experiment_id") or "", {})
        outputs: dict[str, Any] = {}
        salt = str(uuid.uuid4())  # upstream's driver draws one per task execution
        for name, path in files.items():
            where = f"{pipeline}/{record.body['run_id']}/{task}/{salt}/{name}"
            uri = f"{root.rstrip('/')}/{where}"
            if self.storage_endpoint and uri.startswith("gs://") and Path(path).exists():
                self._upload(Path(path), uri)
            artifact_id = self.artifacts.add(
                Path(path),
                uri,
                where,
                namespace=experiment.get("namespace") or "",
                artifact_type=declared.get(name, {})
                .get("artifactType", {})
                .get("schemaTitle", "system.Artifact"),
            )
            outputs[name] = {"artifact_ids": [artifact_id]}
        return outputs

    def _upload(self, path: Path, uri: str) -> None:
        """Puts a task's file (or folder) at its URI in the emulator, as the launcher does."""
        from google.api_core.exceptions import Conflict

        from tests.fakes.gcs import storage_client

        client = storage_client(str(self.storage_endpoint))
        bucket_name, _, key = uri.removeprefix("gs://").partition("/")
        bucket = client.lookup_bucket(bucket_name)
        if bucket is None:
            try:
                bucket = client.create_bucket(bucket_name)
            except Conflict:
                bucket = client.bucket(bucket_name)
        files = [(key, path)] if path.is_file() else [
            (f"{key}/{f.relative_to(path).as_posix()}", f) for f in sorted(path.rglob("*"))
            if f.is_file()
        ]  # fmt: skip
        for name, file in files:
            bucket.blob(name).upload_from_filename(str(file))

    # -- recurring runs -----------------------------------------------------------------
    def create_recurring(self, body: dict[str, Any]) -> dict[str, Any]:
        cron = ((body.get("trigger") or {}).get("cron_schedule") or {}).get("cron")
        if cron is not None and len(cron.split()) != 6:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, 3, f"Invalid cron expression {cron!r}: need 6 fields."
            )
        with self._lock:
            recurring = {
                **{k: v for k, v in body.items() if v is not None},
                "recurring_run_id": str(uuid.uuid4()),
                "created_at": _now(),
                "updated_at": _now(),
                "status": "ENABLED" if body.get("mode") == "ENABLE" else "DISABLED",
            }
            self.recurring[recurring["recurring_run_id"]] = recurring
            return dict(recurring)

    def recurring_run(self, rid: str) -> dict[str, Any]:
        with self._lock:
            if rid not in self.recurring:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Recurring run {rid} not found.")
            return self.recurring[rid]


def _filtered(items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Applies the `filter` (EQUALS / IS_SUBSTRING on string keys) and `sort_by` of a list."""
    raw = query.get("filter", [""])[0]
    if raw:
        for predicate in json.loads(raw).get("predicates", []):
            key = predicate["key"]
            value = predicate.get("stringValue", predicate.get("string_value"))
            op = predicate.get("operation") or predicate.get("op")
            if op in (1, "EQUALS"):
                items = [i for i in items if i.get(key) == value]
            elif op in (9, "IS_SUBSTRING"):
                items = [i for i in items if str(value) in str(i.get(key, ""))]
    sort = query.get("sort_by", [""])[0]
    if sort:
        key, _, order = sort.partition(" ")
        items = sorted(items, key=lambda i: str(i.get(key, "")), reverse=order == "desc")
    return items


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], key: str) -> dict[str, Any]:
    size = int(query.get("page_size", ["0"])[0] or 0) or len(items) or 1
    start = int(query.get("page_token", ["0"])[0] or 0)
    chunk = items[start : start + size]
    answer: dict[str, Any] = {"total_size": len(items)}
    if chunk:
        answer[key] = chunk
    if start + size < len(items):
        answer["next_page_token"] = str(start + size)
    return answer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake.requests.append((method, url.path))
        try:
            if url.path.startswith(DOWNLOAD_PATH) and method == "GET":
                self._download(url.path.removeprefix(DOWNLOAD_PATH), parse_qs(url.query))
                return
            expected = f"Bearer {fake.token}"
            if fake.token is not None and self.headers.get("Authorization") != expected:
                raise ApiError(HTTPStatus.UNAUTHORIZED, 16, "Unauthenticated: bad token.")
            answer = self._route(method, url.path, parse_qs(url.query), body)
            self._send(HTTPStatus.OK, answer)
        except ApiError as exc:
            self._send(exc.status, {"code": exc.code, "message": exc.message, "details": []})
        except Exception as exc:  # a bug of the fake: say it, as a server would
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"code": 13, "message": repr(exc)})

    def _send(self, status: HTTPStatus, answer: Any) -> None:
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _download(self, artifact_id: str, query: dict[str, list[str]]) -> None:
        """A signed URL's answer: the bytes, or 400/403/404 as an object store says it."""
        if self.headers.get("Authorization"):  # S3 refuses a second auth mechanism
            raise ApiError(HTTPStatus.BAD_REQUEST, 3, "Only one auth mechanism allowed.")
        try:
            data = self.server.fake.artifacts.download(artifact_id, query)
        except PermissionError as exc:
            raise ApiError(HTTPStatus.FORBIDDEN, 7, str(exc)) from None
        except LookupError as exc:
            raise ApiError(HTTPStatus.NOT_FOUND, 5, str(exc)) from None
        self._send_bytes(data)

    def _send_bytes(self, data: bytes) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _upload(self, body: bytes) -> dict[str, Any]:
        header = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=policy.default).parsebytes(header + body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "uploadfile":  # type: ignore[attr-defined]
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                document = next(iter(yaml.safe_load_all(payload)), None)  # + platform spec
                if not isinstance(document, dict) or "root" not in document:
                    raise ApiError(HTTPStatus.BAD_REQUEST, 3, "Not a pipeline spec.")
                return document
        raise ApiError(HTTPStatus.BAD_REQUEST, 3, "No uploadfile in the request.")

    def _route(  # noqa: C901  (one flat routing table)
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> Any:
        fake = self.server.fake
        if not path.startswith(PREFIX):
            raise ApiError(HTTPStatus.NOT_FOUND, 5, f"No route {path}.")
        parts = path[len(PREFIX) + 1 :].split("/")
        first = query.get
        if parts == ["healthz"] and method == "GET":
            return {"multi_user": fake.multi_user, "pipeline_store": "database"}
        if parts == ["experiments"]:
            if method == "POST":
                return fake.create_experiment(json.loads(body))
            items = _filtered(list(fake.experiments.values()), query)
            return _page(items, query, "experiments")
        if parts[0] == "experiments" and len(parts) == 2 and method == "GET":
            if parts[1] not in fake.experiments:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Experiment {parts[1]} not found.")
            return fake.experiments[parts[1]]
        if parts == ["pipelines", "upload"] and method == "POST":
            name = first("name", [""])[0]
            return fake.upload(name, self._upload(body), first("description", [""])[0])
        if parts == ["pipelines", "upload_version"] and method == "POST":
            version = fake.upload_version(
                first("pipelineid", [""])[0],
                first("name", [""])[0],
                self._upload(body),
                first("description", [""])[0],
            )
            return {k: v for k, v in version.items() if k != "pipeline_spec"}
        if parts == ["pipelines"] and method == "GET":
            items = _filtered(list(fake.pipelines.values()), query)
            return _page(items, query, "pipelines")
        if parts[0] == "pipelines" and len(parts) == 3 and parts[2] == "versions":
            items = [v for v in fake.versions.values() if v["pipeline_id"] == parts[1]]
            return _page(_filtered(items, query), query, "pipeline_versions")
        if parts[0] == "pipelines" and len(parts) == 4 and method == "GET":
            version = fake.versions.get(parts[3])
            if version is None:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, f"Pipeline version {parts[3]} not found.")
            return version
        if parts == ["runs"]:
            if method == "POST":
                return fake.create_run(json.loads(body))
            runs = [fake.get_run(r) for r in list(fake.runs)]
            experiment = first("experiment_id", [""])[0]
            if experiment:
                runs = [r for r in runs if r.get("experiment_id") == experiment]
            return _page(_filtered(runs, query), query, "runs")
        if parts[0] == "runs" and len(parts) == 2:
            run_id, _, action = parts[1].partition(":")
            if method == "GET" and not action:
                return fake.get_run(run_id)
            if method == "POST" and action == "terminate":
                return fake.terminate(run_id)
        if parts[0] == "artifacts" and len(parts) == 2 and method == "GET" and fake.artifact_api:
            try:
                return fake.artifacts.get(parts[1], first("view", ["BASIC"])[0])
            except LookupError as exc:
                raise ApiError(HTTPStatus.NOT_FOUND, 5, str(exc)) from None
        if parts == ["recurringruns"]:
            if method == "POST":
                return fake.create_recurring(json.loads(body))
            items = _filtered(list(fake.recurring.values()), query)
            experiment = first("experiment_id", [""])[0]
            if experiment:
                items = [i for i in items if i.get("experiment_id") == experiment]
            return _page(items, query, "recurringRuns")
        if parts[0] == "recurringruns" and len(parts) == 2:
            rid, _, action = parts[1].partition(":")
            recurring = fake.recurring_run(rid)
            if method == "GET" and not action:
                return recurring
            if method == "DELETE" and not action:
                del fake.recurring[rid]
                return {}
            if method == "POST" and action in ("enable", "disable"):
                recurring["mode"] = action.upper()
                recurring["status"] = f"{action.upper()}D"
                recurring["updated_at"] = _now()
                return {}
        raise ApiError(HTTPStatus.NOT_FOUND, 5, f"No route {method} {path}.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeKfp


@contextmanager
def kfp_server(
    token: str | None = "fake-token",
    execute: bool = True,
    artifact_api: bool = True,
    signed_urls: bool = True,
    storage_endpoint: str | None = None,
) -> Iterator[tuple[str, FakeKfp]]:
    """Serves a fake on a free loopback port; yields its URL `http://127.0.0.1:PORT` and state."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeKfp(
        token=token,
        execute=execute,
        artifact_api=artifact_api,
        signed_urls=signed_urls,
        storage_endpoint=storage_endpoint,
    )
    server.fake.artifacts.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.fake
    finally:
        server.shutdown()
        server.server_close()
        for record in list(server.fake.runs.values()):
            if record.process is not None and record.process.poll() is None:
                os.killpg(record.process.pid, signal.SIGKILL)
        time.sleep(0)
