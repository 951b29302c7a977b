"""Publish compiled templates to KFP's pipeline store, and find a published version again.

A pipeline is stored under its name; each version is named by the template's content hash
(`sha256-...`, as in the run id), and once more as `<hash>-<tag>` for each `--tag`, so that
publishing the same content again adds nothing and `training@v1.2.0` names a version. A
published version is submitted as `PIPELINE@SELECTOR` (`kfp://` inside freshet): the selector
is `latest`, a tag, a version name or a hash prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freshet.errors import BadInput
from freshet.kfp.client import KfpSession

SCHEME = "kfp://"


@dataclass(frozen=True)
class Published:
    """One version in the store."""

    pipeline: str
    pipeline_id: str
    version: str
    version_id: str
    created: bool

    @property
    def reference(self) -> str:
        """How `freshet submit` names it."""
        return f"{self.pipeline}@{self.version}"


def version_names(path: Path, tags: list[str]) -> list[str]:
    """The version names of a template: its content hash, then `<hash>-<tag>` per tag."""
    from freshet.compile import template_version

    digest = template_version(path)
    return [digest] + [f"{digest}-{tag}" for tag in tags]


def _versions(session: KfpSession, pipeline_id: str) -> list[Any]:
    versions: list[Any] = []
    token = ""
    while True:
        answer = session.call(
            "list pipeline versions",
            session.client.list_pipeline_versions,
            pipeline_id=pipeline_id,
            page_size=100,
            page_token=token,
            sort_by="created_at desc",
        )
        versions += answer.pipeline_versions or []
        token = answer.next_page_token or ""
        if not token:
            return versions


def publish(session: KfpSession, path: Path, tags: list[str]) -> list[Published]:
    """Uploads a compiled template as the versions `version_names` gives (those missing).

    Returns:
        Every version of this content, `created` telling which this call uploaded.
    """
    from freshet.params import load_template

    name = str(load_template(path)["pipelineInfo"]["name"])
    pipeline_id = session.call("look up the pipeline", session.client.get_pipeline_id, name)
    if pipeline_id is None:
        pipeline = session.call(
            f"upload pipeline '{name}'",
            session.client.upload_pipeline,
            str(path),
            pipeline_name=name,
            namespace=session.namespace,
        )
        pipeline_id = pipeline.pipeline_id
    known = {
        str(v.display_name): str(v.pipeline_version_id) for v in _versions(session, pipeline_id)
    }
    published = []
    for version in version_names(path, tags):
        created = version not in known
        if created:
            answer = session.call(
                f"upload version '{version}' of '{name}'",
                session.client.upload_pipeline_version,
                str(path),
                version,
                pipeline_id=pipeline_id,
            )
            known[version] = str(answer.pipeline_version_id)
        published.append(Published(name, str(pipeline_id), version, known[version], created))
    return published


def split_reference(reference: str) -> tuple[str, str]:
    """`training@v1` (or `kfp://training@v1`) -> ("training", "v1").

    Raises:
        BadInput: No `@`, or an empty side.
    """
    name, _, selector = reference.removeprefix(SCHEME).partition("@")
    if not name or not selector:
        raise BadInput(
            f"Published pipeline '{reference}' must be PIPELINE@VERSION, e.g. training@latest."
        )
    return name, selector


def resolve(session: KfpSession, reference: str) -> tuple[Published, dict[str, Any]]:
    """A published version by `PIPELINE@SELECTOR`, with its pipeline spec.

    Raises:
        BadInput: No such pipeline, or no version matches (the known ones are named).
    """
    name, selector = split_reference(reference)
    pipeline_id = session.call("look up the pipeline", session.client.get_pipeline_id, name)
    if pipeline_id is None:
        raise BadInput(f"No pipeline '{name}' in the Kubeflow Pipelines store: publish it first.")
    versions = _versions(session, pipeline_id)
    if selector == "latest":
        matches = versions[:1]
    else:
        matches = [
            v
            for v in versions
            if str(v.display_name) == selector
            or str(v.display_name).endswith(f"-{selector}")
            or str(v.display_name).startswith(selector)
        ]
    if not matches:
        known = ", ".join(str(v.display_name) for v in versions[:10]) or "none"
        raise BadInput(f"No version '{selector}' of pipeline '{name}'; versions: {known}.")
    version = session.call(
        "read the pipeline version",
        session.client.get_pipeline_version,
        pipeline_id,
        matches[0].pipeline_version_id,
    )
    spec = version.pipeline_spec
    found = Published(
        name, str(pipeline_id), str(version.display_name), str(version.pipeline_version_id), False
    )
    return found, spec if isinstance(spec, dict) else {}
