"""The netmiko driver's raw CLI channel, lent out whole (``Driver.lease_channel``).

The lease moves bytes only: prompts, errors and paging are the client's business
while it holds the channel. What the driver owns is the state the session is
handed back in: at its prompt, out of configuration mode, and at the privilege
level it had when the lease began. A session that cannot be brought back there is
retired, so the pool replaces it instead of giving the next caller a dirty shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import paramiko
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import ReadTimeout

from .contract import ChannelLease, DriverError, SessionLost, Unsupported

if TYPE_CHECKING:
    from .netmiko_driver import NetmikoDriver


class NetmikoChannelLease(ChannelLease):
    def __init__(self, driver: NetmikoDriver, conn: BaseConnection) -> None:
        channel = conn.remote_conn
        if not isinstance(channel, paramiko.Channel):
            raise Unsupported(f"{driver.spec.target}: only an SSH session's channel can be lent")
        self._driver = driver
        self._conn = conn
        self._channel = channel
        driver._drain(conn)  # nothing an earlier caller left behind reaches the lease holder
        self._was_enabled = self._enabled()

    def _enabled(self) -> bool:
        try:
            return bool(self._conn.check_enable_mode())
        except (ValueError, ReadTimeout, OSError, EOFError):
            return False

    def fileno(self) -> int:
        return int(self._channel.fileno())

    def read(self, max_bytes: int) -> bytes:
        channel = self._channel
        if channel.recv_ready():
            return bytes(channel.recv(max_bytes))
        if channel.closed or channel.eof_received:
            raise SessionLost(f"{self._driver.spec.target}: the device closed the session")
        return b""

    def write(self, data: bytes) -> None:
        try:
            self._channel.sendall(data)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise SessionLost(f"{self._driver.spec.target}: session lost: {exc}") from exc

    def release(self) -> None:
        driver, conn = self._driver, self._conn
        try:
            driver._resync(conn)
            if conn.check_config_mode():
                conn.exit_config_mode()
            enabled = self._enabled()
            if self._was_enabled and not enabled:
                driver._enable(conn)
            elif enabled and not self._was_enabled:
                conn.exit_enable_mode()
            driver._resync(conn)
        except (ValueError, ReadTimeout, OSError, EOFError, DriverError, paramiko.SSHException) as exc:
            driver._retired = f"could not be made clean after a channel lease ({type(exc).__name__})"
