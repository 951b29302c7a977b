"""A failing local run alerts through a Secret Manager reference and leaves the URL nowhere."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.secret_manager_server import FakeSecretManager
from tests.fakes.vertex_fixtures import PROJECT, VertexServices
from tests.fakes.webhook import webhook_receiver
from tests.freshet.tiny_pipelines import compile_to, failing
from tests.integration.helpers import freshet, summary_of


def test_a_failed_run_alerts_and_no_file_or_log_holds_the_webhook(
    secret_manager: FakeSecretManager, vertex: VertexServices, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    template = compile_to(failing(), tmp_path / "failing.yaml")
    with webhook_receiver() as hook:
        reference = secret_manager.add(PROJECT, "alerts-webhook", hook.url)
        env = {
            "FRESHET_OPS__WEBHOOK_URL": reference,
            "FRESHET_OPS__WEBHOOK_DEADLINE_S": "5",
            "FRESHET_LOG_FORMAT": "json",
        }
        result = freshet("run", str(template), "--root", str(root), cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr + result.stdout
    summary = summary_of(root, result.stdout)
    [alert] = hook.received
    assert "failing run failed in step 'explode'" in alert["text"]
    assert summary["run_id"] in alert["text"]
    assert f'"Alert posted to {reference}: failing run failed' in result.stderr

    secret = hook.url.encode()
    path_part = hook.url.split("/", 3)[-1].encode()  # the part of a webhook URL that is secret
    left = [path for path in root.rglob("*") if path.is_file()]
    names = {path.name for path in left}
    assert {"summary.json", "report.html"} <= names and any("history" in n for n in names)
    for path in left:
        data = path.read_bytes()
        assert secret not in data and path_part not in data, path
    for output in (result.stdout, result.stderr):
        assert hook.url not in output and path_part.decode() not in output
