"""The molecule scenario in extensions/molecule converges a simulated switch idempotently."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.runner import ROOT, Ansible
from tests.ansible.sanity import BIN

pytestmark = pytest.mark.ansible


def test_molecule_scenario_converges_idempotently(ansible: Ansible, own_switch: Any, tmp_path: Path) -> None:
    switch = own_switch.switches[0]
    env = ansible.env(
        MOLECULE_COLLECTIONS_PATH=str(ansible.collections),
        MOLECULE_SWITCH_HOST=switch.host,
        MOLECULE_SWITCH_PORT=str(switch.port),
        MOLECULE_SWITCH_USER=switch.username,
        MOLECULE_SWITCH_PASSWORD=switch.password,
        MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "molecule"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
    )
    env.pop("ANSIBLE_CALLBACK_PLUGINS")
    user_copy = Path.home() / ".ansible" / "collections" / "ansible_collections" / "tether" / "fleet"
    copy_before = user_copy.exists()
    done = subprocess.run(
        [str(BIN / "molecule"), "test", "-s", "default"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    assert "idempotence" in log.lower()
    assert switch.password not in log
    # prerun: false: molecule must not leave a copy that would shadow the checkout later.
    assert user_copy.exists() == copy_before
    assert ansible.counters()["connections_opened"] == 1  # converge, idempotence and verify share one session
