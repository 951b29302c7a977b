"""`freshet serve BUNDLE_DIR`: the serving image's entry point, also what verification starts.

Imports stay inside the function so that `freshet --help` loads neither FastAPI nor
onnxruntime.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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


BUNDLE_ENV = "FRESHET_SERVE_BUNDLE"  # how `--workers` hands the bundle to each worker


def web_concurrency() -> int:
    """Worker processes from `WEB_CONCURRENCY` (1 when unset).

    Raises:
        ConfigError: The variable is not a whole number of at least 1.
    """
    from freshet.errors import ConfigError

    value = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not value:
        return 1
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"Invalid serving environment: WEB_CONCURRENCY={value!r} is not 1 or more."
        )
    return int(value)


def worker_app() -> Any:
    """The app of one `--workers` process: the bundle named by `FRESHET_SERVE_BUNDLE`."""
    from freshet.logs import setup_logging
    from freshet.serving.app import create_app
    from freshet.serving.model import load_bundle

    setup_logging()  # a spawned worker starts without the CLI's logging
    return create_app(load_bundle(os.environ[BUNDLE_ENV]), load_serving_settings())


def _serve_workers(bundle_dir: Path, host: str, port: int, access_log: bool, n: int) -> None:
    """Runs n uvicorn worker processes on one socket (each loads the bundle before it answers)."""
    import uvicorn

    os.environ[BUNDLE_ENV] = str(bundle_dir.resolve())
    uvicorn.run(
        "freshet.serving.command:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=n,
        http="auto",
        loop="auto",
        log_config=None,
        log_level="info",
        access_log=access_log,
        lifespan="off",
    )


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
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Server processes sharing the port [default: WEB_CONCURRENCY or 1].",
            min=1,
        ),
    ] = None,
) -> None:
    """Serve a bundle over HTTP (Vertex AI contract: AIP_HTTP_PORT, AIP_*_ROUTE)."""
    import uvicorn

    from freshet.serving.app import create_app
    from freshet.serving.model import load_bundle

    settings = load_serving_settings()
    processes = workers or web_concurrency()
    model = load_bundle(bundle_dir)
    listen = port or settings.http_port
    if processes > 1:
        _serve_workers(bundle_dir, host, listen, access_log, processes)
        return
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
            # "auto" takes httptools and uvloop (C parser and event loop), which the serving
            # image's requirements pin; an older image without them still starts (h11, asyncio).
            http="auto",
            loop="auto",
            log_config=None,  # uvicorn's records go through freshet's one logging setup
            log_level="info",  # its start-up lines and, with access_log, one record per request
            access_log=access_log,
            lifespan="off",
        )
    )
    server.run()
    if not server.started:
        raise typer.Exit(1)
