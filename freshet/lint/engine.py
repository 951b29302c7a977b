"""The lint engine: rules from rules.yaml applied to compiled pipeline specs."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from freshet.errors import BadInput
from freshet.lint.checks import CHECKS
from freshet.params import load_template


class Rule(BaseModel):
    """One policy rule from rules.yaml."""

    id: str
    check: str
    description: str
    strict: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    targets: list[str] = Field(default_factory=lambda: ["vertex", "kfp"])


@dataclass(frozen=True)
class Finding:
    """One violation of one rule by one task."""

    file: str
    task: str
    rule: str
    message: str


def load_rules(path: Path | None = None) -> list[Rule]:
    """Reads the rules (the packaged rules.yaml by default) and checks they name known checks."""
    text = (
        path.read_text()
        if path
        else resources.files("freshet.lint").joinpath("rules.yaml").read_text()
    )
    rules = [Rule.model_validate(item) for item in yaml.safe_load(text)]
    for rule in rules:
        if rule.check not in CHECKS:
            raise BadInput(f"Rule '{rule.id}' names an unknown check '{rule.check}'.")
    return rules


def lint_spec(
    spec: dict[str, Any], rules: list[Rule], strict: bool, file: str = "", target: str = "vertex"
) -> list[Finding]:
    """Applies the rules to one compiled spec.

    Args:
        spec: The parsed pipeline YAML.
        rules: Rules to apply.
        strict: Also apply rules marked strict (e.g. images pinned by digest).
        file: Name to report.
        target: The engine the template is for ("vertex" or "kfp"): rules of the other
            target are skipped.

    Returns:
        Every violation found.
    """
    findings = []
    for rule in rules:
        if rule.strict and not strict or target not in rule.targets:
            continue
        for task, message in CHECKS[rule.check](spec, rule.params):
            findings.append(Finding(file=file, task=task, rule=rule.id, message=message))
    return findings


def lint_files(
    paths: list[Path], strict: bool, rules: list[Rule] | None = None, target: str | None = None
) -> list[Finding]:
    """Lints compiled pipeline files; a file that is not a pipeline spec is bad input.

    Args:
        paths: Compiled templates.
        strict: See `lint_spec`.
        rules: Rules to apply (the packaged ones by default).
        target: "vertex" or "kfp"; by default a file under a `kfp/` folder (where
            `freshet compile --target kfp` writes) is a kfp template, any other a Vertex one.
    """
    active = rules if rules is not None else load_rules()
    findings: list[Finding] = []
    for path in paths:
        kind = target or ("kfp" if path.parent.name == "kfp" else "vertex")
        findings += lint_spec(load_template(path), active, strict, str(path), kind)
    return findings
