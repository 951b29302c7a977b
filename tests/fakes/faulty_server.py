"""Faulty serving artifacts, run as `python faulty_server.py MODE BUNDLE_DIR`.

Modes (each a way real serving containers fail):
    unhealthy   listens, but the health route answers 503 forever
    slow        the real app, with 80 ms added to every prediction
    error500    the real app, but every refused request becomes a 500
    orphan      the real app, after spawning a helper process that ignores SIGTERM
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response


def unhealthy_app() -> FastAPI:
    app = FastAPI()

    @app.get(os.environ.get("AIP_HEALTH_ROUTE", "/health"))
    async def health() -> Response:
        return Response(status_code=503, content=b'{"status": "loading"}')

    return app


def real_app(bundle: str) -> FastAPI:
    from freshet.serving.app import ServingSettings, create_app
    from freshet.serving.model import ServedModel

    return create_app(ServedModel.load(bundle), ServingSettings())


def main() -> None:
    mode, bundle = sys.argv[1], sys.argv[2]
    app = unhealthy_app() if mode == "unhealthy" else real_app(bundle)
    if mode == "slow":

        @app.middleware("http")
        async def slow(request: Request, call_next: Any) -> Response:
            if request.method == "POST":
                await asyncio.sleep(0.08)
            response: Response = await call_next(request)
            return response

    elif mode == "error500":

        @app.middleware("http")
        async def crash(request: Request, call_next: Any) -> Response:
            response: Response = await call_next(request)
            if 400 <= response.status_code < 500:
                return Response(status_code=500, content=b"Internal Server Error")
            return response

    elif mode == "orphan":
        helper = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
        )
        subprocess.Popen([sys.executable, "-c", helper])
    port = int(os.environ["AIP_HTTP_PORT"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
