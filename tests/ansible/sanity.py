"""Builds, installs and checks the collection the way a user and Galaxy would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import ansible_test

from tests.ansible.runner import ROOT

BIN = Path(sys.executable).parent


def install_get_pip_standin() -> None:
    """Put the get-pip stand-in where ansible-test looks for its cached bootstrap script."""
    requirements = Path(ansible_test.__file__).parent / "_data" / "requirements"
    versions = set()
    for path in requirements.glob("*.txt"):
        versions.update(
            line.split("==", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith("pip==")
        )
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in versions or {"24.2"}:
        target = cache / f"get_pip_{version.replace('.', '_')}.py"
        if not target.exists():
            shutil.copy(Path(__file__).with_name("get_pip_standin.py"), target)


def build_collection(out: Path) -> Path:
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(ROOT), "--output-path", str(out), "--force"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    (tarball,) = out.glob("tether-fleet-*.tar.gz")
    return tarball


def install_collection(tarball: Path, collections: Path) -> Path:
    # --force and a collections path of its own: a copy of tether.fleet installed anywhere else
    # (e.g. ~/.ansible/collections) must not make ansible-galaxy skip this install.
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections)}
    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--no-deps",  # Galaxy is unreachable here; the dependencies (ansible.netcommon) come from elsewhere
            "--force",
            str(tarball),
            "-p",
            str(collections),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return collections / "ansible_collections" / "tether" / "fleet"


def run_sanity(collection_root: Path) -> subprocess.CompletedProcess[str]:
    """ansible-test sanity in virtual environments (no containers here), on a real tree copy."""
    install_get_pip_standin()
    # ansible-test needs a git-less tree at a real ansible_collections/tether/fleet path.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    return subprocess.run(
        [
            str(BIN / "ansible-test"),
            "sanity",
            "--venv",
            "--python",
            f"{sys.version_info[0]}.{sys.version_info[1]}",
            "--color",
            "no",
        ],
        cwd=collection_root,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
