"""ansible-playbook runs of tether.fleet.cli_command / cli_config with driver pyeapi (simulated Arista eAPI)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ansible.runner import Ansible

pytestmark = pytest.mark.ansible

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: structured
      tether.fleet.cli_command:
        commands: [show version, show vlan]
        wait_for:
          - result[0].modelName eq vEOS
          - result[1].vlans['1'].name eq default
      register: structured
    - name: text
      tether.fleet.cli_command:
        commands: [show version]
        encoding: text
      register: text
    - name: configure
      tether.fleet.cli_config:
        lines: [vlan 64, name from-ansible]
        save: true
      register: configured
    - name: configure again
      tether.fleet.cli_config:
        lines: [vlan 64]
      register: again
    - name: read back
      tether.fleet.cli_command:
        commands: [show vlan 64]
        encoding: json
      register: readback
    - name: check
      ansible.builtin.assert:
        that:
          - structured.stdout[0].version == '4.23.0F'
          - structured.stdout[1].vlans['1'].status == 'active'
          - structured.stdout_lines[0].modelName == 'vEOS'
          - text.stdout[0] is string and text.stdout[0].startswith('Arista vEOS')
          - configured is changed and configured.saved
          - again is not changed
          - readback.stdout[0].vlans['64'].name == 'from-ansible'
"""


def eapi_inventory(switches: Any) -> dict[str, Any]:
    hosts = {
        s.name: {"ansible_host": s.host, "ansible_port": s.eapi_port, "ansible_user": s.username,
                 "ansible_password": s.password}
        for s in switches
    }  # fmt: skip
    group = {
        "ansible_network_os": "arista.eos.eos",
        "ansible_tether_driver": "pyeapi",
        "ansible_tether_driver_options": {"transport": "http"},
    }
    return {"all": {"hosts": hosts, "vars": group}}


def test_cli_command_and_cli_config_with_driver_pyeapi(ansible: Ansible, eapi_switches: Any) -> None:
    switches = eapi_switches.switches[:2]
    run = ansible.playbook(PLAY, eapi_inventory(switches), "--forks", "2")
    assert run.returncode == 0, run.output[-4000:] + run.stderr[-3000:]
    assert run.total("failures") == 0 and run.total("ok") == 2 * 6
    assert ansible.counters()["connections_opened"] == 2  # one warm eAPI connection per switch, every task


def test_encoding_json_with_netmiko_fails_before_connecting(ansible: Ansible, unused_port: int) -> None:
    play = """- hosts: all
  gather_facts: false
  tasks:
    - name: json from a CLI
      tether.fleet.cli_command:
        commands: [show version]
        encoding: json
"""
    hosts = {"sw": {"ansible_host": "127.0.0.1", "ansible_port": unused_port, "ansible_user": "u",
                    "ansible_password": "p", "ansible_network_os": "cisco.ios.ios"}}  # fmt: skip
    run = ansible.playbook(play, {"all": {"hosts": hosts}})
    assert run.returncode != 0
    result = run.task_results("json from a CLI")["sw"]
    assert result["error_code"] == "FAILED_PRECONDITION" and "structured_output" in result["msg"]
