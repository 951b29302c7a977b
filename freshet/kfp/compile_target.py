"""The kfp compile target: Vertex-only features turned into their Kubernetes form.

Spot on Vertex is a CustomJob, which only Vertex can start; on GKE it is a node selector and a
toleration on the train task's pod, so the kfp template is built with `spot` off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from freshet.config import Settings


def kfp_settings(settings: Settings) -> Settings:
    """The settings the kfp template is built with: never a Vertex CustomJob."""
    resources = settings.train_resources
    if not resources.spot:
        return settings
    return settings.model_copy(
        update={"train_resources": resources.model_copy(update={"spot": False})}
    )


def kubernetes_config(settings: Settings) -> dict[str, Any] | None:
    """The Kubernetes platform spec to add to the compiled template (None: nothing to add)."""
    return None


def add_platform_spec(path: Path, platform: dict[str, Any]) -> None:
    """Appends a platform spec document to a compiled template."""
    import yaml

    with path.open("a") as out:
        out.write("---\n")
        yaml.safe_dump(platform, out, sort_keys=True)
