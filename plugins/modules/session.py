#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: session
short_description: Open (warm up) or close tetherd's pinned sessions
version_added: 0.1.0
description:
  - V(present) makes sure this host's session is open and answering, opening it now rather than at the
    first command (for example before a timed change window). It reports a change when it had to open it.
  - V(absent) closes this host's sessions (every session to its address and port), one session by O(session_id), or
    every session of the service (O(all)). The next task opens a fresh one.
  - Runs on the controller as an action plugin that talks gRPC to tetherd.
author:
  - Tether maintainers (@tether)
options:
  state:
    description: Whether the session should be open (V(present)) or closed (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  all:
    description: With O(state=absent), close every session of the service, to every host.
    type: bool
    default: false
  session_id:
    description: With O(state=absent), close only this session (an RV(tether.fleet.session_info#module:sessions[].id)).
    type: str
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
notes:
  - V(absent) matches sessions by the device's address and port (when known), whoever they are logged in as.
  - V(absent) never starts the embedded service; with nothing running there is nothing to close.
seealso:
  - module: tether.fleet.session_info
"""

EXAMPLES = r"""
- name: Open every switch's session before the change window
  tether.fleet.session:
    state: present

- name: Close this switch's sessions (after a reload, for example)
  tether.fleet.session:
    state: absent

- name: Close every session of the service
  tether.fleet.session:
    state: absent
    all: true
  run_once: true
"""

RETURN = r"""
closed:
  description: How many sessions were closed (in check mode, would be).
  returned: when O(state=absent)
  type: int
session:
  description: The session (see tether.fleet.cli_command for its fields).
  returned: when O(state=present)
  type: dict
job_id:
  description: Identifier of the job record of the probe in tetherd.
  returned: when O(state=present), not in check mode
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._argspec import SESSION_RULES, session_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=session_spec(), supports_check_mode=True, **SESSION_RULES)
    module.fail_json(msg="tether.fleet.session runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
