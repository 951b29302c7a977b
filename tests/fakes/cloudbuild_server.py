"""A local fake of the Cloud Build API (gRPC), for the unmodified google-cloud-build client.

CreateBuild reads the build source from Cloud Storage (the storage emulator), opens the
tarball, and "builds" it the way docker would fail first: the Dockerfile named in the
docker step must exist and every `COPY` source must be in the context. It answers with a
finished long-running operation carrying the Build: SUCCESS with an image digest (the
context's sha256), or FAILURE naming what is missing.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc
from google.cloud.devtools import cloudbuild_v1
from google.longrunning import operations_pb2
from google.protobuf import any_pb2

SERVICE = "google.devtools.cloudbuild.v1.CloudBuild"


def copy_sources(dockerfile: str) -> list[str]:
    """Context paths the Dockerfile's COPY instructions read (not `--from=` stages)."""
    sources = []
    for line in re.sub(r"\\\n", " ", dockerfile).splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or any(w.startswith("--from") for w in words):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        sources += args[:-1]
    return sources


class FakeCloudBuild:
    """Records every CreateBuild request and builds from the uploaded source."""

    def __init__(self, storage_client: Any) -> None:
        self.storage = storage_client
        self.requests: list[cloudbuild_v1.CreateBuildRequest] = []
        self.contexts: list[dict[str, bytes]] = []

    def _build(self, request: cloudbuild_v1.CreateBuildRequest) -> cloudbuild_v1.Build:
        build = cloudbuild_v1.Build(request.build)
        build.id = f"build-{len(self.requests)}"
        build.project_id = request.project_id
        source = build.source.storage_source
        blob = self.storage.bucket(source.bucket).blob(source.object_).download_as_bytes()
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            files = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
            names = {m.name for m in tar.getmembers()}
        self.contexts.append(files)
        args = list(build.steps[0].args)
        dockerfile = args[args.index("-f") + 1]
        missing = [] if dockerfile in files else [dockerfile]
        if not missing:
            text = files[dockerfile].decode()
            missing = [s for s in copy_sources(text) if s.rstrip("/") not in names]
        if missing:
            build.status = cloudbuild_v1.Build.Status.FAILURE
            build.status_detail = f"COPY failed: {', '.join(missing)} not in the build context"
            return build
        build.status = cloudbuild_v1.Build.Status.SUCCESS
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        build.results = cloudbuild_v1.Results(
            images=[cloudbuild_v1.BuiltImage(name=name, digest=digest) for name in build.images]
        )
        build.log_url = f"https://console.cloud.google.com/cloud-build/builds/{build.id}"
        return build

    def create_build(self, request: cloudbuild_v1.CreateBuildRequest, context: Any) -> Any:
        self.requests.append(request)
        build = self._build(request)
        response = any_pb2.Any()
        response.Pack(cloudbuild_v1.Build.pb(build))
        metadata = any_pb2.Any()
        metadata.Pack(
            cloudbuild_v1.BuildOperationMetadata.pb(
                cloudbuild_v1.BuildOperationMetadata(build=build)
            )
        )
        return operations_pb2.Operation(
            name=f"operations/build/{request.project_id}/{build.id}",
            done=True,
            response=response,
            metadata=metadata,
        )


@contextmanager
def cloud_build_server(storage_client: Any) -> Iterator[tuple[FakeCloudBuild, Any]]:
    """Serves the fake on loopback; yields it and a real CloudBuildClient connected to it."""
    from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports.grpc import (
        CloudBuildGrpcTransport,
    )

    fake = FakeCloudBuild(storage_client)
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "CreateBuild": grpc.unary_unary_rpc_method_handler(
                fake.create_build,
                request_deserializer=cloudbuild_v1.CreateBuildRequest.deserialize,
                response_serializer=operations_pb2.Operation.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    client = cloudbuild_v1.CloudBuildClient(transport=CloudBuildGrpcTransport(channel=channel))
    try:
        yield fake, client
    finally:
        channel.close()
        server.stop(grace=None)
