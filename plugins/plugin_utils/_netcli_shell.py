# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible.netcommon's own network_cli, with tetherd's leased channel where its SSH shell was.

The broker (``_netcli_broker``) hosts one of these per device and run. Everything the
vendor plugins rely on is netcommon's code: the terminal plugin's prompt and error
regexes, ``on_open_shell``, ``on_become``, the cliconf plugin and the JSON-RPC surface.
Replaced are only the transport (a ``LeaseChannel`` instead of paramiko or libssh) and
the read loop: it returns as soon as the prompt matches and nothing more is waiting,
instead of sleeping ``persistent_buffer_read_timeout`` (0.1 s) after every match.

Private to the collection: not a public API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.loader import connection_loader

_WINDOW = 256  # what netcommon matches prompts against: the last 256 bytes received

UNSUPPORTED_TRANSFER = (
    "tether.fleet.network_cli cannot copy files (net_get, net_put and the modules built on them use SCP or SFTP "
    "on a separate SSH connection): use ansible.netcommon.network_cli for those tasks"
)


class LeaseShell:
    """The part of a paramiko channel that netcommon's network_cli uses, over a channel lease."""

    def __init__(self, lease: Any) -> None:
        self.lease = lease
        self._timeout = 30.0

    def sendall(self, data: bytes) -> None:
        self.lease.write(data)

    def settimeout(self, timeout: float) -> None:
        self._timeout = timeout

    def gettimeout(self) -> float:
        return self._timeout

    def close(self) -> None:
        self.lease.release()


