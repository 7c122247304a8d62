#!/usr/bin/python
# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: napalm_config
short_description: Load, compare and commit a configuration candidate through a warm napalm session
version_added: 0.2.0
description:
  - Loads a configuration candidate (merged into the running configuration, or replacing it with O(replace)),
    compares it, and commits it when it changes something, through the napalm device object tetherd keeps open.
    An empty diff commits nothing and reports no change.
  - The candidate comes from O(src) (a Jinja2 template rendered on the controller, like ansible.builtin.template),
    O(lines), or O(template) with O(vars), rendered by tetherd in a sandbox (no file access, bounded loops and size).
  - With O(revert_in) the commit reverts by itself unless confirmed (O(action=confirm)) in time, where napalm
    supports it for the platform (C(ios), C(eos), C(junos), C(iosxr_netconf)).
  - Check mode loads, compares and discards (nothing is committed); diff mode (C(--diff)) shows the candidate's diff.
  - Runs on the controller as an action plugin that talks gRPC to tetherd.
author:
  - Tether maintainers (@tether)
options:
  src:
    description: A Jinja2 template file rendered on the controller into the candidate.
    type: path
  lines:
    description: The candidate's configuration lines.
    type: list
    elements: str
  template:
    description:
      - Jinja2 source rendered by tetherd in its sandbox with O(vars) (no filters of Ansible's).
      - Tag it C(!unsafe) so that Ansible does not render it first with the play's variables.
    type: str
  vars:
    description: Variables for O(template).
    type: dict
  replace:
    description: Replace the whole configuration with the candidate instead of merging it.
    type: bool
    default: false
  commit_message:
    description: Commit comment, where the platform keeps one.
    type: str
  revert_in:
    description: Seconds after which the commit reverts unless confirmed with O(action=confirm).
    type: int
  action:
    description:
      - V(commit) loads, compares and commits (check mode - compares only); V(compare) loads, compares and discards;
        V(confirm) confirms a commit made with O(revert_in); V(discard) drops a loaded candidate;
        V(rollback) returns to the configuration before the last commit.
    type: str
    choices: [commit, compare, confirm, discard, rollback]
    default: commit
extends_documentation_fragment:
  - tether.fleet.service
  - tether.fleet.target
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details: Loads, compares and discards the candidate; confirm, discard and rollback are skipped.
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
  - module: tether.fleet.napalm_getters
  - module: tether.fleet.cli_config
"""

EXAMPLES = r"""
- name: NTP servers, committed with a revert timer
  tether.fleet.napalm_config:
    template: !unsafe |
      {% for server in servers %}
      ntp server {{ server }}
      {% endfor %}
    vars:
      servers: [10.0.0.1, 10.0.0.2]
    revert_in: 300
    commit_message: ntp servers

- name: Confirm the commit
  tether.fleet.napalm_config:
    action: confirm
"""

RETURN = r"""
diff_text:
  description: What the candidate changes, in the platform's diff format (empty when nothing).
  returned: always
  type: str
committed:
  description: Whether a commit (or a confirm) was made.
  returned: always
  type: bool
pending_confirm:
  description: Whether the commit reverts unless confirmed.
  returned: always
  type: bool
discarded:
  description: Whether the candidate was discarded (check mode, compare, or an empty diff).
  returned: always
  type: bool
rolled_back:
  description: Whether the configuration was rolled back.
  returned: always
  type: bool
session:
  description: The session the candidate ran on (see tether.fleet.cli_command for its fields).
  returned: always
  type: dict
job_id:
  description: Identifier of the job record in tetherd.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tether.fleet.plugins.module_utils._napalm import CONFIG_RULES, config_spec


def main() -> None:
    # The work is done by the action plugin of the same name, on the controller; this
    # entry point exists for documentation and argument-spec checks only.
    module = AnsibleModule(argument_spec=config_spec(), supports_check_mode=True, **CONFIG_RULES)
    module.fail_json(msg="tether.fleet.napalm_config runs on the controller as an action plugin, not as a module")


if __name__ == "__main__":
    main()
