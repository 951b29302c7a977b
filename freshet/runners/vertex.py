"""The Vertex AI runner: submits the compiled pipeline YAML as a Vertex AI PipelineJob.

Everything that can be wrong with a request (settings, template, parameters, data URI) is
found before the first API call. The job id is the request's run id, so a repeated
submission of the same run (a redelivered trigger message, a retry after a lost answer) is
answered ALREADY_EXISTS by Vertex and reported as `already_exists`, never as a second run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from freshet import params as params_module
from freshet.config import Settings
from freshet.errors import BadInput, FreshetError
from freshet.gcp.labels import git_commit, run_labels
from freshet.gcp.session import (
    RUN_FIELDS,
    VertexSession,
    check_pipeline_root,
    open_session,
    require,
)
from freshet.gcp.templates import fetch_template
from freshet.logs import say
from freshet.preflight import run_preflights
from freshet.run_id import check_run_id, new_run_id
from freshet.runners.base import RunRequest, RunResult
from freshet.secrets.parameters import remote_parameters

# Vertex reads data itself: only URIs it can reach make sense there.
REMOTE_DATA_SCHEMES = ("gs://", "sample://")


@dataclass
class PreparedRun:
    """A request checked and resolved against its template, ready for the API."""

    pipeline: str
    template: Path
    template_uri: str | None
    run_id: str
    parameters: dict[str, Any]
    labels: dict[str, str]
    enable_caching: bool | None
    summary: dict[str, Any] = field(default_factory=dict)


class VertexRunner:
    """Starts pipelines on Vertex AI Pipelines (see `Runner`)."""

    def __init__(
        self, settings: Settings, console: Console | None = None, credentials: Any = None
    ) -> None:
        """Creates a runner; fails at once, naming every missing setting.

        Args:
            settings: `gcp.project`, `gcp.region` and `gcp.pipeline_root` must be set.
            console: Where notes go (stderr by default).
            credentials: Google credentials; Application Default Credentials when None.
        """
        require(settings, RUN_FIELDS)
        self.settings = settings
        self.console = console or Console(stderr=True)
        self._credentials = credentials
        self._session: VertexSession | None = None

    @property
    def session(self) -> VertexSession:
        """The Vertex session, opened on first use (its pipeline root checked once)."""
        if self._session is None:
            session = open_session(self.settings, self._credentials)
            check_pipeline_root(session)
            self._session = session
        return self._session

    def template_for(self, request: RunRequest) -> tuple[Path, str | None]:
        """The local template file of a request, downloading a published one."""
        if request.template_uri:
            cache = Path(self.settings.root) / "templates"
            return fetch_template(request.template_uri, self.session.credentials, cache), (
                request.template_uri
            )
        if request.template is not None:
            return request.template, None
        from freshet.compile import compile_pipeline

        return compile_pipeline(request.pipeline, self.settings), None

    def prepare(self, request: RunRequest) -> PreparedRun:
        """Checks a request against its template; nothing is sent to Vertex yet.

        Raises:
            BadInput: Unknown parameter, value of the wrong type, a data URI Vertex cannot
                read, a malformed run id or template URI, a credential given as a literal
                value (`freshet.secrets.parameters`).
        """
        template, template_uri = self.template_for(request)
        spec = params_module.load_template(template)
        parameters = params_module.request_values(spec, request.parameters, request.data_uri)
        # Credentials travel as references only: Vertex stores and shows a run's parameters.
        parameters = remote_parameters(
            spec, parameters, self.settings.ops, "vertex", self.settings.gcp.project
        )
        data_uri = parameters.get("data_uri")
        if isinstance(data_uri, str) and not data_uri.startswith(REMOTE_DATA_SCHEMES):
            raise BadInput(
                f"Data URI '{data_uri}' cannot be read on Vertex AI: use a gs:// URI "
                "(or a sample:// dataset)."
            )
        name = spec["pipelineInfo"]["name"]
        run_id = check_run_id(request.run_id) if request.run_id else new_run_id(name)
        # Places in Cloud Storage that every run and every attempt reach (steps on Vertex
        # share no disk): the champion the gate compares against, and the checkpoint a
        # retried or preempted train attempt resumes from.
        root = str(self.settings.gcp.pipeline_root).rstrip("/")
        from freshet.compile import template_version
        from freshet.gcp.vertex_clients import default_registry_uri

        parameters = params_module.with_system_inputs(
            spec,
            parameters,
            {
                "run_id": run_id,
                "registry_uri": default_registry_uri(self.settings.gcp),
                "checkpoint_root": f"{root}/checkpoints",
                # A label of the model version the run registers (Vertex AI Model Registry).
                "template_version": template_version(template),
            },
        )
        values = params_module.with_defaults(spec, parameters)
        params_module.check_complete(spec, values)
        context = run_preflights(spec, values, runner="vertex", skip_unreadable=True)
        for note in context.get("notes") or []:
            say(note, prefix="note: ", console=self.console, event="note")
        gcp = self.settings.gcp
        data_version = request.data_version or context.get("data_version")
        labels = run_labels(
            gcp.labels, name, data_version, gcp.git_commit or git_commit(), request.reason
        )
        return PreparedRun(
            pipeline=name,
            template=template,
            template_uri=template_uri,
            run_id=run_id,
            parameters=parameters,
            labels=labels,
            # None keeps the per-task cache settings compiled in (the gate is never cached);
            # True would turn caching on for every task.
            enable_caching=None if request.enable_cache else False,
        )

    def build_job(self, run: PreparedRun) -> Any:
        """The `aiplatform.PipelineJob` for a prepared run (not yet created)."""
        from google.cloud import aiplatform

        session = self.session
        job = aiplatform.PipelineJob(
            display_name=run.pipeline,
            template_path=str(run.template),
            job_id=run.run_id,
            pipeline_root=session.gcp.pipeline_root,
            parameter_values=run.parameters,
            enable_caching=run.enable_caching,
            labels=run.labels,
            credentials=session.credentials,
            project=session.project,
            location=session.region,
        )
        if run.template_uri:
            # Links the run to its published template in the console. The request under
            # construction is only reachable as `_gca_resource` (as the SDK's schedules do).
            job._gca_resource.template_uri = run.template_uri
        return job

    def submit(self, request: RunRequest) -> RunResult:
        """Creates the pipeline job; returns at once (follow it with `freshet.gcp.follow`).

        Raises:
            BadInput: See `prepare`; or Vertex rejected the request as invalid.
            FreshetError: Vertex stayed unavailable for `gcp.retry_seconds`, or refused.
        """
        run = self.prepare(request)
        session = self.session
        summary = {
            "run_id": run.run_id,
            "pipeline": run.pipeline,
            "resource_name": session.job_name(run.run_id),
            "console_url": session.console_url(run.run_id),
            "template": str(run.template),
            "template_uri": run.template_uri,
            "parameters": run.parameters,
            "labels": run.labels,
        }
        status = create_with_retry(self.build_job(run), session)
        return RunResult(run_id=run.run_id, status=status, summary=summary)


def create_with_retry(job: Any, session: VertexSession) -> Literal["submitted", "already_exists"]:
    """Creates `job` through the SDK's API client, retrying UNAVAILABLE with backoff.

    `PipelineJob.submit()` is not used: before creating the job it looks up (and may create)
    the pipeline-root bucket and resolves the project number through Cloud Resource Manager,
    retrying for minutes when that API cannot be reached. freshet checks the bucket itself
    (`check_pipeline_root`) and never creates infrastructure as a side effect of a run.

    Returns:
        "submitted", or "already_exists" when a job with the same id exists (also when an
        earlier attempt was accepted but its answer was lost).

    Raises:
        BadInput: Vertex rejected the job as invalid.
        FreshetError: Still unavailable after `gcp.retry_seconds`, or another refusal.
    """
    from google.api_core import exceptions, retry

    budget = session.gcp.retry_seconds
    policy = retry.Retry(
        predicate=retry.if_exception_type(exceptions.ServiceUnavailable),
        initial=min(1.0, budget / 20),
        maximum=min(30.0, budget / 2),
        multiplier=2.0,
        timeout=budget,
    )
    resource = job._gca_resource  # the request built by PipelineJob(...), not yet created
    if session.gcp.service_account:
        resource.service_account = session.gcp.service_account
    if session.gcp.network:
        resource.network = session.gcp.network
    from freshet.gcp.experiments import ensure_experiment, log_to_experiment

    experiment = ensure_experiment(session)  # [gcp] experiment: before the job, as the SDK does
    try:
        created = job.api_client.create_pipeline_job(
            parent=session.parent, pipeline_job=resource, pipeline_job_id=job.job_id, retry=policy
        )
    except exceptions.AlreadyExists:
        return "already_exists"
    except exceptions.RetryError as exc:
        raise FreshetError(
            f"Vertex AI stayed unavailable for {budget:g} s; run '{job.job_id}' was not "
            f"submitted ({exc.cause})."
        ) from None
    except exceptions.InvalidArgument as exc:
        raise BadInput(f"Vertex AI rejected run '{job.job_id}': {exc.message}") from None
    except exceptions.GoogleAPICallError as exc:
        raise FreshetError(f"Vertex AI refused run '{job.job_id}': {exc}.") from None
    if experiment is not None:
        log_to_experiment(job, created, experiment)
    return "submitted"
