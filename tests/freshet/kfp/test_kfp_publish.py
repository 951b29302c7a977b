"""`freshet publish --runner kfp` and `submit PIPELINE@VERSION`: KFP's pipeline store."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from freshet.cli import app
from freshet.compile import template_version
from tests.fakes.kfp_fixtures import KfpEnv

cli = CliRunner()


def test_publish_then_submit_a_published_version_by_name(kfp_env: KfpEnv) -> None:
    plain = kfp_env.templates["plain"]
    digest = template_version(plain)
    published = cli.invoke(app, ["publish", str(plain), "--runner", "kfp", "--tag", "v1"])

    assert published.exit_code == 0, published.output
    assert f"plain: plain@{digest}  (published, version id " in published.output
    assert f"plain: plain@{digest}-v1  (published, version id " in published.output
    [pipeline] = [p for p in kfp_env.fake.pipelines.values() if p["display_name"] == "plain"]
    names = {
        v["display_name"]
        for v in kfp_env.fake.versions.values()
        if v["pipeline_id"] == pipeline["pipeline_id"]
    }
    assert names == {"plain", digest, f"{digest}-v1"}  # "plain": KFP's first version

    again = cli.invoke(app, ["publish", str(plain), "--runner", "kfp", "--tag", "v1"])
    assert again.exit_code == 0 and again.output.count("already published") == 2
    assert len(kfp_env.fake.versions) == 3

    run = cli.invoke(
        app, ["submit", "plain@v1", "--runner", "kfp", "--param", "x=2", "--run-id",
              "plain-published", "--wait"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Run plain-published SUCCEEDED" in run.output
    [body] = [
        r.body for r in kfp_env.fake.runs.values() if r.body["display_name"] == "plain-published"
    ]
    assert "pipeline_spec" not in body  # by reference: the stored version ran
    reference = body["pipeline_version_reference"]
    assert kfp_env.fake.versions[reference["pipeline_version_id"]]["display_name"] == f"{digest}-v1"


def test_no_cache_on_a_published_version_sends_its_spec_inline(kfp_env: KfpEnv) -> None:
    """KFP ignores enable_caching for runs of a stored version (kubeflow/pipelines#14253)."""
    plain = kfp_env.templates["plain"]
    assert cli.invoke(app, ["publish", str(plain), "--runner", "kfp"]).exit_code == 0

    run = cli.invoke(
        app, ["submit", "plain@latest", "--runner", "kfp", "--no-cache", "--run-id", "plain-nc"]
    )

    assert run.exit_code == 0, run.output
    assert "note: Caching off: version plain@" in run.output
    [body] = [r.body for r in kfp_env.fake.runs.values() if r.body["display_name"] == "plain-nc"]
    tasks = body["pipeline_spec"]["root"]["dag"]["tasks"]
    assert all(t["cachingOptions"] == {} for t in tasks.values()), tasks  # enableCache: false
    assert "pipeline_version_reference" not in body
    kfp_env.fake.wait(body["run_id"])


def test_an_unknown_version_is_one_sentence(kfp_env: KfpEnv) -> None:
    result = cli.invoke(app, ["submit", "plain@v9", "--runner", "kfp"])
    assert result.exit_code == 2
    assert re.search(
        r"error: No (version 'v9' of pipeline 'plain'|pipeline 'plain')", result.output
    )
