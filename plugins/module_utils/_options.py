# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's option tables: one per concern, each option once.

Everything else is derived from these tables, as community.docker derives its
modules' and plugins' options from ``DOCKER_COMMON_ARGS``:

- the modules' argument specs (:mod:`._argspec`),
- the inventory variables and environment variables a value falls back to
  (:mod:`._settings` for the service, :mod:`._target` for the device),
- the doc fragments tether.fleet.service and tether.fleet.target, for modules and
  for connection plugins (rendered by :mod:`._option_docs`; the fragment files hold
  the rendered text, and tests/ansible/test_option_tables.py fails when they differ),
- the option names the connection plugins read (:func:`connection_names`).

Service and target options carry no ``default`` in the argument spec on purpose: a
value the task does not set falls back, in order, to an inventory variable, then to an
environment variable, then to the option's ``default`` here. The plugins resolve that
chain, so a default in the spec would hide whether the task set the option.

Pure data: no import beyond the standard library, so it loads anywhere (a task worker
of a connection plugin included). Private to the collection: not a public API.
"""

from __future__ import annotations

from typing import Any

MODULE = "module"
CONNECTION = "connection"


class Option:
    """One option: what it is, where a value comes from, and where it applies. Treated as immutable.

    A plain class, not a dataclass: a connection plugin's task worker imports this module on every
    task, and generating a dataclass's methods costs milliseconds there."""

    __slots__ = (
        "aliases",
        "applies_to",
        "choices",
        "connection_default",
        "connection_description",
        "connection_fallback_variables",
        "connection_name",
        "default",
        "description",
        "elements",
        "env",
        "fallback_text",
        "ini_key",
        "keyword",
        "name",
        "no_log",
        "type",
        "variables",
    )

    def __init__(
        self,
        name: str,
        type: str,
        description: tuple[str, ...],
        *,
        default: Any = None,  # the value when nothing sets it (resolved by the plugins, never in the spec)
        choices: tuple[str, ...] = (),
        elements: str = "",
        no_log: bool | None = None,  # None: Ansible's own guess from the name
        aliases: tuple[str, ...] = (),
        variables: tuple[str, ...] = (),  # inventory variables, highest precedence first
        env: tuple[str, ...] = (),  # environment variables, highest precedence first
        ini_key: str = "",  # key in the [tether] section of ansible.cfg (connection plugins)
        keyword: str = "",  # task / play keyword the connection plugins take it from
        applies_to: tuple[str, ...] = (MODULE, CONNECTION),
        connection_name: str = "",  # its name in the connection plugins, where it differs
        connection_description: tuple[str, ...] = (),  # shorter text for the connection plugins
        connection_default: Any = None,  # a connection plugin's default, where it differs
        connection_fallback_variables: tuple[str, ...] = (),  # lowest-precedence variables of connection plugins
        fallback_text: str = "",  # what comes after the variables and environment in the modules' text
    ) -> None:
        self.name = name
        self.type = type
        self.description = description
        self.default = default
        self.choices = choices
        self.elements = elements
        self.no_log = no_log
        self.aliases = aliases
        self.variables = variables
        self.env = env
        self.ini_key = ini_key
        self.keyword = keyword
        self.applies_to = applies_to
        self.connection_name = connection_name
        self.connection_description = connection_description
        self.connection_default = connection_default
        self.connection_fallback_variables = connection_fallback_variables
        self.fallback_text = fallback_text

    def __repr__(self) -> str:
        return f"Option({self.name!r})"

    @property
    def plugin_name(self) -> str:
        return self.connection_name or self.name

    def for_modules(self) -> bool:
        return MODULE in self.applies_to

    def for_connections(self) -> bool:
        return CONNECTION in self.applies_to

    def argument_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": self.type}
        if self.elements:
            spec["elements"] = self.elements
        if self.choices:
            spec["choices"] = list(self.choices)
        if self.aliases:
            spec["aliases"] = list(self.aliases)
        if self.no_log is not None:
            spec["no_log"] = self.no_log
        return spec


Table = tuple[Option, ...]


def _service(name: str, type_: str, description: tuple[str, ...], **more: Any) -> Option:
    more.setdefault("variables", (f"ansible_tether_{name}",))
    more.setdefault("env", (f"TETHER_{name.upper()}",))
    more.setdefault("ini_key", name)
    return Option(name=name, type=type_, description=description, **more)


