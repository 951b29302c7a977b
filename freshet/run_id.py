"""The one place that derives run ids.

A run id is a valid Vertex AI pipeline job id: lowercase letters, digits and hyphens, at most
128 characters, starting with a letter.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

_UNSAFE = re.compile(r"[^a-z0-9-]+")


def _slug(text: str) -> str:
    slug = _UNSAFE.sub("-", text.lower()).strip("-")
    return slug if slug and slug[0].isalpha() else f"p-{slug}".rstrip("-")


def derive_run_id(pipeline: str, template_version: str, data_version: str) -> str:
    """The run id for one data version of one pipeline template: the same inputs, the same id.

    Args:
        pipeline: Pipeline name.
        template_version: Version (content hash or tag) of the compiled pipeline template.
        data_version: Version of the data the run trains on.

    Returns:
        `<pipeline>-<24 hex digits>`, stable across processes and machines.
    """
    key = f"{pipeline}\0{template_version}\0{data_version}".encode()
    return f"{_slug(pipeline)[:100]}-{hashlib.sha256(key).hexdigest()[:24]}"


def new_run_id(pipeline: str, now: datetime | None = None) -> str:
    """A fresh id for a manual run: `<pipeline>-<UTC timestamp>-<random>`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{_slug(pipeline)[:90]}-{stamp}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """Returns `run_id` when it is a valid job id, else raises `BadInput` naming it."""
    from freshet.errors import BadInput

    if not re.fullmatch(r"[a-z][a-z0-9-]{0,127}", run_id):
        raise BadInput(
            f"Run id '{run_id}' is not valid: use lowercase letters, digits and hyphens, "
            "starting with a letter, at most 128 characters."
        )
    return run_id
