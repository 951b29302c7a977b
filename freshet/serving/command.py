"""`freshet serve BUNDLE_DIR`: the serving image's entry point, also what verification starts.

Imports stay inside the function so that `freshet --help` loads neither FastAPI nor
onnxruntime.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from freshet.serving.app import ServingSettings


def load_serving_settings() -> ServingSettings:
    """Reads the AIP_* variables, naming every malformed one in one `ConfigError`."""
    from pydantic import ValidationError

    from freshet.errors import ConfigError
    from freshet.serving.app import ServingSettings

    aliases = {
        name: str(field.validation_alias) for name, field in ServingSettings.model_fields.items()
    }
    try:
        return ServingSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{aliases.get(str(err['loc'][0]), err['loc'][0])}={err.get('input')!r}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid serving environment: {problems}.") from None


def serve_command(
    bundle_dir: Annotated[Path, typer.Argument(help="Bundle directory from the package step.")],
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (0.0.0.0 in the container).")
    ] = "0.0.0.0",
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port [default: AIP_HTTP_PORT or 8080].", min=1, max=65535),
    ] = None,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log", help="One log record per request (JSON in a container)."
        ),
    ] = True,
) -> None:
    """Serve a bundle over HTTP (Vertex AI contract: AIP_HTTP_PORT, AIP_*_ROUTE)."""
    import uvicorn

    from freshet.serving.app import create_app
    from freshet.serving.model import load_bundle

    settings = load_serving_settings()
    model = load_bundle(bundle_dir)
    listen = port or settings.http_port
    logging.getLogger("freshet.serving").info(
        "serving %s on http://%s:%s (health %s, predict %s)",
        bundle_dir,
        host,
        listen,
        settings.health_route,
        settings.predict_route,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(model, settings),
            host=host,
            port=listen,
            log_config=None,  # uvicorn's records go through freshet's one logging setup
            log_level="info",  # its start-up lines and, with access_log, one record per request
            access_log=access_log,
            lifespan="off",
        )
    )
    server.run()
    if not server.started:
        raise typer.Exit(1)
