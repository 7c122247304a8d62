"""Netmiko driver: CLI sessions over SSH to 100+ platforms.

Fast path: netmiko's defaults re-discover the prompt before every command and
verify the command echo, which costs several round trips and fixed sleeps per
command. A pinned session learns its prompt once at open, so each command is
sent with that prompt as ``expect_string`` and with ``cmd_verify=False``; the
buffer is drained without sleeping before each command so no stale output from
an earlier one can leak into the next; and the read waits on the channel for the
device's answer instead of netmiko's 25 ms polling sleeps (``_netmiko_fastpath``).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..security.limits import quote
from ..suggest import did_you_mean
from . import _ssh_policy
from .capabilities import (
    Commands,
    ConfigLines,
    ExecChannel,
    FileTransfer,
    RawChannel,
    RunningConfig,
    SaveConfig,
)
from .contract import (
    AuthFailed,
    Capability,
    ChannelLease,
    CommandFailed,
    CommandOptions,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverMeta,
    ExecResult,
    InvalidRequest,
    OutputLimitExceeded,
    SessionLost,
    SessionLostBeforeSend,
    Unsupported,
)

# paramiko imports invoke only to run an ssh_config's `Match exec` lines, which this driver
# never hands it (no ssh_config_file option): skipping it takes ~0.1 s, half of netmiko's
# import, off the first login a fresh tetherd serves. Scoped to this import; later ones see invoke.
_skip_invoke = "invoke" not in sys.modules and "paramiko" not in sys.modules
if _skip_invoke:
    sys.modules["invoke"] = None  # type: ignore[assignment]
try:
    import paramiko
    from netmiko import ConnectHandler
    from netmiko.base_connection import BaseConnection
    from netmiko.exceptions import (
        ConfigInvalidException,
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadException,
        ReadTimeout,
    )
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    from ..security import safe_regex
    from . import _cli_errors as cli_errors
    from . import _connect_errors as connect_errors
    from . import _netmiko_checks as netmiko_checks
    from . import _netmiko_fastpath as fastpath
    from . import _ssh_channels as ssh_channels
    from ._read_guard import ReadGuard
finally:
    if _skip_invoke:
        del sys.modules["invoke"]

# Options passed through to netmiko's ConnectHandler, with the type each must have.
_PASSTHROUGH: Mapping[str, type | tuple[type, ...]] = {
    "fast_cli": bool,
    "global_delay_factor": (int, float),
    "auth_timeout": (int, float),
    "banner_timeout": (int, float),
    "blocking_timeout": (int, float),
    "session_timeout": (int, float),
    "allow_agent": bool,
    "use_keys": bool,
    "ssh_strict": bool,
    "disabled_algorithms": dict,
}
# Tether's own options for this driver.
_OWN: Mapping[str, type | tuple[type, ...]] = {
    "enable": bool,  # enter privileged mode after login (default: when a secret is given)
    "cmd_verify": bool,  # verify each command's echo (slower; default False)
    "probe_timeout": (int, float),
    "error_pattern": str,  # regex (multiline) marking a device error in output; "" turns detection off
}
_RUNNING_CONFIG_COMMAND = "show running-config"
_RUNNING_CONFIG_PLATFORMS = ("cisco_", "arista_", "dell_", "brocade_", "extreme_", "hp_", "ruckus_")
_TRANSPORT_ERRORS = ssh_channels.TRANSPORT_ERRORS
_DRAIN_LIMIT = 2.0  # seconds spent at most discarding earlier output before a command


def _load_private_key(text: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise InvalidRequest("connection.private_key is not a readable unencrypted SSH private key")


def _first_line(exc: BaseException) -> str:
    """netmiko's message without its advice paragraph."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__


def _channel_alive(conn: BaseConnection) -> bool:
    channel = conn.remote_conn
    if not isinstance(channel, paramiko.Channel):
        return True  # telnet or serial: no cheap check; the first write says it
    transport = channel.get_transport()
    return not (channel.closed or channel.eof_received) and transport is not None and transport.is_active()


def _prompt_pattern(base_prompt: str, prompt: str) -> str:
    """What ends a command's output: this device's prompt in any mode (exec, enable, config)."""
    prompt = prompt.strip()
    if not base_prompt or base_prompt == prompt:
        # The prompt is nothing but its terminator (a bare "$" or "#"): match it exactly.
        return re.escape(prompt) + r"\s*$"
    return re.escape(base_prompt) + r"[^\r\n]{0,64}[>#$%]\s*$"


