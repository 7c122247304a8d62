"""Real ansible-playbook runs of tether.fleet against simulated switches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.runner import Ansible, inventory
from tests.harness import Tetherd, free_port
from tests.service.test_switches import conn as switch_conn
from tests.tls import make_cert

pytestmark = pytest.mark.ansible

SHOW_VERSION_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: show
      tether.fleet.cli_command:
        commands: [show version]
"""
SHOW_COMMANDS = ["show version", "show vlan", "show running-config", "show ip interface brief"]


def twenty_tasks() -> str:
    tasks = "\n".join(
        f"""    - name: command {i}
      tether.fleet.cli_command:
        commands: ["{SHOW_COMMANDS[i % len(SHOW_COMMANDS)]}"]
      register: out{i}
"""
        for i in range(20)
    )
    return f"""- hosts: all
  gather_facts: false
  tasks:
{tasks}
    - name: check
      ansible.builtin.assert:
        that:
          - "'Cisco' in out0.stdout[0]"
          - "out19.stdout | length == 1"
"""


def test_twenty_tasks_on_five_devices_open_five_connections_across_two_runs(ansible: Ansible, switches: Any) -> None:
    hosts = inventory(switches.switches[:5])
    first = ansible.playbook(twenty_tasks(), hosts, "--forks", "5")
    assert first.returncode == 0, first.output[-3000:] + first.stderr[-3000:]
    assert first.total("ok") == 5 * 21 and first.total("failures") == 0
    assert ansible.counters()["connections_opened"] == 5
    second = ansible.playbook(twenty_tasks(), hosts, "--forks", "5")
    assert second.returncode == 0, second.stderr[-3000:]
    counters = ansible.counters()
    assert counters["connections_opened"] == 5, counters  # every session was found warm
    assert counters["commands_run"] == 2 * 5 * 20
    results = second.task_results("command 0")
    assert all(r["session"]["session_reused"] for r in results.values()), results


CONFIG_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: configure
      tether.fleet.cli_config:
        lines:
          - interface FastEthernet0/5
          - " description set-by-ansible"
      register: configured
"""


def test_cli_config_check_mode_diff_and_idempotence(ansible: Ansible, own_switch: Any) -> None:
    switch = own_switch.switches[0]
    hosts = inventory([switch])
    checked = ansible.playbook(CONFIG_PLAY, hosts, "--check", "--diff")
    assert checked.returncode == 0, checked.output[-3000:]
    result = checked.task_results("configure")[switch.name]
    assert result["changed"] is True
    assert "set-by-ansible" in result["diff"]["after"] if isinstance(result["diff"], dict) else True
    with ansible.client() as client:
        running = client.execute(switch_conn(switch), ["show running-config"]).results[0].output
    assert "set-by-ansible" not in running  # check mode changed nothing
    applied = ansible.playbook(CONFIG_PLAY, hosts, "--diff")
    assert applied.returncode == 0 and applied.total("changed") == 1, applied.output[-3000:]
    again = ansible.playbook(CONFIG_PLAY, hosts)
    assert again.returncode == 0 and again.total("changed") == 0, again.output[-3000:]
    with ansible.client() as client:
        running = client.execute(switch_conn(switch), ["show running-config"]).results[0].output
    assert "description set-by-ansible" in running


def test_wrong_credentials_fail_the_task_clearly_without_the_secret(ansible: Ansible, switches: Any) -> None:
    switch = switches.switches[0]
    hosts = inventory([switch])
    hosts["all"]["hosts"][switch.name]["ansible_password"] = "Wrong-Pa55-xyz"
    play = SHOW_VERSION_PLAY
    run = ansible.playbook(play, hosts)
    assert run.returncode != 0
    result = run.task_results("show")[switch.name]
    assert result["failed"] and "authentication failed" in result["msg"]
    assert "Wrong-Pa55-xyz" not in run.output + run.stderr


def test_connection_plugin_runs_raw_through_the_warm_session(ansible: Ansible, switches: Any) -> None:
    hosts = inventory(switches.switches[:2], ansible_connection="tether.fleet.pinned")
    play = """- hosts: all
  gather_facts: false
  tasks:
    - name: raw one
      ansible.builtin.raw: show version
    - name: raw two
      ansible.builtin.raw: show vlan
    - name: module over the same connection
      tether.fleet.cli_command:
        commands: [show privilege]
"""
    run = ansible.playbook(play, hosts)
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-2000:]
    for result in run.task_results("raw one").values():
        assert "Cisco IOS" in result["stdout"]
    for result in run.task_results("raw two").values():
        assert "default" in result["stdout"]
    for result in run.task_results("module over the same connection").values():
        assert "15" in result["stdout"][0] and result["session"]["session_reused"]
    assert ansible.counters()["connections_opened"] == 2  # raw and the module shared each host's session


def test_ten_forks_start_exactly_one_embedded_service(ansible: Ansible, switches: Any) -> None:
    hosts = inventory(switches.switches[:10])
    play = SHOW_VERSION_PLAY
    run = ansible.playbook(play, hosts, "--forks", "10")
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-2000:]
    socket_path = ansible.runtime_dir / "tether" / "tetherd.sock"
    listing = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True).stdout
    serving = [line for line in listing.splitlines() if "tether" in line and str(socket_path) in line]
    assert len(serving) == 1, serving
    log = (ansible.runtime_dir / "tether" / "tetherd.log").read_text()
    assert log.count('"tetherd serving"') == 1


def test_bulk_runs_one_task_across_the_play_hosts(ansible: Ansible, switches: Any) -> None:
    hosts = inventory(switches.switches[:4])
    play = """- hosts: all
  gather_facts: false
  tasks:
    - name: fleet
      tether.fleet.bulk:
        commands: [show version]
      run_once: true
      register: fleet
    - name: check
      ansible.builtin.assert:
        that:
          - fleet.results | length == 4
          - fleet.results | dict2items | map(attribute='value.ok') | select | list | length == 4
      run_once: true
