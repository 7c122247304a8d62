"""The napalm driver: one napalm device object, opened once and kept in the pinned session.

Platforms are napalm's driver names (``ios``, ``eos``, ``junos``, ``nxos_ssh``,
``iosxr``, ``iosxr_netconf``, ``nxos``; ``mock`` for tests, whose ``path`` the
operator must allow). Capabilities: CLI commands through ``cli()``, every getter
of napalm's ``NetworkDriver`` by name (arguments checked against its signature
before any I/O), the running configuration (``get_config``), configuration
candidates (load merge/replace, compare, commit, discard, rollback) and, where
napalm implements ``revert_in`` for the platform, confirmed commits.

napalm's exceptions become the contract's errors (a refused load or commit is a
CommandFailed naming the step, a dead connection SessionLost), never INTERNAL.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ..security.limits import quote
from . import _cli_errors, _napalm_fastpath, _napalm_options, _ssh_policy
from .capabilities import Commands, ConfigCandidate, ConfigLines, Getters, RunningConfig
from .contract import (
    AuthFailed,
    Capability,
    CommandFailed,
    CommandOptions,
    CommandTimeout,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverError,
    DriverMeta,
    InvalidRequest,
    SessionLost,
    SessionLostBeforeSend,
    Unsupported,
)

T = TypeVar("T")

# netmiko device_types an inventory resolves to (ansible_network_os: cisco.ios.ios -> cisco_ios), so
# cli_command with driver napalm works from the same inventory; napalm's own names are used as they are.
PLATFORM_ALIASES = {
    "cisco_ios": "ios",
    "cisco_xe": "ios",
    "arista_eos": "eos",
    "juniper_junos": "junos",
    "cisco_nxos": "nxos_ssh",
    "cisco_xr": "iosxr",
}
PLATFORMS = frozenset({"ios", "eos", "junos", "nxos", "nxos_ssh", "iosxr", "iosxr_netconf", "mock"})
# napalm implements commit_config(revert_in=...) for these (the others raise NotImplementedError).
CONFIRM_PLATFORMS = frozenset({"ios", "eos", "junos", "iosxr_netconf", "mock"})
_API_PLATFORMS = frozenset({"eos", "nxos", "iosxr_netconf", "junos"})
_ARGUMENT_TYPES = (str, bool, int, float)
FAST_READ_TIMEOUT = 60.0  # seconds a plain getter command may take on the fast read path


def _getter_signatures() -> dict[str, inspect.Signature]:
    """Every ``get_*`` of napalm's NetworkDriver whose parameters all have defaults."""
    from napalm.base.base import NetworkDriver  # type: ignore[import-untyped]

    signatures: dict[str, inspect.Signature] = {}
    for name, method in inspect.getmembers(NetworkDriver, inspect.isfunction):
        if not name.startswith("get_"):
            continue
        signature = inspect.signature(method)
        parameters = [p for p in signature.parameters.values() if p.name != "self"]
        if all(p.default is not inspect.Parameter.empty for p in parameters):
            signatures[name] = signature.replace(parameters=parameters)
    return signatures


GETTER_SIGNATURES = _getter_signatures()


def check_getter(name: str, arguments: Mapping[str, Any], where: str = "getter") -> dict[str, Any]:
    """The getter's arguments as napalm takes them, checked against its signature (no I/O)."""
    signature = GETTER_SIGNATURES.get(name)
    if signature is None:
        from ..suggest import did_you_mean

        raise InvalidRequest(
            f"{where}: unknown napalm getter {quote(name)}{did_you_mean(name, list(GETTER_SIGNATURES))}"
        )
    checked: dict[str, Any] = {}
    for key, value in arguments.items():
        parameter = signature.parameters.get(key)
        if parameter is None:
            accepted = ", ".join(signature.parameters) or "none"
            raise InvalidRequest(f"{where}: {name} takes no argument {quote(key)} (arguments: {accepted})")
        default = parameter.default
        wanted = type(default) if isinstance(default, _ARGUMENT_TYPES) else str
        if wanted is int and isinstance(value, float) and value.is_integer():
            value = int(value)  # Struct numbers are doubles
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise InvalidRequest(f"{where}: {name} argument {key!r} must be {wanted.__name__}: {quote(value)}")
        checked[key] = value
    return checked


def _errors() -> tuple[list[tuple[type[BaseException], Callable[[str], DriverError]]], type[BaseException]]:
    from napalm.base import exceptions as napalm_errors  # type: ignore[import-untyped]

    table: list[tuple[type[BaseException], Callable[[str], DriverError]]] = [
        (napalm_errors.UnsupportedVersion, Unsupported),
        (napalm_errors.ConnectAuthError, AuthFailed),
        (napalm_errors.ConnectionClosedException, SessionLost),
        (napalm_errors.ConnectionException, SessionLost),
        (napalm_errors.CommandTimeoutException, CommandTimeout),
        (NotImplementedError, Unsupported),
    ]
    return table, napalm_errors.NapalmException