def _error_pattern(spec: ConnectionSpec) -> safe_regex.SafePattern | None:
    """What marks a device error in output (multiline), always matched in linear time (RE2)."""
    configured = spec.options.get("error_pattern")
    if configured is None:
        configured = cli_errors.default_pattern(spec.platform)
    return cli_errors.compiled(str(configured), "netmiko option 'error_pattern'")


_BASE_CAPABILITIES = frozenset(
    {Capability.COMMANDS, Capability.CONFIG, Capability.SAVE_CONFIG, Capability.CHANNEL_LEASE}
)
# Hosts with a shell take SSH exec channels and SFTP (what tether.fleet.pinned uses for modules).
_SHELL_CAPABILITIES = frozenset({Capability.EXEC, Capability.FILE_TRANSFER})


@functools.lru_cache(maxsize=1024)
def _saves(platform: str) -> bool:
    """Whether netmiko can save this platform's configuration: its ``save_config`` does more than
    raise NotImplementedError (the base class's and ~88 platforms' own do only that)."""
    connection_class: Any = CLASS_MAPPER.get(platform)
    if connection_class is None:
        return False
    return bool(connection_class.save_config.__code__.co_names != ("NotImplementedError",))


@functools.lru_cache(maxsize=1024)
def _platform_capabilities(platform: str) -> frozenset[Capability]:
    capabilities = set(_BASE_CAPABILITIES)
    if not _saves(platform):
        capabilities.discard(Capability.SAVE_CONFIG)
    if platform.startswith(_RUNNING_CONFIG_PLATFORMS):
        capabilities.add(Capability.RUNNING_CONFIG)
    if "linux" in platform:
        capabilities |= _SHELL_CAPABILITIES
    return frozenset(capabilities)


