"""The collection as its users' tools see it: build, install, ansible-doc, ansible-test
sanity, ansible-lint, and a playbook run through ansible-runner the way AWX runs jobs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.runner import ROOT, Ansible, inventory
from tests.ansible.sanity import BIN, build_collection, install_collection, run_sanity

pytestmark = [pytest.mark.ansible, pytest.mark.xdist_group("ansible-tooling")]

MODULES = ["cli_command", "cli_config", "session_info", "session", "bulk"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tether.fleet built into a tarball and installed from it, as from Galaxy."""
    out = tmp_path_factory.mktemp("build")
    tarball = build_collection(out)
    return install_collection(tarball, tmp_path_factory.mktemp("installed"))


def test_tarball_holds_the_collection_and_nothing_else(installed: Path) -> None:
    names = {p.name for p in installed.iterdir()}
    assert {"plugins", "meta", "MANIFEST.json", "FILES.json"} <= names
    assert not names & {"service", "proto", "tests", "bench", "build", ".ci"}
    files = json.loads((installed / "FILES.json").read_text())["files"]
    assert not [f["name"] for f in files if f["name"].endswith((".pyc", ".tar.gz"))]
    manifest = json.loads((installed / "MANIFEST.json").read_text())["collection_info"]
    assert (manifest["namespace"], manifest["name"]) == ("tether", "fleet")


def test_ansible_doc_reads_every_module_from_the_installed_collection(installed: Path) -> None:
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(installed.parents[2])}
    for module in MODULES:
        done = subprocess.run(
            [str(BIN / "ansible-doc"), "--json", f"tether.fleet.{module}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        doc = json.loads(done.stdout)[f"tether.fleet.{module}"]["doc"]
        assert doc["short_description"] and "endpoint" in doc["options"]
    done = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "connection", "--json", "tether.fleet.pinned"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout)["tether.fleet.pinned"]["doc"]["options"]


def test_ansible_test_sanity_passes(installed: Path) -> None:
    done = run_sanity(installed)
    failures = [line for line in done.stdout.splitlines() + done.stderr.splitlines() if line.startswith("ERROR")]
    assert done.returncode == 0, "\n".join(failures) or done.stderr[-4000:]


def test_ansible_lint_production_profile_passes_on_the_examples(installed: Path, tmp_path: Path) -> None:
    if shutil.which("ansible-lint", path=str(BIN)) is None:
        pytest.fail("ansible-lint is not installed: run scripts/setup.sh")
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(installed.parents[2]),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path),
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    done = subprocess.run(
        [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor", "examples/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def test_playbook_through_ansible_runner_with_a_private_data_dir(
    ansible: Ansible, switches: Any, tmp_path: Path
) -> None:
    """The AWX way: a private data dir holding project/, inventory/ and env/."""
    import ansible_runner

    data = tmp_path / "runner"
    (data / "project").mkdir(parents=True)
    (data / "inventory").mkdir()
    (data / "env").mkdir()
    (data / "project" / "show.yml").write_text(
        """- name: Show version through tether
  hosts: all
  gather_facts: false
  tasks:
    - name: Show version
      tether.fleet.cli_command:
        commands: [show version]
      register: version
    - name: Check it
      ansible.builtin.assert:
        that: "'Cisco' in version.stdout[0]"
"""
    )
    (data / "inventory" / "hosts.json").write_text(json.dumps(inventory(switches.switches[:2])))
    env = ansible.env()
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    env.pop("ANSIBLE_CALLBACK_PLUGINS")
    (data / "env" / "envvars").write_text(json.dumps(env))
    result = ansible_runner.run(private_data_dir=str(data), playbook="show.yml", quiet=True, timeout=300)
    assert result.status == "successful", result.stdout.read()[-4000:]
    assert result.stats["ok"] == {s.name: 2 for s in switches.switches[:2]}
    assert ansible.counters()["connections_opened"] == 2
