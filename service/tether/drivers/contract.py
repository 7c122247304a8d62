"""The driver contract: what every Tether driver implements.

Stability rules (contract version 1): methods may be added with a default
implementation; none is removed or changes its signature. A driver declares the
contract version it was written for in ``meta`` and the registry refuses any
other.

Threading: the service calls a driver instance from one thread at a time (its
session's worker), except :meth:`Driver.close`, which may come from another
thread to abort a call that overran its deadline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

CONTRACT_VERSION = 1
DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024


class Capability(StrEnum):
    COMMANDS = "commands"
    CONFIG = "config"
    RUNNING_CONFIG = "running_config"
    SAVE_CONFIG = "save_config"
    FILE_TRANSFER = "file_transfer"
    EXEC = "exec"


@dataclass(frozen=True)
class DriverMeta:
    name: str
    contract_version: int
    version: str
    description: str
    capabilities: frozenset[Capability]
    default_port: int = 22


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything needed to open one session. Secrets are excluded from repr."""

    host: str
    port: int
    platform: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    private_key_file: str = ""
    secret: str = field(default="", repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    keepalive_seconds: float = 30.0
    connect_timeout: float = 15.0
    # The most output one command, exec or fetched file may produce before it is cut off.
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ExecResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class CommandOptions:
    read_timeout: float = 30.0
    expect_prompt: str = ""


class DriverError(Exception):
    """Base of every error a driver raises on purpose."""


class InvalidRequest(DriverError):
    """The request cannot work whatever the device does (bad option, missing field)."""


class Unsupported(DriverError):
    """The driver cannot do this operation."""


class ConnectFailed(DriverError):
    """The target did not answer, refused, or the SSH handshake failed."""


class AuthFailed(DriverError):
    """The target rejected the credentials."""


class CommandFailed(DriverError):
    """One command failed; the session is still usable. ``output`` is what the device said."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class CommandTimeout(CommandFailed):
    """One command did not finish in its time; the session is still usable."""


class OutputLimitExceeded(CommandFailed):
    """A command, exec or file produced more than ``max_output_bytes``; reading stopped there."""

    def __init__(self, what: str, limit: int, consequence: str = "") -> None:
        super().__init__(f"{what} exceeded max_output_bytes ({format_size(limit)}){consequence}")
        self.limit = limit


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


class SessionLost(DriverError):
    """The session died under the call; it must be discarded."""


class SessionLostBeforeSend(SessionLost):
    """The session was found dead before any byte of the call reached the device.

    Raised only by the check a driver makes before sending; a call on a warm session that
    fails this way can be retried on a fresh session without the device seeing it twice."""


class ChannelLease(ABC):
    """The raw CLI channel of an open session, lent out whole (see :meth:`Driver.lease_channel`).

    Called from the session's thread only. ``read`` never blocks; wait on ``fileno()`` for data."""

    @abstractmethod
    def fileno(self) -> int:
        """A descriptor that polls readable when the device has sent something."""

    @abstractmethod
    def read(self, max_bytes: int) -> bytes:
        """What the device has sent, at most ``max_bytes``; b"" when nothing. SessionLost on EOF."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send ``data`` to the device as it is. SessionLost when the session died."""

    @abstractmethod
    def release(self) -> None:
        """Hand the session back clean: at its prompt, out of configuration mode, at the privilege
        level it was opened with. When that fails the driver reports itself not ``usable()``."""


class Driver(ABC):
    """One session to one target. Construct with a validated spec, then :meth:`open`."""

    meta: ClassVar[DriverMeta]

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        """Reject a spec that can never work, with no I/O. Raise :class:`InvalidRequest`."""
        if not spec.host:
            raise InvalidRequest("connection.host is required")

    @classmethod
    def session_options(cls, spec: ConnectionSpec) -> Mapping[str, Any]:
        """The options that change the session, and so are part of its key."""
        return {"platform": spec.platform, **spec.options}

    @abstractmethod
    def open(self) -> None:
        """Connect and authenticate. Raise ConnectFailed or AuthFailed."""

    @abstractmethod
    def run_command(self, command: str, options: CommandOptions) -> str:
        """Run one command and return its output, with nothing left over from earlier."""

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        raise Unsupported(f"driver {self.meta.name} cannot apply configuration")

    def running_config(self) -> str:
        raise Unsupported(f"driver {self.meta.name} cannot read the running configuration")

    def save_config(self) -> str:
        raise Unsupported(f"driver {self.meta.name} cannot save the configuration")

    def exec_command(self, command: str, stdin: bytes, timeout: float) -> ExecResult:
        """Run ``command`` in a channel of its own (not the CLI session), e.g. SSH exec."""
        raise Unsupported(f"driver {self.meta.name} cannot run commands in an exec channel")

    def put_file(self, remote_path: str, data: bytes, file_mode: int = 0) -> None:
        raise Unsupported(f"driver {self.meta.name} cannot transfer files")

    def fetch_file(self, remote_path: str) -> bytes:
        raise Unsupported(f"driver {self.meta.name} cannot transfer files")

    def lease_channel(self) -> ChannelLease:
        """The session's raw CLI channel, for a client that reads and writes the bytes itself."""
        raise Unsupported(f"driver {self.meta.name} cannot lend its raw CLI channel")

    def usable(self) -> bool:
        """False once this session cannot be trusted with more work (say, a command's output never
        ended and the prompt never came back). The pool then closes it, and the next request
        opens a fresh one without noticing. Called on the session's thread, between calls."""
        return True

    @abstractmethod
    def probe(self) -> None:
        """Application-level liveness check. Raise SessionLost when the session is dead."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect. Must not raise, and must be safe to call twice or from another thread.

        Sticky: once closed, an :meth:`open` still under way (on the session's thread) ends by
        disconnecting what it opened, so no connection outlives a close whatever the timing."""

    def abort(self) -> None:
        """Unblock a call stuck on the session's thread, from another thread (a deadline passed).

        Must not block for long. The service then closes the driver on the session's own thread
        once the stuck call returns; the default simply closes from here."""
        self.close()
