"""Resolving references: Secret Manager through the unmodified client and a local gRPC fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from freshet.errors import BadInput
from freshet.secrets import SecretError, resolve, resolve_setting, scrub
from freshet.secrets.resolve import secret_manager_client
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.fakes.vertex_fixtures import PROJECT

VALUE = "https://hooks.example.com/services/T1/B2/s3cr3t-t0ken"


def test_latest_and_pinned_versions_are_read_with_credentials(
    secret_manager: FakeSecretManager,
) -> None:
    reference = secret_manager.add(PROJECT, "alerts-webhook", "old-value\n")
    secret_manager.add(PROJECT, "alerts-webhook", VALUE + "\n")

    assert resolve(reference) == VALUE  # the newline `echo | gcloud secrets create` adds: gone
    assert resolve(f"{reference}/versions/1") == "old-value"
    names = [(r.name, r.authorized) for r in secret_manager.requests]
    assert names == [
        (f"projects/{PROJECT}/secrets/alerts-webhook/versions/latest", True),
        (f"projects/{PROJECT}/secrets/alerts-webhook/versions/1", True),
    ]
    # Once resolved, the value is shown as its reference wherever text is scrubbed.
    assert scrub(f"posting to {VALUE} failed") == f"posting to <{reference}> failed"


def test_a_given_client_is_used(secret_manager: FakeSecretManager) -> None:
    reference = secret_manager.add(PROJECT, "token", "abcdef")
    client = secret_manager_client(secret_manager.endpoint)
    assert resolve(reference, client=client) == "abcdef"


def test_missing_secret_is_one_sentence_naming_the_reference(
    secret_manager: FakeSecretManager,
) -> None:
    reference = f"sm://projects/{PROJECT}/secrets/nowhere"
    with pytest.raises(SecretError) as raised:
        resolve(reference)
    assert str(raised.value) == (
        f"Secret '{reference}' was not found in Secret Manager (NOT_FOUND): create it with "
        "`gcloud secrets create nowhere --data-file=-`."
    )
    assert isinstance(raised.value, BadInput)  # exit 2 at the command line


def test_denied_secret_names_the_role_and_never_the_value(
    secret_manager: FakeSecretManager,
) -> None:
    reference = secret_manager.add(PROJECT, "hidden", VALUE)
    secret_manager.deny(PROJECT, "hidden")
    with pytest.raises(SecretError) as raised:
        resolve(reference)
    message = str(raised.value)
    assert message.startswith(f"Secret '{reference}' may not be read by this identity")
    assert "PERMISSION_DENIED" in message and "roles/secretmanager.secretAccessor" in message
    assert VALUE not in message and "\n" not in message


def test_env_file_and_kubernetes_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_FOR_TEST", "from-the-environment")
    assert resolve("env://HOOK_FOR_TEST") == "from-the-environment"
    secret = tmp_path / "hook.txt"
    secret.write_text("from-a-file\n")
    assert resolve(f"file://{secret}") == "from-a-file"
    # Inside a Kubeflow step, kfp-kubernetes mounts the key as FRESHET_SECRET_<NAME>_<KEY>.
    monkeypatch.setenv("FRESHET_SECRET_ALERTS_WEBHOOK_URL", "from-kubernetes")
    assert resolve("k8s://alerts-webhook/url") == "from-kubernetes"
    assert resolve_setting("https://literal.example/x") == "https://literal.example/x"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("env://FRESHET_TEST_UNSET", "environment variable FRESHET_TEST_UNSET is not set"),
        ("file:///nonexistent/hook", "/nonexistent/hook (No such file or directory)"),
        (
            "k8s://alerts/url",
            "key 'url' of Kubernetes secret 'alerts' is not mounted as "
            "FRESHET_SECRET_ALERTS_URL in this step",
        ),
    ],
)
def test_unresolvable_local_references(reference: str, expected: str) -> None:
    with pytest.raises(SecretError) as raised:
        resolve(reference)
    assert str(raised.value) == f"Secret reference '{reference}' cannot be resolved: {expected}."


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretError, match="resolves to an empty value"):
        resolve(f"file://{tmp_path / 'empty'}")
