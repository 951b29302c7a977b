"""The pipelines this project ships, by name (a project adds its own under `[pipelines]`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freshet.config import Settings
from freshet.pipelines import prediction, training, training_gbt

BUILDERS: dict[str, Callable[[Settings], Any]] = {
    training.NAME: training.build,
    training_gbt.NAME: training_gbt.build,
    prediction.NAME: prediction.build,
}
