"""The push endpoint on a real uvicorn server: the emulator's push delivery, CloudEvents, OIDC."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from freshet.runners.base import RunRequest, RunResult
from freshet.trigger.handler import TemplateFn, TriggerHandler
from freshet.trigger.ledger import Ledger
from freshet.trigger.oidc import CertCache, PushVerifier
from freshet.trigger.push import PushService, create_app
from tests.freshet.trigger.conftest import PubSubNames, make_settings
from tests.freshet.trigger.messages import (
    MALFORMED,
    cloud_event,
    drain,
    gcs_notification,
    wait_until,
)
from tests.freshet.trigger.servers import SigningKey, certs_server, serving

AUDIENCE = "https://trigger.example.com/"
PUSHER = "pusher@proj.iam.gserviceaccount.com"


def envelope(data: bytes, attributes: dict[str, str], message_id: str = "m1") -> dict[str, Any]:
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": message_id,
            "publishTime": "2026-11-22T10:00:00Z",
        },
        "subscription": "projects/p/subscriptions/s",
    }


@pytest.fixture
def endpoint(handler: TriggerHandler) -> Iterator[str]:
    with serving(create_app(PushService(handler))) as url:
        yield url


def test_emulator_push_starts_one_run_per_version_and_dead_letters_poison(
    pubsub: PubSubNames, endpoint: str, ledger: Ledger
) -> None:
    topic = pubsub.topic("push")
    _, dead = pubsub.with_dead_letters(
        "push", topic, push_config={"push_endpoint": endpoint + "/"}, ack_deadline_seconds=10
    )
    for generation in (1, 2):
        data, attributes = gcs_notification("data-bucket", "incoming/p.csv", generation)
        for _ in range(3):
            pubsub.publisher.publish(topic, data, **attributes).result()
    for data, attributes in MALFORMED[:2]:
        pubsub.publisher.publish(topic, data, **attributes).result()
    wait_until(lambda: len(ledger.calls()) == 6, what="6 pushed submissions")
    assert sorted(c[2] for c in ledger.calls()) == ["already_exists"] * 4 + ["submitted"] * 2
    letters: list[Any] = []
    wait_until(
        lambda: letters.extend(drain(pubsub.subscriber, dead, 1)) or len(letters) == 2,
        timeout=40,
        what="poison on the dead-letter topic",
    )
    assert sorted(m.data for m in letters) == sorted(d for d, _ in MALFORMED[:2])
    assert len(ledger.runs()) == 2


def test_transient_failure_answers_503_and_pubsub_retries(
    pubsub: PubSubNames, tmp_path: Path, build_dir: Path, templates: TemplateFn, ledger: Ledger
) -> None:
    calls: list[str] = []

    def flaky(request: RunRequest) -> RunResult:
        calls.append(request.run_id or "")
        if len(calls) == 1:
            raise TimeoutError("the runner did not answer")
        return ledger.submit(request)

    handler = TriggerHandler(make_settings(tmp_path, build_dir), submit=flaky, templates=templates)
    data, attributes = gcs_notification("data-bucket", "incoming/t.csv", 1)
    with serving(create_app(PushService(handler))) as url:
        answer = httpx.post(url + "/", json=envelope(data, attributes))
        assert answer.status_code == 503
        topic = pubsub.topic("retry")
        pubsub.with_dead_letters("retry", topic, push_config={"push_endpoint": url + "/"})
        pubsub.publisher.publish(topic, data, **attributes).result()
        wait_until(lambda: len(ledger.runs()) == 1, what="the retried push")
    assert len(calls) == 2


def test_answers_per_outcome(endpoint: str) -> None:
    data, attributes = gcs_notification("data-bucket", "incoming/o.csv", 4)
    first = httpx.post(endpoint + "/", json=envelope(data, attributes))
    assert first.status_code == 200 and first.json()["status"] == "submitted"
    assert first.json()["run_id"].startswith("training-")
    again = httpx.post(endpoint + "/", json=envelope(data, attributes, "m2"))
    assert (again.status_code, again.json()["status"]) == (200, "already_exists")
    ignored = httpx.post(endpoint + "/", json=envelope(*gcs_notification("x-bucket", "a", 1)))
    assert (ignored.status_code, ignored.json()["status"]) == (200, "ignored")
    poison = httpx.post(endpoint + "/", json=envelope(b"nope", {}))
    assert poison.status_code == 422 and "not valid JSON" in poison.json()["reason"]
    not_envelope = httpx.post(endpoint + "/", content=b"hello")
    assert not_envelope.status_code == 400
    assert httpx.get(endpoint + "/healthz").json() == {"status": "ok"}


def test_eventarc_cloud_events_binary_and_structured(endpoint: str, ledger: Ledger) -> None:
    event = cloud_event("data-bucket", "incoming/ce.csv", 12, event_id="ce-77")
    headers = {f"ce-{k}": v for k, v in event.items() if k not in ("data", "datacontenttype")}
    binary = httpx.post(endpoint + "/", headers=headers, json=event["data"])
    assert (binary.status_code, binary.json()["status"]) == (200, "submitted")
    structured = httpx.post(
        endpoint + "/",
        content=json.dumps(event).encode(),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert (structured.status_code, structured.json()["status"]) == (200, "already_exists")
    deleted = cloud_event("data-bucket", "incoming/ce.csv", 12, kind="deleted")
    answer = httpx.post(
        endpoint + "/",
        content=json.dumps(deleted).encode(),
        headers={"content-type": "application/cloudevents+json"},
    )
    assert (answer.status_code, answer.json()["status"]) == (200, "ignored")
    [run] = ledger.runs()
    assert run["source_message_id"] == "ce-77"


@pytest.fixture(scope="module")
def signing_keys() -> tuple[SigningKey, SigningKey]:
    return SigningKey("key-1"), SigningKey("key-2")


@pytest.fixture
def secured(
    handler: TriggerHandler, signing_keys: tuple[SigningKey, SigningKey]
) -> Iterator[tuple[str, dict[str, str]]]:
    key, _ = signing_keys
    published = {key.kid: key.cert_pem}
    with certs_server(published) as certs_url:
        verifier = PushVerifier(AUDIENCE, [PUSHER], CertCache(certs_url))
        with serving(create_app(PushService(handler, verifier))) as url:
            yield url, published


def post_with(url: str, token: str | None) -> httpx.Response:
    data, attributes = gcs_notification("x-bucket", "a.csv", 1)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(url + "/", json=envelope(data, attributes), headers=headers)


def test_oidc_valid_token_is_let_through(
    secured: tuple[str, dict[str, str]], signing_keys: tuple[SigningKey, SigningKey]
) -> None:
    url, _ = secured
    answer = post_with(url, signing_keys[0].token())
    assert (answer.status_code, answer.json()["status"]) == (200, "ignored")


@pytest.mark.parametrize(
    ("claims", "status", "words"),
    [
        ({"aud": "https://other.example.com/"}, 403, "audience"),
        ({"email": "intruder@proj.iam.gserviceaccount.com"}, 403, "not allowed"),
        ({"email_verified": False}, 403, "verified email"),
        ({"iss": "https://evil.example.com"}, 401, "issuer"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, 401, "not valid"),
    ],
)
def test_oidc_refusals(
    secured: tuple[str, dict[str, str]],
    signing_keys: tuple[SigningKey, SigningKey],
    claims: dict[str, Any],
    status: int,
    words: str,
) -> None:
    url, _ = secured
    answer = post_with(url, signing_keys[0].token(**claims))
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_oidc_missing_or_forged_token_is_401(
    secured: tuple[str, dict[str, str]], signing_keys: tuple[SigningKey, SigningKey]
) -> None:
    url, _ = secured
    assert post_with(url, None).status_code == 401
    assert post_with(url, "not-a-jwt").status_code == 401
    forged = SigningKey("key-1").token()  # same key id, another private key
    assert post_with(url, forged).status_code == 401


def test_oidc_rotated_key_is_fetched_on_first_sight(
    secured: tuple[str, dict[str, str]], signing_keys: tuple[SigningKey, SigningKey]
) -> None:
    url, published = secured
    old, new = signing_keys
    assert post_with(url, old.token()).status_code == 200
    assert post_with(url, new.token()).status_code == 401
    published[new.kid] = new.cert_pem
    assert post_with(url, new.token()).status_code == 200


def test_functions_framework_entry_point_answers_like_the_app(
    tmp_path: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions_framework.aio import create_asgi_app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FRESHET_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("FRESHET_BUILD_DIR", str(build_dir))
    monkeypatch.setenv(
        "FRESHET_TRIGGER__ROUTES", json.dumps([{"match": "gs://data-bucket/incoming/*"}])
    )
    source = Path(__file__).resolve().parents[3] / "freshet" / "trigger" / "function.py"
    app = create_asgi_app(target="pubsub_push", source=str(source))
    with serving(app) as url:
        ignored = httpx.post(url + "/", json=envelope(*gcs_notification("data-bucket", "x", 1)))
        assert ignored.status_code == 200
        assert ignored.json() == {
            "status": "ignored",
            "reason": "no route matches gs://data-bucket/x",
        }
        poison = httpx.post(url + "/", json=envelope(b"[]", {}))
        assert poison.status_code == 422
        assert "not an object" in poison.json()["reason"]
