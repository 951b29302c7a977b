"""The serving app: FastAPI on onnxruntime, following the Vertex AI custom-container contract.

Routes and port come from `AIP_HEALTH_ROUTE`, `AIP_PREDICT_ROUTE` and `AIP_HTTP_PORT`
(read by `ServingSettings` at the edge, in `freshet serve`). Every malformed request gets a
4xx with `{"error": "<sentence>"}`; the model is loaded before the port opens, so a health
answer of 200 always means the model is loaded.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException

from freshet.serving.model import ServedModel
from freshet.serving.parse import MAX_BODY_BYTES, MAX_INSTANCES, RequestProblem, parse_instances

log = logging.getLogger("freshet.serving")


class ServingSettings(BaseSettings):
    """The Vertex AI custom-container variables, with their documented defaults."""

    model_config = SettingsConfigDict(extra="ignore")

    http_port: int = Field(default=8080, ge=1, le=65535, validation_alias="AIP_HTTP_PORT")
    health_route: str = Field(
        default="/health", pattern=r"^/\S*$", validation_alias="AIP_HEALTH_ROUTE"
    )
    predict_route: str = Field(
        default="/predict", pattern=r"^/\S*$", validation_alias="AIP_PREDICT_ROUTE"
    )


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(
        content=json.dumps(payload).encode(), status_code=status, media_type="application/json"
    )


def _error(status: int, message: str) -> Response:
    return _json(status, {"error": message})


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestProblem(
            413, f"The request body has {declared} bytes; at most {MAX_BODY_BYTES} are accepted."
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestProblem(
                413, f"The request body is over the limit of {MAX_BODY_BYTES} bytes."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    model: ServedModel,
    settings: ServingSettings | None = None,
    max_instances: int = MAX_INSTANCES,
) -> FastAPI:
    """Builds the app around a loaded model.

    Args:
        model: The loaded bundle.
        settings: Routes (defaults: `/health`, `/predict`).
        max_instances: The largest batch accepted (larger ones get 413).

    Returns:
        The FastAPI app (run it with uvicorn).
    """
    routes = settings or ServingSettings()
    app = FastAPI(title="freshet serving", docs_url=None, redoc_url=None, openapi_url=None)
    labels = model.signature.labels

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return _error(400, f"The request is not valid: {exc.errors()[0].get('msg', exc)}.")

    @app.get(routes.health_route)
    async def health() -> Response:
        return _json(200, {"status": "ok", "features": len(model.signature.features)})

    @app.post(routes.predict_route)
    async def predict(request: Request) -> Response:
        try:
            features = parse_instances(await _read_body(request), model.signature, max_instances)
        except RequestProblem as problem:
            return _error(problem.status, problem.message)
        probabilities = model.predict_proba(features)
        best = probabilities.argmax(axis=1)
        predictions = [
            {"label": labels[int(i)], "probabilities": dict(zip(labels, row.tolist(), strict=True))}
            for i, row in zip(best, probabilities, strict=True)
        ]
        return _json(200, {"predictions": predictions})

    return app
