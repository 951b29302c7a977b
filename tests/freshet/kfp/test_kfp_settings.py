"""Bad [kfp] settings: one sentence, exit 2, before any call (or after one healthz)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from freshet.cli import app
from tests.fakes.kfp_fixtures import KfpEnv

cli = CliRunner()


def submit(env: KfpEnv) -> list[str]:
    return ["submit", str(env.templates["plain"]), "--runner", "kfp"]


def one_error(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in output
    return line


def test_every_bad_setting_is_named_in_one_sentence_before_any_call(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_KFP__HOST", "not a url")
    monkeypatch.delenv("FRESHET_KFP__PIPELINE_ROOT")
    monkeypatch.setenv("FRESHET_KFP__NAMESPACE", "Team_ML")
    seen = len(kfp_env.fake.requests)

    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    line = one_error(result.output)
    assert "kfp.host: must be an http:// or https:// URL (got 'not a url')" in line
    assert "kfp.pipeline_root: required here; set FRESHET_KFP__PIPELINE_ROOT" in line
    assert "kfp.namespace: must be a Kubernetes namespace name (got 'Team_ML')" in line
    assert len(kfp_env.fake.requests) == seen


def test_a_malformed_pipeline_root_is_refused(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_KFP__PIPELINE_ROOT", "/local/dir")
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert "kfp.pipeline_root: must be a gs://, s3:// or minio://bucket/path URI" in one_error(
        result.output
    )


def test_a_wrong_token_is_one_quick_sentence_not_kfp_clients_retries(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHET_KFP__TOKEN", "wrong-token")
    seen = len(kfp_env.fake.requests)
    started = time.monotonic()

    result = cli.invoke(app, submit(kfp_env))

    assert time.monotonic() - started < 5  # kfp.Client alone: 5 tries, 5 s apart
    assert result.exit_code == 2
    assert one_error(result.output) == (
        f"error: Kubeflow Pipelines at {kfp_env.url} refused the token (HTTP 401): "
        "check FRESHET_KFP__TOKEN."
    )
    assert kfp_env.fake.requests[seen:] == [("GET", "/apis/v2beta1/healthz")]
    assert "wrong-token" not in result.output


def test_no_token_where_one_is_needed(kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRESHET_KFP__TOKEN")
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert "needs a token (HTTP 401): check FRESHET_KFP__TOKEN." in one_error(result.output)


def test_a_service_account_token_file_authenticates(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("fake-token\n")
    monkeypatch.delenv("FRESHET_KFP__TOKEN")
    monkeypatch.setenv("FRESHET_KFP__TOKEN_FILE", str(token))

    result = cli.invoke(app, [*submit(kfp_env), "--run-id", "plain-token-file"])

    assert result.exit_code == 0, result.output
    assert "Submitted run plain-token-file: http://" in result.output


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("FRESHET_KFP__TOKEN_FILE", "/nonexistent/token", "Both kfp.token"),
        ("KF_PIPELINES_IAP_OAUTH2_CLIENT_ID", "x.apps.googleusercontent.com",
         "KF_PIPELINES_IAP_OAUTH2_CLIENT_ID is set: freshet takes Kubeflow Pipelines credentials "
         "only from [kfp]"),
    ],
)  # fmt: skip
def test_conflicting_credentials_are_refused_before_any_call(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    seen = len(kfp_env.fake.requests)
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert expected in one_error(result.output)
    assert len(kfp_env.fake.requests) == seen


def test_an_unreadable_token_file(kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRESHET_KFP__TOKEN")
    monkeypatch.setenv("FRESHET_KFP__TOKEN_FILE", "/nonexistent/token")
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert one_error(result.output) == (
        "error: The token file '/nonexistent/token' (kfp.token_file) cannot be read: "
        "No such file or directory."
    )


def test_a_multi_user_deployment_needs_a_namespace(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kfp_env.fake, "multi_user", True)
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert "is multi-user: set kfp.namespace (FRESHET_KFP__NAMESPACE)" in one_error(result.output)


def test_an_unreachable_host_is_one_sentence(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.gcs import free_port

    monkeypatch.setenv("FRESHET_KFP__HOST", f"http://127.0.0.1:{free_port()}")
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 1
    assert "cannot be reached: [Errno 111] Connection refused." in one_error(result.output)


def test_s3_roots_need_a_claims_root(kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRESHET_KFP__PIPELINE_ROOT", "s3://team-ml/root")
    monkeypatch.delenv("FRESHET_KFP__CLAIMS_ROOT")
    result = cli.invoke(app, submit(kfp_env))

    assert result.exit_code == 2
    assert "Run claims cannot be created under 's3://team-ml/root'" in one_error(result.output)


def test_kfp_context_file_and_endpoint_variable_are_ignored(
    kfp_env: KfpEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """~/.config/kfp/context.json (namespace, auth header) and KF_PIPELINES_ENDPOINT would
    change where and as whom kfp.Client calls: freshet's settings alone decide."""
    import json
    import os

    context = Path(os.environ["HOME"]) / ".config" / "kfp" / "context.json"
    context.parent.mkdir(parents=True, exist_ok=True)
    planted = {
        "namespace": "someone-else",
        "client_authentication_header_name": "Authorization",
        "client_authentication_header_value": "Bearer planted",
    }
    context.write_text(json.dumps(planted))
    monkeypatch.setenv("KF_PIPELINES_ENDPOINT", "http://127.0.0.1:9")

    result = cli.invoke(app, [*submit(kfp_env), "--run-id", "plain-context"])

    assert result.exit_code == 0, result.output
    assert json.loads(context.read_text()) == planted  # read by nobody, rewritten by nobody
