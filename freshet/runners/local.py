"""The local runner: executes the compiled pipeline YAML with kfp.local.

Local state lives under one root: `runs/<run_id>/` (summary.json and the run log),
`artifacts/` (the kfp pipeline root), `cache/` (kfp.local's task cache) and `registry/`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from itertools import takewhile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from freshet import params as params_module
from freshet.atomic import write_file
from freshet.compile import compile_for_local, template_version
from freshet.config import Settings
from freshet.errors import BadInput, RegistryError
from freshet.logs import log_context, say
from freshet.preflight import call_preflight, run_preflights
from freshet.preflight_cache import PreflightCache
from freshet.run_id import check_run_id, new_run_id
from freshet.runners.base import RunRequest, RunResult
from freshet.runners.events import RunEvents
from freshet.runners.progress import StepTracker, capture_run, dag_task_names, live_display
from freshet.summary import RunSummary, read_breakdowns, read_outputs, verification_record

if TYPE_CHECKING:
    from freshet.runners.forkserver import ForkServer

log = logging.getLogger(__name__)


def refuse_custom_jobs(spec: dict[str, Any], template: Path) -> None:
    """Raises BadInput when a template has tasks that start Vertex AI CustomJobs.

    Raises:
        BadInput: Naming the tasks and the template.
    """
    from freshet.lint.spec import tasks_of

    remote = sorted(task.name for task in tasks_of(spec) if task.workers)
    if remote:
        raise BadInput(
            f"Template '{template}' runs {', '.join(remote)} as a Vertex AI CustomJob "
            "(train_resources.spot), which kfp.local cannot start: run it on Vertex, or "
            "compile it without train_resources.spot for local runs."
        )


class LocalRunner:
    """Runs compiled pipelines on this machine."""

    def __init__(self, settings: Settings, console: Console | None = None) -> None:
        self.settings = settings
        self.root = Path(settings.root).resolve()
        self.console = console or Console(stderr=True)

    def run_dir(self, run_id: str) -> Path:
        """Where a run's summary and log live."""
        return self.root / "runs" / run_id

    def _existing(self, run_id: str) -> RunResult | None:
        """The result for a run id whose folder shows the run was started before, else None."""
        run_dir = self.run_dir(run_id)
        if (run_dir / "summary.json").exists() or (run_dir / "started").exists():
            return self._exists(run_id)
        return None

    def _exists(self, run_id: str) -> RunResult:
        path = self.run_dir(run_id) / "summary.json"
        RunEvents().exists(run_id, path)
        return RunResult(run_id=run_id, status="already_exists", summary_path=path)

    def submit(self, request: RunRequest) -> RunResult:
        """Runs the pipeline to completion (see `Runner.submit`).

        Raises:
            BadInput: Unknown pipeline or parameter, bad value, unusable data.
        """
        from freshet.runners.forkserver import forking_tasks

        # The fork server starts first: it imports while the template compiles, then serves
        # the preflights and the steps, which share what it imported.
        with forking_tasks() as server:
            return self._submit(request, server)

    def _submit(self, request: RunRequest, server: ForkServer | None) -> RunResult:
        template = request.template or compile_for_local(request.pipeline, self.settings)
        spec = params_module.load_template(template)
        refuse_custom_jobs(spec, template)
        typed = params_module.request_values(spec, request.parameters, request.data_uri)
        pipeline = spec["pipelineInfo"]["name"]
        run_id = check_run_id(request.run_id) if request.run_id else new_run_id(pipeline)
        values = params_module.with_system_inputs(
            spec,
            params_module.with_defaults(spec, typed),
            {"registry_uri": str(self.root / "registry"), "run_id": run_id},
        )
        params_module.check_complete(spec, values)
        with log_context(run_id=run_id, pipeline=pipeline):  # labels every record of the run
            existing = self._existing(run_id)
            if existing is not None:  # checked again, atomically, below
                return existing
            call = server.call if server is not None else call_preflight
            kept = (
                PreflightCache(self.root / "cache" / "preflight") if request.enable_cache else None
            )
            context = run_preflights(spec, values, runner="local", call=call, cache=kept)
            for note in context.get("notes") or []:
                say(note, prefix="note: ", console=self.console, event="note")
            data_version = context.get("data_version")

            run_dir = self.run_dir(run_id)
            run_dir.mkdir(parents=True, exist_ok=True)
            try:
                if (run_dir / "summary.json").exists():
                    raise FileExistsError(run_dir / "summary.json")
                # Create-exclusive: of two workers sharing a root, exactly one starts the run.
                with (run_dir / "started").open("x") as marker:
                    marker.write(datetime.now(UTC).isoformat())
            except FileExistsError:
                return self._exists(run_id)
            events = RunEvents()
            parameters = {k: v for k, v in values.items() if k != "run_id"}
            events.started(run_id, pipeline, data_version, parameters)
            summary = self._execute(
                spec, template, values, run_id, run_dir, request, data_version, events
            )
            summary.artifacts["report"] = str(run_dir / "report.html")
            path = write_file(run_dir / "summary.json", summary.model_dump_json(indent=2))
            from freshet.after_run import after_local_run

            after_local_run(self.root, summary, path, self.settings.ops)
            events.finished(summary, path)
            return RunResult(
                run_id=run_id,
                status=summary.status,
                summary_path=path,
                summary=summary.model_dump(),
            )

    def _execute(
        self,
        spec: dict[str, Any],
        template: Path,
        values: dict[str, Any],
        run_id: str,
        run_dir: Path,
        request: RunRequest,
        data_version: str | None,
        events: RunEvents,
    ) -> RunSummary:
        from kfp import local

        tracker = StepTracker(dag_task_names(spec), on_change=events.step_changed)
        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(self.root / "artifacts"),
            enable_caching=request.enable_cache,
            cache_root=str(self.root / "cache"),
            raise_on_error=False,
        )
        pipeline = local_component(template)
        started_at = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        outputs: dict[str, Any] = {}
        error = None
        log_path = run_dir / "pipeline.log"
        with (
            capture_run(log_path, tracker) as capture,
            live_display(tracker, self.console),
        ):
            try:
                task = pipeline(**values)
                outputs = dict(getattr(task, "outputs", {}) or {})
            except Exception as exc:  # kfp raises plain exceptions for spec errors
                error = f"The pipeline could not run: {exc}"
        steps = tracker.records()
        failed = [s.name for s in steps if s.status == "failed"]
        if failed and error is None:
            last = capture.lines.get(failed[0], [])
            detail = next((line for line in reversed(last) if ":" in line), "")
            error = f"Step '{failed[0]}' failed" + (f": {detail}" if detail else ".")
        declared = spec.get("root", {}).get("outputDefinitions", {})
        status = "failed" if error or (declared and not outputs) else "succeeded"
        if status == "failed":
            from freshet.runners.partial_outputs import partial_outputs, run_folder

            log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
            folder = run_folder(log_text, self.root / "artifacts")
            if folder is not None:
                outputs = {**partial_outputs(spec, folder), **outputs}
        return self._summarize(
            spec,
            template,
            values,
            run_id,
            request,
            outputs,
            steps,
            started_at,
            time.perf_counter() - started,
            status,
            error,
            data_version,
            log_path,
        )

    def _summarize(
        self,
        spec: dict[str, Any],
        template: Path,
        values: dict[str, Any],
        run_id: str,
        request: RunRequest,
        outputs: dict[str, Any],
        steps: list[Any],
        started_at: str,
        seconds: float,
        status: str,
        error: str | None,
        data_version: str | None,
        log_path: Path,
    ) -> RunSummary:
        from freshet.registry import open_registry

        artifacts, metrics, gate = read_outputs(spec, outputs)
        champion = None
        registry_uri = values.get("registry_uri")
        if registry_uri and values.get("model_name"):
            try:
                version = open_registry(registry_uri).champion(values["model_name"])
            except RegistryError as exc:
                version, error = None, error or str(exc)
            if version is not None:
                champion = {
                    "version": version.version,
                    "run_id": version.run_id,
                    "path": version.path,
                    "promoted_by_this_run": version.run_id == run_id,
                }
        verify_step = next((s for s in steps if s.name == "verify"), None)
        serving, verification = verification_record(
            log_path, self.root / "artifacts", verify_step.status if verify_step else None
        )
        artifacts.update(serving)
        decision = outputs.get("decision")
        return RunSummary(
            run_id=run_id,
            pipeline=spec["pipelineInfo"]["name"],
            status="succeeded" if status == "succeeded" else "failed",
            decision=str(decision) if isinstance(decision, str) and decision else None,
            data_uri=values.get("data_uri"),
            data_version=outputs.get("data_version") or data_version,
            reason=request.reason,
            parameters={k: v for k, v in values.items() if k not in ("run_id",)},
            template={"path": str(template), "version": template_version(template)},
            started_at=started_at,
            seconds=round(seconds, 3),
            steps=steps,
            metrics=metrics,
            breakdowns=read_breakdowns(spec, outputs),
            gate=gate,
            champion=champion,
            verification=verification,
            artifacts=artifacts,
            log=str(log_path),
            error=error,
        )


