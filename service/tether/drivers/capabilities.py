"""One interface per kind of work a driver can do (contract 2).

A driver class subclasses :class:`~.contract.Driver` (its connection) and the
interfaces below for the work it offers, and lists the matching
:class:`~.contract.Capability` values in ``meta.capabilities``. The registry checks
that every declared capability's methods exist (:func:`missing_methods`), so the
data the service publishes and checks before any I/O is the truth about the code.

Modelled on NAPALM's method families: each interface is small, typed and named for
what it does; a driver that cannot do something simply does not implement it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from .contract import (
    Capability,
    ChannelLease,
    CommandOptions,
    ConnectionSpec,
    Driver,
    ExecResult,
    MissingCapability,
    Structured,
)

Interface = TypeVar("Interface")


class Commands(ABC):
    """CLI commands, one after another, each answered by its output.

    With :attr:`Capability.STRUCTURED_OUTPUT` a driver answers :class:`Structured` data
    when ``options.encoding`` is ``"json"`` (or by default, if that is the platform's way)."""

    @abstractmethod
    def run_command(self, command: str, options: CommandOptions) -> str | Structured: ...


class ConfigLines(ABC):
    """Configuration lines sent in configuration mode, stopping at the first the device rejects."""

    @abstractmethod
    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str: ...


class RunningConfig(ABC):
    @abstractmethod
    def running_config(self) -> str: ...


class SaveConfig(ABC):
    @abstractmethod
    def save_config(self) -> str: ...


class ConfigCandidate(ABC):
    """A configuration candidate: load (merge or replace), compare, commit or discard, roll back.

    ``commit_candidate(revert_in=N)`` needs :attr:`Capability.COMMIT_CONFIRM`: the platform
    reverts the commit unless :meth:`confirm_commit` comes within N seconds."""

    @abstractmethod
    def load_candidate(self, config: str, replace: bool) -> None: ...

    @abstractmethod
    def compare_candidate(self) -> str: ...

    @abstractmethod
    def commit_candidate(self, message: str = "", revert_in: float = 0.0) -> None: ...

    @abstractmethod
    def discard_candidate(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None: ...

    def confirm_commit(self) -> None:
        raise NotImplementedError  # drivers with commit_confirm override this


class Getters(ABC):
    """Named getters (``meta.getters``), each answering JSON-compatible data of a documented model."""

    @abstractmethod
    def get(self, name: str, arguments: Mapping[str, Any]) -> Any: ...


class ApiCalls(ABC):
    """Structured API requests (eAPI: a command string or ``{"cmd": ..., "input": ...}``), answered as data."""

    @abstractmethod
    def call_api(self, requests: Sequence[Any], options: CommandOptions) -> list[Any]: ...


class ExecChannel(ABC):
    """One command in a channel of its own (not the CLI session), e.g. SSH exec."""

    @abstractmethod
    def exec_command(self, command: str, stdin: bytes, timeout: float) -> ExecResult: ...


class FileTransfer(ABC):
    @abstractmethod
    def put_file(self, remote_path: str, data: bytes, file_mode: int = 0) -> None: ...

    @abstractmethod
    def fetch_file(self, remote_path: str) -> bytes: ...


class RawChannel(ABC):
    """The session's raw CLI channel, lent whole to a client that reads and writes the bytes itself
    (tether.fleet.network_cli: the vendor's cliconf matches the prompts in the user's own process)."""

    @abstractmethod
    def lease_channel(self) -> ChannelLease: ...


# Which interface each capability stands for. STRUCTURED_OUTPUT refines COMMANDS and
# COMMIT_CONFIRM refines CONFIG_CANDIDATE (confirm_commit), so they map to those.
INTERFACES: Mapping[Capability, type] = {
    Capability.COMMANDS: Commands,
    Capability.STRUCTURED_OUTPUT: Commands,
    Capability.CONFIG: ConfigLines,
    Capability.RUNNING_CONFIG: RunningConfig,
    Capability.SAVE_CONFIG: SaveConfig,
    Capability.CONFIG_CANDIDATE: ConfigCandidate,
    Capability.COMMIT_CONFIRM: ConfigCandidate,
    Capability.GETTERS: Getters,
    Capability.API_CALLS: ApiCalls,
    Capability.EXEC: ExecChannel,
    Capability.FILE_TRANSFER: FileTransfer,
    Capability.CHANNEL_LEASE: RawChannel,
}


def _methods(interface: type) -> set[str]:
    return set(getattr(interface, "__abstractmethods__", frozenset()))


def missing_methods(driver_class: type, capabilities: frozenset[Capability]) -> dict[Capability, list[str]]:
    """Declared capabilities whose methods the class lacks (duck-typed, so contract 1 drivers pass
    when they define the methods themselves)."""
    missing: dict[Capability, list[str]] = {}
    for capability in capabilities:
        names = sorted(n for n in _methods(INTERFACES[capability]) if not callable(getattr(driver_class, n, None)))
        if (
            capability is Capability.COMMIT_CONFIRM
            and getattr(driver_class, "confirm_commit", None) is ConfigCandidate.confirm_commit
        ):
            names.append("confirm_commit")
        if names:
            missing[capability] = names
    return missing


def require(driver_class: type[Driver], spec: ConnectionSpec, needed: frozenset[Capability]) -> None:
    """Refuse, before any I/O, a request needing what this driver cannot do for this target."""
    missing = needed - driver_class.capabilities_for(spec)
    if missing:
        raise MissingCapability(driver_class.meta.name, spec.platform, missing)


def use(driver: Driver, interface: Callable[..., Interface]) -> Interface:
    """The driver seen through one capability interface. Validation has already checked the
    capability (:func:`require`); contract 1 drivers implement the methods without the base class."""
    return cast(Interface, driver)