"""
    run = ansible.playbook(play, hosts)
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-2000:]
    (result,) = run.task_results("fleet").values()
    assert set(result["results"]) == {s.name for s in switches.switches[:4]}
    assert all("Cisco" in r["stdout"][0] for r in result["results"].values())
    assert ansible.counters()["jobs_bulk"] == 1


def test_connection_plugin_on_a_linux_host_runs_modules_and_moves_files(
    ansible: Ansible, sshd: Any, tmp_path: Any
) -> None:
    """Through tether.fleet.pinned to OpenSSH: raw with its exit code, copy (SFTP + a real module) and fetch."""
    source = tmp_path / "motd.txt"
    source.write_text("managed by tether\n")
    target = tmp_path / "remote" / "motd.txt"
    target.parent.mkdir()
    hosts = {
        "all": {
            "hosts": {
                "linux1": {
                    "ansible_host": sshd.host,
                    "ansible_port": sshd.port,
                    "ansible_user": sshd.username,
                    "ansible_ssh_private_key_file": str(sshd.key_path),
                    "ansible_tether_platform": "linux",
                    "ansible_connection": "tether.fleet.pinned",
                    "ansible_python_interpreter": sys.executable,
                }
            }
        }
    }
    play = f"""- hosts: all
  gather_facts: false
  tasks:
    - name: raw
      ansible.builtin.raw: echo hello-from-$(hostname) && exit 3
      register: raw
      failed_when: raw.rc != 3
    - name: copy
      ansible.builtin.copy:
        src: {source}
        dest: {target}
        mode: "0640"
    - name: fetch
      ansible.builtin.fetch:
        src: {target}
        dest: {tmp_path}/fetched/
        flat: true
"""
    run = ansible.playbook(play, hosts)
    assert run.returncode == 0, run.output[-4000:] + run.stderr[-2000:]
    assert "hello-from-" in run.task_results("raw")["linux1"]["stdout"]
    assert target.read_text() == "managed by tether\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert (tmp_path / "fetched" / "motd.txt").read_text() == "managed by tether\n"
    assert ansible.counters()["connections_opened"] == 1


def test_a_remote_service_over_tls_with_a_token_from_the_environment(
    ansible: Ansible, switches: Any, tmp_path: Path
) -> None:
    """The AWX shape: module_defaults name a shared tetherd (TCP + TLS), the token comes from TETHER_TOKEN."""
    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("remote-s3cret-token\n")
    token_file.chmod(0o600)
    listen = f"127.0.0.1:{free_port()}"
    args = ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)]
    remote = Tetherd(tmp_path / "remote", args, listen=listen).start()
    play = f"""- hosts: all
  gather_facts: false
  module_defaults:
    group/tether.fleet.all:
      endpoint: "{listen}"
      tls_ca: "{cert}"
  tasks:
    - name: show
      tether.fleet.cli_command:
        commands: ["show version"]
"""
    hosts = inventory(switches.switches[:2])
    try:
        run = ansible.playbook(play, hosts, TETHER_TOKEN="remote-s3cret-token")
        assert run.returncode == 0, run.output[-3000:] + run.stderr[-3000:]
        assert run.total("ok") == 2
        counters = remote.client(tls_ca=str(cert), token="remote-s3cret-token").info().counters
        assert counters["connections_opened"] == 2
        assert not (ansible.runtime_dir / "tether" / "tetherd.sock").exists()  # no local service started
        refused = ansible.playbook(play, hosts, TETHER_TOKEN="not-the-token")
        assert refused.returncode != 0
        failures = refused.task_results("show")
        assert all("UNAUTHENTICATED" in r["msg"] for r in failures.values()), failures
        for output in (run.output, run.stderr, refused.output, refused.stderr, remote.log()):
            assert "remote-s3cret-token" not in output and "not-the-token" not in output
    finally:
        remote.stop()


def test_become_password_enters_enable_mode(ansible: Ansible, switches: Any) -> None:
    """An inventory written for network_cli: a privilege-1 login plus ansible_become_password."""
    switch = switches.switches[4]
    user, password = switch.exec_credentials
    play = """- hosts: all
  gather_facts: false
  tasks:
    - name: privilege
      tether.fleet.cli_command:
        commands: [show privilege]
"""
    login = {"ansible_user": user, "ansible_password": password}
    good = ansible.playbook(play, inventory([switch], {**login, "ansible_become_password": switch.enable_password}))
    assert good.returncode == 0, good.output[-3000:] + good.stderr[-2000:]
    (result,) = good.task_results("privilege").values()
    assert "level is 15" in result["stdout"][0], result
    bad = ansible.playbook(play, inventory([switch], {**login, "ansible_become_password": "wrong-enable-4471"}))
    assert bad.returncode != 0
    (failure,) = bad.task_results("privilege").values()
    assert "refused enable mode" in failure["msg"], failure
    assert "wrong-enable-4471" not in bad.output + bad.stderr
