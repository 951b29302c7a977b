"""Pipelines for the KFP tests: one that takes long enough to be cancelled."""

# No `from __future__ import annotations`: kfp reads the components' annotations as types.
from typing import Any

from kfp import dsl

IMAGE = "python:3.11-slim"


@dsl.component(base_image=IMAGE)
def nap(seconds: int) -> int:
    """Sleeps, as a long training step does."""
    import time

    time.sleep(seconds)
    return seconds


def sleepy() -> Any:
    """One step that sleeps `seconds` (default a minute)."""

    @dsl.pipeline(name="sleepy")
    def pipeline(seconds: int = 60) -> int:
        return nap(seconds=seconds).set_caching_options(False).output

    return pipeline


@dsl.component(base_image=IMAGE)
def note(data_uri: str) -> str:
    """Echoes the data it was started for."""
    return data_uri


def consume() -> Any:
    """One step taking the data URI a trigger passes."""

    @dsl.pipeline(name="consume")
    def pipeline(data_uri: str) -> str:
        return note(data_uri=data_uri).output

    return pipeline