class NetmikoDriver(Driver, Commands, ConfigLines, RunningConfig, SaveConfig, ExecChannel, FileTransfer, RawChannel):
    meta = DriverMeta(
        name="netmiko",
        version="2.0",
        description="CLI over SSH through netmiko (device_type = connection.platform)",
        capabilities=_BASE_CAPABILITIES,
    )

    def __init__(self, spec: ConnectionSpec) -> None:
        super().__init__(spec)
        self._conn: BaseConnection | None = None
        self._prompt_pattern = ""
        self._retired = ""  # why this session can no longer be trusted ("" while it can)
        self._errors = _error_pattern(spec)
        self._sftp: paramiko.SFTPClient | None = None
        self._fast = bool(spec.options.get("fast_cli", True))
        self._cmd_verify = bool(spec.options.get("cmd_verify", False))
        self._read_fast = False  # decided at open: fast_cli, no echo check, a platform netmiko reads generically
        # Every read of the session goes through the guard: output cap, and prompt failure after an abort.
        self._reads = ReadGuard(spec.max_output_bytes)
        self._lifecycle = threading.Lock()
        self._closed = False  # sticky: set by the first close or abort
        self._opening = False

    @classmethod
    def capabilities_for(cls, spec: ConnectionSpec) -> frozenset[Capability]:
        return _platform_capabilities(spec.platform)

    @classmethod
    def platform_capabilities(cls) -> Mapping[str, frozenset[Capability]]:
        return {
            platform: capabilities
            for platform in sorted(CLASS_MAPPER)
            if (capabilities := _platform_capabilities(platform)) != _BASE_CAPABILITIES
        }

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        super().validate(spec)
        if not spec.platform:
            raise InvalidRequest("connection.platform is required for netmiko (a device_type such as cisco_ios)")
        if spec.platform not in CLASS_MAPPER:
            hint = did_you_mean(spec.platform, CLASS_MAPPER)
            raise InvalidRequest(f"connection.platform {quote(spec.platform)} is not a netmiko device_type{hint}")
        if not spec.username:
            raise InvalidRequest("connection.username is required for netmiko")
        if not (spec.password or spec.private_key or spec.private_key_file):
            raise InvalidRequest("netmiko needs connection.password, private_key or private_key_file")
        for name, value in spec.options.items():
            expected = _PASSTHROUGH.get(name) or _OWN.get(name)
            if expected is None:
                raise InvalidRequest(connect_errors.unknown_option("netmiko", name, {**_PASSTHROUGH, **_OWN}))
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise InvalidRequest(f"netmiko option {name!r} has the wrong type: {type(value).__name__}")
        netmiko_checks.check_option_ranges(spec.options)
        if spec.private_key:
            _load_private_key(spec.private_key)
        _error_pattern(spec)  # refuses a pattern RE2 cannot run

    def open(self) -> None:
        with self._lifecycle:
            if self._closed:
                raise SessionLost(f"{self.spec.target}: the session was closed before it opened")
            self._opening = True
        try:
            self._open()
        finally:
            with self._lifecycle:
                self._opening = False
                closed_meanwhile = self._closed
            if closed_meanwhile:  # close() during the open only severed the transport: finish it here
                self._disconnect()
        if closed_meanwhile:
            raise SessionLost(f"{self.spec.target}: the session was closed while it was opening")

    def _open(self) -> None:
        spec = self.spec
        _ssh_policy.check_options(spec.options)
        params: dict[str, Any] = {
            "device_type": spec.platform,
            "host": spec.host,
            "port": spec.port,
            "username": spec.username,
            "password": spec.password or None,
            "secret": spec.secret,
            "keepalive": int(spec.keepalive_seconds),
            "conn_timeout": spec.connect_timeout,
            "fast_cli": self._fast,
            "allow_agent": False,
            # A key given as text goes to paramiko as pkey; use_keys is netmiko's key_file switch.
            "use_keys": bool(spec.private_key_file),
        }
        if spec.private_key_file:
            params["key_file"] = _ssh_policy.allowed_key_file(spec.private_key_file)
        if spec.private_key:
            params["pkey"] = _load_private_key(spec.private_key)
        params.update({k: v for k, v in spec.options.items() if k in _PASSTHROUGH})
        started = time.monotonic()
        try:
            conn = ConnectHandler(**params, auto_connect=False)
            _ssh_policy.apply(conn, spec)
            self._conn = conn
            self._reads.install(conn)
            try:
                fastpath.open_session(conn, fast=self._fast)
            except BaseException:
                self.close()  # netmiko's own cleanup on a failed login runs only when it opens the session
                raise
        except NetmikoAuthenticationException as exc:
            raise AuthFailed(f"{spec.username}@{spec.target}: authentication failed") from exc
        except NetmikoTimeoutException as exc:  # netmiko's wrapper, also around a refused host key
            what = connect_errors.describe_connect_failure(
                exc, spec.host, spec.port, spec.connect_timeout, time.monotonic() - started
            )
            raise _ssh_policy.host_key_failure(spec, exc) or ConnectFailed(f"{spec.target}: {what}") from exc
        except ConnectionRefusedError as exc:
            raise ConnectFailed(f"{spec.target}: connection refused") from exc
        except ReadTimeout as exc:  # logged in, but the device never showed what the platform's login waits for
            raise ConnectFailed(
                f"{spec.target}: the login as netmiko platform {spec.platform!r} did not complete "
                f"({_first_line(exc)}); check connection.platform"
            ) from exc
        except ValueError as exc:  # netmiko's word for a setting it cannot use (e.g. a missing key file)
            detail = connect_errors.in_tether_words(str(exc))[:300]
            raise ConnectFailed(f"{spec.target}: netmiko refused the connection settings: {detail}") from exc
        except (socket.gaierror, *_TRANSPORT_ERRORS) as exc:
            raise ConnectFailed(f"{spec.target}: {type(exc).__name__}: {exc}") from exc
        try:
            wants_enable = bool(spec.options.get("enable", bool(spec.secret)))
            if wants_enable and not conn.check_enable_mode():
                self._enable(conn)
            prompt = conn.find_prompt()
        except (ValueError, ReadTimeout, *_TRANSPORT_ERRORS) as exc:
            self.close()
            raise ConnectFailed(f"{spec.target}: could not reach a usable prompt: {_first_line(exc)}") from exc
        self._prompt_pattern = _prompt_pattern(conn.base_prompt, prompt)
        self._read_fast = self._fast and not self._cmd_verify and fastpath.can_read_fast(conn)

    def _enable(self, conn: BaseConnection) -> None:
        try:
            conn.enable()
        except (ValueError, ReadTimeout) as exc:  # netmiko's advice names its own API: say it in ours
            self.close()
            hint = "check the enable secret (connection.secret)" if self.spec.secret else "no enable secret was given"
            raise AuthFailed(
                f"{self.spec.username}@{self.spec.target}: the device refused enable mode; {hint}"
            ) from exc

    def _connection(self) -> BaseConnection:
        if self._conn is None:
            raise SessionLost("netmiko session is closed")
        return self._conn

    def _drain(self, conn: BaseConnection, deadline: float | None = None) -> None:
        """Discard what the device has sent so far; bounded, as a device may never stop talking."""
        end = time.monotonic() + _DRAIN_LIMIT if deadline is None else deadline
        while conn.read_channel() and time.monotonic() < end:
            pass

    def _resync(self, conn: BaseConnection) -> None:
        deadline = time.monotonic() + float(self.spec.options.get("probe_timeout", 5.0))
        self._drain(conn, deadline)
        conn.write_channel(conn.RETURN)
        conn.read_until_pattern(pattern=self._prompt_pattern, read_timeout=max(0.1, deadline - time.monotonic()))
        self._drain(conn, deadline)

    def _recover(self, conn: BaseConnection) -> str:
        """Right after a failed command: back to the prompt and out of configuration mode.

        Returns "" when that worked; otherwise retires the session (see :meth:`usable`) and
        returns what to add to the failure's message.
        """
        try:
            self._resync(conn)
            if conn.check_config_mode():
                conn.exit_config_mode()
        except (ValueError, ReadTimeout, *_TRANSPORT_ERRORS) as exc:
            self._retired = f"could not get back to the prompt after a failed command ({type(exc).__name__})"
            return "; the session could not get back to its prompt and is closed (the next request opens a fresh one)"
        return ""

    def lease_channel(self) -> ChannelLease:
        from ._netmiko_lease import NetmikoChannelLease  # only sessions that are leased need it

        return NetmikoChannelLease(self, self._check_usable())

    def usable(self) -> bool:
        return self._conn is not None and not self._retired

    def _check_usable(self) -> BaseConnection:
        conn = self._connection()
        if self._retired:
            raise CommandFailed(f"not run: the session to {self.spec.target} {self._retired}")
        return conn

    def _ready_to_send(self, conn: BaseConnection) -> None:
        """Discard earlier output and check the session is alive: nothing of the next call is sent yet,
        so a session found dead here (the device restarted since the last call) can be replaced."""
        try:
            self._drain(conn)
            alive = _channel_alive(conn)
        except (ReadException, *_TRANSPORT_ERRORS) as exc:
            raise SessionLostBeforeSend(
                f"{self.spec.target}: session lost before sending: {type(exc).__name__}: {exc}"
            ) from exc
        if not alive:
            raise SessionLostBeforeSend(f"{self.spec.target}: the session was closed by the device before sending")

    @contextlib.contextmanager
    def _capped(self, what: str) -> Iterator[None]:
        """Count what the device prints against max_output_bytes; past it, retire the session:
        the device may still be printing, and nothing else would ever read that output."""
        try:
            with self._reads.counting(what):
                yield
        except OutputLimitExceeded as exc:
            self._retired = f"printed more than max_output_bytes for {what}"
            raise OutputLimitExceeded(
                what, exc.limit, "; the session is closed (the next request opens a fresh one)"
            ) from None

    def _expected(self, options: CommandOptions) -> str | safe_regex.SafePattern:
        """What ends a command's output: the user's pattern (linear-time), else the session prompt."""
        if not options.expect_prompt:
            return self._prompt_pattern
        if not self._read_fast:
            # netmiko's own send_command would run the pattern with Python's re (backtracking).
            why = "fast_cli is false" if not self._fast else "cmd_verify is true" if self._cmd_verify else ""
            why = (
                why or f"netmiko reads {self.spec.platform} sessions with its own code (telnet, serial or an override)"
            )
            raise InvalidRequest(
                f"operation.expect_prompt needs tether's own read path, which this session cannot use ({why}); "
                "leave expect_prompt empty to wait for the session prompt"
            )
        return safe_regex.compile(options.expect_prompt, "operation.expect_prompt")

    def run_command(self, command: str, options: CommandOptions) -> str:
        conn = self._check_usable()
        pattern = self._expected(options)
        self._ready_to_send(conn)
        try:
            with self._capped(f"output of {quote(command)}"):
                if self._read_fast:
                    output = fastpath.send_command(conn, command, pattern, options.read_timeout)
                else:
                    assert isinstance(pattern, str)  # _expected() refuses a user pattern here
                    output = str(
                        conn.send_command(
                            command,
                            expect_string=pattern,
                            read_timeout=options.read_timeout,
                            cmd_verify=self._cmd_verify,
                        )
                    )
        except ReadTimeout as exc:
            # The command may still be printing: resynchronise on the prompt before anything else.
            note = self._recover(conn)
            raise CommandFailed(f"no prompt after {options.read_timeout:g}s running {command!r}{note}") from exc
        except _TRANSPORT_ERRORS as exc:
            raise SessionLost(f"{self.spec.target}: session lost: {type(exc).__name__}: {exc}") from exc
        text = output.removeprefix("\n")
        rejected = self._errors.search(text) if self._errors else None
        if rejected:
            raise CommandFailed(f"{self.spec.target} rejected {command!r}: {rejected.strip()}", text)
        return text

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        conn = self._check_usable()
        self._expected(options)  # an expect_prompt this session cannot honour is refused before any change
        self._ready_to_send(conn)
        try:
            with self._capped("output of the configuration"):
                output = netmiko_checks.send_config(conn, lines, options.read_timeout, self._errors)
        except ReadTimeout as exc:
            note = self._recover(conn)
            raise CommandFailed(f"configuration did not complete within {options.read_timeout:g}s{note}") from exc
        except ConfigInvalidException as exc:
            note = self._recover(conn)
            detail = " ".join(str(exc).strip().splitlines())[:300]
            raise CommandFailed(f"{self.spec.target} rejected the configuration: {detail}{note}") from exc
        except ValueError as exc:  # netmiko: could not enter or leave configuration mode
            note = self._recover(conn)
            raise CommandFailed(f"configuration failed on {self.spec.target}: {exc}{note}") from exc
        except _TRANSPORT_ERRORS as exc:
            raise SessionLost(f"{self.spec.target}: session lost: {type(exc).__name__}: {exc}") from exc
        return str(output)

    def running_config(self) -> str:
        if not self.spec.platform.startswith(_RUNNING_CONFIG_PLATFORMS):
            raise Unsupported(f"netmiko platform {self.spec.platform} has no known running-config command")
        return self.run_command(_RUNNING_CONFIG_COMMAND, CommandOptions(read_timeout=60.0))

    def save_config(self) -> str:
        conn = self._check_usable()
        self._ready_to_send(conn)
        try:
            with self._capped("output of saving the configuration"):
                return str(conn.save_config())
        except NotImplementedError as exc:
            raise Unsupported(f"netmiko cannot save the configuration on {self.spec.platform}") from exc
        except _TRANSPORT_ERRORS as exc:
            raise SessionLost(f"{self.spec.target}: session lost: {exc}") from exc

    def _transport(self) -> paramiko.Transport:
        client = self._connection().remote_conn_pre
        transport = client.get_transport() if isinstance(client, paramiko.SSHClient) else None
        if transport is None or not transport.is_active():
            raise SessionLostBeforeSend(f"{self.spec.target}: SSH transport is down")
        return transport

    def exec_command(self, command: str, stdin: bytes, timeout: float) -> ExecResult:
        return ssh_channels.run_exec(
            self._transport(), self.spec.target, command, stdin, timeout, self.spec.max_output_bytes
        )

    def _sftp_client(self) -> paramiko.SFTPClient:
        self._transport()  # a session found dead here has sent nothing yet
        if self._sftp is None:
            client = self._connection().remote_conn_pre
            if not isinstance(client, paramiko.SSHClient):
                raise Unsupported(f"file transfer needs an SSH session; {self.spec.target} is not one")
            try:
                self._sftp = client.open_sftp()
            except paramiko.SSHException as exc:
                raise Unsupported(
                    f"{self.spec.target} offers no SFTP subsystem, which file transfer needs ({exc})"
                ) from exc
        return self._sftp

    def put_file(self, remote_path: str, data: bytes, file_mode: int = 0) -> None:
        ssh_channels.put_file(self._sftp_client(), self.spec.target, remote_path, data, file_mode)

    def fetch_file(self, remote_path: str) -> bytes:
        return ssh_channels.fetch_file(self._sftp_client(), self.spec.target, remote_path, self.spec.max_output_bytes)

    def probe(self) -> None:
        conn = self._connection()
        try:
            channel = conn.remote_conn
            if isinstance(channel, paramiko.Channel) and not channel.get_transport().is_active():
                raise SessionLost(f"{self.spec.target}: SSH transport is down")
            self._resync(conn)
        except ReadTimeout as exc:
            raise SessionLost(f"{self.spec.target}: no prompt in answer to the keepalive probe") from exc
        except _TRANSPORT_ERRORS as exc:
            raise SessionLost(f"{self.spec.target}: keepalive probe failed: {exc}") from exc

    def close(self) -> None:
        with self._lifecycle:
            self._closed = True
            if self._opening:
                # open() runs on the session's thread and disconnects what it opened once it ends;
                # netmiko's state is not touched from here while it is being built.
                self._sever()
                return
        self._disconnect()

    def abort(self) -> None:
        """Sever the SSH transport under a stuck call; the session's thread then closes the rest."""
        with self._lifecycle:
            self._closed = True
        self._sever()

    def _sever(self) -> None:
        self._reads.aborted = True  # netmiko's own read loops then fail at once instead of at their timeout
        client = getattr(self._conn, "remote_conn_pre", None)
        transport = client.get_transport() if isinstance(client, paramiko.SSHClient) else None
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            with contextlib.suppress(Exception):
                sftp.close()
        if conn is None:
            return
        # close must never raise: the session is gone either way.
        with contextlib.suppress(Exception):
            conn.disconnect()
