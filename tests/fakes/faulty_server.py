"""Faulty serving artifacts, run as `python faulty_server.py MODE BUNDLE_DIR`.

Modes (each a way real serving containers fail):
    unhealthy   listens, but the health route answers 503 forever
    slow        the real app, with 80 ms added to every prediction
    error500    the real app, but every refused request becomes a 500
    orphan      the real app, after spawning a helper process that ignores SIGTERM
    unseen      the real app around a model that fails on a category its golden rows lack
                (as a graph whose encoder refuses unknown categories would)
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


class FailsOnUnseen:
    """A served model that raises on a categorical value absent from the golden rows."""

    def __init__(self, bundle: str) -> None:
        from freshet.serving.model import load_bundle
        from freshet.serving.signature import load_golden

        self.model = load_bundle(bundle)
        self.signature = self.model.signature
        names = self.signature.categorical_features
        self.seen = {(n, str(e.instance[n])) for e in load_golden(bundle).examples for n in names}

    def run(self, feeds: dict[str, Any]) -> Any:
        names = self.signature.categorical_features
        for row in feeds.get("categorical", []):
            for name, value in zip(names, row, strict=True):
                if value and (name, value) not in self.seen:
                    raise ValueError(f"unknown category {value!r} in {name!r}")
        return self.model.run(feeds)


def real_app(bundle: str, unseen_fails: bool = False) -> FastAPI:
    from freshet.serving.app import ServingSettings, create_app
    from freshet.serving.model import load_bundle

    model = FailsOnUnseen(bundle) if unseen_fails else load_bundle(bundle)
    return create_app(model, ServingSettings())


def main() -> None:
    mode, bundle = sys.argv[1], sys.argv[2]
    app = unhealthy_app() if mode == "unhealthy" else real_app(bundle, mode == "unseen")
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
