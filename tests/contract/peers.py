"""The peer table: for every driver the service publishes, its real peer(s) to test against.

The conformance suite (``test_conformance.py``) runs every check against every target listed
here, and FAILS when tetherd publishes a driver (GetServiceInfo ``driver_info``) with no entry:
a driver merged without a peer is a driver nobody has proved.

Adding a driver is a few lines:

1. Write a factory ``def mydriver_target(peers: Peers) -> Target``. It starts or reuses the
   driver's real peer through a fixture (``peers.fixture("switches")``, a session-scoped
   fixture of ``tests/conftest.py`` or your own) and returns a :class:`Target`: a connection
   that works, a harmless command, and a sample request for each capability the driver
   publishes (``config_lines`` for config, ``getter`` for getters, ``api_call`` for API
   calls, ``candidate`` for configuration candidates, ...). The suite fails, naming the
   field, when a published capability has no sample.
2. Add ``"mydriver": {"platform-class": TargetEntry("platform", mydriver_target)}`` to
   :data:`PEERS`: one entry per platform class whose capabilities differ (netmiko: a switch
   CLI and a Linux shell). ``platform`` is the ``Connection.platform`` the target uses; the
   suite reads the capabilities published for it. ``tcp=False`` for a driver that opens no
   TCP connection to ``host:port`` (null; a unix-socket transport).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.harness import free_port

Connection = Mapping[str, Any]


@dataclass(frozen=True)
class FailingCommand:
    """A command the target rejects (its result fails, the call does not)."""

    command: str
    connection: Connection = field(default_factory=dict)  # overrides for this check (e.g. an error_pattern)
    expect_prompt: str = ""


@dataclass(frozen=True)
class Target:
    driver: str
    connection: Connection  # Connection fields of a session that works
    command: str  # a harmless command answering text
    output_contains: str  # what that command's output contains
    failing: FailingCommand | None = None
    # CONFIG: harmless lines, and what shows once applied (in the running config, or in
    # the output of config_probe where the target has no running config).
    config_lines: tuple[str, ...] = ()
    config_marker: str = ""
    config_probe: str = ""
    exec_command: str = ""  # EXEC: prints exec_stdout and exits 0
    exec_stdout: bytes = b""
    file_dir: str = ""  # FILE_TRANSFER: a writable directory on the target
    structured_command: str = ""  # STRUCTURED_OUTPUT: a command answering data with encoding "json"
    # The encoding that makes ``command`` answer text, for a driver answering data by default (pyeapi).
    text_encoding: str = ""
    lease_newline: bytes = b""  # CHANNEL_LEASE: what ends a line typed on the raw channel
    getter: tuple[str, Mapping[str, Any]] | None = None  # GETTERS: (name, arguments)
    api_call: Any = None  # API_CALLS: one request (a command string or {"cmd": ..., "input": ...})
    candidate: str = ""  # CONFIG_CANDIDATE: candidate text whose compare shows a difference
    # Lifecycle: overrides that make the login fail, and that make the target unreachable.
    # None where the driver has no such thing (say why in the reason).
    wrong_credentials: Connection | None = None
    unreachable: Connection | None = None
    no_login_reason: str = ""

    def with_connection(self, **overrides: Any) -> dict[str, Any]:
        return {**self.connection, **overrides}

    def at(self, host: str, port: int | None = None) -> Target:
        moved = self.with_connection(host=host) if port is None else self.with_connection(host=host, port=port)
        return replace(self, connection=moved)


class Peers:
    """What a factory may ask for: pytest fixtures (session-scoped peers) and temp dirs."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def fixture(self, name: str) -> Any:
        return self._request.getfixturevalue(name)

    def temp_dir(self, name: str) -> str:
        factory: pytest.TempPathFactory = self._request.getfixturevalue("tmp_path_factory")
        return str(factory.mktemp(name))


TargetFactory = Callable[[Peers], Target]


@dataclass(frozen=True)
class TargetEntry:
    platform: str  # Connection.platform: which published capability set applies
    make: TargetFactory
    # True when the driver connects to the connection's host:port over TCP: the suite then points
    # the target at a loopback listener of its own to prove a refused request makes no connection.
    tcp: bool = True


# Interface descriptions on a switch nobody else configures this port of: harmless, and visible.
_SWITCH_INDEX = 8
_SWITCH_PORT = "FastEthernet0/11"


