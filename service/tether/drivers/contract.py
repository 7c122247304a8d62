"""The driver contract, version 2: a driver owns one connection; work is capabilities.

A driver class subclasses :class:`Driver`, which is only the connection (validate
with no I/O, open, probe, usable, abort, close), plus one interface per kind of
work it can do, from :mod:`.capabilities` (CLI commands, configuration lines,
configuration candidates, getters, API calls, exec channels, files). Its ``meta``
declares those capabilities as data; the registry checks each declared capability
is implemented, the service refuses a request needing a capability the driver lacks
before any I/O (FAILED_PRECONDITION naming it), and GetServiceInfo publishes them,
so no client guesses what a target can do from its platform name.

Stability rules: within a contract version, methods may be added with a default
implementation; none is removed or changes its signature. A driver declares the
contract range it was written for (``contract_min..contract_max``, or the single
``contract_version`` of contract 1); the registry loads it when that range meets
:data:`SUPPORTED_CONTRACTS`. Drivers written for contract 1 (one class with
``run_command``, ``run_config``, ... and declared capabilities) keep loading.

Threading: the service calls a driver instance from one thread at a time (its
session's worker), except :meth:`Driver.abort`, which may come from another
thread to unblock a call that overran its deadline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

CONTRACT_VERSION = 2
SUPPORTED_CONTRACTS = range(1, CONTRACT_VERSION + 1)
DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024


class Capability(StrEnum):
    COMMANDS = "commands"  # CLI commands with their output
    STRUCTURED_OUTPUT = "structured_output"  # commands answer data (encoding json) without a parser
    CONFIG = "config"  # configuration lines sent in configuration mode
    RUNNING_CONFIG = "running_config"
    SAVE_CONFIG = "save_config"
    CONFIG_CANDIDATE = "config_candidate"  # load merge/replace, compare, commit, discard, rollback
    COMMIT_CONFIRM = "commit_confirm"  # a candidate commit that reverts unless confirmed
    GETTERS = "getters"  # named getters with typed results
    API_CALLS = "api_calls"  # structured API requests (eAPI)
    EXEC = "exec"  # one command in a channel of its own (SSH exec)
    FILE_TRANSFER = "file_transfer"
    CHANNEL_LEASE = "channel_lease"  # the raw CLI channel, lent to a client that matches prompts itself


class Secret(str):
    """A credential: password, key, enable secret, API token, client-certificate key.

    Every ``Secret`` field of a :class:`ConnectionSpec` is treated alike, whatever the
    driver: redacted from every output, error and record, and part of the keyed session
    fingerprint. Its repr never shows the value.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


_SECRET = {"secret": True}


@dataclass(frozen=True)
class DriverMeta:
    name: str
    version: str
    description: str
    capabilities: frozenset[Capability]
    default_port: int = 22
    contract_min: int = CONTRACT_VERSION
    contract_max: int = CONTRACT_VERSION
    # Contract 1 drivers name their single version here (it overrides min and max).
    contract_version: int = 0
    # Getter names, for drivers with the getters capability.
    getters: frozenset[str] = frozenset()

    @property
    def contract_range(self) -> range:
        if self.contract_version:
            return range(self.contract_version, self.contract_version + 1)
        return range(self.contract_min, self.contract_max + 1)


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything needed to open one session. Secrets are :class:`Secret` and never in repr."""

    host: str
    port: int
    platform: str = ""
    username: str = ""
    password: Secret = field(default=Secret(""), repr=False, metadata=_SECRET)
    private_key: Secret = field(default=Secret(""), repr=False, metadata=_SECRET)
    private_key_file: str = ""
    secret: Secret = field(default=Secret(""), repr=False, metadata=_SECRET)
    api_token: Secret = field(default=Secret(""), repr=False, metadata=_SECRET)
    tls_client_key: Secret = field(default=Secret(""), repr=False, metadata=_SECRET)
    tls_client_cert: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    keepalive_seconds: float = 30.0
    connect_timeout: float = 15.0
    # The most output one command, exec or fetched file may produce before it is cut off.
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def secrets(self) -> tuple[str, ...]:
        """Every credential this spec carries (non-empty), whatever its kind."""
        return tuple(value for name in SECRET_FIELDS if (value := getattr(self, name)))


SECRET_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ConnectionSpec) if f.metadata.get("secret"))


@dataclass(frozen=True)
class ExecResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class CommandOptions:
    read_timeout: float = 30.0
    expect_prompt: str = ""
    encoding: str = ""  # "", "text" or "json" (drivers with structured_output)


@dataclass(frozen=True)
class Structured:
    """A command's answer as data (eAPI JSON), with the text form when the device gave one."""

    data: Any
    text: str = ""


class DriverError(Exception):
    """Base of every error a driver raises on purpose."""


class InvalidRequest(DriverError):
    """The request cannot work whatever the device does (bad option, missing field).

    ``field`` is the path of the request field at fault (``targets[2].connection.port``)
    where the code raising it knows one; the status carries it as a BadRequest detail."""

    def __init__(self, message: str = "", field: str = "") -> None:
        super().__init__(message)
        self.field = field


class Unsupported(DriverError):
    """The driver cannot do this operation."""


class MissingCapability(Unsupported):
    """The request needs a capability the driver does not have for this target (no I/O was done)."""

    def __init__(self, driver: str, platform: str, missing: frozenset[Capability]) -> None:
        names = ", ".join(sorted(missing))
        where = f" for platform {platform!r}" if platform else ""
        super().__init__(f"driver {driver}{where} lacks the capability {names} this request needs")
        self.missing = missing
        self.driver = driver
        self.platform = platform


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
    """The raw CLI channel of an open session, lent out whole (capability ``channel_lease``).

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
    """One connection to one target. Construct with a validated spec, then :meth:`open`.

    Only the connection lives here; each kind of work is an interface of
    :mod:`.capabilities` that a driver class also implements and declares in ``meta``.
    """

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

    @classmethod
    def capabilities_for(cls, spec: ConnectionSpec) -> frozenset[Capability]:
        """What this driver can do for this target, from the spec alone (no I/O).

        The default is ``meta.capabilities``; a driver whose platforms differ (a Linux host
        has exec channels, a switch CLI does not) narrows or widens it here, and publishes
        the differences through :meth:`platform_capabilities`."""
        return cls.meta.capabilities

    @classmethod
    def platform_capabilities(cls) -> Mapping[str, frozenset[Capability]]:
        """Platforms whose capabilities differ from ``meta.capabilities`` (published by the service)."""
        return {}

    @abstractmethod
    def open(self) -> None:
        """Connect and authenticate. Raise ConnectFailed or AuthFailed."""

    @abstractmethod
    def probe(self) -> None:
        """Application-level liveness check. Raise SessionLost when the session is dead."""

    def usable(self) -> bool:
        """False once this session cannot be trusted with more work (say, a command's output never
        ended and the prompt never came back). The pool then closes it, and the next request
        opens a fresh one without noticing. Called on the session's thread, between calls."""
        return True

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
