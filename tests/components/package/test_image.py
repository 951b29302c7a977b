"""The Cloud Build path over real connections: the google-cloud-build client against a local
gRPC fake of the API, the build source through the Cloud Storage emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from freshet.components.package.core import PackageConfig, PackageError, package
from freshet.components.package.image import CloudBuildImageBuilder, CloudBuildTarget, builder_for
from tests.fakes.cloudbuild_server import FakeCloudBuild, cloud_build_server, copy_sources

REPO_IMAGE = "europe-west4-docker.pkg.dev/proj/serving/classifier"


@pytest.fixture
def cloud_build(gcs_client: Any) -> Iterator[tuple[FakeCloudBuild, Any]]:
    gcs_client.create_bucket("build-src")
    try:
        with cloud_build_server(gcs_client) as served:
            yield served
    finally:
        bucket = gcs_client.bucket("build-src")
        for blob in bucket.list_blobs():
            blob.delete()
        bucket.delete()


def test_builds_and_pushes_the_serving_image(
    trained: tuple[Path, Path], tmp_path: Path, cloud_build: Any, gcs_client: Any
) -> None:
    fake, client = cloud_build
    builder, status = builder_for(
        REPO_IMAGE, "proj", "build-src", build_client=client, storage_client=gcs_client
    )
    dataset, model = trained
    info = package(model, dataset, tmp_path / "b", PackageConfig(golden_count=5), builder, status)
    assert info.image is not None
    assert info.image.uri.startswith(f"{REPO_IMAGE}:bundle-")
    assert info.image.digest.startswith("sha256:") and len(info.image.digest) == 71
    assert info.image.pinned == f"{REPO_IMAGE}@{info.image.digest}"
    assert info.image_status == "built and pushed"
    assert json.loads((tmp_path / "b" / "build.json").read_text())["image"]["digest"] == (
        info.image.digest
    )
    (request,) = fake.requests
    assert request.project_id == "proj"
    assert list(request.build.images) == [info.image.uri]
    assert list(request.build.steps[0].args) == [
        "build", "-f", "containers/serving.Dockerfile", "-t", info.image.uri, ".",
    ]  # fmt: skip
    assert request.build.source.storage_source.bucket == "build-src"
    context = fake.contexts[0]
    for name in ("containers/serving.Dockerfile", "pyproject.toml", "README.md",
                 "freshet/serving/app.py", "freshet/cli.py", "bundle/model.onnx",
                 "bundle/requirements.txt", "bundle/signature.json"):  # fmt: skip
        assert name in context, name
    assert not any("__pycache__" in name or name.startswith("tests/") for name in context)
    pinned = context["bundle/requirements.txt"].decode().splitlines()
    assert not [line for line in pinned if line.split("==")[0] in ("torch", "pandas")]


def test_the_context_leaves_out_the_linked_components_and_pipelines(bundle: Path) -> None:
    import io
    import tarfile

    from freshet.components.package.image import build_context, source_root

    root = source_root()
    assert (root / "freshet" / "components").is_symlink()
    with tarfile.open(fileobj=io.BytesIO(build_context(bundle, root)), mode="r:gz") as tar:
        names = tar.getnames()
    assert "freshet/serving/parse.py" in names and "bundle/golden.json" in names
    assert not [n for n in names if n.startswith(("freshet/components", "freshet/pipelines"))]


def test_the_dockerfile_copies_only_what_the_context_holds() -> None:
    dockerfile = (Path(__file__).parents[3] / "containers/serving.Dockerfile").read_text()
    assert copy_sources(dockerfile) == [
        "bundle/requirements.txt", "pyproject.toml", "README.md", "freshet", "bundle",
    ]  # fmt: skip
    assert 'CMD ["freshet", "serve", "/bundle"]' in dockerfile
    assert "USER 10001" in dockerfile


def test_a_failed_build_is_reported(
    bundle: Path, tmp_path: Path, cloud_build: Any, gcs_client: Any
) -> None:
    fake, client = cloud_build
    root = tmp_path / "src"
    (root / "containers").mkdir(parents=True)
    (root / "freshet").mkdir()
    (root / "pyproject.toml").write_text("")
    (root / "README.md").write_text("")
    (root / "containers" / "serving.Dockerfile").write_text("FROM x\nCOPY lost /lost\n")
    builder = CloudBuildImageBuilder(
        CloudBuildTarget("proj", REPO_IMAGE, "build-src"), client, gcs_client, root=root
    )
    with pytest.raises(PackageError, match="ended FAILURE: COPY failed: lost"):
        builder.build(bundle)


def test_a_source_tree_without_the_dockerfile_is_refused(bundle: Path, tmp_path: Path) -> None:
    builder = CloudBuildImageBuilder(
        CloudBuildTarget("proj", REPO_IMAGE, "b"), object(), object(), root=tmp_path
    )
    with pytest.raises(PackageError, match="missing containers/serving.Dockerfile"):
        builder.build(bundle)


@pytest.mark.parametrize(
    ("image", "project", "bucket", "words"),
    [
        (REPO_IMAGE, "", "b", "needs build_project to build"),
        (REPO_IMAGE, "p", "", "needs build_bucket to build"),
        (f"{REPO_IMAGE}:v1", "p", "b", "without tag or digest"),
        (f"{REPO_IMAGE}@sha256:00", "p", "b", "without tag or digest"),
    ],
)
def test_incomplete_image_settings(image: str, project: str, bucket: str, words: str) -> None:
    with pytest.raises(PackageError, match=words):
        builder_for(image, project, bucket)


def test_no_image_means_bundle_only() -> None:
    builder, status = builder_for("", "", "")
    assert builder is None
    assert status.startswith("bundle only: no serving_image configured")
