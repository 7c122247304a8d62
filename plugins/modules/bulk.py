#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: bulk
short_description: Run one operation across many devices in one task
version_added: 0.1.0
description:
  - Sends one operation (commands, configuration lines, or both) for many devices to tetherd in a single
    call; tetherd runs the devices in parallel on their warm sessions and the task returns a result per device.
  - The devices are inventory hosts (O(hosts), each with its own inventory variables) and/or explicit
    O(targets). With neither, the play's hosts (C(ansible_play_batch)); the task then needs C(run_once).
  - Task options such as O(username) or O(password) override every device's inventory variables.
  - In check mode configuration is only computed (what each device would receive) and only commands that
    read run.
  - Runs on the controller as an action plugin that talks gRPC to tetherd.
author:
  - Tether maintainers (@tether)
options:
  hosts:
    description: Inventory hosts to run on; their inventory variables say how to reach them.
    type: list
    elements: str
  targets:
    description: Devices that are not in the inventory.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the device in the results; defaults to O(targets[].host).
        type: str
      host:
        description: Address of the device.
        type: str
        required: true
      port:
        description: SSH port.
        type: int
      username:
        description: User to log in as.
        type: str
      password:
        description: Password to log in with.
        type: str
      private_key_file:
        description: SSH private key file on the controller.
        type: path
      enable_password:
        description: Enable secret.
        type: str
      platform:
        description: Driver platform (a netmiko C(device_type)).
        type: str
      driver_options:
        description: Driver options.
        type: dict
  commands:
    description: Commands to run on every device, after any configuration lines.
    type: list
    elements: str
  lines:
    description: Configuration lines for every device (indentation marks hierarchy).
    type: list
    elements: str
  parents:
    description: Context lines O(lines) belong under, outermost first.
    type: list
    elements: str
  match:
    description:
      - V(line) sends each device only the lines missing from its running configuration; V(none) sends every line.
    type: str
    choices: [line, none]
    default: line
  save:
    description: Save the running configuration after a change.
    type: bool
    default: false
  stop_on_error:
    description: On a device, skip the remaining commands after one fails.
    type: bool
    default: true
  parse:
    description: Parse each command's output with V(textfsm) or V(ttp) (see tether.fleet.cli_command).
    type: str
    choices: [textfsm, ttp]
  parse_template:
    description: Text of the TextFSM or TTP template.
    type: str
  parse_template_file:
    description: File holding the TextFSM or TTP template.
    type: path
  concurrency:
    description: Devices to run at once; by default the service's limit.
    type: int
  target_timeout:
    description: Seconds each device has; by default O(timeout).
    type: float
  fail_on_error:
    description:
      - Fail the task when any device fails. With V(false) the task succeeds and RV(failed_targets) lists them.
    type: bool
    default: true
extends_documentation_fragment:
  - tether.fleet.service
  - tether.fleet.target
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: network
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
    details: Use C(run_once) (needed when O(hosts) and O(targets) are not given).
notes:
  - All devices of one task use the same driver.
  - The task's O(host) option does not apply; list devices in O(hosts) or O(targets).
seealso:
  - module: tether.fleet.cli_command
  - module: tether.fleet.cli_config
"""

EXAMPLES = r"""
- name: One call for every switch of the play
  tether.fleet.bulk:
    commands: [show version, show clock]
  run_once: true
  register: fleet

- name: Devices by inventory group, from a play on localhost
  tether.fleet.bulk:
    hosts: "{{ groups['switches'] }}"
    lines:
      - ntp server 192.0.2.10
    save: true
    fail_on_error: false
  register: ntp

- name: Devices that are not in the inventory
  tether.fleet.bulk:
    targets:
      - {host: 192.0.2.21, platform: cisco_ios}
      - {host: 192.0.2.22, platform: cisco_ios}
    username: admin
    password: "{{ vault_device_password }}"
    commands: [show ip route summary]
"""

RETURN = r"""
results:
  description: The result of each device, by name (the inventory host name, or the target's name).
  returned: always
  type: dict
  contains:
    ok:
      description: Whether everything ran on the device.
      type: bool
      returned: always
    stdout:
      description: Output of each command.
      type: list
      elements: str
      returned: always
    parsed:
      description: Parsed output of each command.
      type: list
      elements: raw
      returned: when O(parse) is set
    results:
      description: How each step went (C(command), C(status), C(error), C(duration_ms)).
      type: list
      elements: dict
      returned: always
    changed:
      description: Whether the device's configuration changed (would change, in check mode).
      type: bool
      returned: when O(lines) is set
    commands:
      description: Configuration lines sent (that would be sent, in check mode).
      type: list
      elements: str
      returned: when O(lines) is set
    saved:
      description: Whether the configuration was saved.
      type: bool
      returned: when O(lines) is set
    session:
      description: The session (see tether.fleet.cli_command).
      type: dict
      returned: always
    error:
      description: Why the device failed.
      type: str
      returned: always
    error_code:
      description: gRPC status name of the failure (C(UNAVAILABLE), C(PERMISSION_DENIED), ...).
      type: str
      returned: always
failed_targets:
  description: Names of the devices that failed.
  returned: always
  type: list
  elements: str
summary:
  description: The bulk job as a whole.
  returned: always
  type: dict
  contains:
    job_id:
      description: Identifier of the job record in tetherd.
      type: str
      returned: always
    total:
      description: Devices in the task.
      type: int
      returned: always
    succeeded:
      description: Devices that succeeded.
      type: int
      returned: always
    failed:
      description: Devices that failed.
      type: int
      returned: always
    cancelled:
      description: Devices not run because the job was cancelled.
      type: int
      returned: always
    elapsed_ms:
      description: Time the whole job took.
      type: float
      returned: always
skipped_commands:
  description: Commands not run in check mode.
  returned: in check mode, when some commands were skipped
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._argspec import BULK_RULES, bulk_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=bulk_spec(), supports_check_mode=True, **BULK_RULES)
    module.fail_json(msg="tether.fleet.bulk runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
