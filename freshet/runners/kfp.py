"""The Kubeflow Pipelines runner: submits the compiled pipeline YAML as a KFP v2beta1 run.

Everything that can be wrong with a request (settings, template, parameters, data URI) is
found before the first API call. KFP chooses its own run ids, so the run carries freshet's
run id as its display name, and a create-only claim (`freshet.kfp.claims`) makes a repeated
submission of one run id (a redelivered trigger message, two workers racing, the same
`--run-id` twice) report `already_exists` instead of starting a second run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from freshet import params as params_module
from freshet.config import Settings
from freshet.errors import BadInput
from freshet.kfp.claims import Claims, open_claims
from freshet.kfp.client import KfpSession, require
from freshet.kfp.publish import SCHEME, Published, resolve
from freshet.logs import say
from freshet.preflight import run_preflights
from freshet.run_id import check_run_id, new_run_id
from freshet.runners.base import RunRequest, RunResult
from freshet.secrets.parameters import remote_parameters

# Steps on a cluster read data themselves: only URIs they can reach make sense there.
REMOTE_DATA_SCHEMES = ("gs://", "s3://", "minio://", "sample://")


@dataclass
class PreparedKfpRun:
    """A request checked and resolved against its template, ready for the API."""

    pipeline: str
    template: Path
    run_id: str
    parameters: dict[str, Any]
    enable_caching: bool | None
    meta: dict[str, Any]
    version: Published | None = None


class KfpRunner:
    """Starts pipelines on Kubeflow Pipelines (see `Runner`)."""

    def __init__(
        self,
        settings: Settings,
        console: Console | None = None,
        session: KfpSession | None = None,
        claims: Claims | None = None,
    ) -> None:
        """Creates a runner; fails at once, naming every missing setting.

        Args:
            settings: `kfp.host` and `kfp.pipeline_root` must be set.
            console: Where notes go (stderr by default).
            session: An open session (made on first use when None).
            claims: The claim store (from `kfp.claims_root` when None).
        """
        kfp = require(settings)
        self.settings = settings
        self.console = console or Console(stderr=True)
        self.claims = claims or Claims(open_claims(kfp.resolved_claims_root()))
        self._session = session

    @property
    def session(self) -> KfpSession:
        """The KFP session, opened on first use (one healthz call)."""
        if self._session is None:
            self._session = KfpSession.open(self.settings)
        return self._session

    def template_for(self, request: RunRequest) -> tuple[Path, Published | None]:
        """The template file of a request, and the published version it comes from.

        A `kfp://PIPELINE@VERSION` request reads the version's spec from the store; a request
        without a template is compiled for the kfp target.
        """
        if request.template_uri and request.template_uri.startswith(SCHEME):
            import yaml

            version, spec = resolve(self.session, request.template_uri)
            if "root" not in spec and isinstance(spec.get("pipeline_spec"), dict):
                spec = spec["pipeline_spec"]  # stored together with a platform spec
            path = Path(self.settings.root) / "templates" / "kfp" / f"{version.version_id}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(spec, sort_keys=True))
            return path, version
        if request.template is not None:
            return request.template, None
        from freshet.compile import compile_for_target

        return compile_for_target(request.pipeline, self.settings, "kfp"), None

    def prepare(self, request: RunRequest) -> PreparedKfpRun:
        """Checks a request against its template; nothing is sent to KFP yet.

        Raises:
            BadInput: Unknown parameter, value of the wrong type, a data URI the cluster
                cannot read, a malformed run id.
        """
        template, version = self.template_for(request)
        spec = params_module.load_template(template)
        parameters = params_module.request_values(spec, request.parameters, request.data_uri)
        # Credentials travel as references only: KFP stores a run's parameters with the run.
        parameters = remote_parameters(spec, parameters, self.settings.ops, "kfp")
        data_uri = parameters.get("data_uri")
        if isinstance(data_uri, str) and not data_uri.startswith(REMOTE_DATA_SCHEMES):
            raise BadInput(
                f"Data URI '{data_uri}' cannot be read on Kubeflow Pipelines: use a gs://, "
                "s3:// or minio:// URI (or a sample:// dataset)."
            )
        name = spec["pipelineInfo"]["name"]
        run_id = check_run_id(request.run_id) if request.run_id else new_run_id(name)
        root = str(self.settings.kfp.pipeline_root).rstrip("/")
        parameters = params_module.with_system_inputs(
            spec,
            parameters,
            {
                "run_id": run_id,
                "registry_uri": f"{root}/registry",
                "checkpoint_root": f"{root}/checkpoints",
            },
        )
        values = params_module.with_defaults(spec, parameters)
        params_module.check_complete(spec, values)
        context = run_preflights(spec, values, runner="kfp", skip_unreadable=True)
        for note in context.get("notes") or []:
            say(note, prefix="note: ", console=self.console, event="note")
        meta = {
            "pipeline": name,
            "reason": request.reason,
            "data_version": request.data_version or context.get("data_version"),
        }
        return PreparedKfpRun(
            pipeline=name,
            template=template,
            run_id=run_id,
            parameters=parameters,
            # None keeps the per-task cache settings compiled in (the gate is never cached).
            enable_caching=None if request.enable_cache else False,
            meta=meta,
            version=version,
        )

    def submit(self, request: RunRequest) -> RunResult:
        """Claims the run id, then creates the run; returns at once.

        Raises:
            BadInput: See `prepare`; or KFP rejected the run as invalid.
            ConfigError: The token was refused.
            FreshetError: KFP could not be reached or refused; the claim is released.
        """
        run = self.prepare(request)
        session = self.session
        summary: dict[str, Any] = {
            "run_id": run.run_id,
            "pipeline": run.pipeline,
            "template": str(run.template),
            "parameters": run.parameters,
        }
        existing = self.claims.claim(run.run_id, lambda rid: find_run(session, rid))
        if existing is not None:
            if existing.kfp_run_id:
                summary.update(
                    kfp_run_id=existing.kfp_run_id,
                    console_url=session.run_url(existing.kfp_run_id),
                )
            return RunResult(run_id=run.run_id, status="already_exists", summary=summary)
        try:
            created = self.create(run)
        except BaseException:
            self.claims.release(run.run_id)
            raise
        self.claims.record(run.run_id, created, run.meta)
        summary.update(kfp_run_id=created, console_url=session.run_url(created))
        return RunResult(run_id=run.run_id, status="submitted", summary=summary)

    def create(self, run: PreparedKfpRun) -> str:
        """Creates the KFP run in freshet's experiment; its KFP id.

        A published version runs by reference, except with caching off: KFP ignores
        `enable_caching` for runs of a stored version (kubeflow/pipelines#14253), so such a
        run sends the version's own spec inline, with caching off in every task.
        """
        session = self.session
        source: dict[str, Any] = {"pipeline_package_path": str(run.template)}
        if run.version is not None and run.enable_caching is None:
            source = {"pipeline_id": run.version.pipeline_id, "version_id": run.version.version_id}
        elif run.version is not None:
            say(
                f"Caching off: version {run.version.reference} runs from its spec sent inline "
                "(KFP ignores caching options for stored versions, kubeflow/pipelines#14253); "
                "the run is not linked to the version in the KFP UI.",
                prefix="note: ",
                console=self.console,
                event="note",
            )
        created = session.call(
            f"create run '{run.run_id}'",
            session.client.run_pipeline,
            experiment_id=session.experiment_id(),
            job_name=run.run_id,
            params=run.parameters,
            pipeline_root=session.kfp.pipeline_root,
            enable_caching=run.enable_caching,
            service_account=session.kfp.service_account,
            **source,
        )
        return str(created.run_id)


def find_run(session: KfpSession, run_id: str) -> str | None:
    """The KFP id of the run named `run_id` in freshet's experiment, if one exists."""
    query = json.dumps(
        {"predicates": [{"operation": 1, "key": "display_name", "stringValue": run_id}]}
    )
    answer = session.call(
        "list runs",
        session.client.list_runs,
        experiment_id=session.experiment_id(),
        filter=query,
        page_size=1,
    )
    runs = answer.runs or []
    return str(runs[0].run_id) if runs else None