def null_target(peers: Peers) -> Target:
    return Target(
        driver="null",
        connection={"host": "conformance-null", "username": "ops"},
        command="show conformance",
        output_contains="show conformance",  # null echoes
        # null has no device to reject a command; an expect_prompt that never matches fails it.
        failing=FailingCommand("show nothing", expect_prompt="^never-matches$"),
        config_lines=("hostname conformance",),
        config_marker="hostname conformance",
        config_probe="",
        unreachable={"options": {"fail_open": True}},
        no_login_reason="the null driver authenticates nothing",
    )


def netmiko_switch(peers: Peers) -> Target:
    switch = peers.fixture("switches").switches[_SWITCH_INDEX]
    return Target(
        driver="netmiko",
        connection={
            "host": switch.host,
            "port": switch.port,
            "platform": switch.platform,
            "username": switch.username,
            "password": switch.password,
        },
        command="show version",
        output_contains="Cisco IOS",
        failing=FailingCommand("frobnicate now"),  # "% Invalid input"
        lease_newline=b"\r",
        config_lines=(f"interface {_SWITCH_PORT}", " description tether-conformance"),
        config_marker="description tether-conformance",
        wrong_credentials={"password": "not-the-conformance-password"},
        unreachable={"port": free_port(), "connect_timeout": 5},
    )


def netmiko_linux(peers: Peers) -> Target:
    sshd = peers.fixture("sshd")
    return Target(
        driver="netmiko",
        connection={
            "host": sshd.host,
            "port": sshd.port,
            "platform": "linux",
            "username": sshd.username,
            "private_key": sshd.private_key,
        },
        command="echo tether-$((6*7))",
        output_contains="tether-42",
        # A shell has no one error text: netmiko's linux platform flags nothing by default,
        # so this check names what marks an error on this target (the driver's error_pattern option).
        failing=FailingCommand(
            "no-such-command-tether", connection={"options": {"error_pattern": r"command not found$"}}
        ),
        config_lines=("export TETHER_CONFORMANCE=applied",),
        config_marker="applied",
        config_probe="echo $TETHER_CONFORMANCE",
        lease_newline=b"\n",
        exec_command="printf exec-conformance",
        exec_stdout=b"exec-conformance",
        file_dir=peers.temp_dir("conformance-files"),
        wrong_credentials={"private_key": _unknown_private_key()},
        unreachable={"port": free_port(), "connect_timeout": 5},
    )


def pyeapi_switch(peers: Peers) -> Target:
    switch = peers.fixture("eapi_switches").switches[0]
    return Target(
        driver="pyeapi",
        connection={
            "host": switch.host,
            "port": switch.eapi_port,
            "username": switch.username,
            "password": switch.password,
            "options": {"transport": "http"},
        },
        command="show version",
        output_contains="4.23.0F",
        failing=FailingCommand("frobnicate now"),  # eAPI answers an error for an unknown command
        config_lines=("vlan 3001", "name tether-conformance"),  # the simulator's EOS knows vlans, not hostname
        config_marker="name tether-conformance",
        structured_command="show version",
        text_encoding="text",
        api_call="show version",
        wrong_credentials={"password": "not-the-conformance-password"},
        unreachable={"port": free_port(), "connect_timeout": 5},
    )


def napalm_ios(peers: Peers) -> Target:
    switch = peers.fixture("switches").switches[_SWITCH_INDEX + 1]
    return Target(
        driver="napalm",
        connection={
            "host": switch.host,
            "port": switch.port,
            "platform": "ios",
            "username": switch.username,
            "password": switch.password,
            "secret": switch.enable_password,
        },
        command="show version",
        output_contains="Cisco IOS",
        failing=FailingCommand("frobnicate now"),
        config_lines=("interface FastEthernet0/12", " description tether-conformance"),
        config_marker="description tether-conformance",
        getter=("get_facts", {}),
        candidate="hostname tether-conformance-candidate",
        wrong_credentials={"password": "not-the-conformance-password"},
        unreachable={"port": free_port(), "connect_timeout": 5},
    )


def _unknown_private_key() -> str:
    """A valid key the server never authorised."""
    import io

    import paramiko

    text = io.StringIO()
    paramiko.ECDSAKey.generate().write_private_key(text)
    return text.getvalue()


# driver name (as GetServiceInfo publishes it) -> platform class -> its target.
PEERS: Mapping[str, Mapping[str, TargetEntry]] = {
    "null": {"null": TargetEntry("", null_target, tcp=False)},
    "netmiko": {
        "cisco_ios": TargetEntry("cisco_ios", netmiko_switch),
        "linux": TargetEntry("linux", netmiko_linux),
    },
    "pyeapi": {"eos": TargetEntry("", pyeapi_switch)},
    "napalm": {"ios": TargetEntry("ios", napalm_ios)},
}
