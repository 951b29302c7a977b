"""What a finished Kubeflow Pipelines run produced: its metrics, read from the evaluate step.

KFP keeps a Metrics artifact's values in ML Metadata, which neither the v2beta1 REST API nor
`kfp.Client` serves. The evaluate step also writes its `evaluation` output (a JSON file with
the scores), so freshet reads that file: the run's task details name the artifact's id
(`outputs.evaluation.artifact_ids`), `GET /apis/v2beta1/artifacts/{id}?view=DOWNLOAD` gives
its signed `download_url` (or, without one, its `uri`, read when it is `gs://`), and the
scores become the run's `metrics` as a local run's summary has them. The gate task's `report`
file gives the decision the same way.

That endpoint is the `ArtifactService` of Kubeflow's Data Science Pipelines backend; upstream
KFP 2.x releases answer 404 there, and the files are then found under a `gs://` pipeline root
by the layout upstream's driver gives them (`freshet.kfp.bucket`). Nothing here fails a
command: what cannot be read becomes one note pointing at the run in the KFP UI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from freshet.errors import FreshetError
from freshet.kfp.bucket import RootUnreadable, RunFolder, storage_client
from freshet.kfp.client import KfpSession, quiet

EVALUATE_TASK = "evaluate"
EVALUATION_OUTPUT = "evaluation"
GATE_TASK = "gate"
GATE_OUTPUT = "report"
ARTIFACT_PATH = "/apis/v2beta1/artifacts/{artifact_id}"


def output_artifact_ids(run: Any, task: str, output: str) -> list[str]:
    """The ids of a task's output artifacts, as a `V2beta1Run`'s task details list them.

    A cached task lists the outputs it reused; a task that never ran is not there.
    """
    details = (run.run_details.task_details if run.run_details else None) or []
    for detail in details:
        if str(detail.display_name) != task:
            continue
        found = (detail.outputs or {}).get(output)
        ids = getattr(found, "artifact_ids", None) if found is not None else None
        if ids:
            return [str(i) for i in ids]
    return []


def get_artifact(session: KfpSession, artifact_id: str) -> dict[str, Any] | None:
    """The artifact (with a download URL when the backend signs one); None on a 404.

    The call goes through the client's own `kfp_server_api.ApiClient` (host, token, TLS and
    proxy settings of `kfp.Client`): kfp 2.17 ships no class for this service.

    Raises:
        ConfigError: The token was refused.
        FreshetError: Any other refusal, or the API cannot be reached.
    """
    from kfp_server_api.exceptions import ApiException  # type: ignore[import-untyped]

    api = session.client._run_api.api_client  # the client's one ApiClient, shared by its APIs

    def fetch() -> Any:
        try:
            return api.call_api(
                ARTIFACT_PATH,
                "GET",
                path_params={"artifact_id": artifact_id},
                query_params=[("view", "DOWNLOAD")],
                header_params={"Accept": "application/json"},
                response_type="object",
                auth_settings=["Bearer"],
                _return_http_data_only=True,
                _request_timeout=session.kfp.timeout_seconds,
            )
        except ApiException as exc:
            if exc.status == 404:  # no such artifact, or no ArtifactService at all
                return None
            raise

    answer = session.call(f"read artifact {artifact_id}", fetch)
    return answer if isinstance(answer, dict) else None


def artifact_bytes(session: KfpSession, artifact: dict[str, Any]) -> bytes | None:
    """The artifact's content from its signed URL, else from its `gs://` URI; else None.

    The signed URL is fetched without the API token (the signature is the credential, and an
    object store refuses a request carrying both), through the client's TLS and proxy setup.

    Raises:
        FreshetError: The store refused or could not be reached.
    """
    url = artifact.get("download_url")
    if url:
        from kfp_server_api.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        rest = session.client._run_api.api_client.rest_client
        try:
            with quiet():
                answer = rest.GET(str(url), _request_timeout=session.kfp.timeout_seconds)
        except ApiException as exc:
            raise FreshetError(
                f"the artifact store refused the download (HTTP {exc.status})"
            ) from None
        except (OSError, HTTPError) as exc:
            raise FreshetError(f"the artifact store cannot be reached: {exc}") from None
        data = answer.data
        return data.encode() if isinstance(data, str) else bytes(data)
    uri = str(artifact.get("uri") or "")
    if uri.startswith("gs://"):
        return _gcs_bytes(uri)
    return None


def _gcs_bytes(uri: str) -> bytes:
    import importlib

    from google.api_core.exceptions import GoogleAPIError

    client = storage_client()
    try:
        blob = importlib.import_module("google.cloud.storage").Blob.from_uri(uri, client=client)
        data: bytes = blob.download_as_bytes()
    except (GoogleAPIError, OSError) as exc:
        raise FreshetError(f"{uri} cannot be read: {exc}") from None
    return data


class Unreachable(FreshetError):
    """The artifact API names a file freshet cannot fetch (an in-cluster URI, no signed URL)."""


class RunFiles:
    """Where a run's output files come from: the artifact API, else the `gs://` pipeline root.

    The first 404 of the artifact API (upstream KFP) switches to the pipeline root for the
    rest of the run's files.
    """

    def __init__(self, session: KfpSession, run: Any) -> None:
        self.session = session
        self.api = True
        self.folder = RunFolder(session, run)

    def read(self, artifact_id: str, task: str, output: str) -> bytes:
        """The bytes of a task's output file (the artifact `artifact_id`).

        Raises:
            Unreachable: The API names a file freshet cannot fetch.
            RootUnreadable: No artifact API, and nothing to read under the pipeline root.
            FreshetError: A refusal, or the file is missing.
        """
        if self.api:
            artifact = get_artifact(self.session, artifact_id)
            if artifact is not None:
                data = artifact_bytes(self.session, artifact)
                if data is None:
                    where = artifact.get("uri") or f"artifact {artifact_id}"
                    raise Unreachable(f"{where} cannot be read from here")
                return data
            self.api = False  # no ArtifactService: upstream Kubeflow Pipelines
        return self.folder.read(task, output)


def evaluation_metrics(document: Any) -> dict[str, float]:
    """The scores of an `evaluation` file, as evaluate logs its Metrics (plus `test_rows`).

    Raises:
        ValueError: Not an evaluation.
    """
    scores = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(scores, dict):
        raise ValueError("the evaluation artifact holds no metrics")
    metrics = {
        str(k): float(v)
        for k, v in scores.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    rows = document.get("test_rows")
    if isinstance(rows, int | float) and not isinstance(rows, bool):
        metrics["test_rows"] = float(rows)
    return metrics


def gate_outcome(document: Any) -> dict[str, Any]:
    """A gate `report` file as a local summary has it: `gate` (the report) and `decision`.

    Raises:
        ValueError: Not a gate report.
    """
    if not isinstance(document, dict) or not isinstance(document.get("decision"), str):
        raise ValueError("the gate report holds no decision")
    return {"gate": document, "decision": document["decision"]}


# What each step's JSON file gives the summary: (what it is, task, output, reader).
OUTPUTS: tuple[tuple[str, str, str, Callable[[Any], dict[str, Any]]], ...] = (
    ("Metrics", EVALUATE_TASK, EVALUATION_OUTPUT, lambda d: {"metrics": evaluation_metrics(d)}),
    ("The gate decision", GATE_TASK, GATE_OUTPUT, gate_outcome),
)


def run_outcome(session: KfpSession, run: Any) -> dict[str, Any]:
    """What a `V2beta1Run` produced, as keys of a local run's summary.

    Returns:
        `metrics` when the evaluate task's scores could be read, `gate` and `decision` when
        the gate's report could; `notes` (one sentence naming the UI link) when a task ran
        but its file cannot be read; `{}` when neither task ran.
    """
    link = session.run_url(str(run.run_id))
    files = RunFiles(session, run)
    result: dict[str, Any] = {}
    for what, task, output, read in OUTPUTS:
        ids = output_artifact_ids(run, task, output)
        if not ids:
            continue  # the task did not run (an earlier step failed, or it is not there)
        try:
            result.update(read(json.loads(files.read(ids[0], task, output))))
        except RootUnreadable as exc:  # one note for the run, then stop
            note = (
                f"Metrics are not available from this Kubeflow Pipelines backend ({exc}): "
                f"they are in the KFP UI at {link}."
            )
            result.setdefault("notes", []).append(note)
            return result
        except Unreachable as exc:
            note = f"{exc}: the metrics are in the KFP UI at {link}."
            result.setdefault("notes", []).append(note)
            return result
        except (FreshetError, ValueError) as exc:
            reason = str(exc).rstrip(".")
            note = f"{what} could not be read ({reason}): see the run at {link}."
            result.setdefault("notes", []).append(note)
    return result
