"""Temporary Vertex AI endpoints for verification: create labelled, deploy, always tear down.

Every endpoint freshet makes for verification carries the label `freshet-verify=<run>`, and is
created before anything is deployed (`Model.deploy()` without an endpoint would make an
unlabelled `<name>_endpoint` no cleanup can find). Teardown undeploys every model, then
deletes the endpoint (Vertex refuses to delete an endpoint that still serves). `cleanup`
finds what a killed worker left behind by that label.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from freshet.errors import FreshetError
from freshet.gcp.vertex_clients import VertexLocation, current_location, gapic_client

VERIFY_LABEL = "freshet-verify"
DEFAULT_MACHINE_TYPE = "n1-standard-2"


class EndpointError(FreshetError):
    """A Vertex AI endpoint could not be created, deployed to, or torn down."""


def run_label(run_id: str) -> str:
    """The label value of a run: lowercase letters, digits, '_' and '-', 63 at most."""
    from freshet.registry.vertex import label_value

    return label_value(run_id) or "run"


@dataclass
class Teardown:
    """What tearing an endpoint down did."""

    endpoint: str
    undeployed: int = 0
    deleted: bool = False
    error: str = ""


def create_endpoint(run_id: str, location: VertexLocation | None = None) -> Any:
    """Creates the labelled, empty verification endpoint of a run (an SDK `Endpoint`).

    Raises:
        EndpointError: Vertex refused.
    """
    from google.api_core.exceptions import GoogleAPIError
    from google.cloud import aiplatform

    where = current_location(location)
    label = run_label(run_id)
    try:
        return aiplatform.Endpoint.create(
            display_name=f"freshet-verify-{label}"[:128],
            labels={VERIFY_LABEL: label, "managed-by": "freshet"},
            project=where.project,
            location=where.region,
        )
    except GoogleAPIError as exc:
        raise EndpointError(f"Could not create the verification endpoint: {exc}") from None


def teardown(endpoint_name: str, location: VertexLocation | None = None) -> Teardown:
    """Undeploys every model of an endpoint, then deletes it; never raises (says why not)."""
    from google.api_core.exceptions import GoogleAPIError, NotFound

    where = current_location(location)
    client = gapic_client("EndpointServiceClient", where.region)
    done = Teardown(endpoint_name)
    try:
        found = client.get_endpoint(name=endpoint_name)
        for deployed in found.deployed_models:
            client.undeploy_model(endpoint=endpoint_name, deployed_model_id=deployed.id).result()
            done.undeployed += 1
        client.delete_endpoint(name=endpoint_name).result()
        done.deleted = True
    except NotFound:
        done.deleted = True  # already gone: nothing is left
    except GoogleAPIError as exc:
        done.error = f"{type(exc).__name__}: {exc}"
    return done


@contextmanager
def temporary_endpoint(run_id: str, location: VertexLocation | None = None) -> Iterator[Any]:
    """A labelled endpoint for the block; undeployed and deleted when it ends, however."""
    endpoint = create_endpoint(run_id, location)
    try:
        yield endpoint
    finally:
        result = teardown(endpoint.resource_name, location)
        if result.error:
            raise EndpointError(
                f"Could not tear down the verification endpoint {endpoint.resource_name}: "
                f"{result.error}; 'freshet verify cleanup' removes it."
            )


def leftover_endpoints(
    location: VertexLocation | None = None,
    *,
    older_than: timedelta | None = None,
    run_id: str = "",
) -> list[Any]:
    """Verification endpoints (gapic `Endpoint`s), of one run or all, older than a duration."""
    where = current_location(location)
    client = gapic_client("EndpointServiceClient", where.region)
    wanted = (
        f'labels.{VERIFY_LABEL}="{run_label(run_id)}"' if run_id else f"labels.{VERIFY_LABEL}:*"
    )
    # The gapic method takes a filter only inside `request`.
    found = list(client.list_endpoints(request={"parent": where.parent, "filter": wanted}))
    if older_than is None:
        return found
    cutoff = datetime.now(UTC) - older_than
    return [e for e in found if e.create_time is None or e.create_time <= cutoff]


def cleanup(
    location: VertexLocation | None = None,
    *,
    older_than: timedelta | None = None,
    run_id: str = "",
) -> list[Teardown]:
    """Tears down every leftover verification endpoint; what happened to each.

    Raises:
        EndpointError: The endpoints could not be listed.
    """
    from google.api_core.exceptions import GoogleAPIError

    try:
        found = leftover_endpoints(location, older_than=older_than, run_id=run_id)
    except GoogleAPIError as exc:
        raise EndpointError(f"Could not list the verification endpoints: {exc}") from None
    return [teardown(e.name, location) for e in found]