# How to reach tetherd (doc fragment tether.fleet.service).
SERVICE: Table = (
    _service(
        "endpoint",
        "str",
        (
            "Where tetherd listens, as V(unix:/path/to/socket) or V(host:port) (TCP, which needs TLS and a token).",
            "When not set at all, the local embedded service on the private per-user socket"
            " (C($XDG_RUNTIME_DIR/tether/tetherd.sock), or C(/tmp/tether-$UID/tetherd.sock)), which the"
            " plugins start when nothing answers there (see O(auto_start)).",
            "Set it once for every module of the collection with C(module_defaults) and the action group"
            " C(group/tether.fleet.all).",
        ),
        connection_description=(
            "Where tetherd listens, as V(unix:/path/to/socket) or V(host:port) (TCP, which needs TLS and a token).",
            "When not set, the local embedded service on the private per-user socket, started on demand"
            " (see O(auto_start)).",
        ),
    ),
    _service(
        "token",
        "str",
        ("Bearer token sent to tetherd (required by a TCP endpoint).",),
        no_log=True,
        ini_key="",  # a secret: not in ansible.cfg
    ),
    _service(
        "tls_ca",
        "path",
        (
            "CA certificate file (PEM) that verifies tetherd's certificate on a TCP endpoint.",
            "E(TETHER_CA) is what the AWX credential type C(extensions/awx/credential_type.yml) injects.",
        ),
        env=("TETHER_TLS_CA", "TETHER_CA"),
        connection_description=("CA certificate file (PEM) that verifies tetherd's certificate on a TCP endpoint.",),
    ),
    _service(
        "tls_cert",
        "path",
        ("Client certificate file (PEM), for a tetherd that requires client certificates.",),
    ),
    _service("tls_key", "path", ("Private key file (PEM) of O(tls_cert).",), no_log=False),
    _service(
        "tls_server_name",
        "str",
        ("Name to expect in tetherd's certificate when it differs from the endpoint's host name.",),
    ),
    _service(
        "timeout",
        "float",
        (
            "Seconds the service has for the whole operation, queueing behind earlier work on the same"
            " device included. The call fails with C(DEADLINE_EXCEEDED) past it.",
        ),
        default=300.0,
        # A task keyword "timeout" exists: Ansible would map it onto a connection option of that name.
        connection_name="operation_timeout",
        connection_description=(
            "Seconds the service has for one command, queueing behind earlier work included.",
            "The modules call this option O(tether.fleet.cli_command#module:timeout); here C(timeout) would be"
            " taken from the task's own C(timeout) keyword.",
        ),
    ),
    _service(
        "auto_start",
        "bool",
        (
            "Start tetherd in the background when the endpoint is a local V(unix:) socket and nothing"
            " answers there, like SSH's ControlPersist. Many forks starting it at once start one service.",
        ),
        default=True,
    ),
    _service(
        "auto_start_idle",
        "float",
        ("Seconds a tetherd started by O(auto_start) keeps running with no session and no call before it exits.",),
        default=900.0,
    ),
)

