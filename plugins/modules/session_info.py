#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: session_info
short_description: List tetherd's warm sessions and the service's counters
version_added: 0.1.0
description:
  - Lists the sessions tetherd keeps open to this host (by its address), or to every host, with their use
    counts and keepalive failures, and the service's version and counters.
  - Looking never starts the embedded service; when nothing answers on the local socket the task returns
    no session and RV(service.running=false).
  - Runs on the controller as an action plugin that talks gRPC to tetherd.
author:
  - Tether maintainers (@tether)
options:
  all_hosts:
    description: List the sessions to every host, not only to this one.
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
  - module: tether.fleet.session
"""

EXAMPLES = r"""
- name: Is this switch's session warm?
  tether.fleet.session_info:
  register: info

- name: Every session and the service counters, once
  tether.fleet.session_info:
    all_hosts: true
  run_once: true
"""

RETURN = r"""
sessions:
  description: The sessions.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Session identifier.
      type: str
      returned: always
    fingerprint:
      description: Hash of the session key (holds no secret).
      type: str
      returned: always
    driver:
      description: Driver of the session.
      type: str
      returned: always
    host:
      description: Address of the device.
      type: str
      returned: always
    port:
      description: Port of the device.
      type: int
      returned: always
    username:
      description: User the session is logged in as.
      type: str
      returned: always
    platform:
      description: Driver platform.
      type: str
      returned: always
    state:
      description: V(connecting), V(idle), V(busy) or V(closed).
      type: str
      returned: always
    created:
      description: When the session was opened (Unix time).
      type: float
      returned: always
    last_used:
      description: When the session last ran something (Unix time).
      type: float
      returned: always
    use_count:
      description: How many operations the session has run.
      type: int
      returned: always
    keepalive_failures:
      description: Failed keepalive probes.
      type: int
      returned: always
    queued:
      description: Operations waiting for the session.
      type: int
      returned: always
service:
  description: The service.
  returned: always
  type: dict
  contains:
    running:
      description: Whether tetherd answered.
      type: bool
      returned: always
    version:
      description: Version of tetherd.
      type: str
      returned: when running
    pid:
      description: Process id of tetherd.
      type: int
      returned: when running
    started:
      description: When tetherd started (Unix time).
      type: float
      returned: when running
    drivers:
      description: The drivers tetherd has.
      type: list
      elements: str
      returned: when running
    counters:
      description: What the service did (C(connections_opened), C(commands_run), ...).
      type: dict
      returned: when running
    sessions_open:
      description: Sessions open, to all hosts.
      type: int
      returned: when running
    jobs_running:
      description: Jobs running now.
      type: int
      returned: when running
    listen:
      description: The endpoint tetherd listens on.
      type: str
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._argspec import SESSION_INFO_RULES, session_info_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=session_info_spec(), supports_check_mode=True, **SESSION_INFO_RULES)
    module.fail_json(msg="tether.fleet.session_info runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
