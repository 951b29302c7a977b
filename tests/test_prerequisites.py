"""`make test` installs or names what the suite needs before it runs a single test.

Each case runs the real check in a subprocess with a PATH of its own: a folder of stand-ins
(`/bin/true` for Chromium and Java, a gcloud SDK tree with or without the emulator jar, an
apt-get that records what it was asked) so that the answer does not depend on this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NO_CHROMIUM = (
    "make test cannot start without Chromium (for the report tests): run "
    "`apt-get update && apt-get install -y chromium` as root (or ask an administrator); "
    "then run make test again."
)


def tool(folder: Path, name: str, script: str = "exit 0") -> Path:
    """An executable shell script `name` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def machine(tmp_path: Path, *have: str, jar: bool = True) -> Path:
    """A PATH folder holding only `have` (chromium, java, gcloud); gcloud lives in an SDK."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in have:
        if name == "gcloud":
            sdk = tmp_path / "google-cloud-sdk"
            (bin_dir / "gcloud").symlink_to(tool(sdk / "bin", "gcloud"))
            if jar:
                lib = sdk / "platform" / "pubsub-emulator" / "lib"
                lib.mkdir(parents=True)
                (lib / "cloud-pubsub-emulator-0.8.20-all.jar").write_bytes(b"")
        else:
            tool(bin_dir, name)
    return bin_dir


def check(bin_dir: Path, root: bool) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "FRESHET_ASSUME_ROOT": "1" if root else "0"}
    return subprocess.run(
        [sys.executable, "-m", "tests.prerequisites"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_everything_present_passes_silently(tmp_path: Path) -> None:
    result = check(machine(tmp_path, "chromium", "java", "gcloud"), root=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_chromium_and_without_root_it_stops_with_one_sentence(tmp_path: Path) -> None:
    result = check(machine(tmp_path, "java", "gcloud"), root=False)
    assert result.returncode == 1
    assert result.stderr == NO_CHROMIUM + "\n"


def test_as_root_it_installs_chromium_with_apt_get_and_passes(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, "java", "gcloud")
    calls = tmp_path / "apt-calls"
    tool(
        bin_dir,
        "apt-get",
        f'echo "$*" >> {calls}\n'
        f'if [ "$1" = install ]; then printf "#!/bin/sh\\n" > {bin_dir}/chromium; '
        f"/bin/chmod 755 {bin_dir}/chromium; fi",
    )
    result = check(bin_dir, root=True)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == ["update -qq", "install -y -qq chromium"]
    assert result.stderr == "make test: installing chromium with apt-get\n"


def test_as_root_a_failing_apt_get_still_ends_in_the_sentence(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, "gcloud")
    tool(bin_dir, "apt-get", "exit 100")
    result = check(bin_dir, root=True)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "make test cannot start without Chromium (for the report tests) and Java 17 (for the "
        "Pub/Sub emulator): run `apt-get update && apt-get install -y chromium "
        "openjdk-17-jre-headless`; then run make test again."
    )


@pytest.mark.parametrize(
    ("have", "jar", "words"),
    [
        (("chromium", "java"), True, "without the gcloud CLI with its Pub/Sub emulator"),
        (("chromium", "java", "gcloud"), False, "without the Pub/Sub emulator component"),
    ],
)
def test_the_pubsub_emulator_is_checked_and_its_installation_named(
    tmp_path: Path, have: tuple[str, ...], jar: bool, words: str
) -> None:
    result = check(machine(tmp_path, *have, jar=jar), root=True)  # no apt-get on this PATH
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert words in line
    assert "`gcloud components install pubsub-emulator`" in line
    assert line.endswith("then run make test again.")


def make(*args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`make -s ARGS` in this checkout with this interpreter's venv, taken as built."""
    venv = Path(sys.executable).parent.parent  # CI's may be .venv-test
    command = [shutil.which("make") or "make", "-s", f"VENV={venv}", "-o", f"{venv}/.installed"]
    return subprocess.run(
        [*command, *args],
        cwd=REPO,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_test_stops_before_pytest_when_chromium_is_missing(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, "java", "gcloud")
    # Were the check to let it through, pytest would get a selection that errors out.
    result = make(
        "test", "PYTEST_ARGS=--no-such-option", path=str(bin_dir), FRESHET_ASSUME_ROOT="0"
    )
    assert result.returncode != 0
    assert NO_CHROMIUM in result.stderr.splitlines()
    assert "no-such-option" not in result.stdout + result.stderr


def test_make_test_fails_when_pytest_collects_nothing_unless_told(tmp_path: Path) -> None:
    bin_dir = machine(tmp_path, "chromium", "java", "gcloud")
    nothing = "PYTEST_ARGS=-p no:cacheprovider -q tests/test_prerequisites.py -k no_such_test"
    typo = make("test", nothing, path=f"{bin_dir}:{os.environ['PATH']}")
    assert typo.returncode != 0, typo.stdout
    assert "deselected" in typo.stdout
    allowed = make("test", nothing, "ALLOW_NO_TESTS=1", path=f"{bin_dir}:{os.environ['PATH']}")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "pytest collected no tests (ALLOW_NO_TESTS=1)" in allowed.stdout
