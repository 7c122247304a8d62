"""Real ansible-playbook runs of tether.fleet.napalm_getters and napalm_config.

Getters against a simulated Cisco switch (napalm ``ios``); the configuration
candidate against napalm's ``mock`` driver (the simulator has no candidate
store), served by a tetherd of the test's own that may read the mock's folder
(napalm_mock_dirs; an auto-started tetherd never takes TETHER_* from its caller).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.runner import Ansible, inventory
from tests.harness import Tetherd

pytestmark = pytest.mark.ansible

GETTERS_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: getters
      tether.fleet.napalm_getters:
        getters:
          - get_vlans
          - name: get_config
            arguments: {retrieve: running}
      register: got
    - name: facts
      ansible.builtin.assert:
        that:
          - ansible_net_hostname is match('sw')
          - "'12.2' in ansible_net_version"
          - ansible_net_vendor == 'Cisco'
          - "'1' in got.getters.get_vlans"
          - "'hostname' in got.getters.get_config.running"
    - name: again
      tether.fleet.napalm_getters:
        getters: [get_facts]
        facts: false
      register: again
"""


def test_napalm_getters_sets_net_facts_on_a_warm_session(ansible: Ansible, switches: Any) -> None:
    hosts = inventory(switches.switches[4:6])
    run = ansible.playbook(GETTERS_PLAY, hosts, "--forks", "2")
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-3000:]
    assert run.total("failures") == 0 and run.total("ok") == 2 * 3
    again = run.task_results("again")
    assert all(r["session"]["session_reused"] for r in again.values()), again
    assert ansible.counters()["connections_opened"] == 2


CONFIG_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: candidate
      tether.fleet.napalm_config:
        template: !unsafe |
          {% for server in servers %}
          ntp server {{ server }}
          {% endfor %}
        vars:
          servers: [10.0.0.1, 10.0.0.2]
        commit_message: ntp
        driver_options:
          path: "{{ mock_path }}"
      register: candidate
"""


def answer(folder: Path, method: str, count: int, value: Any) -> None:
    (folder / f"{method}.{count}").write_text(json.dumps(value))


def test_napalm_config_check_mode_shows_the_diff_and_commits_nothing(
    ansible: Ansible, tetherd_factory: Callable[..., Tetherd], tmp_path: Path
) -> None:
    allowed = tmp_path / "mock-device"
    allowed.mkdir()
    answer(allowed, "load_merge_candidate", 1, {})
    answer(allowed, "compare_config", 1, {"diff": "+ntp server 10.0.0.1\n+ntp server 10.0.0.2"})
    answer(allowed, "discard_config", 1, {})
    hosts = {
        "all": {
            "hosts": {"mockdev": {"ansible_host": "mock.invalid", "ansible_user": "u", "ansible_password": "p"}},
            "vars": {"ansible_network_os": "mock", "mock_path": str(allowed)},
        }
    }
    tetherd = tetherd_factory(env={"TETHER_NAPALM_MOCK_DIRS": str(tmp_path)})
    env = {"TETHER_ENDPOINT": tetherd.endpoint}
    checked = ansible.playbook(CONFIG_PLAY, hosts, "--check", "--diff", **env)
    assert checked.returncode == 0, checked.output[-3000:] + checked.stderr[-3000:]
    result = checked.task_results("candidate")["mockdev"]
    assert result["changed"] and result["discarded"] and not result["committed"]
    assert result["diff"]["prepared"].startswith("+ntp server 10.0.0.1")
    # For real: the mock answers its second compare with the same diff, and the commit goes through.
    answer(allowed, "load_merge_candidate", 2, {})
    answer(allowed, "compare_config", 2, {"diff": "+ntp server 10.0.0.1\n+ntp server 10.0.0.2"})
    answer(allowed, "commit_config", 1, {})
    committed = ansible.playbook(CONFIG_PLAY, hosts, **env)
    assert committed.returncode == 0, committed.output[-3000:] + committed.stderr[-3000:]
    result = committed.task_results("candidate")["mockdev"]
    assert result["changed"] and result["committed"] and result["session"]["session_reused"]


CLI_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: show
      tether.fleet.cli_command:
        commands: [show version]
        driver: napalm
      register: shown
"""


def test_cli_command_with_driver_napalm_uses_the_same_inventory(ansible: Ansible, switches: Any) -> None:
    run = ansible.playbook(CLI_PLAY, inventory(switches.switches[6:7]))
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-3000:]
    (result,) = run.task_results("show").values()
    assert "Cisco IOS Software" in result["stdout"][0]


CLI_CONFIG_PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: configure
      tether.fleet.cli_config:
        lines: [ntp server 10.0.0.1, ntp server 10.0.0.2]
        driver: napalm
        driver_options:
          path: "{{ mock_path }}"
      register: configured
"""


def test_cli_config_with_driver_napalm_sends_only_missing_lines(
    ansible: Ansible, tetherd_factory: Callable[..., Tetherd], tmp_path: Path
) -> None:
    allowed = tmp_path / "mock-device"
    allowed.mkdir()
    answer(allowed, "get_config", 1, {"running": "hostname r1\nntp server 10.0.0.1\n", "startup": "", "candidate": ""})
    answer(allowed, "load_merge_candidate", 1, {})
    answer(allowed, "compare_config", 1, {"diff": "+ntp server 10.0.0.2"})
    answer(allowed, "commit_config", 1, {})
    hosts = {
        "all": {
            "hosts": {"mockdev": {"ansible_host": "mock.invalid", "ansible_user": "u", "ansible_password": "p"}},
            "vars": {"ansible_network_os": "mock", "mock_path": str(allowed)},
        }
    }
    tetherd = tetherd_factory(env={"TETHER_NAPALM_MOCK_DIRS": str(tmp_path)})
    run = ansible.playbook(CLI_CONFIG_PLAY, hosts, TETHER_ENDPOINT=tetherd.endpoint)
    assert run.returncode == 0, run.output[-3000:] + run.stderr[-3000:]
    result = run.task_results("configure")["mockdev"]
    assert result["changed"] and result["commands"] == ["ntp server 10.0.0.2"]