# Which device, and how to log in (doc fragment tether.fleet.target).
TARGET: Table = (
    Option(
        "host",
        "str",
        ("Address of the device.",),
        variables=("ansible_host", "ansible_ssh_host"),
        fallback_text="the inventory host name",
        connection_default="inventory_hostname",
        connection_fallback_variables=("inventory_hostname",),
    ),
    Option(
        "port",
        "int",
        ("Port of the device (SSH, or the API's for an API driver).",),
        variables=("ansible_port", "ansible_ssh_port"),
        keyword="port",
        fallback_text="the driver's default (V(22) for SSH)",
    ),
    Option(
        "username",
        "str",
        ("User to log in as.",),
        variables=("ansible_user", "ansible_ssh_user"),
        keyword="remote_user",
        connection_name="remote_user",
        fallback_text="the user given with C(--user) / C(remote_user)",
    ),
    Option(
        "password",
        "str",
        ("Password to log in with.",),
        no_log=True,
        variables=("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
        fallback_text="the password given with C(--ask-pass)",
    ),
    Option(
        "private_key_file",
        "path",
        (
            "SSH private key file on the controller.",
            "A local tetherd reads the file itself; for a remote one, the key is read here and sent to it.",
        ),
        no_log=False,
        variables=("ansible_ssh_private_key_file", "ansible_private_key_file"),
    ),
    Option(
        "enable_password",
        "str",
        ("Enable (privilege escalation) secret; with it, the session enters privileged mode after login.",),
        no_log=True,
        variables=("ansible_become_password", "ansible_become_pass"),
        fallback_text="the password given with C(--ask-become-pass)",
        connection_description=(
            "Enable (privilege escalation) secret; with it, the session enters privileged mode after login.",
            "This is the session's own enable step, not Ansible's C(become).",
        ),
    ),
    Option(
        "network_os",
        "str",
        ("Network OS of the device, mapped to the driver platform when O(platform) is not set.",),
        variables=("ansible_network_os",),
        applies_to=(CONNECTION,),  # modules read the variable through platform's fallbacks
    ),
    Option(
        "platform",
        "str",
        ("Driver platform of the device; for the V(netmiko) driver, a netmiko C(device_type) such as V(cisco_ios).",),
        variables=("ansible_tether_platform",),
        fallback_text=(
            "C(ansible_network_os) mapped to a platform (V(ios) and V(cisco.ios.ios) become V(cisco_ios),"
            " V(eos) V(arista_eos), V(junos) V(juniper_junos), V(nxos) V(cisco_nxos), V(iosxr) V(cisco_xr),"
            " ...); a value that is not in that table is used as it is"
        ),
    ),
    Option(
        "driver",
        "str",
        (
            "Tetherd driver that talks to the device.",
            "V(null) runs no device (it echoes commands), for trying playbooks and measuring overhead.",
        ),
        default="netmiko",
        variables=("ansible_tether_driver",),
    ),
    Option(
        "driver_options",
        "dict",
        (
            "Driver options that shape the session (for netmiko, for example C(global_delay_factor), C(cmd_verify)).",
            "For netmiko, V(fast_cli: false) makes the session use netmiko's own read loops, with their fixed"
            " sleeps, instead of tetherd's reads that wake on the device's data: for a platform whose login or"
            " prompt handling needs those pauses.",
        ),
        variables=("ansible_tether_driver_options",),
        connection_description=("Driver options that shape the session.",),
    ),
    Option(
        "connect_timeout",
        "float",
        ("Seconds to wait for the device's session to open.",),
        variables=("ansible_tether_connect_timeout", "ansible_connect_timeout"),
        fallback_text="the service default",
    ),
    Option(
        "read_timeout",
        "float",
        ("Seconds to wait for each command's output.",),
        variables=("ansible_tether_read_timeout", "ansible_command_timeout"),
        fallback_text="the driver default",
    ),
    Option(
        "keepalive",
        "int",
        ("Seconds between keepalive probes of the idle session.",),
        variables=("ansible_tether_keepalive",),
        fallback_text="the service default",
    ),
    Option(
        "pinned",
        "bool",
        (
            "Run on the device's warm session, opening it when needed, and leave it open for later tasks and"
            " playbook runs. V(false) connects, runs and disconnects.",
        ),
        default=True,
        variables=("ansible_tether_pinned",),
        connection_description=(
            "Use the device's warm session (V(false) connects, runs and disconnects for every command).",
        ),
    ),
)

TABLES: dict[str, Table] = {"service": SERVICE, "target": TARGET}


def option(table: Table, name: str) -> Option:
    for item in table:
        if item.name == name:
            return item
    raise KeyError(name)


def module_options(table: Table) -> Table:
    return tuple(item for item in table if item.for_modules())


def argument_spec(table: Table) -> dict[str, dict[str, Any]]:
    """The modules' argument spec of a concern (no defaults: see the module docstring)."""
    return {item.name: item.argument_spec() for item in module_options(table)}


def variables(table: Table) -> dict[str, tuple[str, ...]]:
    """Option -> inventory variables, highest precedence first."""
    return {item.name: item.variables for item in table if item.variables}


def environment(table: Table) -> dict[str, tuple[str, ...]]:
    """Option -> environment variables, highest precedence first."""
    return {item.name: item.env for item in table if item.env}


def defaults(table: Table) -> dict[str, Any]:
    return {item.name: item.default for item in table if item.default is not None}


def connection_names(table: Table) -> dict[str, str]:
    """Option -> its name in the connection plugins."""
    return {item.name: item.plugin_name for item in table if item.for_connections()}
