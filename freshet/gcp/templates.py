"""Published pipeline templates: upload to an Artifact Registry KFP repository, and fetch back.

A template URI is `<repository>/<package>/<tag or sha256:version>`, e.g.
`https://us-central1-kfp.pkg.dev/my-project/pipelines/training/latest`. The package name is
the pipeline's name inside the compiled YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from freshet.atomic import replaced_file
from freshet.errors import BadInput, FreshetError

LATEST = "latest"
_TAG = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Published:
    """One uploaded template."""

    path: Path
    package: str
    version: str
    tags: list[str]
    repo: str

    def uri(self, ref: str) -> str:
        """The template URI of a tag or version."""
        return f"{self.repo}/{self.package}/{ref}"


def is_template_uri(text: str) -> bool:
    """True for an http(s) template URI, False for a pipeline name or a local path."""
    return text.startswith(("https://", "http://"))


def split_template_uri(uri: str) -> tuple[str, str, str]:
    """Splits a template URI into (repository URL, package, tag or version).

    Raises:
        BadInput: The URI does not end in `/<package>/<tag or version>`.
    """
    match = re.match(r"^(https?://[^/\s]+/.+)/([^/\s]+)/([^/\s]+)$", uri)
    if match is None:
        raise BadInput(
            f"Template URI '{uri}' is not of the form "
            "https://REGION-kfp.pkg.dev/PROJECT/REPO/PACKAGE/TAG."
        )
    repo, package, ref = match.groups()
    return repo, package, ref


def _auth(credentials: Any) -> Any:
    """A bearer-token auth for `requests`, refreshing the Google credentials when needed."""
    from google.auth.transport.requests import Request
    from kfp.registry import ApiAuth

    if not credentials.valid:
        credentials.refresh(Request())
    return ApiAuth(credentials.token)


def _client(repo: str, credentials: Any) -> Any:
    from kfp.registry import RegistryClient

    return RegistryClient(host=repo, auth=_auth(credentials))


def check_tags(tags: list[str]) -> list[str]:
    """Returns `tags` when each is a valid tag, else raises `BadInput` naming it."""
    for tag in tags:
        if not _TAG.match(tag) or tag.startswith("sha256:"):
            raise BadInput(
                f"Tag '{tag}' is not valid: use letters, digits, '.', '_' and '-' "
                "(at most 128 characters)."
            )
    return tags


def publish(paths: list[Path], repo: str, credentials: Any, tags: list[str]) -> list[Published]:
    """Uploads compiled templates to a KFP repository, each tagged with its version and `tags`.

    Args:
        paths: Compiled pipeline YAML files.
        repo: Repository URL, `https://REGION-kfp.pkg.dev/PROJECT/REPO`.
        credentials: Google credentials with access to the repository.
        tags: Extra tags for every template (besides its content version and `latest`).

    Returns:
        What was uploaded, in order.

    Raises:
        BadInput: A file is missing or not a compiled pipeline, or a tag is malformed.
        FreshetError: The registry refused an upload.
    """
    from freshet.compile import template_version
    from freshet.params import load_template

    check_tags(tags)
    for path in paths:
        load_template(path)  # every file is checked before the first upload
    client = _client(repo, credentials)
    published = []
    for path in paths:
        all_tags = list(dict.fromkeys([template_version(path), *tags, LATEST]))
        try:
            package, version = client.upload_pipeline(str(path), tags=all_tags)
        except OSError as exc:  # requests' errors are OSErrors
            raise FreshetError(f"Upload of '{path}' to {repo} failed: {exc}.") from None
        published.append(Published(path, package, version, all_tags, repo.rstrip("/")))
    return published


def fetch_template(uri: str, credentials: Any, cache_dir: Path) -> Path:
    """Downloads a published template into `cache_dir` (versions are immutable: cached).

    Args:
        uri: Template URI, `<repository>/<package>/<tag or sha256:version>`.
        credentials: Google credentials with read access to the repository.
        cache_dir: Where downloaded templates are kept.

    Returns:
        The local copy.

    Raises:
        BadInput: The URI is malformed or names no template.
        FreshetError: The registry could not be reached.
    """
    repo, package, ref = split_template_uri(uri)
    target = cache_dir / f"{package}-{ref.replace(':', '-')}.yaml"
    if ref.startswith("sha256:") and target.exists():
        return target
    version, tag = (ref, None) if ref.startswith("sha256:") else (None, ref)
    try:
        with replaced_file(target) as part:
            _client(repo, credentials).download_pipeline(
                package, version=version, tag=tag, file_name=str(part)
            )
    except OSError as exc:  # requests' errors are OSErrors
        if getattr(getattr(exc, "response", None), "status_code", None) == 404:
            raise BadInput(f"No template at '{uri}'.") from None
        raise FreshetError(f"Download of template '{uri}' failed: {exc}.") from None
    return target
