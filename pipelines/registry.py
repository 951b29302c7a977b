"""The pipelines this project ships, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freshet.config import Settings
from freshet.pipelines import training

BUILDERS: dict[str, Callable[[Settings], Any]] = {training.NAME: training.build}
