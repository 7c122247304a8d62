# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one door to tetherd: the gRPC client of the pip-installed
``tether`` package, the embedded auto-start, and results turned into plain data.

Fork safety (gRPC is fork-sensitive):

- ``grpc`` and the client are imported here, at module level. Ansible's strategy
  imports action plugins in the ansible-playbook parent once, so every forked
  worker inherits the import instead of paying ~80 ms for it on each task.
- A channel is only ever made inside :class:`Service`, which a plugin creates in
  the worker that runs the task and closes when the task ends. Nothing here makes
  a channel at import time, and a :class:`Service` refuses to use a channel in a
  process other than the one that made it.

The embedded default: with no endpoint configured the service is the local
socket (``tether.config.default_endpoint()``). When nothing answers there and
``auto_start`` is on, ``tether.embedded.ensure_service`` starts tetherd in the
background (race-free across forks) and the call is made again; that tetherd
exits by itself after ``auto_start_idle`` seconds with no session and no call.

Private to the collection: not a public API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

try:
    import grpc  # noqa: F401  # pylint: disable=unused-import  # at plugin load, never per task (see above)

    from tether.client import ClientConfig, TetherClient, TetherError, operation_message
    from tether.client import connection_message as connection_message  # re-exported for the action plugins
    from tether.client import pb as pb
    from tether.config import ConfigError
    from tether.embedded import StartFailed, ensure_service, local_socket_answers, socket_path
except ImportError as _error:
    IMPORT_ERROR: str | None = f"{type(_error).__name__}: {_error}"
else:
    IMPORT_ERROR = None

