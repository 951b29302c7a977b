"""The serving app: FastAPI on onnxruntime, following the Vertex AI custom-container contract.

Routes and port come from `AIP_HEALTH_ROUTE`, `AIP_PREDICT_ROUTE` and `AIP_HTTP_PORT`
(read by `ServingSettings` at the edge, in `freshet serve`). Every malformed request gets a
4xx with `{"error": "<sentence>"}`; the model is loaded before the port opens, so a health
answer of 200 always means the model is loaded.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

import msgspec
import numpy as np
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.exceptions import HTTPException

from freshet.contract.signature import Signature
from freshet.serving.parse import MAX_BODY_BYTES, MAX_INSTANCES, RequestParser, RequestProblem

log = logging.getLogger("freshet.serving")


class Served(Protocol):
    """What the app serves: `freshet.contract.runtime.ContractModel` (or a baseline in bench)."""

    @property
    def signature(self) -> Signature:
        """The model's contract."""
        ...

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Probabilities (rows x labels) or values (rows,) for graph inputs."""
        ...


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


_encode = msgspec.json.Encoder().encode


def _json(status: int, payload: dict[str, Any]) -> Response:
    return _raw(status, _encode(payload))


def _raw(status: int, content: bytes) -> Response:
    return Response(content=content, status_code=status, media_type="application/json")


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


def predictions(signature: Signature, output: np.ndarray) -> list[dict[str, Any]]:
    """The response's predictions for a model output.

    Classification: `{"label", "probabilities": {label: p}}`; regression: `{"value": x}`
    (null where the model gave no finite number).
    """
    if signature.task == "regression":
        return [{"value": v if math.isfinite(v) else None} for v in output.tolist()]
    labels = signature.labels
    return [
        {"label": labels[int(i)], "probabilities": dict(zip(labels, row, strict=True))}
        for i, row in zip(output.argmax(axis=1).tolist(), output.tolist(), strict=True)
    ]


def encode_predictions(signature: Signature, output: np.ndarray) -> bytes:
    """The response body `{"predictions": [...]}` of a model output (see `predictions`).

    Regression values go from the array to JSON in one call (msgspec writes a non-finite
    float as null), then each is wrapped as `{"value": x}` in bytes: no per-instance object.
    """
    if signature.task == "regression":
        values = _encode(output.astype(np.float64, copy=False).ravel().tolist())
        items = values[1:-1].split(b",") if len(values) > 2 else []
        return b'{"predictions":[' + b",".join(b'{"value":' + v + b"}" for v in items) + b"]}"
    labels = signature.labels
    rows = output.tolist()
    return _encode(
        {
            "predictions": [
                {"label": labels[i], "probabilities": dict(zip(labels, row, strict=True))}
                for i, row in zip(output.argmax(axis=1).tolist(), rows, strict=True)
            ]
        }
    )


def create_app(
    model: Served,
    settings: ServingSettings | None = None,
    max_instances: int = MAX_INSTANCES,
) -> FastAPI:
    """Builds the app around a loaded model.

    Args:
        model: The loaded bundle (`freshet.serving.model.load_bundle`).
        settings: Routes (defaults: `/health`, `/predict`).
        max_instances: The largest batch accepted (larger ones get 413).

    Returns:
        The FastAPI app (run it with uvicorn).
    """
    routes = settings or ServingSettings()
    app = FastAPI(title="freshet serving", docs_url=None, redoc_url=None, openapi_url=None)
    parser = RequestParser(model.signature, max_instances)

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
            feeds, _ = parser.parse(await _read_body(request))
        except RequestProblem as problem:
            return _error(problem.status, problem.message)
        try:
            output = model.run(feeds)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            log.exception("the model failed on a request")
            detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            return _error(500, f"The model failed on this request: {detail}")
        return _raw(200, encode_predictions(model.signature, output))

    return app
