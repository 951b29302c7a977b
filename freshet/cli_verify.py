"""`freshet verify cleanup` and `freshet verify image`: verification outside a pipeline run.

`cleanup` removes the temporary Vertex AI endpoints verification leaves behind when its
worker is killed (labelled `freshet-verify`); `image` runs a serving image the way Vertex
would, when a Docker engine is reachable, and applies the verify step's checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

import typer

from freshet.errors import BadInput, FreshetError

verify_app = typer.Typer(
    help="Verification outside a run: clean up endpoints, check a serving image.",
    no_args_is_help=True,
)
SKIPPED_EXIT = 3  # not verified (no engine): neither a pass (0) nor a failed check (1)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class VerificationSkipped(FreshetError):
    """The check could not run here (no Docker engine); nothing was verified."""


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `2h`, `1d` as a duration.

    Raises:
        BadInput: Naming the value when it is not one.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match is None:
        raise BadInput(
            f"--older-than '{text}' is not a duration: use a number and s, m, h or d (e.g. 2h)."
        )
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _init_vertex() -> None:
    """Points the Vertex SDK at [gcp] project and region (nothing else is needed here)."""
    from google.cloud import aiplatform

    from freshet.config import load_settings
    from freshet.gcp.session import default_credentials, quiet_sdk_logs, require

    gcp = require(load_settings(), ("gcp.project", "gcp.region"))
    quiet_sdk_logs()
    aiplatform.init(
        project=gcp.project,
        location=gcp.region,
        credentials=default_credentials(),
        api_endpoint=gcp.api_endpoint or f"{gcp.region}-aiplatform.googleapis.com",
    )


def cleanup_command(
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Only endpoints created longer ago (e.g. 2h, 30m)."),
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Only the endpoint of this run id.")
    ] = None,
) -> None:
    """Delete verification endpoints left behind (label freshet-verify), saying which."""
    from freshet.gcp.endpoints import VERIFY_LABEL, cleanup

    age = parse_duration(older_than) if older_than is not None else None
    _init_vertex()
    results = cleanup(older_than=age, run_id=run or "")
    if not results:
        typer.echo(f"No verification endpoints left behind (label {VERIFY_LABEL}).")
        return
    failed = [r for r in results if not r.deleted]
    for result in results:
        if result.deleted:
            typer.echo(
                f"Deleted {result.endpoint} ({result.undeployed} deployed model(s) undeployed)."
            )
        else:
            typer.echo(f"Could not delete {result.endpoint}: {result.error}", err=True)
    if failed:
        raise typer.Exit(1)


def docker_engine_problem() -> str:
    """Why no Docker engine can run an image here ("" when one answers `docker info`)."""
    import shutil
    import subprocess

    docker = shutil.which("docker")
    if docker is None:
        return "no Docker engine here (no 'docker' command on PATH)"
    try:
        result = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no Docker engine answers ('docker info' failed: {exc})"
    if result.returncode != 0:
        said = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Docker engine answers ('docker info' failed: {said})"
    return ""


def image_command(
    image: Annotated[str, typer.Argument(help="The serving image to run.")],
) -> None:
    """Run a serving image as Vertex would (AIP_* env, port, routes) and verify it."""
    problem = docker_engine_problem()
    if problem:
        typer.echo(f"Skipped: {problem}; the image {image} was not verified.", err=True)
        raise typer.Exit(SKIPPED_EXIT)
    raise VerificationSkipped(
        f"Verifying the image {image} in a local Docker engine is not implemented yet; "
        "verify it on a Vertex AI endpoint (verify_target = vertex-endpoint)."
    )


def register(app: typer.Typer, plain_errors: Callable[[Any], Any]) -> None:
    """Adds the `verify` group (`cleanup`, `image`) to the freshet CLI."""
    verify_app.command("cleanup")(plain_errors(cleanup_command))
    verify_app.command("image")(plain_errors(image_command))
    app.add_typer(verify_app, name="verify")
