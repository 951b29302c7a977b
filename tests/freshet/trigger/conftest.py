"""Fixtures for the trigger tests: Google's Pub/Sub emulator, compiled templates, settings."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from freshet.config import Settings
from freshet.trigger.handler import CompiledTemplates, TemplateFn, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.settings import Route, TriggerSettings
from tests.fakes.gcs import free_port, wait_for_port

PROJECT = "freshet-test"


def emulator_jar() -> str:
    """Path of the Pub/Sub emulator jar shipped with the gcloud CLI."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        raise RuntimeError("gcloud is not installed: the Pub/Sub emulator ships with it.")
    root = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    jars = glob.glob(f"{root}/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar")
    if not jars:
        raise RuntimeError(
            f"No Pub/Sub emulator jar under {root}: install google-cloud-cli-pubsub-emulator."
        )
    return sorted(jars)[-1]


@pytest.fixture(scope="session")
def pubsub_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Starts the emulator on a free loopback port; sets PUBSUB_EMULATOR_HOST for the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("pubsub") / "emulator.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["java", "-jar", emulator_jar(), "--host=127.0.0.1", f"--port={port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    host = f"127.0.0.1:{port}"
    previous = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host
    try:
        wait_for_port(port, timeout=60)
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if previous is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def publisher(pubsub_emulator: str) -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


@pytest.fixture(scope="session")
def subscriber(pubsub_emulator: str) -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()


class PubSubNames:
    """Unique topic/subscription names for one test, created on demand."""

    def __init__(self, publisher: Any, subscriber: Any) -> None:
        self.publisher = publisher
        self.subscriber = subscriber
        self.tag = uuid.uuid4().hex[:8]

    def topic(self, name: str) -> str:
        path = f"projects/{PROJECT}/topics/{name}-{self.tag}"
        self.publisher.create_topic(name=path)
        return path

    def subscription(self, name: str, topic: str, **fields: Any) -> str:
        path = f"projects/{PROJECT}/subscriptions/{name}-{self.tag}"
        self.subscriber.create_subscription(request={"name": path, "topic": topic, **fields})
        return path

    def with_dead_letters(self, name: str, topic: str, **fields: Any) -> tuple[str, str]:
        """A subscription with a dead-letter policy (5 attempts); returns it and the DL sub."""
        dead = self.topic(f"{name}-dead")
        dead_sub = self.subscription(f"{name}-dead", dead)
        policy = {"dead_letter_topic": dead, "max_delivery_attempts": 5}
        sub = self.subscription(name, topic, dead_letter_policy=policy, **fields)
        return sub, dead_sub


@pytest.fixture
def pubsub(publisher: Any, subscriber: Any) -> PubSubNames:
    return PubSubNames(publisher, subscriber)


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("build")


@pytest.fixture(scope="session")
def templates(build_dir: Path) -> TemplateFn:
    """The real compiled training template, compiled once for the session."""
    compiled = CompiledTemplates(Settings(build_dir=build_dir))
    compiled("training")
    return compiled


ROUTES = [
    Route(match="gs://marker-bucket/*", marker="_SUCCESS", parameters={"epochs": 3}),
    Route(match="gs://data-bucket/incoming/*", pipeline="training", parameters={"epochs": 2}),
]


def make_settings(root: Path, build_dir: Path, **trigger: Any) -> Settings:
    return Settings(
        root=root, build_dir=build_dir, trigger=TriggerSettings(routes=ROUTES, **trigger)
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    book = Ledger(tmp_path / "ledger.sqlite")
    yield book
    book.close()


@pytest.fixture
def handler(tmp_path: Path, build_dir: Path, templates: TemplateFn, ledger: Ledger) -> Any:
    return TriggerHandler(
        make_settings(tmp_path / "root", build_dir), submit=ledger.submit, templates=templates
    )
