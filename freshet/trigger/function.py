"""The push endpoint as a Cloud Run function (functions-framework, ASGI signature).

Deploy with a `main.py` holding `from freshet.trigger.function import pubsub_push`, or run
locally: `functions-framework --asgi --target pubsub_push --source freshet/trigger/function.py`.
Same service, same answers as `freshet trigger serve`; settings come from `FRESHET_*`.
"""

from __future__ import annotations

import threading

import functions_framework.aio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from freshet.trigger.push import PushService

_service: PushService | None = None
_lock = threading.Lock()


def _get_service() -> PushService:
    # Built on the first request, not at import: settings are read at the edge.
    global _service
    with _lock:
        if _service is None:
            from freshet.config import load_settings
            from freshet.trigger.handler import TriggerHandler

            _service = PushService.from_handler(TriggerHandler(load_settings()))
        return _service


@functions_framework.aio.http
async def pubsub_push(request: Request) -> JSONResponse:
    """Handles one Pub/Sub push request or Eventarc CloudEvent."""
    body = await request.body()
    service = await run_in_threadpool(_get_service)
    status, payload = await run_in_threadpool(service.handle, dict(request.headers), body)
    return JSONResponse(payload, status_code=status)