def leased_cli_class(open_lease: Callable[[Any], Any]) -> type:
    """A subclass of netcommon's network_cli Connection whose shell is ``open_lease(connection)``."""
    base = connection_loader.get("ansible.netcommon.network_cli", class_only=True)
    if base is None:
        raise AnsibleError("tether.fleet.network_cli needs the ansible.netcommon collection (network_cli)")
    # A dependency of the collection, loaded only where network_cli is used (tether.fleet.pinned needs none).
    from ansible_collections.ansible.netcommon.plugins.plugin_utils.connection_base import (
        NetworkConnectionBase,
    )

    class Connection(base):  # type: ignore[misc,valid-type]  # the name Ansible derives option lookups from
        _tether_open_lease = staticmethod(open_lease)
        # netcommon's attributes this class reads or sets (the base is untyped)
        _connected: bool
        _ssh_shell: LeaseShell | None
        _command_response: bytes

        @property
        def ssh_type(self) -> str:
            return "tether"

        def get_options(self, hostvars: Any = None) -> Any:
            return NetworkConnectionBase.get_options(self, hostvars=hostvars)

        def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
            NetworkConnectionBase.set_options(self, task_keys=task_keys, var_options=var_options, direct=direct)
            self._single_user_mode = self.get_option("single_user_mode")

        def _connect(self) -> Any:
            if self._connected:
                return self
            lease = self._tether_open_lease(self)
            self._ssh_shell = LeaseShell(lease)
            self._connected = True
            self._conn_closed = False
            self.queue_message("vvvv", "tether: leased the session's CLI channel")
            terminal = self._terminal
            self._ssh_shell.sendall(b"\r")  # a warm session prints nothing by itself: ask for the prompt
            self.receive(
                prompts=self.get_option("terminal_initial_prompt") or terminal.terminal_initial_prompt,
                answer=self.get_option("terminal_initial_answer") or terminal.terminal_initial_answer,
                newline=self.get_option("terminal_inital_prompt_newline") or terminal.terminal_inital_prompt_newline,
                check_all=self.get_option("terminal_initial_prompt_checkall") or False,
            )
            if self._play_context.become:
                self._on_become(become_pass=self._play_context.become_pass)
            self._on_open_shell()
            return self

        def lease(self) -> Any:
            return self._ssh_shell.lease if self._ssh_shell is not None else None

        def release(self) -> None:
            """Hand the channel back to tetherd (it cleans the session up); the next call leases it again."""
            shell, self._ssh_shell = self._ssh_shell, None
            self._connected = False
            if shell is not None:
                shell.close()
            cliconf = getattr(self, "cliconf", None)
            if cliconf is not None and hasattr(cliconf, "_device_info"):
                cliconf._device_info = {}  # the next lease may find another software state: ask again

        def close(self) -> None:
            self.release()

        def reset(self) -> None:
            self.release()

        def send(self, command: bytes, *args: Any, **kwargs: Any) -> Any:
            shell = self._ssh_shell
            if shell is not None and shell.lease.ended is not None:
                self.release()  # the lease ended (idle timeout, yielded): lease the session again
            return super().send(command, *args, **kwargs)

        def copy_file(self, *args: Any, **kwargs: Any) -> None:
            raise AnsibleError(UNSUPPORTED_TRANSFER)

        def get_file(self, *args: Any, **kwargs: Any) -> None:
            raise AnsibleError(UNSUPPORTED_TRANSFER)

        def receive(
            self,
            command: Any = None,
            prompts: Any = None,
            answer: Any = None,
            newline: bool = True,
            prompt_retry_check: bool = False,
            check_all: bool = False,
            strip_prompt: bool = True,
        ) -> Any:
            """netcommon's receive_paramiko, woken by the channel instead of signal timers."""
            self._matched_prompt = None
            self._matched_cmd_prompt = None
            self._matched_prompt_window = 0
            self._window_count = 0
            self._terminal_stderr_re = self._get_terminal_std_re("terminal_stderr_re")
            self._terminal_stdout_re = self._get_terminal_std_re("terminal_stdout_re")
            timeout = float(self.get_option("persistent_command_timeout"))
            self._validate_timeout_value(timeout, "persistent_command_timeout")
            self._log_messages(f"command: {command}")
            shell = self._ssh_shell
            if shell is None:  # netcommon calls receive only on an open shell
                raise AnsibleConnectionFailure("the leased channel is closed")
            lease = shell.lease
            deadline = time.monotonic() + timeout
            received = bytearray()
            handled = False
            errored_response = None
            prompt_seen = False
            while True:
                left = deadline - time.monotonic()
                if prompt_seen:
                    try:
                        data = lease.read(None)  # only what has already arrived: no fixed wait after a prompt
                    except Exception:  # noqa: BLE001 - the lease ended after the answer was complete
                        data = b""
                    if not data:
                        return self._command_response
                    prompt_seen = False
                else:
                    if left <= 0:
                        raise AnsibleConnectionFailure(
                            f"command timeout triggered, timeout value is {timeout:g} secs.\n"
                            "See the timeout setting options in the Network Debug and Troubleshooting Guide."
                        )
                    try:
                        data = lease.read(left)
                    except Exception as exc:  # noqa: BLE001 - the lease's end names its cause
                        raise AnsibleConnectionFailure(f"tether: the device channel ended: {exc}") from None
                    if not data:
                        continue
                self._log_messages(f"response-{self._window_count + 1}: {data!r}")
                start = len(received)
                received += data
                window = self._strip(bytes(received[-_WINDOW:]))
                self._last_recv_window = window
                self._window_count += 1
                if prompts and not handled:
                    handled = self._handle_prompt(window, prompts, answer, newline, False, check_all)
                    self._matched_prompt_window = self._window_count
                elif (
                    prompts and handled and prompt_retry_check and self._matched_prompt_window + 1 == self._window_count
                ) and self._handle_prompt(window, prompts, answer, newline, prompt_retry_check, check_all):
                    raise AnsibleConnectionFailure(
                        f"For matched prompt '{self._matched_cmd_prompt}', answer is not valid"
                    )
                # Reads here can be larger than netcommon's 256 bytes: look for errors in all that is new.
                fresh = self._strip(bytes(received[max(0, start - _WINDOW) :]))
                if self._find_error(fresh):
                    errored_response = window if self._find_error(window) else fresh
                if self._find_prompt(window):
                    if errored_response:
                        raise AnsibleConnectionFailure(errored_response)  # bytes, as netcommon raises it
                    self._last_response = bytes(received)
                    self._command_response = self._sanitize(self._strip(self._last_response), command, strip_prompt)
                    prompt_seen = True

    Connection.__module__ = base.__module__
    Connection._load_name = base._load_name
    Connection._original_path = getattr(base, "_original_path", None)
    Connection._redirected_names = getattr(base, "_redirected_names", [])
    return Connection
