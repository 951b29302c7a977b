"""Fixtures for the KFP tests: the fake API (once per session), settings in the environment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.kfp_server import FakeKfp, kfp_server

TOKEN = "fake-token"


@dataclass
class KfpEnv:
    """The fake and the settings pointing at it."""

    url: str
    fake: FakeKfp
    claims: Path
    templates: dict[str, Path]


@pytest.fixture(scope="session")
def kfp_fake() -> Iterator[tuple[str, FakeKfp]]:
    """The fake KFP API, executing runs with kfp.local."""
    with kfp_server(token=TOKEN) as served:
        yield served


@pytest.fixture(scope="session")
def kfp_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small compiled pipelines: plain (succeeds), failing, sleepy (a minute), scored."""
    from tests.freshet import tiny_pipelines as tiny
    from tests.freshet.kfp.kfp_pipelines import scored, sleepy

    out = tmp_path_factory.mktemp("kfp-templates")
    return {
        "plain": tiny.compile_to(tiny.plain(), out / "plain.yaml"),
        "failing": tiny.compile_to(tiny.failing(), out / "failing.yaml"),
        "sleepy": tiny.compile_to(sleepy(), out / "sleepy.yaml"),
        "scored": tiny.compile_to(scored(), out / "scored.yaml"),
    }


def kfp_settings_env(mp: pytest.MonkeyPatch, url: str, tmp: Path) -> Path:
    """Points freshet at a KFP API through the environment, as a deployment does."""
    claims = tmp / "claims"
    for name, value in {
        "FRESHET_KFP__HOST": url,
        "FRESHET_KFP__TOKEN": TOKEN,
        "FRESHET_KFP__PIPELINE_ROOT": "gs://kfp-root/root",
        "FRESHET_KFP__CLAIMS_ROOT": str(claims),
        "FRESHET_KFP__POLL_SECONDS": "0.2",
        "FRESHET_ROOT": str(tmp / "root"),
        "HOME": str(tmp / "home"),  # no ~/.config/kfp/context.json of the machine
    }.items():
        mp.setenv(name, value)
    return claims


@pytest.fixture
def kfp_env(
    kfp_fake: tuple[str, FakeKfp],
    kfp_templates: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> KfpEnv:
    """Settings for the session's fake in the environment; a fresh claims directory."""
    url, fake = kfp_fake
    claims = kfp_settings_env(monkeypatch, url, tmp_path)
    return KfpEnv(url=url, fake=fake, claims=claims, templates=kfp_templates)
