"""Trigger throughput and latency vs. a bare subscriber, on one Pub/Sub emulator, in one run.

    .venv/bin/python bench/trigger.py [--messages 1000] [--versions 200] [--max-messages 16]

Two phases, each for the bare subscriber (acks on receipt) and the freshet pull worker
(parse, route, derive the run id, submit to a SQLite ledger, ack), one after the other:

* drain: N messages are published first, then the consumer starts; messages/s to empty it.
* latency: the consumer runs while N messages are published at a steady rate below its
  capacity; publish-to-receipt (bare) and publish-to-submission (worker) p50/p99.

Messages are Cloud Storage notifications for `--versions` objects, each repeated, as in the
acceptance test. The ledger stands in for the runner, so the figures are the trigger's own
cost, not a pipeline's.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROJECT = "freshet-bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(log: Path) -> subprocess.Popen[bytes]:
    root = subprocess.run(
        ["gcloud", "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    jar = sorted(glob.glob(f"{root}/platform/pubsub-emulator/lib/cloud-pubsub-emulator-*.jar"))[-1]
    port = free_port()
    proc = subprocess.Popen(
        ["java", "-jar", jar, "--host=127.0.0.1", f"--port={port}"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    os.environ["PUBSUB_EMULATOR_HOST"] = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the Pub/Sub emulator did not start")


def notifications(total: int, versions: int) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(total):
        v = (i * 7919) % versions  # every version repeated, interleaved
        name, generation = f"incoming/{v:04d}.csv", str(1_000_000 + v)
        resource = {"bucket": "data-bucket", "name": name, "generation": generation}
        attributes = {
            "eventType": "OBJECT_FINALIZE",
            "payloadFormat": "JSON_API_V1",
            "bucketId": "data-bucket",
            "objectId": name,
            "objectGeneration": generation,
        }
        out.append((json.dumps(resource).encode(), attributes))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bare:
    """A bare streaming-pull subscriber: ack on receipt, note the time."""

    def __init__(self, subscriber: Any, subscription: str, max_messages: int) -> None:
        self.subscriber, self.subscription, self.max_messages = (
            subscriber,
            subscription,
            max_messages,
        )
        self.received: dict[str, float] = {}
        self._lock = threading.Lock()
        self._future: Any = None

    def start(self) -> None:
        from google.cloud.pubsub_v1 import types

        def callback(message: Any) -> None:
            message.ack()
            with self._lock:
                self.received.setdefault(message.message_id, time.time())

        self._future = self.subscriber.subscribe(
            self.subscription,
            callback,
            flow_control=types.FlowControl(max_messages=self.max_messages),
        )

    def count(self) -> int:
        return len(self.received)

    def times(self) -> dict[str, float]:
        return dict(self.received)

    def stop(self) -> None:
        self._future.cancel()
        self._future.result()


class Worker:
    """The freshet pull worker with a ledger as its runner."""

    def __init__(self, subscriber: Any, subscription: str, max_messages: int, tmp: Path) -> None:
        from freshet.config import Settings
        from freshet.trigger.handler import CompiledTemplates, TriggerHandler
        from freshet.trigger.ledger import Ledger
        from freshet.trigger.pull import PullWorker
        from freshet.trigger.settings import Route, TriggerSettings

        self.ledger = Ledger(tmp / f"{subscription.rsplit('/', 1)[-1]}.sqlite")
        settings = Settings(
            root=tmp / "root",
            build_dir=tmp / "build",
            trigger=TriggerSettings(routes=[Route(match="gs://data-bucket/incoming/*")]),
        )
        templates = CompiledTemplates(settings)
        templates("training")  # compile before timing
        handler = TriggerHandler(settings, submit=self.ledger.submit, templates=templates)
        self.worker = PullWorker(handler, subscription, subscriber, max_messages=max_messages)

    def start(self) -> None:
        self.worker.start()

    def count(self) -> int:
        return len(self.ledger.calls())

    def times(self) -> dict[str, float]:
        return {str(mid): at for _, mid, _, at in self.ledger.calls()}

    def stop(self) -> None:
        self.worker.stop()


def wait_for(count: Callable[[], int], target: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while count() < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {count()} of {target} messages handled")
        time.sleep(0.01)


def publish_all(publisher: Any, topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> None:
    for future in [publisher.publish(topic, data, **attrs) for data, attrs in messages]:
        future.result()


def publish_paced(
    publisher: Any, topic: str, messages: list[tuple[bytes, dict[str, str]]], rate: float
) -> dict[str, float]:
    sent: dict[str, float] = {}
    futures = []
    began = time.monotonic()
    for i, (data, attrs) in enumerate(messages):
        delay = began + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        stamp = time.time()
        futures.append((stamp, publisher.publish(topic, data, **attrs)))
    for stamp, future in futures:
        sent[future.result()] = stamp
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--max-messages", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0, help="latency phase, messages/s")
    args = parser.parse_args()
    if shutil.which("gcloud") is None:
        sys.exit("error: gcloud (with the Pub/Sub emulator) is not installed.")

    tmp = Path(tempfile.mkdtemp(prefix="freshet-bench-"))
    emulator = start_emulator(tmp / "emulator.log")
    try:
        from google.cloud import pubsub_v1

        publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
        messages = notifications(args.messages, args.versions)
        results: dict[str, dict[str, float]] = {}
        for phase in ("drain", "latency"):
            for kind in ("bare", "worker"):
                topic = f"projects/{PROJECT}/topics/{phase}-{kind}"
                sub = f"projects/{PROJECT}/subscriptions/{phase}-{kind}"
                publisher.create_topic(name=topic)
                subscriber.create_subscription(
                    request={"name": sub, "topic": topic, "ack_deadline_seconds": 60}
                )
                consumer: Bare | Worker = (
                    Bare(subscriber, sub, args.max_messages)
                    if kind == "bare"
                    else Worker(subscriber, sub, args.max_messages, tmp)
                )
                row = results.setdefault(kind, {})
                if phase == "drain":
                    publish_all(publisher, topic, messages)
                    began = time.monotonic()
                    consumer.start()
                    wait_for(consumer.count, len(messages))
                    row["msgs_per_s"] = len(messages) / (time.monotonic() - began)
                else:
                    consumer.start()
                    time.sleep(1.0)  # the stream is open
                    sent = publish_paced(publisher, topic, messages, args.rate)
                    wait_for(consumer.count, len(messages))
                    done = consumer.times()
                    lags = [(done[m] - t) * 1000 for m, t in sent.items() if m in done]
                    row["p50_ms"] = statistics.median(lags)
                    row["p99_ms"] = percentile(lags, 0.99)
                consumer.stop()
                if isinstance(consumer, Worker):
                    runs = len(consumer.ledger.runs())
                    assert runs == args.versions, f"{runs} runs for {args.versions} versions"
    finally:
        emulator.terminate()
        emulator.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"{args.messages} notifications for {args.versions} data versions, "
        f"max {args.max_messages} in flight, latency phase at {args.rate:g} msgs/s"
    )
    print(f"{'':8} {'drain msgs/s':>13} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in ("bare", "worker"):
        row = results[kind]
        print(f"{kind:8} {row['msgs_per_s']:13.0f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f}")
    ratio = results["worker"]["msgs_per_s"] / results["bare"]["msgs_per_s"]
    print(f"worker/bare drain rate: {ratio:.2f}x")
    print(f"submissions: exactly {args.versions} per consumer run (checked)")


if __name__ == "__main__":
    main()
