# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pinned
short_description: Run commands through tetherd's warm, pinned session to the device
version_added: 0.1.0
description:
  - Each command Ansible runs on the host (C(ansible.builtin.raw), for example) goes through the SSH session
    that tetherd keeps open to the device, instead of a new SSH connection. The first command opens the
    session; every later one, and the next playbook run, finds it warm.
  - The tether.fleet modules (tether.fleet.cli_command, tether.fleet.cli_config, ...) run on the controller and
    talk to tetherd themselves whatever the connection is; with this connection they also take the service
    options from it.
  - Files are copied (C(put_file), C(fetch_file)) over the session when the driver publishes the
    C(file_transfer) capability for the platform (netmiko over SFTP); otherwise the copy fails with an error
    that names the capability.
  - Ansible modules that run Python on the target (C(ansible.builtin.command), C(setup), ...) do not work on
    network devices, which have no Python. Turn off fact gathering (C(gather_facts=false)) and use
    C(ansible.builtin.raw) or the tether.fleet modules.
  - With no endpoint configured, tetherd is started in the background on the local socket when nothing
    answers there (see O(auto_start)).
author:
  - Tether maintainers (@tether)
extends_documentation_fragment:
  - tether.fleet.service.connection
  - tether.fleet.target.connection
notes:
  - The enable secret (C(ansible_become_password)) is used by the session itself to enter privileged mode; do
    not use Ansible's C(become) with this connection (network inventories that set C(ansible_become_method)
    to C(ansible.netcommon.enable) keep working, as that method changes no command).
  - C(meta) C(reset_connection) closes the host's sessions that match its driver, port and user; the next
    command opens a fresh one.
  - Where tetherd publishes the C(exec) capability for the host's driver and platform (netmiko on a Linux
    host, platform C(linux)), each command runs in an SSH exec channel of its own over the warm transport,
    with its exit status, standard input and standard error; elsewhere it goes through the CLI session and
    its status is 0 unless the command itself fails (timeout, lost session). Standard input needs C(exec).
  - File copies need the C(file_transfer) capability; a task fails with an error naming a missing capability.
    The capabilities are read from the service once per broker (C(GetServiceInfo)), never guessed from
    platform names.
"""

EXAMPLES = r"""
# inventory.yml
# switches:
#   hosts:
#     sw01: {ansible_host: 192.0.2.11}
#   vars:
#     ansible_connection: tether.fleet.pinned
#     ansible_network_os: cisco.ios.ios
#     ansible_user: admin
#     ansible_password: "{{ vault_switch_password }}"

- name: Raw commands through the warm session
  hosts: switches
  gather_facts: false
  tasks:
    - name: Show the clock
      ansible.builtin.raw: show clock
      register: clock
