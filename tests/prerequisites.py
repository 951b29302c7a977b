"""What `make test` needs beyond Python, installed where it can be, checked before any test.

The report tests load the HTML report in Debian's headless Chromium; the trigger tests start
Google's Pub/Sub emulator, a Java program shipped as a component of the gcloud CLI. As root
with apt-get, Debian's `chromium` and `openjdk-17-jre-headless` are installed when missing;
the gcloud CLI comes from Google's own repository, so it is only checked. Whatever is still
missing stops `make test` before its first test with one sentence naming what to install and
how, and exit code 1.

`FRESHET_ASSUME_ROOT=0` (or `1`) overrides the root check, so that the tests of this module
can take the path of a user without root on a machine where they run as root.

Run: `python -m tests.prerequisites` (the Makefile's `test` target does).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
EMULATOR_JAR = "platform/pubsub-emulator/lib/cloud-pubsub-emulator-*-all.jar"
GCLOUD_DOCS = "https://cloud.google.com/sdk/docs/install"


@dataclass(frozen=True)
class Need:
    """One thing the suite needs: what it is for, its apt package, how else to get it."""

    name: str
    purpose: str
    package: str | None
    elsewhere: str = ""


CHROMIUM = Need("Chromium", "the report tests", "chromium")
JAVA = Need("Java 17", "the Pub/Sub emulator", "openjdk-17-jre-headless")
EMULATOR_HOW = (
    "`gcloud components install pubsub-emulator` (or, where gcloud came from apt, "
    "`apt-get install -y google-cloud-cli-pubsub-emulator`)"
)
GCLOUD = Need(
    "the gcloud CLI with its Pub/Sub emulator",
    "the trigger tests",
    None,
    f"install the gcloud CLI ({GCLOUD_DOCS}), then {EMULATOR_HOW}",
)
EMULATOR = Need(
    "the Pub/Sub emulator component of the gcloud CLI",
    "the trigger tests",
    None,
    f"install it with {EMULATOR_HOW}",
)


def emulator_installed(gcloud: str) -> bool:
    """Whether the emulator jar sits in the SDK that `gcloud` belongs to."""
    sdk_root = Path(os.path.realpath(gcloud)).parent.parent  # <sdk>/bin/gcloud
    return bool(glob.glob(str(sdk_root / EMULATOR_JAR)))


def missing() -> list[Need]:
    """What the suite needs and this machine lacks right now (PATH decides)."""
    needs = []
    if not any(shutil.which(name) for name in BROWSERS):
        needs.append(CHROMIUM)
    if not shutil.which("java"):
        needs.append(JAVA)
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        needs.append(GCLOUD)
    elif not emulator_installed(gcloud):
        needs.append(EMULATOR)
    return needs


def is_root() -> bool:
    """Whether apt-get may install packages; `FRESHET_ASSUME_ROOT` overrides."""
    assumed = os.environ.get("FRESHET_ASSUME_ROOT")
    if assumed in ("0", "1"):
        return assumed == "1"
    return os.geteuid() == 0


def install(needs: list[Need]) -> None:
    """Installs the needs that have an apt package; apt's own output goes to stderr."""
    packages = [need.package for need in needs if need.package]
    if not packages:
        return
    print(f"make test: installing {' '.join(packages)} with apt-get", file=sys.stderr)
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *packages],
    ):
        if subprocess.run(command, stdout=sys.stderr, check=False).returncode != 0:
            return


def sentence(needs: list[Need], root: bool) -> str:
    """One sentence naming what is missing, what for, and how to install it."""
    names = [f"{need.name} (for {need.purpose})" for need in needs]
    what = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    how = [need.elsewhere for need in needs if need.elsewhere]
    packages = " ".join(need.package for need in needs if need.package)
    if packages:
        apt = f"`apt-get update && apt-get install -y {packages}`"
        how.insert(0, f"run {apt}" if root else f"run {apt} as root (or ask an administrator)")
    return f"make test cannot start without {what}: {'; '.join(how)}; then run make test again."


def main() -> int:
    """Installs what it can, then exits 0 when nothing is missing, else 1 with the sentence."""
    needs = missing()
    root = is_root()
    if needs and root and shutil.which("apt-get"):
        install(needs)
        needs = missing()
    if not needs:
        return 0
    print(sentence(needs, root), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
