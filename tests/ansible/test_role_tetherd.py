"""roles/tetherd (tether.fleet.tetherd) deploys tetherd on delegated localhost without systemd,
idempotently, through the molecule scenario extensions/molecule/tetherd."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.ansible.runner import ROOT, Ansible
from tests.ansible.sanity import BIN
from tests.harness import free_port

pytestmark = pytest.mark.ansible


@pytest.mark.slow
def test_role_deploys_tetherd_supervised_and_idempotent(ansible: Ansible, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT / "service"), "-w", str(dist)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("tether-*.whl")
    root = tmp_path / "deploy"
    port = free_port()
    env = ansible.env(
        MOLECULE_COLLECTIONS_PATH=str(ansible.collections),
        MOLECULE_PYTHON=sys.executable,
        MOLECULE_TETHERD_ROOT=str(root),
        MOLECULE_TETHERD_PORT=str(port),
        MOLECULE_TETHERD_WHEEL=str(wheel),
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
    )
    env.pop("ANSIBLE_CALLBACK_PLUGINS")
    try:
        done = subprocess.run(
            [str(BIN / "molecule"), "test", "-s", "tetherd"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        log = done.stdout + done.stderr
        assert done.returncode == 0, log[-6000:]
        assert "idempotence" in log.lower()
        token = (root / "etc" / "token").read_text().strip()
        assert token and token not in log
        assert not (root / "run" / "supervisor.pid").exists()  # cleanup stopped it
    finally:
        supervisor = root / "opt" / "bin" / "tetherd-supervise"
        if supervisor.exists():
            subprocess.run([str(supervisor), "stop"], capture_output=True, timeout=30)
