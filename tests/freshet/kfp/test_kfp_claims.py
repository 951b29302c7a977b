"""Run claims: create-only, released when the run was not created, taken over when stale."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from freshet.config import load_settings
from freshet.errors import FreshetError
from freshet.kfp.claims import Claim, Claims, LocalClaims
from freshet.runners import RunRequest
from freshet.runners.kfp import KfpRunner
from tests.fakes.kfp_fixtures import KfpEnv


def test_local_claims_are_create_only(tmp_path: Path) -> None:
    store = LocalClaims(tmp_path)
    assert store.create("r1", b'{"a": 1}')
    assert not store.create("r1", b'{"a": 2}')
    found = store.read("r1")
    assert found is not None and found[0] == b'{"a": 1}'
    assert not store.delete("r1", "0-0")  # changed since "read": kept
    assert store.read("r1") is not None
    assert store.delete("r1", found[1])
    assert store.read("r1") is None


def runner(env: KfpEnv) -> KfpRunner:
    return KfpRunner(load_settings(runner="kfp"))


def request(env: KfpEnv, run_id: str) -> RunRequest:
    return RunRequest(pipeline="plain", template=env.templates["plain"], run_id=run_id)


def test_a_run_that_was_not_created_releases_its_claim(kfp_env: KfpEnv) -> None:
    kfp_env.fake.refuse_runs = 1
    with pytest.raises(FreshetError, match=r"could not create run 'plain-r1' \(HTTP 503\)"):
        runner(kfp_env).submit(request(kfp_env, "plain-r1"))
    assert not (kfp_env.claims / "plain-r1").exists()  # the redelivery may try again

    assert runner(kfp_env).submit(request(kfp_env, "plain-r1")).status == "submitted"
    assert json.loads((kfp_env.claims / "plain-r1").read_text())["state"] == "submitted"


def stale_claim(env: KfpEnv, run_id: str) -> None:
    """A submitter that died between claiming and creating the run, long ago."""
    env.claims.mkdir(parents=True, exist_ok=True)
    claim = Claim("claimed", "dead-owner", time.time() - 3600, None, "")
    (env.claims / run_id).write_bytes(claim.body())


def test_a_stale_claim_without_a_run_is_taken_over(kfp_env: KfpEnv) -> None:
    stale_claim(kfp_env, "plain-stale")
    result = runner(kfp_env).submit(request(kfp_env, "plain-stale"))

    assert result.status == "submitted"
    runs = [r for r in kfp_env.fake.runs.values() if r.body["display_name"] == "plain-stale"]
    assert len(runs) == 1


def test_a_stale_claim_whose_run_exists_is_completed_not_repeated(kfp_env: KfpEnv) -> None:
    first = runner(kfp_env).submit(request(kfp_env, "plain-lost"))
    stale_claim(kfp_env, "plain-lost")  # as if the answer to create was lost

    again = runner(kfp_env).submit(request(kfp_env, "plain-lost"))

    assert again.status == "already_exists"
    assert (again.summary or {})["kfp_run_id"] == (first.summary or {})["kfp_run_id"]
    assert (
        len([r for r in kfp_env.fake.runs.values() if r.body["display_name"] == "plain-lost"]) == 1
    )


def test_a_fresh_claim_of_another_submitter_is_respected(kfp_env: KfpEnv) -> None:
    kfp_env.claims.mkdir(parents=True, exist_ok=True)
    busy = Claim("claimed", "other-worker", time.time(), None, "")
    (kfp_env.claims / "plain-busy").write_bytes(busy.body())

    assert runner(kfp_env).submit(request(kfp_env, "plain-busy")).status == "already_exists"
    assert not [r for r in kfp_env.fake.runs.values() if r.body["display_name"] == "plain-busy"]


def test_claims_of_one_store_resolve_run_ids(tmp_path: Path) -> None:
    claims = Claims(LocalClaims(tmp_path))
    assert claims.claim("r2", lambda _: None) is None
    claims.record("r2", "kfp-123", {"pipeline": "plain"})
    found = claims.lookup("r2")
    assert found is not None and (found.kfp_run_id, found.meta) == (
        "kfp-123",
        {"pipeline": "plain"},
    )
