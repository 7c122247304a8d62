# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: network_cli
short_description: ansible.netcommon.network_cli over tetherd's warm, pinned session
version_added: 0.2.0
description:
  - A drop-in for C(ansible.netcommon.network_cli). Switch C(ansible_connection) to C(tether.fleet.network_cli)
    and the vendor network modules (C(cisco.ios.ios_command), C(ios_config), C(ios_facts),
    C(arista.eos.eos_command), C(ansible.netcommon.cli_command), C(cli_config), ...) run unchanged, with the
    vendor's own cliconf and terminal plugins doing the platform work (prompts, errors, enable, configuration).
  - The SSH session is the one tetherd keeps warm for the device. A per-user broker process hosts
    netcommon's network_cli over a lease of that session's CLI channel and serves the socket the modules
    talk to; no ansible-connection process is started per task, and no fixed 0.1 s wait follows each command.
  - A run holds the device's session from its first task to its end, so runs that share a device take turns;
    between tasks the session is handed over when other work waits for it. At the end of the run the session
    goes back to tetherd, at its prompt, out of configuration mode, at the privilege level it was opened with.
  - Modules run in the task worker (O(import_modules), on by default). Not supported, with a clear error,
    async tasks, modules run as a separate process (O(import_modules=false)) and file transfer (C(net_get),
    C(net_put)).
author:
  - Tether maintainers (@tether)
extends_documentation_fragment:
  - tether.fleet.service.connection
notes:
  - The enable secret (C(ansible_become_password)) is handed to tetherd with the login credentials when
    C(become) is on; the session is then opened in privileged mode and is a different session from the
    unprivileged one.
