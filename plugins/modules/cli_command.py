#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cli_command
short_description: Run CLI commands on a network device through its warm, pinned session
version_added: 0.1.0
description:
  - Runs one or more commands on a device, in order, through the SSH session that tetherd keeps open to it.
    The first task opens the session; every later task, and the next playbook run, finds it warm.
  - Optionally waits until conditions on the output hold (O(wait_for)), retrying the commands.
  - Optionally parses each command's output with TextFSM (ntc-templates by platform and command, or a
    template of your own) or TTP.
  - Runs on the controller as an action plugin that talks gRPC to tetherd. Connection details come from the
    usual inventory variables (C(ansible_host), C(ansible_user), C(ansible_password), C(ansible_network_os), ...).
author:
  - Tether maintainers (@tether)
options:
  commands:
    description:
      - Commands to run, in order. Each is one line.
    type: list
    elements: str
    required: true
  wait_for:
    description:
      - Conditions the output must meet, as C(result[N] <operator> <value>), where C(result[N]) is the output
        of the Nth command (from 0) or, with O(parse), its parsed data, into which C(.key) and C([index])
        steps lead.
      - Operators are C(eq) (C(==)), C(neq) (C(ne), C(!=)), C(gt) (C(>)), C(ge) (C(>=)), C(lt) (C(<)),
        C(le) (C(<=)), C(contains) and C(matches) (a regular expression); C(not) before one negates it.
      - The commands run again, up to O(retries) more times, O(interval) seconds apart, until the conditions hold.
    type: list
    elements: str
    aliases: [waitfor]
  match:
    description: Whether V(all) conditions of O(wait_for) must hold, or V(any) one of them.
    type: str
    choices: [any, all]
    default: all
  retries:
    description: How many more times to run the commands while O(wait_for) conditions do not hold.
    type: int
    default: 9
  interval:
    description: Seconds between two runs of the commands while waiting for O(wait_for).
    type: float
    default: 1.0
  expect_prompt:
    description:
      - Regular expression that ends each command's output, for commands that do not return to the
        session's usual prompt. By default, the device's prompt in any mode.
    type: str
  stop_on_error:
    description: Skip the remaining commands after one fails.
    type: bool
    default: true
  encoding:
    description:
      - How commands answer. V(json) asks for data (a dictionary per command in RV(stdout), which O(wait_for)
        conditions see), for drivers with structured output such as V(pyeapi); other drivers refuse it before
        connecting. V(text) asks for the device's text.
      - Unset, the driver decides - V(pyeapi) answers data (falling back to text for a command EOS cannot
        answer in JSON), CLI drivers such as V(netmiko) answer text.
    type: str
    choices: [text, json]
  parse:
    description:
      - Parse each command's output. V(textfsm) uses O(parse_template), or the ntc-templates template for the
        device's platform and the command; V(ttp) needs O(parse_template) or O(parse_template_file).
      - The parsed data is returned in RV(parsed) and is what O(wait_for) conditions see.
    type: str
    choices: [textfsm, ttp]
  parse_template:
    description: Text of the TextFSM or TTP template.
    type: str
  parse_template_file:
    description:
      - File holding the TextFSM or TTP template, looked up like a template (the role's C(templates/),
        then the playbook's directory).
    type: path
extends_documentation_fragment:
  - tether.fleet.service
  - tether.fleet.target
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: partial
    details: In check mode only commands that read (C(show), C(display), C(dir), C(more), C(ping), C(traceroute),
      C(get)) run; the others are skipped with a warning.
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
seealso:
  - module: tether.fleet.cli_config
  - module: tether.fleet.bulk
  - module: tether.fleet.session_info
"""

EXAMPLES = r"""
- name: Show commands on every switch, through warm sessions
  tether.fleet.cli_command:
    commands:
      - show version
      - show vlan brief
  register: out

- name: Parse with ntc-templates and wait for an interface to come up
  tether.fleet.cli_command:
    commands:
      - show interfaces status
    parse: textfsm
    wait_for:
      - result[0][0].status eq connected
    retries: 30
    interval: 2

- name: Set the service endpoint once for every module of the collection
  module_defaults:
    group/tether.fleet.all:
      endpoint: unix:/run/tether/tetherd.sock
  block:
    - name: Show the clock
      tether.fleet.cli_command:
        commands: [show clock]

- name: Structured show output from an Arista switch over eAPI
  tether.fleet.cli_command:
    commands: [show version]
    driver: pyeapi
    driver_options:
      transport: https
    wait_for:
      - result[0].modelName contains vEOS
  register: eos

- name: Try a playbook without a device (the null driver echoes commands)
  tether.fleet.cli_command:
    commands: [show version]
    driver: "null"
"""

RETURN = r"""
stdout:
  description:
    - The output of each command, in order; a dictionary for a command that answered data (O(encoding=json),
      or the V(pyeapi) driver's default), as C(arista.eos.eos_command) returns it with C(output=json).
  returned: always
  type: list
  elements: raw
  sample: ["Cisco IOS Software, C3750 Software ..."]
stdout_lines:
  description: The output of each command, as a list of lines (the data itself for a command that answered data).
  returned: always
  type: list
  elements: raw
parsed:
  description: The parsed output of each command (null for one that was not parsed).
  returned: when O(parse) is set
  type: list
  elements: raw
results:
  description: How each command went.
  returned: always
  type: list
  elements: dict
  contains:
    command:
      description: The command.
      type: str
      returned: always
    status:
      description: V(ok), V(failed), or V(skipped) (after an earlier failure).
      type: str
      returned: always
    error:
      description: Why the command failed.
      type: str
      returned: always
    duration_ms:
      description: Time the command took on the device.
      type: float
      returned: always
session:
  description: The session the commands ran on.
  returned: always
  type: dict
  contains:
    session_id:
      description: Identifier of the session in tetherd.
      type: str
      returned: always
    session_reused:
      description: Whether the session was already open (warm).
      type: bool
      returned: always
    connect_ms:
      description: Time spent opening the session (0 when it was reused).
      type: float
      returned: always
    run_ms:
      description: Time spent running the commands.
      type: float
      returned: always
    queued_ms:
      description: Time spent waiting behind earlier work on the same device.
      type: float
      returned: always
job_id:
  description: Identifier of the job record in tetherd (C(tether jobs JOB_ID) shows it).
  returned: always
  type: str
attempts:
  description: How many times the commands ran.
  returned: when O(wait_for) is set
  type: int
failed_conditions:
  description: The O(wait_for) conditions that did not hold at the last attempt.
  returned: failed
  type: list
  elements: str
skipped_commands:
  description: Commands not run in check mode.
  returned: in check mode, when some commands were skipped
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._argspec import CLI_COMMAND_RULES, cli_command_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=cli_command_spec(), supports_check_mode=True, **CLI_COMMAND_RULES)
    module.fail_json(msg="tether.fleet.cli_command runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