"""

import base64
import os
from typing import Any

from ansible.errors import AnsibleAuthenticationFailure, AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.tether.fleet.plugins.module_utils._option_sources import (
    SERVICE_CONNECTION_NAMES,
    SERVICE_DEFAULTS,
    TARGET_CONNECTION_NAMES,
)
from ansible_collections.tether.fleet.plugins.module_utils._target import Target, TargetError, build_target, redact
from ansible_collections.tether.fleet.plugins.plugin_utils import _netcli_client as broker

display = Display()

# Service setting / target option -> this plugin's option name, from the option tables (their
# compact rendering: this module is imported by every task's worker).
_SERVICE_OPTIONS = SERVICE_CONNECTION_NAMES
_TARGET_OPTIONS = TARGET_CONNECTION_NAMES
DEFAULT_TIMEOUT = float(SERVICE_DEFAULTS["timeout"])


class ServiceCallFailed(Exception):
    """A call to tetherd failed; ``code`` is the gRPC status name (UNAVAILABLE, INVALID_ARGUMENT, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Connection(ConnectionBase):  # type: ignore[misc]  # ansible ships no type information
    """Commands through tetherd's pinned session to the host."""

    transport = "tether.fleet.pinned"
    has_pipelining = False
    has_tty = False
    allow_executable = False  # no "/bin/sh -c" wrapping: a network CLI is not a POSIX shell
    _connected: bool

    def __init__(self, play_context: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(play_context, *args, **kwargs)
        self._target: Target | None = None

    # -- settings

    def _settings(self) -> dict[str, Any]:
        return {name: self.get_option(option) for name, option in _SERVICE_OPTIONS.items()}

    def _build_target(self) -> Target:
        endpoint = str(self.get_option("endpoint") or "")
        overrides = {option: self.get_option(name) for option, name in _TARGET_OPTIONS.items()}
        name = str(overrides.get("host") or self._play_context.remote_addr or "")
        local = not endpoint or endpoint.startswith("unix:")
        return build_target(name, lambda _var: None, overrides, local_service=local)

    def _fail(self, exc: Exception, action: str) -> AnsibleError:
        host = self._target.name if self._target else "the host"
        secrets = self._target.secrets if self._target else ()
        if isinstance(exc, ServiceCallFailed):
            message = redact(f"tether.fleet.pinned: {action} on {host} failed ({exc.code}): {exc.message}", secrets)
            if exc.code == "PERMISSION_DENIED":
                return AnsibleAuthenticationFailure(message)
            if exc.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
                return AnsibleConnectionFailure(message)
            return AnsibleError(message)
        return AnsibleError(redact(f"tether.fleet.pinned: {action} on {host}: {exc}", secrets))

    def _connect(self) -> Connection:
        if self._connected:
            return self
        try:
            self._target = self._build_target()
        except (TargetError, ValueError) as exc:
            raise self._fail(exc, "setting up the session") from None
        self._connected = True
        display.vvv(
            f"tether.fleet.pinned: {self._target.driver} session to {self._target.host}", host=self._target.name
        )
        return self

    def _ready(self) -> Target:
        self._connect()
        if self._target is None:  # pragma: no cover - _connect sets it
            raise AnsibleConnectionFailure("tether.fleet.pinned: not connected")
        return self._target

    def _call(self, call: str, target: Target, start: bool = True, **args: Any) -> dict[str, Any]:
        """``call`` made by this user's broker, which holds the gRPC channel (see _broker_relay)."""
        request = {
            "method": "service",
            "call": call,
            "settings": self._settings(),
            "driver": target.driver,
            "connection": target.connection,
            "pinned": target.pinned,
            "name": target.name,
            **args,
        }
        timeout = float(self.get_option("operation_timeout") or DEFAULT_TIMEOUT) + 30.0
        try:
            answer = broker.ask(request, start=start, timeout=timeout)
        except (OSError, broker.BrokerError, ValueError) as exc:
            raise ServiceCallFailed("UNAVAILABLE", f"the tether.fleet broker did not answer: {exc}") from None
        if "error" in answer:
            raise ServiceCallFailed("INTERNAL", str(answer["error"]))
        if "code" in answer:
            raise ServiceCallFailed(str(answer["code"]), str(answer.get("message", "")))
        return answer

    # -- the connection API

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        target = self._ready()
        # How the command runs (an exec channel of its own, or the CLI session) is the broker's
        # call, from the capabilities tetherd publishes for the driver and platform.
        labels = {"source": "ansible", "connection": self.transport, "inventory_host": target.name}
        try:
            answer = self._call(
                "command",
                target,
                command=cmd,
                stdin=base64.b64encode(in_data or b"").decode(),
                read_timeout=target.read_timeout,
                timeout=float(self.get_option("operation_timeout") or DEFAULT_TIMEOUT),
                labels=labels,
            )
        except ServiceCallFailed as exc:
            raise self._fail(exc, "running a command") from None
        return int(answer["status"]), base64.b64decode(answer["stdout"]), base64.b64decode(answer["stderr"])

    def put_file(self, in_path: str, out_path: str) -> None:
        super().put_file(in_path, out_path)
        target = self._ready()
        if not os.path.isfile(in_path):
            raise AnsibleFileNotFound(f"file or module does not exist: {in_path}")
        with open(in_path, "rb") as handle:
            data = handle.read()
        display.vvv(f"PUT {in_path} TO {out_path}", host=target.name)
        try:
            self._call("put_file", target, remote_path=out_path, data=base64.b64encode(data).decode())
        except ServiceCallFailed as exc:
            action = f"copying {in_path} to {out_path}"
            raise self._transfer_failure(exc, target, f"copy files to {target.name}", action) from None

    def _transfer_failure(self, exc: ServiceCallFailed, target: Target, what: str, action: str) -> AnsibleError:
        if exc.code == "FAILED_PRECONDITION":  # the driver cannot move files on this device
            return AnsibleError(
                f"tether.fleet.pinned: cannot {what}: the {target.driver} driver "
                f"cannot transfer files on this device ({exc.message})"
            )
        return self._fail(exc, action)

    def fetch_file(self, in_path: str, out_path: str) -> None:
        super().fetch_file(in_path, out_path)
        target = self._ready()
        display.vvv(f"FETCH {in_path} TO {out_path}", host=target.name)
        try:
            answer = self._call("fetch_file", target, remote_path=in_path)
        except ServiceCallFailed as exc:
            raise self._transfer_failure(
                exc, target, f"fetch files from {target.name}", f"fetching {in_path}"
            ) from None
        with open(out_path, "wb") as handle:
            handle.write(base64.b64decode(answer["data"]))

    def close(self) -> None:
        """End of a task. The device session stays open in tetherd, warm for the next task."""
        self._connected = False

    def reset(self) -> None:
        """Close the host's sessions with this driver, port and user (``meta: reset_connection``).

        Ansible runs ``meta`` tasks in the ansible-playbook parent process, where no gRPC channel
        may be made; the broker makes the calls, so nothing here touches gRPC.
        """
        self.close()
        try:
            target = self._target = self._build_target()
            self._call("close_login", target, start=False)
        except (TargetError, ValueError) as exc:
            raise self._fail(exc, "resetting the session") from None
        except ServiceCallFailed as exc:
            if exc.code == "UNAVAILABLE":
                display.warning(f"tether.fleet.pinned: could not close the sessions of {target.name}")
                return
            raise self._fail(exc, "resetting the session") from None