options:
  import_modules:
    type: boolean
    description:
      - Run the module inside the task's worker (netcommon's direct execution). Only this mode is supported.
    default: true
    ini:
      - section: ansible_network
        key: import_modules
    env:
      - name: ANSIBLE_NETWORK_IMPORT_MODULES
    vars:
      - name: ansible_network_import_modules
  persistent_connect_timeout:
    type: int
    description:
      - Seconds to wait for the device's session (tetherd may have to open it, or wait for another run's turn).
    default: 30
    ini:
      - section: persistent_connection
        key: connect_timeout
    env:
      - name: ANSIBLE_PERSISTENT_CONNECT_TIMEOUT
    vars:
      - name: ansible_connect_timeout
  persistent_command_timeout:
    type: int
    description:
      - Seconds to wait for a command's prompt to come back.
    default: 30
    ini:
      - section: persistent_connection
        key: command_timeout
    env:
      - name: ANSIBLE_PERSISTENT_COMMAND_TIMEOUT
    vars:
      - name: ansible_command_timeout
  persistent_log_messages:
    type: boolean
    description:
      - Log every command and response to the Ansible log (C(log_path)), as ansible.netcommon.network_cli
        does; that log does not redact device configuration.
    default: false
    ini:
      - section: persistent_connection
        key: log_messages
    env:
      - name: ANSIBLE_PERSISTENT_LOG_MESSAGES
    vars:
      - name: ansible_persistent_log_messages
  host:
    description:
    - Specifies the remote device FQDN or IP address to establish the SSH connection to.
    default: inventory_hostname
    type: string
    vars:
    - name: inventory_hostname
    - name: ansible_host
  port:
    type: int
    description:
    - Specifies the port on the remote device that listens for connections when establishing the SSH connection.
    default: 22
    ini:
    - section: defaults
      key: remote_port
    env:
    - name: ANSIBLE_REMOTE_PORT
    vars:
    - name: ansible_port
  network_os:
    description:
    - Configures the device platform network operating system.  This value is used to load the correct terminal
      and cliconf plugins to communicate with the remote device.
    type: string
    vars:
    - name: ansible_network_os
  remote_user:
    description:
    - The username used to authenticate to the remote device when the SSH connection is first established.  If the
      remote_user is not specified, the connection will use the username of the logged in user.
    - Can be configured from the CLI via the C(--user) or C(-u) options.
    type: string
    ini:
    - section: defaults
      key: remote_user
    env:
    - name: ANSIBLE_REMOTE_USER
    vars:
    - name: ansible_user
  password:
    description:
    - Configures the user password used to authenticate to the remote device when first establishing the SSH connection.
    type: string
    vars:
    - name: ansible_password
    - name: ansible_ssh_pass
    - name: ansible_ssh_password
  private_key_file:
    description:
    - The private SSH key or certificate file used to authenticate to the remote device when first establishing
      the SSH connection.
    type: string
    ini:
    - section: defaults
      key: private_key_file
    env:
    - name: ANSIBLE_PRIVATE_KEY_FILE
    vars:
    - name: ansible_private_key_file
  become:
    type: boolean
    description:
    - The become option will instruct the CLI session to attempt privilege escalation on platforms that support
      it.  Normally this means transitioning from user mode to C(enable) mode in the CLI session. If become is set
      to True and the remote device does not support privilege escalation or the privilege has already been elevated,
      then this option is silently ignored.
    - Can be configured from the CLI via the C(--become) or C(-b) options.
    default: false
    ini:
    - section: privilege_escalation
      key: become
    env:
    - name: ANSIBLE_BECOME
    vars:
    - name: ansible_become
  become_method:
    description:
    - This option allows the become method to be specified in for handling privilege escalation.  Typically the
      become_method value is set to C(enable) but could be defined as other values.
    default: sudo
    type: string
    ini:
    - section: privilege_escalation
      key: become_method
    env:
    - name: ANSIBLE_BECOME_METHOD
    vars:
    - name: ansible_become_method
  become_errors:
    type: str
    description:
    - This option determines how privilege escalation failures are handled when I(become) is enabled.
    - When set to C(ignore), the errors are silently ignored. When set to C(warn), a warning message is displayed.
      The default option C(fail), triggers a failure and halts execution.
    vars:
    - name: ansible_network_become_errors
    default: fail
    choices:
    - ignore
    - warn
    - fail
  terminal_errors:
    type: str
    description:
    - This option determines how failures while setting terminal parameters are handled.
    - When set to C(ignore), the errors are silently ignored. When set to C(warn), a warning message is displayed.
      The default option C(fail), triggers a failure and halts execution.
    vars:
    - name: ansible_network_terminal_errors
    default: fail
    choices:
    - ignore
    - warn
    - fail
  terminal_stdout_re:
    type: list
    elements: dict
    description:
    - A single regex pattern or a sequence of patterns along with optional flags to match the command prompt from
      the received response chunk. This option accepts C(pattern) and C(flags) keys. The value of C(pattern) is
      a python regex pattern to match the response and the value of C(flags) is the value accepted by I(flags) argument
      of I(re.compile) python method to control the way regex is matched with the response, for example I('re.I').
    vars:
    - name: ansible_terminal_stdout_re
  terminal_stderr_re:
    type: list
    elements: dict
    description:
    - This option provides the regex pattern and optional flags to match the error string from the received response
      chunk. This option accepts C(pattern) and C(flags) keys. The value of C(pattern) is a python regex pattern
      to match the response and the value of C(flags) is the value accepted by I(flags) argument of I(re.compile)
      python method to control the way regex is matched with the response, for example I('re.I').
    vars:
    - name: ansible_terminal_stderr_re
  terminal_initial_prompt:
    type: list
    elements: string
    description:
    - A single regex pattern or a sequence of patterns to evaluate the expected prompt at the time of initial login
      to the remote host.
    vars:
    - name: ansible_terminal_initial_prompt
  terminal_initial_answer:
    type: list
    elements: string
    description:
    - The answer to reply with if the C(terminal_initial_prompt) is matched. The value can be a single answer or
      a list of answers for multiple terminal_initial_prompt. In case the login menu has multiple prompts the sequence
      of the prompt and excepted answer should be in same order and the value of I(terminal_prompt_checkall) should
      be set to I(True) if all the values in C(terminal_initial_prompt) are expected to be matched and set to I(False)
      if any one login prompt is to be matched.
    vars:
    - name: ansible_terminal_initial_answer
  terminal_initial_prompt_checkall:
    type: boolean
    description:
    - By default the value is set to I(False) and any one of the prompts mentioned in C(terminal_initial_prompt)
      option is matched it won't check for other prompts. When set to I(True) it will check for all the prompts
      mentioned in C(terminal_initial_prompt) option in the given order and all the prompts should be received from
      remote host if not it will result in timeout.
    default: false
    vars:
    - name: ansible_terminal_initial_prompt_checkall
  terminal_inital_prompt_newline:
    type: boolean
    description:
    - This boolean flag, that when set to I(True) will send newline in the response if any of values in I(terminal_initial_prompt)
      is matched.
    default: true
    vars:
    - name: ansible_terminal_initial_prompt_newline
  single_user_mode:
    type: boolean
    default: false
    description:
    - This option enables caching of data fetched from the target for re-use. The cache is invalidated when the
      target device enters configuration mode.
    - Applicable only for platforms where this has been implemented.
    env:
    - name: ANSIBLE_NETWORK_SINGLE_USER_MODE
    vars:
    - name: ansible_network_single_user_mode
  persistent_buffer_read_timeout:
    type: float
    default: 0.1
    description:
    - 'Accepted for compatibility with ansible.netcommon.network_cli and not used: the read returns as soon as the
      prompt matches and nothing more has arrived, without a fixed wait.'
    vars:
    - name: ansible_buffer_read_timeout
  platform:
    type: str
    description:
    - Driver platform of the device for tetherd; for netmiko, a C(device_type) such as V(cisco_ios).
    - Defaults to O(network_os) mapped (V(cisco.ios.ios) becomes V(cisco_ios), V(arista.eos.eos) V(arista_eos),
      ...).
    vars:
    - name: ansible_tether_platform
  driver:
    type: str
    default: netmiko
    description:
    - Tetherd driver that holds the session.
    vars:
    - name: ansible_tether_driver
  driver_options:
    type: dict
    description:
    - Driver options that shape the session.
    vars:
    - name: ansible_tether_driver_options
  keepalive:
    type: int
    description:
    - Seconds between keepalive probes of the idle session.
    vars:
    - name: ansible_tether_keepalive

