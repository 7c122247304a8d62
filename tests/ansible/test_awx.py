"""AWX / Automation Platform: the credential type's injectors drive a playbook against a TLS tetherd
(through ansible-runner, as AWX runs jobs), the playbook that creates the type is valid, and the
execution environment installs the `tether` package from the project's own wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from tests.ansible.runner import ROOT, Ansible, inventory
from tests.harness import Tetherd, free_port
from tests.tls import make_cert

AWX = ROOT / "extensions" / "awx"
EE = ROOT / "extensions" / "ee"
BIN = Path(sys.executable).parent


def injected(credential_type: dict[str, Any], inputs: dict[str, str], files_dir: Path) -> dict[str, str]:
    """The environment AWX gives a job from a credential of this type: file injectors first (each
    rendered into a private file, its path as tower.filename.NAME), then env injectors (sandboxed Jinja2)."""
    jinja = SandboxedEnvironment()
    filenames = {}
    for key, template in credential_type["injectors"].get("file", {}).items():
        name = key.removeprefix("template.")
        path = files_dir / f"tmp_{name}"
        path.write_text(jinja.from_string(template).render(**inputs))
        path.chmod(0o600)
        filenames[name] = str(path)
    context = {**inputs, "tower": {"filename": filenames}}
    return {k: jinja.from_string(v).render(**context) for k, v in credential_type["injectors"]["env"].items()}


def test_credential_type_injects_endpoint_token_and_ca() -> None:
    credential_type = yaml.safe_load((AWX / "credential_type.yml").read_text())
    assert set(credential_type["injectors"]["env"]) == {"TETHER_ENDPOINT", "TETHER_TOKEN", "TETHER_CA"}
    fields = {f["id"]: f for f in credential_type["inputs"]["fields"]}
    assert fields["token"]["secret"] and fields["ca"]["multiline"]


def test_injected_environment_runs_a_playbook_against_a_tls_tetherd(
    ansible: Ansible, switches: Any, tmp_path: Path
) -> None:
    import ansible_runner

    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("awx-s3cret-token\n")
    token_file.chmod(0o600)  # tetherd refuses a token file others can read
    listen = f"127.0.0.1:{free_port()}"
    remote = Tetherd(tmp_path / "remote", ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)], listen=listen).start()  # fmt: skip
    credential_type = yaml.safe_load((AWX / "credential_type.yml").read_text())
    secrets_dir = tmp_path / "awx-secrets"
    secrets_dir.mkdir(mode=0o700)
    inputs = {"endpoint": listen, "token": "awx-s3cret-token", "ca": cert.read_text()}
    env = ansible.env()
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    env.pop("ANSIBLE_CALLBACK_PLUGINS")
    env.update(injected(credential_type, inputs, secrets_dir))

    data = tmp_path / "runner"
    for part in ("project", "inventory", "env"):
        (data / part).mkdir(parents=True)
    (data / "project" / "show.yml").write_text(
        """- name: The credential's environment names the service (no module_defaults)
  hosts: all
  gather_facts: false
  tasks:
    - name: Show version
      tether.fleet.cli_command:
        commands: [show version]
      register: version
    - name: Raw over the pinned connection, same service
      ansible.builtin.raw: show version
      vars:
        ansible_connection: tether.fleet.pinned
      register: raw
    - name: Check
      ansible.builtin.assert:
        that: ["'Cisco' in version.stdout[0]", "'Cisco' in raw.stdout"]
"""
    )
    (data / "inventory" / "hosts.json").write_text(json.dumps(inventory(switches.switches[:2])))
    (data / "env" / "envvars").write_text(json.dumps(env))
    try:
        result = ansible_runner.run(private_data_dir=str(data), playbook="show.yml", quiet=True, timeout=300)
        output = result.stdout.read()
        assert result.status == "successful", output[-4000:]
        assert result.stats["ok"] == {s.name: 3 for s in switches.switches[:2]}
        counters = remote.client(tls_ca=str(cert), token="awx-s3cret-token").info().counters
        assert counters["connections_opened"] == 2
        assert not (ansible.runtime_dir / "tether" / "tetherd.sock").exists()  # no local service started
        assert "awx-s3cret-token" not in output + remote.log()
    finally:
        remote.stop()


def test_the_playbook_that_creates_the_credential_type_is_valid(ansible: Ansible) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_collections.py")], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    env = ansible.env(ANSIBLE_COLLECTIONS_PATH=f"{ansible.collections}:{done.stdout.strip()}")
    env.pop("ANSIBLE_STDOUT_CALLBACK")
    check = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", str(AWX / "create_credential_type.yml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
def test_execution_environment_installs_tether_from_the_built_wheel(tmp_path: Path) -> None:
    builder = shutil.which("ansible-builder") or str(BIN / "ansible-builder")
    tree = tmp_path / "tree"
    shutil.copytree(EE, tree / "extensions" / "ee")
    dist = tree / "build" / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT / "service"), "-w", str(dist)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    context = tmp_path / "context"
    done = subprocess.run(
        [builder, "create", "-f", str(tree / "extensions" / "ee" / "execution-environment.yml"), "-c", str(context)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (context / "_build" / "wheels").glob("tether-*.whl")
    assert (context / "_build" / "collections" / "tether-fleet-0.1.0.tar.gz").is_file()
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    assert "COPY _build/wheels/ /build/wheels/" in containerfile
    install = [line for line in containerfile.splitlines() if "/build/wheels/tether-*.whl" in line]
    assert install and '"${wheel}[server]"' in install[0]
    # Nothing the builder installs from an index is named tether: not the collection's python
    # requirements, not the EE's own.
    requirement_files = [ROOT / "meta" / "ee-requirements.txt", *context.rglob("requirements.txt")]
    for path in requirement_files:
        names = [
            line.split("[")[0].split(">")[0].split("=")[0].strip().lower() for line in path.read_text().splitlines()
        ]
        assert "tether" not in names, path
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "/build/collections/tether-fleet-0.1.0.tar.gz", "type": "file"} in galaxy["collections"]
    assert wheel.name.startswith("tether-0.1.0-")