from ansible_collections.tether.fleet.plugins.module_utils._results import (
    BulkOutcome,
    ExecuteOutcome,
    TargetOutcome,
    command_dict,
    config_dict,
    info_dict,
    meta_dict,
    session_dict,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = 300.0
DEFAULT_IDLE_EXIT = 900.0
CONFIG_MODES = ("apply", "merge", "check")


class ServiceError(Exception):
    """A call to tetherd failed. ``code`` is the gRPC status name (UNAVAILABLE, INVALID_ARGUMENT, ...)
    or MISSING_PACKAGE; ``message`` never holds a secret (the service redacts its own)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def require_client() -> None:
    if IMPORT_ERROR is not None:
        raise ServiceError(
            "MISSING_PACKAGE",
            "the tether.fleet collection needs the Python package 'tether' (pip install 'tether[server]') "
            f"in the Python that runs Ansible on the controller: {IMPORT_ERROR}",
        )


@dataclass(frozen=True)
class ServiceSettings:
    """How to reach tetherd (the doc fragment tether.fleet.service)."""

    endpoint: str = ""  # empty: the local embedded socket
    token: str = field(default="", repr=False)
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_server_name: str = ""
    timeout: float = DEFAULT_TIMEOUT
    auto_start: bool = True
    auto_start_idle: float = DEFAULT_IDLE_EXIT

    def client_config(self) -> ClientConfig:
        """The client's own settings: where the endpoint resolves to, and what is local, is its call."""
        require_client()
        return ClientConfig(
            endpoint=self.endpoint,
            token=self.token,
            tls_ca=self.tls_ca,
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
            tls_server_name=self.tls_server_name,
            timeout=self.timeout,
        )

    @property
    def is_local(self) -> bool:
        return self.client_config().is_local


# Service option -> (inventory variable, environment variable). A task option wins, then
# the variable, then the environment, then the default. The connection plugin
# tether.fleet.pinned documents the same names for its options.
SERVICE_SOURCES: dict[str, tuple[str, str]] = {
    "endpoint": ("ansible_tether_endpoint", "TETHER_ENDPOINT"),
    "token": ("ansible_tether_token", "TETHER_TOKEN"),
    "tls_ca": ("ansible_tether_tls_ca", "TETHER_TLS_CA"),
    "tls_cert": ("ansible_tether_tls_cert", "TETHER_TLS_CERT"),
    "tls_key": ("ansible_tether_tls_key", "TETHER_TLS_KEY"),
    "tls_server_name": ("ansible_tether_tls_server_name", "TETHER_TLS_SERVER_NAME"),
    "timeout": ("ansible_tether_timeout", "TETHER_TIMEOUT"),
    "auto_start": ("ansible_tether_auto_start", "TETHER_AUTO_START"),
    "auto_start_idle": ("ansible_tether_auto_start_idle", "TETHER_AUTO_START_IDLE"),
}
# Second environment variable for an option (the AWX credential type injects TETHER_CA).
SERVICE_ENV_ALIASES: dict[str, str] = {"TETHER_TLS_CA": "TETHER_CA"}
_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


def settings_from_values(values: Mapping[str, Any]) -> ServiceSettings:
    """ServiceSettings from resolved option values (None or '' = not set: the default)."""
    kwargs: dict[str, Any] = {}
    for name in ("endpoint", "token", "tls_ca", "tls_cert", "tls_key", "tls_server_name"):
        value = values.get(name)
        if value not in (None, ""):
            kwargs[name] = (
                os.path.expanduser(str(value)) if name.startswith("tls_") and name != "tls_server_name" else str(value)
            )
    for name in ("timeout", "auto_start_idle"):
        value = values.get(name)
        if value not in (None, ""):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ServiceError("INVALID_ARGUMENT", f"{name} must be a number of seconds, not {value!r}") from None
            if number <= 0:
                raise ServiceError("INVALID_ARGUMENT", f"{name} must be positive")
            kwargs[name] = number
    auto_start = values.get("auto_start")
    if auto_start not in (None, ""):
        if isinstance(auto_start, bool):
            kwargs["auto_start"] = auto_start
        elif str(auto_start).strip().lower() in _TRUE + _FALSE:
            kwargs["auto_start"] = str(auto_start).strip().lower() in _TRUE
        else:
            raise ServiceError("INVALID_ARGUMENT", f"auto_start must be a boolean, not {auto_start!r}")
    endpoint = kwargs.get("endpoint", "")
    if endpoint and not endpoint.startswith("unix:") and ":" not in endpoint:
        raise ServiceError("INVALID_ARGUMENT", f"endpoint {endpoint!r} is neither unix:/path/to/socket nor host:port")
    return ServiceSettings(**kwargs)


@dataclass(frozen=True)
class OperationArgs:
    """What to run on a target (mirrors the API's Operation message)."""

    commands: Sequence[str] = ()
    config: Sequence[str] = ()
    read_timeout: float = 0.0
    expect_prompt: str = ""
    parse: str = ""
    template: str = ""
    save: bool = False
    stop_on_error: bool = False
    config_mode: str = "apply"  # apply | merge | check
    diff: bool = False
    encoding: str = ""  # "" (driver default) | text | json


def _config_mode_value(mode: str) -> pb.ConfigMode.ValueType:
    if mode not in CONFIG_MODES:
        raise ServiceError("INVALID_ARGUMENT", f"config mode must be one of {', '.join(CONFIG_MODES)}, not {mode!r}")
    return {"apply": pb.CONFIG_MODE_APPLY, "merge": pb.CONFIG_MODE_MERGE, "check": pb.CONFIG_MODE_CHECK}[mode]


def build_operation(op: OperationArgs) -> pb.Operation:
    """The API's Operation message for ``op`` (for Bulk; Execute takes the same fields as arguments)."""
    message = operation_message(
        op.commands, op.config, op.read_timeout, op.expect_prompt, op.parse, op.template, op.save, op.stop_on_error
    )
    message.config_mode = _config_mode_value(op.config_mode)
    message.diff = op.diff
    if op.encoding:
        message.encoding = op.encoding
    return message


# The service ----------------------------------------------------------------------------------


class Service:
    """tetherd as one Ansible task sees it: a channel made lazily in this process and
    closed with the task (``with Service(settings) as service: ...``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        require_client()
        self.settings = settings
        self._config = settings.client_config()
        self.started_service = False  # whether this task started the embedded tetherd
        self._client: TetherClient | None = None
        self._pid = os.getpid()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return self._config.resolved_endpoint

    @property
    def is_local(self) -> bool:
        return self._config.is_local

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()

    # -- channel and embedded auto-start

    def _may_start(self) -> bool:
        return self.settings.auto_start and self.is_local

    def running(self) -> bool:
        """Whether something answers on a local endpoint (always True for a remote one: only a call can tell)."""
        if not self.is_local:
            return True
        return local_socket_answers(socket_path(self.endpoint))

    def _start(self) -> None:
        try:
            self.started_service = ensure_service(self.endpoint, exit_when_idle=self.settings.auto_start_idle)
        except (StartFailed, ConfigError, OSError) as exc:
            raise ServiceError("UNAVAILABLE", f"could not start tetherd on {self.endpoint}: {exc}") from None

    def _new_client(self) -> TetherClient:
        try:
            return TetherClient(self._config)
        except OSError as exc:  # a TLS file that cannot be read
            raise ServiceError("INVALID_ARGUMENT", f"cannot set up the channel to {self.endpoint}: {exc}") from None

    def _client_here(self, start: bool) -> TetherClient:
        if self._client is not None and self._pid != os.getpid():
            self._client = None  # made in another process (fork): never touch it here
            self._pid = os.getpid()
        if self._client is None:
            if start and self._may_start() and not os.path.exists(socket_path(self.endpoint)):
                self._start()
            self._client = self._new_client()
        return self._client

    @staticmethod
    def _never_sent(exc: TetherError) -> bool:
        """Whether the channel failed to connect, so that no server ever saw the request."""
        return exc.code == "UNAVAILABLE" and exc.message.startswith("failed to connect to all addresses")

    def _error(self, exc: TetherError) -> ServiceError:
        if exc.code != "UNAVAILABLE":
            return ServiceError(exc.code, exc.message)
        # UNAVAILABLE is also how tetherd reports a device it cannot reach: blame the
        # service only when its own socket is dead or the channel never connected.
        if self.is_local and not self.running():
            hint = "" if self.settings.auto_start else " (auto_start is off: start it with 'tetherd serve')"
            return ServiceError("UNAVAILABLE", f"tetherd does not answer on {self.endpoint}{hint}")
        if self._never_sent(exc):
            return ServiceError("UNAVAILABLE", f"tetherd at {self.endpoint} does not answer: {exc.message}")
        return ServiceError(exc.code, exc.message)

    def call(self, work: Callable[[TetherClient], T], start: bool = True) -> T:
        """``work(client)``; on a local endpoint where nothing answers, start tetherd (when
        allowed) and try once more. Only a request that never reached a server is sent
        again (a service that died under a call does not get the call twice). ``work``
        must consume any stream it opens."""
        client = self._client_here(start)
        try:
            return work(client)
        except TetherError as exc:
            if not (self._never_sent(exc) and start and self._may_start() and not self.running()):
                raise self._error(exc) from None
        self.close()
        self._start()
        client = self._client_here(start=False)
        try:
            return work(client)
        except TetherError as exc:
            raise self._error(exc) from None

    # -- API calls

    def execute(
        self,
        driver: str,
        connection: Mapping[str, Any],
        op: OperationArgs,
        pinned: bool = True,
        timeout: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> ExecuteOutcome:
        def work(client: TetherClient) -> pb.ExecuteResponse:
            return client.execute(
                connection,
                commands=op.commands,
                config=op.config,
                driver=driver,
                mode="pinned" if pinned else "oneshot",
                read_timeout=op.read_timeout,
                expect_prompt=op.expect_prompt,
                parse=op.parse,
                template=op.template,
                save=op.save,
                stop_on_error=op.stop_on_error,
                timeout=timeout,
                labels=labels,
                config_mode=op.config_mode,
                diff=op.diff,
                **({"encoding": op.encoding} if op.encoding else {}),  # older tether clients lack it
            )

        response = self.call(_guard_invalid(work))
        return ExecuteOutcome(
            ok=bool(response.ok),
            job_id=response.job_id,
            results=[command_dict(r) for r in response.results],
            meta=meta_dict(response.meta),
            config=config_dict(response.config) if response.HasField("config") else None,
        )

    def bulk(
        self,
        driver: str,
        targets: Iterable[tuple[str, Mapping[str, Any]]],
        op: OperationArgs,
        pinned: bool = True,
        concurrency: int = 0,
        target_timeout: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> BulkOutcome:
        targets = list(targets)

        def work(client: TetherClient) -> BulkOutcome:
            request = pb.BulkRequest(
                driver=driver,
                targets=[pb.Target(name=name, connection=connection_message(conn)) for name, conn in targets],
                operation=build_operation(op),
                mode=pb.MODE_PINNED if pinned else pb.MODE_ONESHOT,
                concurrency=concurrency,
                timeout=target_timeout,
                labels=dict(labels or {}),
            )
            outcome = BulkOutcome()
            for event in client.bulk(request):
                kind = event.WhichOneof("event")
                if kind == "accepted":
                    outcome.job_id = event.accepted.job_id
                elif kind == "finished":
                    item = event.finished
                    outcome.targets[item.target] = TargetOutcome(
                        name=item.target,
                        ok=bool(item.ok),
                        results=[command_dict(r) for r in item.results],
                        meta=meta_dict(item.meta),
                        config=config_dict(item.config) if item.HasField("config") else None,
                        error=item.error,
                        error_code=item.error_code,
                    )
                elif kind == "summary":
                    summary = event.summary
                    outcome.job_id = summary.job_id or outcome.job_id
                    outcome.succeeded = int(summary.succeeded)
                    outcome.failed = [{"target": f.target, "reason": f.reason} for f in summary.failed]
                    outcome.cancelled = int(summary.cancelled)
                    outcome.elapsed_ms = round(summary.elapsed_ms, 2)
            return outcome

        return self.call(_guard_invalid(work))

    def list_sessions(self, host: str = "", driver: str = "", start: bool = False) -> list[dict[str, Any]]:
        sessions = self.call(lambda client: client.list_sessions(host=host, driver=driver), start=start)
        return [session_dict(s) for s in sessions]

    def close_sessions(self, session_id: str = "", host: str = "", everything: bool = False) -> int:
        return self.call(
            lambda client: client.close_sessions(session_id=session_id, host=host, everything=everything),
            start=False,
        )

    def info(self, start: bool = False) -> dict[str, Any]:
        return info_dict(self.call(lambda client: client.info(), start=start))

    def put_file(
        self, driver: str, connection: Mapping[str, Any], remote_path: str, data: bytes, pinned: bool = True
    ) -> dict[str, Any]:
        mode = "pinned" if pinned else "oneshot"
        response = self.call(
            _guard_invalid(lambda client: client.put_file(connection, remote_path, data, driver=driver, mode=mode))
        )
        return {"job_id": response.job_id, "size": int(response.size), "session": meta_dict(response.meta)}

    def exec_command(
        self,
        driver: str,
        connection: Mapping[str, Any],
        command: str,
        stdin: bytes = b"",
        pinned: bool = True,
        timeout: float = 0.0,
    ) -> tuple[int, bytes, bytes]:
        """One command in its own exec channel over the host's warm transport."""
        mode = "pinned" if pinned else "oneshot"
        response = self.call(
            _guard_invalid(
                lambda client: client.exec_command(
                    connection, command, stdin=stdin, driver=driver, mode=mode, timeout=timeout
                )
            )
        )
        return int(response.exit_status), bytes(response.stdout), bytes(response.stderr)

    def fetch_file(self, driver: str, connection: Mapping[str, Any], remote_path: str, pinned: bool = True) -> bytes:
        mode = "pinned" if pinned else "oneshot"
        return self.call(
            _guard_invalid(lambda client: client.fetch_file(connection, remote_path, driver=driver, mode=mode))
        )


def _guard_invalid(work: Callable[[TetherClient], T]) -> Callable[[TetherClient], T]:
    """Errors raised while building a request (not by a call) as TetherError, so they
    surface as ServiceError like any other."""

    def guarded(client: TetherClient) -> T:
        try:
            return work(client)
        except (TypeError, ValueError) as exc:
            raise TetherError("INVALID_ARGUMENT", str(exc)) from None

    return guarded