"""

EXAMPLES = r"""
# inventory: only ansible_connection changes
# switches:
#   vars:
#     ansible_connection: tether.fleet.network_cli
#     ansible_network_os: cisco.ios.ios
#     ansible_become: true
#     ansible_become_method: enable

- name: Unchanged vendor modules, warm
  hosts: switches
  gather_facts: false
  tasks:
    - cisco.ios.ios_command:
        commands: [show version]
"""

import base64
import hashlib
import json
import multiprocessing
import os
import pickle
from typing import Any

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.plugins.connection import ConnectionBase
from ansible.plugins.loader import cliconf_loader
from ansible.utils.display import Display

from ansible_collections.tether.fleet.plugins.module_utils._option_sources import SERVICE_CONNECTION_NAMES
from ansible_collections.tether.fleet.plugins.module_utils._target import TargetError, build_target
from ansible_collections.tether.fleet.plugins.plugin_utils import _netcli_client as broker

display = Display()

# Service setting -> this plugin's option name, from the service option table (as for tether.fleet.pinned).
_SERVICE_OPTIONS = SERVICE_CONNECTION_NAMES
_TARGET_OPTIONS = {
    "host": "host",
    "port": "port",
    "username": "remote_user",
    "password": "password",
    "private_key_file": "private_key_file",
    "network_os": "network_os",
    "platform": "platform",
    "driver": "driver",
    "driver_options": "driver_options",
    "connect_timeout": "persistent_connect_timeout",
    "keepalive": "keepalive",
}
UNSUPPORTED = (
    "tether.fleet.network_cli runs network modules inside the task's worker (import_modules) over the device's "
    "CLI session; it cannot run {what}. Use ansible.netcommon.network_cli for this task."
)


class Connection(ConnectionBase):  # type: ignore[misc]  # ansible ships no type information
    """The task worker's end: attaches to the broker, which serves the modules' socket."""

    _connected: bool  # ConnectionBase's, untyped
    _socket_path: str | None

    transport = "tether.fleet.network_cli"
    has_pipelining = False
    has_tty = False
    supports_persistence = False  # no ansible-connection process: the broker is already there
    force_persistence = False

    def __init__(self, play_context: Any, new_stdin: Any = None, *args: Any, **kwargs: Any) -> None:
        self._task_uuid = str(kwargs.pop("task_uuid", "") or "")
        # The run: ansible-playbook's pid. Workers are told it; a connection made in ansible-playbook
        # itself (meta: reset_connection) is in that process.
        in_parent = multiprocessing.parent_process() is None
        self._run = str(kwargs.pop("ansible_playbook_pid", "") or (os.getpid() if in_parent else os.getppid()))
        super().__init__(play_context, new_stdin, *args, **kwargs)
        self._network_os = play_context.network_os
        self._cliconf: Any = None
        self._key = ""

    # -- what the vendor action plugins use

    @property
    def socket_path(self) -> str | None:
        if self._socket_path is None:
            self._attach()
        return self._socket_path

    @property
    def cliconf(self) -> Any:
        """The vendor cliconf plugin, here only for its options (netcommon's backup reads non_config_lines)."""
        if self._cliconf is None and self._network_os:
            self._cliconf = cliconf_loader.get(self._network_os, self)
        return self._cliconf

    # -- attaching to the broker

    def _target(self) -> tuple[dict[str, Any], str, str]:
        overrides = {option: self.get_option(name) for option, name in _TARGET_OPTIONS.items()}
        if not overrides.get("network_os"):
            overrides["network_os"] = self._network_os
        if self._play_context.become and self._play_context.become_pass:
            overrides["enable_password"] = self._play_context.become_pass
        endpoint = self.get_option("endpoint") or ""
        local = not endpoint or str(endpoint).startswith("unix:")
        name = str(overrides.get("host") or self._play_context.remote_addr or "")
        try:
            target = build_target(name, lambda _var: None, overrides, local_service=local)
        except (TargetError, ValueError) as exc:
            raise AnsibleConnectionFailure(f"tether.fleet.network_cli: {exc}") from None
        return dict(target.connection), target.driver, target.name

    def _attach(self) -> None:
        if not self._network_os:
            raise AnsibleConnectionFailure(
                "Unable to automatically determine host network os. Please "
                "manually configure ansible_network_os value for this host"
            )
        connection, driver, name = self._target()
        self._key = self._link_key(connection, driver)
        request = {
            "method": "attach",
            "key": self._key,
            "run": self._run,
            "task_uuid": self._task_uuid,
            "name": name,
            "driver": driver,
            "connection": connection,
            "settings": {setting: self.get_option(option) for setting, option in _SERVICE_OPTIONS.items()},
            "options": self._broker_options(),
            "play_context": base64.b64encode(pickle.dumps(self._play_context.serialize())).decode(),
        }
        try:
            answer = broker.ask(request)
        except (OSError, broker.BrokerError, ValueError) as exc:
            raise AnsibleConnectionFailure(f"tether.fleet.network_cli: {exc}") from None
        for level, message in answer.get("messages", []):
            if level == "warning":
                display.warning(message)
            elif level in ("v", "vv", "vvv", "vvvv", "vvvvv", "vvvvvv"):
                getattr(display, level)(message, host=self._play_context.remote_addr)
        if "error" in answer:
            if answer.get("exception"):
                display.vvv(answer["exception"], host=self._play_context.remote_addr)
            raise AnsibleConnectionFailure(f"tether.fleet.network_cli: {answer['error']}")
        self._socket_path = answer["socket_path"]

    def _broker_options(self) -> dict[str, Any]:
        """The options netcommon's network_cli reads (the broker's copy resolves the rest as its defaults)."""
        options = dict(self.get_options())
        for name in ("endpoint", "token", "tls_ca", "tls_cert", "tls_key", "tls_server_name", "operation_timeout",
                     "auto_start", "auto_start_idle", "platform", "driver", "driver_options", "keepalive"):  # fmt: skip
            options.pop(name, None)
        return options

    # -- the connection API

    def _connect(self) -> Connection:
        if not self._connected:
            self._attach()
            self._connected = True
        return self

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        # Reached only when a module runs as a separate process: async tasks and import_modules: false.
        raise AnsibleError(
            UNSUPPORTED.format(what="async tasks or modules as separate processes (import_modules: false)")
        )

    def put_file(self, in_path: str, out_path: str) -> None:
        raise AnsibleError(UNSUPPORTED.format(what="file transfers (net_put, template to the device)"))

    def fetch_file(self, in_path: str, out_path: str) -> None:
        raise AnsibleError(UNSUPPORTED.format(what="file transfers (net_get, fetch)"))

    def close(self) -> None:
        """End of a task: the session stays leased to this run, unless other work waits for it."""
        if self._key:
            try:
                broker.ask({"method": "task_done", "key": self._key}, start=False, timeout=10.0)
            except (OSError, broker.BrokerError, ValueError) as exc:
                display.vvvv(f"tether.fleet.network_cli: task_done: {exc}")
        self._connected = False

    def reset(self) -> None:
        """``meta: reset_connection``: hand the session back to tetherd now; the next task leases it again."""
        try:
            if not self._key:
                connection, driver, _name = self._target()
                self._key = self._link_key(connection, driver)
            broker.ask({"method": "reset", "key": self._key}, start=False, timeout=30.0)
        except (OSError, broker.BrokerError, ValueError, AnsibleConnectionFailure) as exc:
            display.warning(f"tether.fleet.network_cli: could not reset the session: {exc}")
        self._socket_path = None
        self._connected = False

    def _link_key(self, connection: dict[str, Any], driver: str) -> str:
        """One link per run and device login (its secrets only ever hashed)."""
        identity = json.dumps([self._run, driver, connection], sort_keys=True, default=str)
        return hashlib.sha256(identity.encode()).hexdigest()
