"""cloudbuild.yaml: valid against the Cloud Build schema, consistent, and calling real commands."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.main import get_command

from freshet.cli import app

ROOT = Path(__file__).resolve().parents[2]
BUILT_INS = {
    "PROJECT_ID",
    "PROJECT_NUMBER",
    "LOCATION",
    "BUILD_ID",
    "SHORT_SHA",
    "COMMIT_SHA",
    "REPO_NAME",
    "REPO_FULL_NAME",
    "BRANCH_NAME",
    "TAG_NAME",
    "REVISION_ID",
    "TRIGGER_NAME",
    "TRIGGER_BUILD_CONFIG_PATH",
    "SERVICE_ACCOUNT_EMAIL",
    "SERVICE_ACCOUNT",
    "REF_NAME",
}
# $NAME or ${NAME}, but not the escaped $$ that passes a literal $ to the shell
SUBSTITUTION = re.compile(r"(?<!\$)\$(?:\{(\w+)\}|([A-Za-z_]\w*))")


@pytest.fixture(scope="module")
def build() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())
    return data


def texts(build: dict[str, Any]) -> list[str]:
    found = [str(v) for v in build.get("substitutions", {}).values()]
    found += build.get("options", {}).get("env", [])
    for step in build["steps"]:
        found += [
            step["name"],
            step.get("entrypoint", ""),
            *step.get("args", []),
            *step.get("env", []),
        ]
    return found


def test_matches_the_schema(build: dict[str, Any]) -> None:
    schema = json.loads((Path(__file__).parent / "cloudbuild.schema.json").read_text())
    jsonschema.validate(build, schema)


def test_ids_unique_and_wait_for_known_earlier_steps(build: dict[str, Any]) -> None:
    seen: list[str] = []
    for step in build["steps"]:
        assert "id" in step, step["name"]
        assert step["id"] not in seen
        for dependency in step.get("waitFor", []):
            assert dependency == "-" or dependency in seen, (step["id"], dependency)
        seen.append(step["id"])


def test_independent_steps_run_in_parallel(build: dict[str, Any]) -> None:
    by_id = {s["id"]: s for s in build["steps"]}
    assert by_id["lint"]["waitFor"] == by_id["test"]["waitFor"] == ["install"]
    assert by_id["build-components"]["waitFor"] == by_id["build-trainer"]["waitFor"]


def test_substitutions_declared_and_used(build: dict[str, Any]) -> None:
    used = {a or b for text in texts(build) for a, b in SUBSTITUTION.findall(text)}
    declared = set(build["substitutions"])
    assert used - BUILT_INS <= declared, sorted(used - BUILT_INS - declared)
    assert declared <= used, sorted(declared - used)
    header = (ROOT / "cloudbuild.yaml").read_text().split("substitutions:")[0]
    for name in declared:
        assert f"#   {name} " in header, f"{name} is not documented at the top"


def freshet_invocations(build: dict[str, Any]) -> list[list[str]]:
    calls = []
    for step in build["steps"]:
        script = " ".join(step.get("args", [])).replace("\\\n", " ")
        for line in script.splitlines():
            match = re.search(r"(?:^|\s|/)freshet\s+(.*)$", line)
            if match and "--command freshet" not in line:
                calls.append(shlex.split(match.group(1).replace("$$", "$")))
    return calls


def test_every_freshet_command_exists_with_its_flags(build: dict[str, Any]) -> None:
    calls = freshet_invocations(build)
    assert len(calls) >= 5
    root = get_command(app)
    for words in calls:
        command: Any = root
        # typer vendors its own click: walk groups by their `commands` mapping
        while hasattr(command, "commands") and words and not words[0].startswith("-"):
            sub = command.commands.get(words[0])
            assert sub is not None, f"freshet has no command {words[0]!r}"
            command, words = sub, words[1:]
        options = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{command.name} has no option {word}"
