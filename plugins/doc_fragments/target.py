# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation of the options that say which device to reach and how to log in."""

from __future__ import annotations


class ModuleDocFragment:
    # For modules: each option overrides the inventory variables named in it.
    DOCUMENTATION = r"""
options:
  host:
    description:
      - Address of the device.
      - Defaults to C(ansible_host), then the inventory host name.
    type: str
  port:
    description:
      - SSH port of the device.
      - Defaults to C(ansible_port), then the driver's default (V(22)).
    type: int
  username:
    description:
      - User to log in as.
      - Defaults to C(ansible_user), then the user given with C(--user) / C(remote_user).
    type: str
  password:
    description:
      - Password to log in with.
      - Defaults to C(ansible_password) (or C(ansible_ssh_pass)), then the password given with C(--ask-pass).
    type: str
  private_key_file:
    description:
      - SSH private key file on the controller.
      - Defaults to C(ansible_ssh_private_key_file) (or C(ansible_private_key_file)).
      - A local tetherd reads the file itself; for a remote one, the key is read here and sent to it.
    type: path
  enable_password:
    description:
      - Enable (privilege escalation) secret; with it, the session enters privileged mode after login.
      - Defaults to C(ansible_become_password) (or C(ansible_become_pass)), then the password given with
        C(--ask-become-pass).
    type: str
  platform:
    description:
      - Driver platform of the device; for the V(netmiko) driver, a netmiko C(device_type) such as V(cisco_ios).
      - Defaults to C(ansible_tether_platform), then C(ansible_network_os) mapped to a platform (V(ios) and
        V(cisco.ios.ios) become V(cisco_ios), V(eos) V(arista_eos), V(junos) V(juniper_junos), V(nxos)
        V(cisco_nxos), V(iosxr) V(cisco_xr), ...); a value that is not in that table is used as it is.
    type: str
  driver:
    description:
      - Tetherd driver that talks to the device.
      - Defaults to C(ansible_tether_driver), then V(netmiko). V(null) runs no device (it echoes commands),
        for trying playbooks and measuring overhead.
    type: str
  driver_options:
    description:
      - Driver options that shape the session (for netmiko, for example C(global_delay_factor), C(cmd_verify)).
      - "For netmiko, V(fast_cli: false) makes the session use netmiko's own read loops, with their fixed
        sleeps, instead of tetherd's reads that wake on the device's data: for a platform whose login or
        prompt handling needs those pauses."
      - Defaults to C(ansible_tether_driver_options).
    type: dict
  connect_timeout:
    description:
      - Seconds to wait for the device's SSH session to open.
      - Defaults to C(ansible_tether_connect_timeout), then C(ansible_connect_timeout), then the service default.
    type: float
  read_timeout:
    description:
      - Seconds to wait for each command's output.
      - Defaults to C(ansible_tether_read_timeout), then C(ansible_command_timeout), then the driver default.
    type: float
  keepalive:
    description:
      - Seconds between keepalive probes of the idle session.
      - Defaults to C(ansible_tether_keepalive), then the service default.
    type: int
  pinned:
    description:
      - Run on the device's warm session, opening it when needed, and leave it open for later tasks and
        playbook runs. V(false) connects, runs and disconnects.
      - Defaults to C(ansible_tether_pinned), then V(true).
    type: bool
notes:
  - A session is reused only by a request with the same driver, host, port, user and credentials.
"""

    # For the connection plugin tether.fleet.pinned.
    CONNECTION = r"""
options:
  host:
    description: Address of the device.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_ssh_host
      - name: ansible_host
  port:
    description: SSH port of the device; the driver's default (V(22)) when not set.
    type: int
    vars:
      - name: ansible_ssh_port
      - name: ansible_port
    keyword:
      - name: port
  remote_user:
    description: User to log in as.
    type: str
    vars:
      - name: ansible_ssh_user
      - name: ansible_user
    keyword:
      - name: remote_user
  password:
    description: Password to log in with.
    type: str
    vars:
      - name: ansible_ssh_password
      - name: ansible_ssh_pass
      - name: ansible_password
  private_key_file:
    description: SSH private key file on the controller.
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
    description: Network OS of the device, mapped to the driver platform when O(platform) is not set.
    type: str
    vars:
      - name: ansible_network_os
  platform:
    description: Driver platform of the device; for netmiko, a C(device_type) such as V(cisco_ios).
    type: str
    vars:
      - name: ansible_tether_platform
  driver:
    description: Tetherd driver that talks to the device.
    type: str
    default: netmiko
    vars:
      - name: ansible_tether_driver
  driver_options:
    description: Driver options that shape the session.
    type: dict
    vars:
      - name: ansible_tether_driver_options
  connect_timeout:
    description: Seconds to wait for the device's SSH session to open.
    type: float
    vars:
      - name: ansible_connect_timeout
      - name: ansible_tether_connect_timeout
  read_timeout:
    description: Seconds to wait for each command's output.
    type: float
    vars:
      - name: ansible_command_timeout
      - name: ansible_tether_read_timeout
  keepalive:
    description: Seconds between keepalive probes of the idle session.
    type: int
    vars:
      - name: ansible_tether_keepalive
  pinned:
    description: Use the device's warm session (V(false) connects, runs and disconnects for every command).
    type: bool
    default: true
    vars:
      - name: ansible_tether_pinned
"""