def ensure_known_pipeline(name: str, settings: Settings) -> None:
    """Raises `BadInput` for a pipeline name neither freshet nor the project's settings know."""
    from freshet.compile import pipeline_names

    if name.endswith((".yaml", ".yml")):
        return
    known = pipeline_names(settings)
    if name not in known:
        raise BadInput(f"Unknown pipeline '{name}'; known pipelines: {', '.join(known)}.")


def local_component(template: Path) -> Any:
    """The compiled pipeline as kfp.local runs it, its YAML parsed by libyaml.

    What `kfp.components.load_component_from_file` gives, without its pure-Python YAML
    parse (~0.3 s of every run); tests/freshet/runners/test_local_component.py checks that
    both give the same component.
    """
    from kfp.dsl import structures, yaml_component

    text = template.read_text()
    documents = params_module.yaml_documents(text)
    platform = documents[1] if len(documents) > 1 else {}
    spec = structures.ComponentSpec.from_ir_dicts(documents[0], platform)
    if not spec.description:
        spec.description = _header_description(text)
    return yaml_component.YamlComponent(component_spec=spec, component_yaml=text)


def _header_description(text: str) -> str | None:
    # The compiler's `# Description:` header comment, read as kfp reads it.
    lines = text.splitlines()
    heading, more = "# Description: ", "#             "
    if len(lines) < 3 or not lines[2].startswith(heading):
        return None
    parts = [lines[2][len(heading) :]]
    parts += [line[len(more) + 1 :] for line in takewhile(lambda x: x.startswith(more), lines[3:])]
    return "\n".join(parts)
