"""Starts gcp-storage-emulator with the upload precondition it lacks: `ifGenerationMatch`.

Real Cloud Storage creates or replaces an object only when its live generation equals
`ifGenerationMatch` (0: only when there is none) and answers 412 otherwise; the emulator
ignores the parameter. Registries and stores that rely on it (create-only records) are tested
against this, so object inserts are wrapped: checked and done under one lock. Run as a script
with the emulator's own arguments (tests/fakes/gcs.py does).
"""

from __future__ import annotations

import sys
import threading
from http import HTTPStatus
from typing import Any

from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_insert = objects.insert
_lock = threading.Lock()


def _object_name(request: Any) -> str | None:
    if "name" in request.query:
        return str(request.query["name"][0])
    data = request.data
    return data.get("meta", {}).get("name") if isinstance(data, dict) else None


def insert(request: Any, response: Any, storage: Any, *args: Any, **kwargs: Any) -> Any:
    """The emulator's object insert, refused with 412 when `ifGenerationMatch` does not hold."""
    wanted = request.query.get("ifGenerationMatch")
    if not wanted:
        return _insert(request, response, storage, *args, **kwargs)
    with _lock:
        try:
            obj = storage.get_file_obj(request.params["bucket_name"], _object_name(request))
            current = str(obj["generation"])
        except NotFound:
            current = "0"
        if current != wanted[0]:
            response.status = HTTPStatus.PRECONDITION_FAILED
            response.json(
                {
                    "error": {
                        "code": 412,
                        "message": "At least one of the pre-conditions you specified did not hold.",
                        "errors": [{"reason": "conditionNotMet"}],
                    }
                }
            )
            return None
        return _insert(request, response, storage, *args, **kwargs)


# The server module builds its routes from `objects.insert` when imported: patch first.
objects.insert = insert

if __name__ == "__main__":
    from gcp_storage_emulator.__main__ import main

    main(sys.argv[1:])
