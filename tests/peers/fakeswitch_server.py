#!/usr/bin/env python3
"""Run N simulated Cisco IOS switches (fake-switches over SSH) in one Twisted reactor on 127.0.0.1.

Usage::

    python tests/peers/fakeswitch_server.py --count 3 --ready-file /tmp/x/ready.json
    python tests/peers/fakeswitch_server.py --count 2 --ports 40001,40002 --ready-file ready.json

Each switch listens on its own loopback port (port 0, read back, unless --ports is given so that a
test can restart a killed simulator on the same ports) and has its own hostname (sw01, sw02, ...: the
prompt is ``sw01>`` / ``sw01#``). It accepts every credential set given with --users, each with a
privilege level like IOS ``username X privilege N`` (default: admin/admin-pw and ops/ops-pw at 15,
landing in ``sw01#``; viewer/viewer-pw at 1, landing in ``sw01>`` and needing ``enable`` with the
enable password, default enable-pw). Any other username or password is refused during SSH
authentication. Once every port listens, the ready file is written atomically (temp file + rename)::

    {"pid": 1234, "patches": [...], "switches": [{"name": "sw01", "host": "127.0.0.1", "port": 40001,
      "username": "admin", "password": "admin-pw", "enable_password": "enable-pw", "platform": "cisco_ios",
      "other_username": "ops", "other_password": "ops-pw", "exec_username": "viewer",
      "exec_password": "viewer-pw", "users": [{"username": "admin", "password": "admin-pw", "privilege": 15}, ...]}]}

SSH authentication in fake-switches: ``SwitchSshService(users={name: password_bytes})`` registers a
Twisted ``InMemoryUsernamePasswordDatabaseDontUse`` checker with exactly that mapping (password auth
only, no keys); without ``users`` it accepts only root/root. Any number of users may be given.

The simulator has bugs a netmiko ``cisco_ios`` client or Ansible's cisco.ios would hit; each is fixed
by a small runtime patch below (functions named ``patch_*``), all on by default, each switchable off
with ``--disable-patch NAME`` to reproduce the upstream behaviour.

With ``--model arista_generic --eapi`` each switch also serves Arista eAPI (JSON-RPC ``POST
/command-api``, HTTP basic auth against --users) on its own loopback port and, without a password,
on the unix socket ``<ready-file dir>/<name>.eapi.sock``; the ready file adds ``eapi_port`` and
``eapi_socket`` and says ``"platform": "arista_eos"``. eAPI's own patches live in eapi_peer.py.

The process stops cleanly on SIGTERM/SIGINT (the reactor's own handlers) and, with --parent-pid, by
itself as soon as that parent process is gone.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: make `tests` importable

from tests.peers._patching import mark as _mark
from tests.peers.eapi_peer import EAPI_PATCHES, listen_eapi

LOG = logging.getLogger("tether.fakeswitch")

DEFAULT_USERS = "admin:admin-pw:15,ops:ops-pw:15,viewer:viewer-pw:1"
DEFAULT_ENABLE_PASSWORD = "enable-pw"
PLATFORM = "cisco_ios"
PLATFORMS = {"cisco_generic": PLATFORM, "arista_generic": "arista_eos"}  # netmiko device_type per model
INVALID_INPUT = "% Invalid input detected at '^' marker.\n"


# --------------------------------------------------------------------------------------------------
# Runtime patches for known fake-switches 1.5.0 bugs. Each is idempotent and changes one thing.
# --------------------------------------------------------------------------------------------------


def patch_enable_password_bytes() -> None:
    """Fix: ``enable`` with a secret always fails when the privileged password is bytes.

    Upstream bug: fake-switches' own CLI (``fake_switches/cmd/main.py``) does
    ``args.password = args.password.encode()`` and hands those bytes both to the SSH user database
    (which needs bytes) and to ``SwitchFactory.get(..., password)`` as the enable password.
    ``DefaultCommandProcessor.continue_enabling`` then compares the typed line (str) with
    ``privileged_passwords`` (bytes): never equal, so every ``enable`` with a secret answers
    "% Access denied". This server builds its switches the same way (bytes); the patch makes the
    comparison decode bytes entries first. (An empty line is still accepted as upstream does.)
    """
    from fake_switches.cisco.command_processor.default import DefaultCommandProcessor

    if not _mark(DefaultCommandProcessor, "enable-bytes"):
        return

    def continue_enabling(self: Any, line: str) -> None:
        self.replace_input = False
        passwords = [p.decode() if isinstance(p, bytes) else p for p in self.switch_configuration.privileged_passwords]
        if line == "" or line in passwords:
            self.move_to(self.enabled_processor)
        else:
            self.write_line("% Access denied")
            self.write_line("")

    DefaultCommandProcessor.continue_enabling = continue_enabling


def patch_config_end() -> None:
    """Fix: Cisco configuration mode has no ``end`` command.

    Upstream bug: the Cisco config processors (``config``, ``config-if``, ``config-vlan``,
    ``config-vrf``) only know ``exit``; ``end`` answers "No such command" and leaves the session in
    config mode, so netmiko's ``exit_config_mode()`` (which sends ``end``) times out and Ansible's
    cisco.ios cannot leave config mode. The patch adds ``end`` to each of them: it leaves every
    config level at once and returns to the privileged ``sw01#`` prompt, printing exactly one prompt.
    """
    from fake_switches.cisco.command_processor.config import ConfigCommandProcessor
    from fake_switches.cisco.command_processor.config_interface import ConfigInterfaceCommandProcessor
    from fake_switches.cisco.command_processor.config_vlan import ConfigVlanCommandProcessor
    from fake_switches.cisco.command_processor.config_vrf import ConfigVRFCommandProcessor

    if not _mark(ConfigCommandProcessor, "config-end"):
        return

    def do_end(self: Any, *_: str) -> None:
        self._tether_end = True
        self.is_done = True

    def delegate_to_sub_processor(self: Any, line: str) -> bool:
        processed = bool(self.sub_processor.process_command(line))
        if self.sub_processor.is_done:
            ended = getattr(self.sub_processor, "_tether_end", False)
            self.sub_processor = None
            if ended:
                # Leave config mode too: the enabled processor above prints the "#" prompt.
                self._tether_end = True
                self.is_done = True
            else:
                self.show_prompt()
        return processed

    for processor in (
        ConfigCommandProcessor,
        ConfigInterfaceCommandProcessor,
        ConfigVlanCommandProcessor,
        ConfigVRFCommandProcessor,
    ):
        processor.do_end = do_end
    ConfigCommandProcessor.delegate_to_sub_processor = delegate_to_sub_processor


def _ip_interface_brief_lines(switch_configuration: Any) -> list[str]:
    from fake_switches.switch_configuration import VlanPort

    row = "{:<22} {:<15} {:<3} {:<6} {:<21} {}"
    lines = [row.format("Interface", "IP-Address", "OK?", "Method", "Status", "Protocol").rstrip()]
    ports = switch_configuration.get_vlan_ports() + switch_configuration.get_physical_ports()
    for port in ports:
        address = "unassigned"
        method = "unset"
        if isinstance(port, VlanPort) and port.ips:
            address = str(port.ips[0].ip)
            method = "manual"
        status = "administratively down" if port.shutdown else "down"
        lines.append(row.format(port.name, address, "YES", method, status, "down"))
    return lines


def patch_show_ip_interface_brief() -> None:
    """Fix: ``show ip interface brief`` crashes the session.

    Upstream bug: ``EnabledCommandProcessor.do_show`` treats every word after ``show ip interface``
    as an interface name and calls ``get_port_by_partial_name("brief")``, whose
    ``split_port_name`` does ``re.search(r"\\d", name).span()`` on a name without a digit:
    AttributeError inside Twisted's ``lineReceived``, and the SSH connection is dropped. The patch
    answers ``show ip interface brief`` (and abbreviations such as ``sh ip int br``) with an
    IOS-style table of the VLAN and physical interfaces (status down, "administratively down" when
    shut), which TextFSM's ``cisco_ios_show_ip_interface_brief`` template parses.
    """
    from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor

    if not _mark(EnabledCommandProcessor, "ip-int-brief"):
        return
    original = EnabledCommandProcessor.do_show

    def do_show(self: Any, *args: str) -> None:
        if (
            len(args) >= 3
            and "ip".startswith(args[0])
            and len(args[1]) >= 2
            and "interface".startswith(args[1])
            and "brief".startswith(args[2])
        ):
            for text in _ip_interface_brief_lines(self.switch_configuration):
                self.write_line(text)
            return
        original(self, *args)

    EnabledCommandProcessor.do_show = do_show


def _is_show_privilege(line: str) -> bool:
    words = line.split()
    return len(words) == 2 and "show".startswith(words[0]) and len(words[1]) >= 4 and "privilege".startswith(words[1])


def patch_show_privilege() -> None:
    """Fix: ``show privilege`` is missing.

    Upstream bug: neither the user-exec (``sw01>``) nor the privileged (``sw01#``) Cisco processor
    knows ``show privilege``: user exec answers "No such command", privileged exec prints nothing.
    Ansible's cisco.ios terminal plugin runs it to check that ``become`` (enable) worked. The patch
    answers "Current privilege level is 1" in user exec and "... is 15" once enabled.
    """
    from fake_switches.cisco.command_processor.default import DefaultCommandProcessor
    from fake_switches.cisco.command_processor.enabled import EnabledCommandProcessor

    if not _mark(DefaultCommandProcessor, "show-privilege"):
        return

    def wrap(processor: Any, level: int) -> None:
        original = processor.parse_and_execute_command

        def parse_and_execute_command(self: Any, line: str) -> bool:
            if _is_show_privilege(line):
                self.write_line(f"Current privilege level is {level}")
                return True
            return bool(original(self, line))

        processor.parse_and_execute_command = parse_and_execute_command

    wrap(DefaultCommandProcessor, 1)
    wrap(EnabledCommandProcessor, 15)


def patch_survive_command_errors() -> None:
    """Fix: any simulator exception while handling a line drops the SSH connection.

    Upstream bug: ``SwitchSSHShell.lineReceived`` lets exceptions from the command processors escape
    into Twisted, which closes the connection (examples: ``show`` with no argument -> IndexError,
    ``interface foo`` in config mode -> AttributeError). A real device answers "% Invalid input".
    The patch catches the exception, logs it, answers ``% Invalid input detected at '^' marker.``
    and shows the current prompt again, so the session survives.
    """
    from fake_switches.terminal.ssh import SwitchSSHShell

    if not _mark(SwitchSSHShell, "survive-errors"):
        return
    original = SwitchSSHShell.lineReceived

    def lineReceived(self: Any, line: bytes) -> None:  # noqa: N802 - Twisted's method name
        try:
            original(self, line)
        except Exception:
            LOG.exception("simulator error on %r (answered as invalid input)", line)
            root = self.session.command_processor
            deepest = self.get_actual_processor()
            deepest.continue_to(None)
            deepest.replace_input = False
            root.finish_piping()
            root.terminal_controller.write(INVALID_INPUT)
            root.show_prompt()

    SwitchSSHShell.lineReceived = lineReceived


def patch_invalid_input_message() -> None:
    """Fix: an unknown command answers ``No such command : <line>``, which no real IOS prints.

    IOS answers ``% Invalid input detected at '^' marker.``; clients (Ansible's cisco.ios
    terminal plugin, tetherd's error patterns) recognise failures by that text.
    """
    from fake_switches.cisco.cisco_core import CiscoShellSession

    if not _mark(CiscoShellSession, "invalid-input"):
        return

    def handle_unknown_command(self: Any, line: str) -> None:
        self.command_processor.terminal_controller.write(INVALID_INPUT)

    CiscoShellSession.handle_unknown_command = handle_unknown_command


def _invalid_input(processor: Any, column: int) -> None:
    processor.write_line(" " * column + "^")
    processor.write(INVALID_INPUT)


def patch_user_exec_commands() -> None:
    """Fix: user-exec mode (``sw01>``) knows nothing but ``enable`` and ``exit``.

    Upstream bug: ``DefaultCommandProcessor`` (privilege 1) has no ``show`` and no ``terminal``, so
    ``show version`` and netmiko's/Ansible's ``terminal length 0`` / ``terminal width 511`` answer
    "No such command" until the client enables. On IOS both work at privilege 1. The patch accepts
    ``terminal ...`` silently and answers ``show ...`` through the privileged processor's ``show``
    code, except ``show running-config`` / ``show startup-config``, which answer
    "% Invalid input detected" as IOS does at privilege 1.
    """
    from fake_switches.cisco.command_processor.default import DefaultCommandProcessor

    if not _mark(DefaultCommandProcessor, "user-exec"):
        return
    original = DefaultCommandProcessor.parse_and_execute_command

    def parse_and_execute_command(self: Any, line: str) -> bool:
        words = line.split()
        if not words or _is_show_privilege(line):
            return bool(original(self, line))
        if len(words[0]) >= 4 and "terminal".startswith(words[0]):
            return True
        if len(words[0]) >= 2 and "show".startswith(words[0]):
            args = words[1:]
            if (
                not args
                or len(args[0]) < 2
                or any(keyword.startswith(args[0]) for keyword in ("running-config", "startup-config"))
            ):
                _invalid_input(self, line.find(args[0]) if args else len(line))
                return True
            enabled = self.enabled_processor
            enabled.init(self.switch_configuration, self.terminal_controller, self.logger, self.piping_processor)
            enabled.do_show(*args)
            return True
        return bool(original(self, line))

    DefaultCommandProcessor.parse_and_execute_command = parse_and_execute_command


def install_user_privileges() -> None:
    """Not a bug fix: give each SSH user a privilege level, like IOS ``username X privilege 15``.

    fake-switches decides user exec (``sw01>``) or privileged exec (``sw01#``) per switch
    (``SwitchConfiguration.auto_enabled``) and never sees the SSH user. This hook wraps
    ``SwitchSSHShell.connectionMade`` so a user listed at privilege 15 in the switch core's
    ``_tether_privileges`` (``{username_bytes: level}``) lands directly in ``sw01#`` and every other
    user in ``sw01>``, where ``enable`` with the enable password leads on.
    """
    from fake_switches.terminal.ssh import SwitchSSHShell

    if not _mark(SwitchSSHShell, "user-privileges"):
        return
    original = SwitchSSHShell.connectionMade

    def connectionMade(self: Any) -> None:  # noqa: N802 - Twisted's method name
        configuration = self.switch_core.switch_configuration
        privileges: dict[bytes, int] = getattr(self.switch_core, "_tether_privileges", {})
        username = getattr(self.user, "username", b"")
        saved = configuration.auto_enabled
        configuration.auto_enabled = privileges.get(username, 1) >= 15
        try:
            original(self)
        finally:
            configuration.auto_enabled = saved

    SwitchSSHShell.connectionMade = connectionMade


def share_host_key() -> None:
    """Not a bug fix: parse fake-switches' built-in RSA host key once, not once per switch.

    ``SwitchSshService.hook_to_reactor`` parses the same embedded key with ``Key.fromString`` for
    every switch (~40 ms each, most of a switch's start-up). The hook gives that module a ``keys``
    namespace whose ``Key.fromString`` is memoized. Every switch still presents the same host key,
    as upstream does (so clients must not pin host keys per port).
    """
    import functools
    import types

    from fake_switches.transports import ssh_service
    from twisted.conch.ssh import keys

    if not _mark(ssh_service, "share-host-key"):
        return
    cached_key = types.SimpleNamespace(fromString=functools.cache(keys.Key.fromString))
    ssh_service.keys = types.SimpleNamespace(Key=cached_key)


PATCHES: dict[str, Callable[[], None]] = {
    "enable-bytes": patch_enable_password_bytes,
    "config-end": patch_config_end,
    "ip-int-brief": patch_show_ip_interface_brief,
    "show-privilege": patch_show_privilege,
    "user-exec": patch_user_exec_commands,
    "survive-errors": patch_survive_command_errors,
    "invalid-input": patch_invalid_input_message,
    **EAPI_PATCHES,
}


def apply_patches(disabled: set[str]) -> list[str]:
    """Apply every patch not in ``disabled``; return the names applied."""
    unknown = disabled - set(PATCHES)
    if unknown:
        raise SystemExit(f"unknown patch(es): {', '.join(sorted(unknown))}; known: {', '.join(PATCHES)}")
    applied = []
    for name, patch in PATCHES.items():
        if name not in disabled:
            patch()
            applied.append(name)
    return applied


# --------------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    username: str
    password: str
    privilege: int


def parse_users(text: str) -> list[User]:
    """``name:password[:privilege],...``; privilege 15 lands in ``sw01#``, anything else in ``sw01>``."""
    users = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise argparse.ArgumentTypeError(f"--users wants name:password[:privilege],..., got {item!r}")
        users.append(User(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 1))
    return users


def parse_ports(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def write_ready_file(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` atomically: a temp file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, required=True, help="number of switches")
    parser.add_argument("--ports", type=parse_ports, default=None, help="comma-separated ports, one per switch")
    parser.add_argument("--model", default="cisco_generic", choices=sorted(PLATFORMS), help="fake-switches model")
    parser.add_argument(
        "--eapi", action="store_true", help="also serve Arista eAPI over HTTP and a unix socket (arista_generic)"
    )
    parser.add_argument("--eapi-ports", type=parse_ports, default=None, help="eAPI ports, one per switch")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument(
        "--users", type=parse_users, default=parse_users(DEFAULT_USERS), help="name:password[:privilege],..."
    )
    parser.add_argument("--enable-password", default=DEFAULT_ENABLE_PASSWORD)
    parser.add_argument("--name-prefix", default="sw", help="hostnames are PREFIX01, PREFIX02, ...")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (keep it on loopback)")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit once this process is gone")
    parser.add_argument("--disable-patch", action="append", default=[], choices=sorted(PATCHES), metavar="NAME")
    parser.add_argument("--verbose", action="store_true", help="log every byte the switches write")
    args = parser.parse_args(argv)

    if args.ports is not None and len(args.ports) != args.count:
        parser.error(f"--ports has {len(args.ports)} ports for --count {args.count}")
    if args.eapi_ports is not None and len(args.eapi_ports) != args.count:
        parser.error(f"--eapi-ports has {len(args.eapi_ports)} ports for --count {args.count}")
    if args.eapi and args.model != "arista_generic":
        parser.error("--eapi needs --model arista_generic (the only model with eAPI)")

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("fake_switches").setLevel(logging.WARNING)

    from fake_switches.switch_factory import SwitchFactory
    from fake_switches.transports.ssh_service import SwitchSshService
    from twisted.internet import reactor as twisted_reactor
    from twisted.internet import task

    reactor: Any = twisted_reactor

    applied = apply_patches(set(args.disable_patch))
    install_user_privileges()
    share_host_key()
    factory = SwitchFactory()
    # Passwords as bytes, as fake-switches' CLI does: the SSH checker needs bytes (see enable-bytes).
    ssh_users = {user.username: user.password.encode() for user in args.users}
    privileges = {user.username.encode(): user.privilege for user in args.users}
    privileged = [user for user in args.users if user.privilege >= 15] or list(args.users)
    main_user = privileged[0]
    other_user = next((u for u in privileged if u.username != main_user.username), main_user)
    exec_user = next((u for u in args.users if u.privilege < 15), None)
    width = max(2, len(str(args.count)))

    records: list[dict[str, Any]] = []
    for index in range(args.count):
        name = f"{args.name_prefix}{index + 1:0{width}d}"
        core = factory.get(args.model, hostname=name, password=args.enable_password.encode())
        core._tether_privileges = privileges
        service = SwitchSshService(
            ip=args.host, port=args.ports[index] if args.ports else 0, switch_core=core, users=ssh_users
        )
        listening = service.hook_to_reactor(reactor)
        eapi: dict[str, Any] = {}
        if args.eapi:
            socket_path = str(args.ready_file.parent / f"{name}.eapi.sock")
            Path(socket_path).unlink(missing_ok=True)
            eapi_port = listen_eapi(
                reactor,
                core,
                args.host,
                args.eapi_ports[index] if args.eapi_ports else 0,
                socket_path,
                {user.username: user.password for user in args.users},
            )
            eapi = {"eapi_port": eapi_port, "eapi_socket": socket_path}
        records.append(
            {
                "name": name,
                "host": args.host,
                "port": listening.getHost().port,
                "username": main_user.username,
                "password": main_user.password,
                "enable_password": args.enable_password,
                "platform": PLATFORMS[args.model],
                "other_username": other_user.username,
                "other_password": other_user.password,
                "exec_username": exec_user.username if exec_user else None,
                "exec_password": exec_user.password if exec_user else None,
                "users": [asdict(user) for user in args.users],
                **eapi,
            }
        )

    def ready() -> None:
        write_ready_file(args.ready_file, {"pid": os.getpid(), "patches": applied, "switches": records})
        LOG.info("%d switch(es) ready on %s", len(records), ", ".join(str(r["port"]) for r in records))

    if args.parent_pid is not None:
        parent = args.parent_pid

        def watch_parent() -> None:
            if os.getppid() != parent:  # reparented: the parent is gone
                LOG.warning("parent %d is gone: stopping", parent)
                watcher.stop()
                reactor.stop()

        watcher = task.LoopingCall(watch_parent)
        reactor.callWhenRunning(watcher.start, 0.5, True)

    reactor.callWhenRunning(ready)
    reactor.run()  # installs SIGINT/SIGTERM handlers that stop the reactor
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
