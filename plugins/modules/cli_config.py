#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: cli_config
short_description: Configure a network device through its warm, pinned session, idempotently
version_added: 0.1.0
description:
  - Applies configuration lines, or a rendered Jinja2 template, to a device through the SSH session that
    tetherd keeps open to it.
  - With O(match=line) (the default) tetherd reads the running configuration first and sends only the
    lines it lacks, so a second run with the lines present reports no change.
  - In check mode nothing is sent; the task reports the lines it would send. In diff mode (C(--diff)) the
    running configuration before and after (in check mode, the predicted one) is returned as the diff.
  - Indentation marks hierarchy, as in a running configuration; O(parents) writes the context lines for you.
  - Runs on the controller as an action plugin that talks gRPC to tetherd. Connection details come from the
    usual inventory variables (C(ansible_host), C(ansible_user), C(ansible_password), C(ansible_network_os), ...).
author:
  - Tether maintainers (@tether)
options:
  lines:
    description:
      - Configuration lines, in order. A line indented by one space more than the line above belongs
        under it (C(" description uplink") under C("interface Fa0/1")).
      - Mutually exclusive with O(src).
    type: list
    elements: str
    aliases: [commands]
  parents:
    description:
      - Context lines O(lines) belong under, outermost first (C(["interface Fa0/1"])).
    type: list
    elements: str
  src:
    description:
      - A Jinja2 template on the controller whose rendered text is the configuration, looked up like
        C(ansible.builtin.template) looks up its source (the role's C(templates/), then the playbook's directory).
      - Blank lines and bare C(!) separators are dropped.
      - Mutually exclusive with O(lines) and O(parents).
    type: path
  match:
    description:
      - V(line) sends only the lines missing from the running configuration (idempotent; the driver must be
        able to read the running configuration).
      - V(none) sends every line and always reports a change.
    type: str
    choices: [line, none]
    default: line
  save:
    description: Save the running configuration to the startup configuration after a change.
    type: bool
    default: false
extends_documentation_fragment:
  - tether.fleet.service
  - tether.fleet.target
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: network
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
seealso:
  - module: tether.fleet.cli_command
  - module: tether.fleet.bulk
"""

EXAMPLES = r"""
- name: Describe an uplink (a second run reports no change)
  tether.fleet.cli_config:
    parents: ["interface FastEthernet0/1"]
    lines:
      - description uplink to core
      - no shutdown

- name: The same, with the hierarchy written out
  tether.fleet.cli_config:
    lines:
      - interface FastEthernet0/1
      - " description uplink to core"
    save: true

- name: Configuration rendered from a template, shown as a diff in check mode
  tether.fleet.cli_config:
    src: vlans.j2
  check_mode: true
  diff: true
"""

RETURN = r"""
commands:
  description: The lines sent to the device (in check mode, that would be sent).
  returned: always
  type: list
  elements: str
  sample: ["interface FastEthernet0/1", " description uplink to core"]
updates:
  description: Same as RV(commands).
  returned: always
  type: list
  elements: str
saved:
  description: Whether the configuration was saved.
  returned: always
  type: bool
would_save:
  description: In check mode, whether O(save) would save the configuration.
  returned: in check mode, when O(save) is set and something would change
  type: bool
output:
  description: What the device printed while the lines were applied.
  returned: when lines were sent
  type: str
diff:
  description: The running configuration before and after (predicted in check mode).
  returned: in diff mode
  type: dict
  contains:
    before:
      description: Running configuration before.
      type: str
      returned: always
    after:
      description: Running configuration after.
      type: str
      returned: always
session:
  description: The session the configuration ran on (see tether.fleet.cli_command for its fields).
  returned: always
  type: dict
job_id:
  description: Identifier of the job record in tetherd.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._argspec import CLI_CONFIG_RULES, cli_config_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=cli_config_spec(), supports_check_mode=True, **CLI_CONFIG_RULES)
    module.fail_json(msg="tether.fleet.cli_config runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