def napalm_platform(spec: ConnectionSpec) -> str:
    return PLATFORM_ALIASES.get(spec.platform, spec.platform)


class NapalmDriver(Driver, Commands, ConfigLines, Getters, RunningConfig, ConfigCandidate):
    meta = DriverMeta(
        name="napalm",
        version="2.0",
        description="napalm: getters, configuration candidates and CLI through one warm napalm device",
        capabilities=frozenset(
            {
                Capability.COMMANDS,
                Capability.CONFIG,
                Capability.GETTERS,
                Capability.RUNNING_CONFIG,
                Capability.CONFIG_CANDIDATE,
            }
        ),
        getters=frozenset(GETTER_SIGNATURES),
    )

    def __init__(self, spec: ConnectionSpec) -> None:
        super().__init__(spec)
        self.device: Any = None
        self._closed = False
        self._lock = threading.Lock()
        family = _cli_errors.NAPALM_FAMILY.get(napalm_platform(spec), "")
        self._device_errors = _cli_errors.compiled(_cli_errors.default_pattern(family), "device error pattern")

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        super().validate(spec)
        if napalm_platform(spec) not in PLATFORMS:
            raise InvalidRequest(
                f"connection.platform must be a napalm driver name ({', '.join(sorted(PLATFORMS))}) "
                f"or a netmiko name of one ({', '.join(sorted(PLATFORM_ALIASES))}): "
                f"{quote(spec.platform)}"
            )
        if spec.private_key:
            raise InvalidRequest("the napalm driver takes connection.private_key_file, not an inline private_key")
        if spec.private_key_file:
            _ssh_policy.allowed_key_file(spec.private_key_file)
        _napalm_options.vetted(napalm_platform(spec), spec.options)

    @classmethod
    def check_getter(cls, name: str, arguments: Mapping[str, Any], where: str = "getter") -> None:
        """Called by validation before any I/O: the getter exists and takes these arguments."""
        check_getter(name, arguments, where)

    @classmethod
    def capabilities_for(cls, spec: ConnectionSpec) -> frozenset[Capability]:
        return cls.platform_capabilities().get(napalm_platform(spec), cls.meta.capabilities)

    @classmethod
    def platform_capabilities(cls) -> Mapping[str, frozenset[Capability]]:
        confirmed = cls.meta.capabilities | {Capability.COMMIT_CONFIRM}
        return dict.fromkeys(sorted(CONFIRM_PLATFORMS), confirmed)

    def _optional_args(self) -> dict[str, Any]:
        spec = self.spec
        platform = napalm_platform(spec)
        args = _napalm_options.vetted(platform, spec.options)
        if spec.secret:
            args["secret"] = str(spec.secret)
        if spec.private_key_file:
            args["key_file"] = _ssh_policy.allowed_key_file(spec.private_key_file)
            args["use_keys"] = True
        # 22 is the contract's default: an API platform then keeps its own (eAPI 443, NETCONF 830).
        if platform != "mock" and not (platform in _API_PLATFORMS and spec.port == self.meta.default_port):
            args["port"] = spec.port
        if platform in ("ios", "nxos_ssh", "iosxr"):
            args.setdefault("conn_timeout", spec.connect_timeout)
            args.setdefault("allow_agent", False)  # the service's agent is never offered
            args.setdefault("use_keys", bool(spec.private_key_file))
        return args

    def open(self) -> None:
        from napalm import get_network_driver  # type: ignore[import-untyped]

        spec = self.spec
        try:
            device_class = get_network_driver(napalm_platform(spec))
            device = device_class(
                hostname=spec.host,
                username=spec.username,
                password=str(spec.password),
                timeout=max(1, int(spec.connect_timeout)),
                optional_args=self._optional_args(),
            )
        except Exception as exc:  # noqa: BLE001 - napalm's constructors raise anything
            raise InvalidRequest(f"napalm {napalm_platform(spec)}: {type(exc).__name__}: {exc}") from None
        fast = bool(spec.options.get("fast_cli", True))
        if napalm_platform(spec) in _napalm_fastpath.FAST_PLATFORMS:
            _napalm_fastpath.open_with_policy(device, spec, fast)
        try:
            device.open()
        except Exception as exc:  # noqa: BLE001
            failure = self._translate(exc, "open")
            if isinstance(failure, SessionLost | CommandFailed):  # not Unsupported: a version napalm refuses
                failure = ConnectFailed(f"{spec.target}: {failure}")
            raise failure from None
        if napalm_platform(spec) in _napalm_fastpath.FAST_PLATFORMS and fast:
            try:
                _napalm_fastpath.install(device, FAST_READ_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - find_prompt failing means the session is not usable
                self._close_device(device)
                raise ConnectFailed(f"{spec.target}: no usable prompt after login: {type(exc).__name__}") from None
        with self._lock:
            if self._closed:  # a close came while we were connecting: no connection outlives it
                self._close_device(device)
                raise ConnectFailed(f"{spec.target}: session closed while opening")
            self.device = device

    def _translate(self, exc: BaseException, what: str) -> DriverError:
        if isinstance(exc, DriverError):
            return exc
        table, napalm_error = _errors()
        message = f"napalm {what}: {type(exc).__name__}: {exc}".strip().rstrip(":")
        if type(exc).__name__ == "UnsupportedVersion":  # its argument is a version object with no str()
            version = getattr(exc.args[0], "version", exc.args[0]) if exc.args else "unknown"
            message = f"napalm {napalm_platform(self.spec)} does not support this device's software version {version}"
        for kind, make in table:
            if isinstance(exc, kind):
                return make(message)
        if isinstance(exc, EOFError | OSError):
            return SessionLost(message)
        if isinstance(exc, napalm_error):  # Merge/ReplaceConfigException, CommitError, LockError, ...
            return CommandFailed(message)
        return CommandFailed(message)  # a library error under napalm (netmiko, pyeapi, ...): this call failed

    def _ready_to_send(self, device: Any) -> None:
        """A napalm SSH session whose device closed it since the last call (a restart) is found dead
        here, before anything is sent, so the service can replace it without the caller noticing."""
        channel: Any = getattr(getattr(device, "device", None), "remote_conn", None)
        transport = channel.get_transport() if hasattr(channel, "get_transport") else None
        closed = getattr(channel, "closed", False) or getattr(channel, "eof_received", False)
        if closed or (transport is not None and not transport.is_active()):
            raise SessionLostBeforeSend(f"{self.spec.target}: the session was closed by the device before sending")

    def _call(self, what: str, call: Callable[[Any], T]) -> T:
        device = self.device
        if device is None:
            raise SessionLost("napalm session is closed")
        self._ready_to_send(device)
        try:
            return call(device)
        except Exception as exc:  # noqa: BLE001 - every napalm error becomes a contract error
            raise self._translate(exc, what) from None

    # Commands
    def run_command(self, command: str, options: CommandOptions) -> str:
        answers = self._call("cli", lambda d: d.cli([command]))
        answer = answers.get(command, "") if isinstance(answers, dict) else answers
        text = answer if isinstance(answer, str) else json.dumps(answer, indent=2, sort_keys=True, default=str)
        # napalm's cli() hands back what the device said, errors included: fail the command as netmiko's would.
        rejected = self._device_errors.search(text) if self._device_errors else None
        if rejected:
            raise CommandFailed(f"{self.spec.target} rejected {command!r}: {rejected.strip()}", text)
        return text

    # Configuration lines (cli_config with driver napalm): one merge candidate, committed when it
    # changes something; the device takes all of the lines or none. Answers the candidate's diff.
    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        try:
            self.load_candidate("\n".join(lines) + "\n", replace=False)
            diff = self.compare_candidate()
            if diff.strip():
                self.commit_candidate()
            else:
                self.discard_candidate()
        except SessionLost:
            raise
        except DriverError:
            with contextlib.suppress(DriverError):
                self.discard_candidate()
            raise
        return diff

    # Getters
    def get(self, name: str, arguments: Mapping[str, Any]) -> Any:
        checked = check_getter(name, arguments)
        return self._call(name, lambda d: getattr(d, name)(**checked))

    def running_config(self) -> str:
        config = self._call("get_config", lambda d: d.get_config(retrieve="running"))
        return str(config.get("running", "")) if isinstance(config, dict) else str(config)

    # Configuration candidate
    def load_candidate(self, config: str, replace: bool) -> None:
        method = "load_replace_candidate" if replace else "load_merge_candidate"
        self._call(method, lambda d: getattr(d, method)(config=config))

    def compare_candidate(self) -> str:
        return str(self._call("compare_config", lambda d: d.compare_config()) or "")

    def commit_candidate(self, message: str = "", revert_in: float = 0.0) -> None:
        kwargs: dict[str, Any] = {}
        if message:
            kwargs["message"] = message
        if revert_in:
            kwargs["revert_in"] = int(revert_in)
        self._call("commit_config", lambda d: d.commit_config(**kwargs))

    def discard_candidate(self) -> None:
        self._call("discard_config", lambda d: d.discard_config())

    def rollback(self) -> None:
        self._call("rollback", lambda d: d.rollback())

    def confirm_commit(self) -> None:
        if not self._call("has_pending_commit", lambda d: d.has_pending_commit()):
            raise CommandFailed("napalm confirm_commit: no commit is waiting for confirmation")
        self._call("confirm_commit", lambda d: d.confirm_commit())

    def has_pending_commit(self) -> bool:
        return bool(self._call("has_pending_commit", lambda d: d.has_pending_commit()))

    # Connection
    def probe(self) -> None:
        alive = self._call("is_alive", lambda d: d.is_alive())
        if not (isinstance(alive, dict) and alive.get("is_alive")):
            raise SessionLost("napalm session is no longer alive")

    @staticmethod
    def _close_device(device: Any) -> None:
        with contextlib.suppress(Exception):  # close must not raise, whatever napalm's driver does
            device.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            device, self.device = self.device, None
        if device is not None:
            self._close_device(device)
