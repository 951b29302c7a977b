"""Build and push the serving image with Cloud Build (google-cloud-build).

The build source is a small tarball: `containers/serving.Dockerfile`, what `pip install
--no-deps .` needs of this project (`pyproject.toml`, `README.md`, `freshet/`) and the bundle
as `bundle/`. It is uploaded to a staging bucket, built by one docker step, pushed by Cloud
Build (`images`), and the digest Cloud Build reports is recorded in `build.json`.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from freshet.components.package.core import BUNDLE_ONLY, ImageBuilder, ImageRecord, PackageError
from freshet.serving.signature import MODEL_FILE, REQUIREMENTS_FILE, SIGNATURE_FILE

DOCKERFILE = "containers/serving.Dockerfile"
SOURCE_FILES = (DOCKERFILE, "pyproject.toml", "README.md")
SOURCE_DIRS = ("freshet",)
DOCKER_BUILDER = "gcr.io/cloud-builders/docker"


def source_root() -> Path:
    """The project checkout this code runs from (holds `containers/` and `pyproject.toml`)."""
    import freshet

    return Path(freshet.__file__).resolve().parent.parent


def bundle_tag(bundle_dir: Path) -> str:
    """An image tag that names the bundle's content (the same bundle, the same tag)."""
    digest = hashlib.sha256()
    for name in (MODEL_FILE, SIGNATURE_FILE, REQUIREMENTS_FILE):
        digest.update(name.encode() + b"\0" + (bundle_dir / name).read_bytes())
    return f"bundle-{digest.hexdigest()[:16]}"


def _add(tar: tarfile.TarFile, path: Path, name: str) -> None:
    info = tar.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0  # the same files give the same tarball
    info.mode = 0o755 if path.is_dir() else 0o644
    if path.is_dir():
        tar.addfile(info)
    else:
        with open(path, "rb") as handle:
            tar.addfile(info, handle)


def build_context(bundle_dir: Path, root: Path) -> bytes:
    """The gzipped build context: the Dockerfile, the freshet sources and `bundle/`.

    Raises:
        PackageError: A file the Dockerfile copies is missing under `root`.
    """
    missing = [name for name in (*SOURCE_FILES, *SOURCE_DIRS) if not (root / name).exists()]
    if missing:
        raise PackageError(
            f"The serving image cannot be built from '{root}': missing {', '.join(missing)}."
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for name in SOURCE_FILES:
            _add(tar, root / name, name)
        for folder in SOURCE_DIRS:
            _add(tar, root / folder, folder)
            for path in sorted((root / folder).rglob("*")):
                # freshet/components and freshet/pipelines are links to the repo's top-level
                # folders: the serving image installs freshet without them.
                if "__pycache__" in path.parts or path.suffix == ".pyc" or path.is_symlink():
                    continue
                _add(tar, path, str(path.relative_to(root)))
        _add(tar, bundle_dir, "bundle")
        for path in sorted(bundle_dir.iterdir()):
            _add(tar, path, f"bundle/{path.name}")
    return buffer.getvalue()


@dataclass(frozen=True)
class CloudBuildTarget:
    """Where and how to build: the project, the image repository and the staging bucket."""

    project: str
    repository: str
    bucket: str
    timeout_s: int = 1200


class CloudBuildImageBuilder:
    """Builds the serving image with Cloud Build; clients are passed in (or made by default)."""

    def __init__(
        self,
        target: CloudBuildTarget,
        build_client: Any = None,
        storage_client: Any = None,
        root: Path | None = None,
    ) -> None:
        self.target = target
        self.build_client = build_client
        self.storage_client = storage_client
        self.root = root or source_root()

    def build(self, bundle_dir: Path) -> ImageRecord:
        """Uploads the context, runs the build, returns the pushed image and its digest.

        Raises:
            PackageError: The build did not succeed or reported no digest for the image.
        """
        from google.cloud.devtools import cloudbuild_v1

        target = self.target
        tag = bundle_tag(bundle_dir)
        uri = f"{target.repository}:{tag}"
        context = build_context(bundle_dir, self.root)
        name = f"freshet/serving-source/{tag}-{hashlib.sha256(context).hexdigest()[:12]}.tgz"
        storage = self.storage_client
        if storage is None:
            from google.cloud.storage import Client

            storage = Client(project=target.project)
        storage.bucket(target.bucket).blob(name).upload_from_string(
            context, content_type="application/gzip"
        )
        build = cloudbuild_v1.Build(
            source=cloudbuild_v1.Source(
                storage_source=cloudbuild_v1.StorageSource(bucket=target.bucket, object_=name)
            ),
            steps=[
                cloudbuild_v1.BuildStep(
                    name=DOCKER_BUILDER, args=["build", "-f", DOCKERFILE, "-t", uri, "."]
                )
            ],
            images=[uri],
            tags=["freshet-serving"],
            timeout=timedelta(seconds=target.timeout_s),
        )
        client = self.build_client or cloudbuild_v1.CloudBuildClient()
        operation = client.create_build(project_id=target.project, build=build)
        result = operation.result(timeout=target.timeout_s)
        if result.status != cloudbuild_v1.Build.Status.SUCCESS:
            raise PackageError(
                f"Cloud Build {result.id} for {uri} ended {result.status.name}: "
                f"{result.status_detail or 'no detail'} (logs: {result.log_url or 'none'})."
            )
        digest = next((i.digest for i in result.results.images if i.name == uri), "")
        if not digest.startswith("sha256:"):
            raise PackageError(f"Cloud Build {result.id} reported no digest for {uri}.")
        return ImageRecord(uri=uri, digest=digest)


def builder_for(
    serving_image: str, project: str, bucket: str, **clients: Any
) -> tuple[ImageBuilder | None, str]:
    """The image builder the parameters ask for, or None and why only the bundle is built.

    Args:
        serving_image: Image repository (`REGION-docker.pkg.dev/PROJECT/REPO/NAME`); empty
            builds the bundle only.
        project: Google Cloud project that runs the build.
        bucket: Bucket for the build source.
        **clients: `build_client` / `storage_client` to use instead of the default ones.

    Raises:
        PackageError: An image is asked for without a project or a bucket, or with a tag.
    """
    if not serving_image:
        return None, f"{BUNDLE_ONLY}: no serving_image configured, so no image was built"
    missing = [n for n, v in (("build_project", project), ("build_bucket", bucket)) if not v]
    if missing:
        raise PackageError(
            f"serving_image '{serving_image}' needs {' and '.join(missing)} to build with "
            "Cloud Build."
        )
    if "@" in serving_image or ":" in serving_image.rsplit("/", 1)[-1]:
        raise PackageError(
            f"serving_image must be a repository without tag or digest: '{serving_image}'."
        )
    target = CloudBuildTarget(project=project, repository=serving_image, bucket=bucket)
    return CloudBuildImageBuilder(target, **clients), "built and pushed"
