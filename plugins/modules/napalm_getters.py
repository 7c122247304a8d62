#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: napalm_getters
short_description: Run napalm getters on a device through its warm, pinned napalm session
version_added: 0.2.0
description:
  - Runs napalm getters (C(get_facts), C(get_interfaces), C(get_config), C(get_vlans), ...) by name, with their
    arguments, through the napalm device object that tetherd keeps open to the device. napalm-ansible and Salt open
    and close a napalm connection for every task; here the first task opens it and the next ones find it warm.
  - Each getter answers napalm's own result model, as data. tetherd checks getter names and arguments against
    napalm's signatures before it touches the device.
  - With O(facts) (the default) it also sets the C(ansible_net_*) facts from C(get_facts), as the vendor facts
    modules name them.
  - The platform is napalm's driver name (C(ios), C(eos), C(junos), C(nxos_ssh), C(iosxr)); an inventory's
    C(ansible_network_os) (for example C(cisco.ios.ios)) is mapped to it.
  - Runs on the controller as an action plugin that talks gRPC to tetherd.
author:
  - Tether maintainers (@tether)
options:
  getters:
    description:
      - The getters to run, in order. Each is a getter name (C(get_facts)), or a dictionary with the getter's
        C(name) and its C(arguments) (a dictionary), or a dictionary of one getter name to its arguments.
    type: list
    elements: raw
    required: true
  facts:
    description: Also run C(get_facts) and return the C(ansible_net_*) facts.
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
    details: Getters only read, so they run in check mode too.
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
  - module: tether.fleet.napalm_config
  - module: tether.fleet.cli_command
"""

EXAMPLES = r"""
- name: Facts and VLANs of every switch, through warm napalm sessions
  tether.fleet.napalm_getters:
    getters:
      - get_vlans
      - name: get_config
        arguments:
          retrieve: running
  register: got

- name: Show the model of each switch
  ansible.builtin.debug:
    msg: "{{ ansible_net_model }} runs {{ ansible_net_version }}"
"""

RETURN = r"""
getters:
  description: Each getter's result (napalm's model), by getter name; null for a getter that failed.
  returned: always
  type: dict
  sample: {"get_vlans": {"1": {"name": "default", "interfaces": ["FastEthernet0/1"]}}}
failed_getters:
  description: The error of each getter that failed, by name.
  returned: failed
  type: dict
ansible_facts:
  description: C(ansible_net_*) facts from C(get_facts).
  returned: when O(facts) is true and get_facts answered
  type: dict
  contains:
    ansible_net_hostname:
      description: The device's host name.
      type: str
      returned: always
    ansible_net_version:
      description: The operating system version.
      type: str
      returned: always
    ansible_net_serialnum:
      description: The serial number.
      type: str
      returned: always
    ansible_net_model:
      description: The model.
      type: str
      returned: always
    ansible_net_interfaces:
      description: The interfaces (C(get_interfaces)'s model when it ran, else each name with no details).
      type: dict
      returned: always
session:
  description: The session the getters ran on (see tether.fleet.cli_command for its fields).
  returned: always
  type: dict
job_id:
  description: Identifier of the job record in tetherd.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._napalm import getters_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=getters_spec(), supports_check_mode=True)
    module.fail_json(msg="tether.fleet.napalm_getters runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
