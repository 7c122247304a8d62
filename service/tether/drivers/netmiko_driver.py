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
import io
import re
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .contract import (
    CONTRACT_VERSION,
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
    SessionLost,
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
        ReadTimeout,
    )
    from netmiko.ssh_dispatcher import CLASS_MAPPER

    from . import _netmiko_fastpath as fastpath
    from . import _ssh_channels as ssh_channels
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
# How devices say a command was wrong, by netmiko platform prefix.
_IOS_LIKE_ERRORS = r"^\s*% ?(?:Invalid|Incomplete|Ambiguous|Unknown|Unrecognized|Bad|Error|Unable)\b.*$"
_ERROR_PATTERNS: Mapping[str, str] = {
    "cisco_": _IOS_LIKE_ERRORS,
    "arista_": _IOS_LIKE_ERRORS,
    "dell_": _IOS_LIKE_ERRORS,
    "brocade_": _IOS_LIKE_ERRORS,
    "ruckus_": _IOS_LIKE_ERRORS,
    "hp_": _IOS_LIKE_ERRORS,
    "extreme_": _IOS_LIKE_ERRORS,
    "juniper": r"^\s*(?:error:|syntax error|unknown command).*$",
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


def _connect_failure(exc: BaseException, timeout: float) -> str:
    """Name the real cause netmiko wraps in its timeout (and drop its advice paragraph)."""
    cause: BaseException | None = exc
    while cause is not None:
        refused = isinstance(cause, ConnectionRefusedError) or (
            isinstance(cause, paramiko.ssh_exception.NoValidConnectionsError)
            and any(isinstance(e, ConnectionRefusedError) for e in cause.errors.values())
        )
        if refused:
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve host name ({cause})"
        cause = cause.__cause__ or cause.__context__
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"no SSH session within {timeout:g}s ({first_line})"


def _prompt_pattern(base_prompt: str, prompt: str) -> str:
    """What ends a command's output: this device's prompt in any mode (exec, enable, config)."""
    prompt = prompt.strip()
    if not base_prompt or base_prompt == prompt:
        # The prompt is nothing but its terminator (a bare "$" or "#"): match it exactly.
        return re.escape(prompt) + r"\s*$"
    return re.escape(base_prompt) + r"[^\r\n]{0,64}[>#$%]\s*$"


def _error_pattern(spec: ConnectionSpec) -> re.Pattern[str] | None:
    configured = spec.options.get("error_pattern")
    if configured is None:
        configured = next((p for prefix, p in _ERROR_PATTERNS.items() if spec.platform.startswith(prefix)), "")
    return re.compile(str(configured), re.MULTILINE) if configured else None


class NetmikoDriver(Driver):
    meta = DriverMeta(
        name="netmiko",
        contract_version=CONTRACT_VERSION,
        version="1.0",
        description="CLI over SSH through netmiko (device_type = connection.platform)",
        capabilities=frozenset(
            {
                Capability.COMMANDS,
                Capability.CONFIG,
                Capability.RUNNING_CONFIG,
                Capability.SAVE_CONFIG,
                Capability.FILE_TRANSFER,
                Capability.EXEC,
            }
        ),
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

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        super().validate(spec)
        if not spec.platform:
            raise InvalidRequest("connection.platform is required for netmiko (a device_type such as cisco_ios)")
        if spec.platform not in CLASS_MAPPER:
            close = [p for p in CLASS_MAPPER if p.startswith(spec.platform.split("_")[0])][:8]
            hint = f"; similar: {', '.join(close)}" if close else ""
            raise InvalidRequest(f"connection.platform {spec.platform!r} is not a netmiko device_type{hint}")
        if not spec.username:
            raise InvalidRequest("connection.username is required for netmiko")
        if not (spec.password or spec.private_key or spec.private_key_file):
            raise InvalidRequest("netmiko needs connection.password, private_key or private_key_file")
        for name, value in spec.options.items():
            expected = _PASSTHROUGH.get(name) or _OWN.get(name)
            if expected is None:
                known = ", ".join(sorted({*_PASSTHROUGH, *_OWN}))
                raise InvalidRequest(f"unknown netmiko option {name!r} (known: {known})")
            if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
                raise InvalidRequest(f"netmiko option {name!r} has the wrong type: {type(value).__name__}")
        if spec.private_key:
            _load_private_key(spec.private_key)
        if spec.options.get("error_pattern"):
            try:
                re.compile(str(spec.options["error_pattern"]))
            except re.error as exc:
                raise InvalidRequest(
                    f"netmiko option 'error_pattern' is not a valid regular expression: {exc}"
                ) from None

    def open(self) -> None:
        spec = self.spec
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
            params["key_file"] = spec.private_key_file
        if spec.private_key:
            params["pkey"] = _load_private_key(spec.private_key)
        params.update({k: v for k, v in spec.options.items() if k in _PASSTHROUGH})
        try:
            conn = ConnectHandler(**params, auto_connect=False)
            self._conn = conn
            try:
                fastpath.open_session(conn, fast=self._fast)
            except BaseException:
                self.close()  # netmiko's own cleanup on a failed login runs only when it opens the session
                raise
        except NetmikoAuthenticationException as exc:
            raise AuthFailed(f"{spec.username}@{spec.target}: authentication failed") from exc
        except NetmikoTimeoutException as exc:
            raise ConnectFailed(f"{spec.target}: {_connect_failure(exc, spec.connect_timeout)}") from exc
        except ConnectionRefusedError as exc:
            raise ConnectFailed(f"{spec.target}: connection refused") from exc
        except ValueError as exc:  # netmiko's word for a setting it cannot use (e.g. a missing key file)
            detail = " ".join(str(exc).split())
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
            raise ConnectFailed(f"{spec.target}: could not reach a usable prompt: {exc}") from exc
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

    def run_command(self, command: str, options: CommandOptions) -> str:
        conn = self._check_usable()
        try:
            self._drain(conn)
            pattern = options.expect_prompt or self._prompt_pattern
            if self._read_fast:
                output = fastpath.send_command(conn, command, pattern, options.read_timeout)
            else:
                output = str(
                    conn.send_command(
                        command, expect_string=pattern, read_timeout=options.read_timeout, cmd_verify=self._cmd_verify
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
            raise CommandFailed(f"{self.spec.target} rejected {command!r}: {rejected.group(0).strip()}", text)
        return text

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        conn = self._check_usable()
        try:
            self._drain(conn)
            output = conn.send_config_set(
                list(lines),
                read_timeout=options.read_timeout,
                cmd_verify=True,
                error_pattern=self._errors.pattern if self._errors else "",
            )
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
        try:
            return str(conn.save_config())
        except NotImplementedError as exc:
            raise Unsupported(f"netmiko cannot save the configuration on {self.spec.platform}") from exc
        except _TRANSPORT_ERRORS as exc:
            raise SessionLost(f"{self.spec.target}: session lost: {exc}") from exc

    def _transport(self) -> paramiko.Transport:
        client = self._connection().remote_conn_pre
        transport = client.get_transport() if isinstance(client, paramiko.SSHClient) else None
        if transport is None or not transport.is_active():
            raise SessionLost(f"{self.spec.target}: SSH transport is down")
        return transport

    def exec_command(self, command: str, stdin: bytes, timeout: float) -> ExecResult:
        return ssh_channels.run_exec(self._transport(), self.spec.target, command, stdin, timeout)

    def _sftp_client(self) -> paramiko.SFTPClient:
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
        return ssh_channels.fetch_file(self._sftp_client(), self.spec.target, remote_path)

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
