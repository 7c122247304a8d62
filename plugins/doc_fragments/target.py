# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the options that say which device to reach and how to log in.

Rendered from plugins/module_utils/_options.py by plugins/module_utils/_option_docs.py:
do not edit by hand (tests/ansible/test_option_tables.py fails when they differ).
"""

from __future__ import annotations


class ModuleDocFragment:
    # For modules: the task option, then inventory variables, then environment variables.
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Address of the device.
      - Falls back to the variable C(ansible_host), then to the variable C(ansible_ssh_host), then to the inventory host
        name.
    type: str
  port:
    description:
      - Port of the device (SSH, or the API's for an API driver).
      - Falls back to the variable C(ansible_port), then to the variable C(ansible_ssh_port), then to the driver's
        default (V(22) for SSH).
    type: int
  username:
    description:
      - User to log in as.
      - Falls back to the variable C(ansible_user), then to the variable C(ansible_ssh_user), then to the user given
        with C(--user) / C(remote_user).
    type: str
  password:
    description:
      - Password to log in with.
      - Falls back to the variable C(ansible_password), then to the variable C(ansible_ssh_pass), then to the variable
        C(ansible_ssh_password), then to the password given with C(--ask-pass).
    type: str
  private_key_file:
    description:
      - SSH private key file on the controller.
      - A local tetherd reads the file itself; for a remote one, the key is read here and sent to it.
      - Falls back to the variable C(ansible_ssh_private_key_file), then to the variable C(ansible_private_key_file).
    type: path
  enable_password:
    description:
      - Enable (privilege escalation) secret; with it, the session enters privileged mode after login.
      - Falls back to the variable C(ansible_become_password), then to the variable C(ansible_become_pass), then to the
        password given with C(--ask-become-pass).
    type: str
  platform:
    description:
      - Driver platform of the device; for the V(netmiko) driver, a netmiko C(device_type) such as V(cisco_ios).
      - Falls back to the variable C(ansible_tether_platform), then to C(ansible_network_os) mapped to a platform
        (V(ios) and V(cisco.ios.ios) become V(cisco_ios), V(eos) V(arista_eos), V(junos) V(juniper_junos), V(nxos)
        V(cisco_nxos), V(iosxr) V(cisco_xr), ...); a value that is not in that table is used as it is.
    type: str
  driver:
    description:
      - Tetherd driver that talks to the device.
      - V(null) runs no device (it echoes commands), for trying playbooks and measuring overhead.
      - Falls back to the variable C(ansible_tether_driver), then to V(netmiko).
    type: str
  driver_options:
    description:
      - Driver options that shape the session (for netmiko, for example C(global_delay_factor), C(cmd_verify)).
      - "For netmiko, V(fast_cli: false) makes the session use netmiko's own read loops, with their fixed sleeps,
        instead of tetherd's reads that wake on the device's data: for a platform whose login or prompt handling needs
        those pauses."
      - Falls back to the variable C(ansible_tether_driver_options).
    type: dict
  connect_timeout:
    description:
      - Seconds to wait for the device's session to open.
      - Falls back to the variable C(ansible_tether_connect_timeout), then to the variable C(ansible_connect_timeout),
        then to the service default.
    type: float
  read_timeout:
    description:
      - Seconds to wait for each command's output.
      - Falls back to the variable C(ansible_tether_read_timeout), then to the variable C(ansible_command_timeout), then
        to the driver default.
    type: float
  keepalive:
    description:
      - Seconds between keepalive probes of the idle session.
      - Falls back to the variable C(ansible_tether_keepalive), then to the service default.
    type: int
  pinned:
    description:
      - Run on the device's warm session, opening it when needed, and leave it open for later tasks and playbook runs.
        V(false) connects, runs and disconnects.
      - Falls back to the variable C(ansible_tether_pinned), then to V(true).
    type: bool
notes:
  - A session is reused only by a request with the same driver, host, port, user and credentials.
"""

    # For connection plugins (tether.fleet.pinned, tether.fleet.network_cli).
    CONNECTION = r"""
options:
  host:
    description:
      - Address of the device.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_ssh_host
      - name: ansible_host
  port:
    description:
      - Port of the device (SSH, or the API's for an API driver).
    type: int
    vars:
      - name: ansible_ssh_port
      - name: ansible_port
    keyword:
      - name: port
  remote_user:
    description:
      - User to log in as.
    type: str
    vars:
      - name: ansible_ssh_user
      - name: ansible_user
    keyword:
      - name: remote_user
  password:
    description:
      - Password to log in with.
    type: str
    vars:
      - name: ansible_ssh_password
      - name: ansible_ssh_pass
      - name: ansible_password
  private_key_file:
    description:
      - SSH private key file on the controller.
      - A local tetherd reads the file itself; for a remote one, the key is read here and sent to it.
    type: path
    vars:
      - name: ansible_private_key_file
      - name: ansible_ssh_private_key_file
  enable_password:
    description:
      - Enable (privilege escalation) secret; with it, the session enters privileged mode after login.
      - This is the session's own enable step, not Ansible's C(become).
    type: str
    vars:
      - name: ansible_become_pass
      - name: ansible_become_password
  network_os:
    description:
      - Network OS of the device, mapped to the driver platform when O(platform) is not set.
    type: str
    vars:
      - name: ansible_network_os
  platform:
    description:
      - Driver platform of the device; for the V(netmiko) driver, a netmiko C(device_type) such as V(cisco_ios).
    type: str
    vars:
      - name: ansible_tether_platform
  driver:
    description:
      - Tetherd driver that talks to the device.
      - V(null) runs no device (it echoes commands), for trying playbooks and measuring overhead.
    type: str
    default: netmiko
    vars:
      - name: ansible_tether_driver
  driver_options:
    description:
      - Driver options that shape the session.
    type: dict
    vars:
      - name: ansible_tether_driver_options
  connect_timeout:
    description:
      - Seconds to wait for the device's session to open.
    type: float
    vars:
      - name: ansible_connect_timeout
      - name: ansible_tether_connect_timeout
  read_timeout:
    description:
      - Seconds to wait for each command's output.
    type: float
    vars:
      - name: ansible_command_timeout
      - name: ansible_tether_read_timeout
  keepalive:
    description:
      - Seconds between keepalive probes of the idle session.
    type: int
    vars:
      - name: ansible_tether_keepalive
  pinned:
    description:
      - Use the device's warm session (V(false) connects, runs and disconnects for every command).
    type: bool
    default: true
    vars:
      - name: ansible_tether_pinned
"""
