"""Typed synchronous client for tetherd, used by the CLI and the Ansible collection.

Fork safety: a channel belongs to the process that made it. Create a client in
the process that uses it (an Ansible worker, not the ansible-playbook parent)
and never carry one across fork().
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import google.rpc.error_details_pb2 as error_details_pb2
import google.rpc.status_pb2 as status_pb2
import grpc
from google.protobuf.message import DecodeError
from google.protobuf.struct_pb2 import Struct

from .config import default_endpoint
from .v1 import devices_pb2_grpc, events_pb2_grpc, jobs_pb2_grpc, service_pb2_grpc, sessions_pb2_grpc, tether_pb2_grpc
from .v1 import messages as pb

__all__ = ["ClientConfig", "TetherClient", "TetherError", "connection_message", "pb"]

_CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.enable_retries", 1),
]
_DETAILS_KEY = "grpc-status-details-bin"


class TetherError(Exception):
    """A call failed; ``code`` is the gRPC status code name (e.g. ``UNAVAILABLE``).

    From tetherd's rich status (``google.rpc.Status`` in the trailers), when it sent one:
    ``reason`` (``ErrorInfo.reason``: ``MISSING_CAPABILITY``, ``INVALID_FIELD``,
    ``AUTH_FAILED``, ``CONNECT_FAILED``, ``DEADLINE``, ``OUTPUT_LIMIT``, ...), ``field``
    (the request field at fault), ``metadata`` (driver, target, capability, ...) and
    ``retry_after`` (seconds, when trying again later makes sense; 0 otherwise).
    """

    def __init__(
        self,
        code: str,
        message: str,
        reason: str = "",
        field: str = "",
        metadata: Mapping[str, str] | None = None,
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.field = field
        self.metadata = dict(metadata or {})
        self.retry_after = retry_after

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> TetherError:
        if not isinstance(error, grpc.Call):
            return cls(grpc.StatusCode.UNKNOWN.name, str(error) or grpc.StatusCode.UNKNOWN.name)
        code = error.code()
        found = _rich_details(error.trailing_metadata())
        return cls(code.name, error.details() or code.name, **found)

    def describe(self) -> str:
        """The details in one line: ``reason MISSING_CAPABILITY (field ..., capability=..., driver=...)``."""
        if not self.reason:
            return ""
        shown = [f"field {self.field}"] if self.field else []
        shown += [f"{key}={value}" for key, value in sorted(self.metadata.items()) if key != "field"]
        if self.retry_after:
            shown.append(f"retry after {self.retry_after:g}s")
        return f"reason {self.reason}" + (f" ({', '.join(shown)})" if shown else "")


def _rich_details(trailers: Any) -> dict[str, Any]:
    """TetherError's keyword arguments from a call's ``grpc-status-details-bin`` trailer, if any."""
    raw = next((value for key, value in trailers or () if key == _DETAILS_KEY), None)
    if not isinstance(raw, bytes):
        return {}
    try:
        status = status_pb2.Status.FromString(raw)
    except DecodeError:
        return {}
    found: dict[str, Any] = {}
    for detail in status.details:
        info, bad, retry = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):  # False when the detail is of another type
            found["reason"], found["metadata"] = info.reason, dict(info.metadata)
        elif detail.Unpack(bad) and bad.field_violations:
            found["field"] = bad.field_violations[0].field
        elif detail.Unpack(retry):
            found["retry_after"] = retry.retry_delay.ToNanoseconds() / 1e9
    return found


@dataclass
class ClientConfig:
    endpoint: str = ""  # "unix:/path" or "host:port"; empty: TETHER_ENDPOINT or the local socket
    token: str = field(default="", repr=False)
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_server_name: str = ""
    timeout: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "endpoint": env.get("TETHER_ENDPOINT", ""),
            "token": env.get("TETHER_TOKEN", ""),
            "tls_ca": env.get("TETHER_TLS_CA", "") or env.get("TETHER_CA", ""),  # TETHER_CA: the AWX credential
            "tls_cert": env.get("TETHER_TLS_CERT", ""),
            "tls_key": env.get("TETHER_TLS_KEY", ""),
            "tls_server_name": env.get("TETHER_TLS_SERVER_NAME", ""),
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return cls(**values)

    @property
    def resolved_endpoint(self) -> str:
        return self.endpoint or default_endpoint()

    @property
    def is_local(self) -> bool:
        return self.resolved_endpoint.startswith("unix:")


def connection_message(connection: Mapping[str, Any]) -> pb.Connection:
    """A Connection message from a plain dict (unknown keys are an error)."""
    values = dict(connection)
    options = values.pop("options", None) or {}
    known = set(pb.Connection.DESCRIPTOR.fields_by_name)
    unknown = set(values) - known
    if unknown:
        raise TetherError("INVALID_ARGUMENT", f"unknown connection fields: {', '.join(sorted(unknown))}")
    message = pb.Connection(**{k: v for k, v in values.items() if v not in (None, "")})
    if options:
        struct = Struct()
        struct.update(options)
        message.options.CopyFrom(struct)
    return message


def _connection(connection: Mapping[str, Any] | pb.Connection) -> pb.Connection:
    return connection if isinstance(connection, pb.Connection) else connection_message(connection)


def _mode(mode: str) -> pb.Mode.ValueType:
    if mode not in ("pinned", "oneshot"):
        raise TetherError("INVALID_ARGUMENT", f"mode must be pinned or oneshot (got {mode!r})")
    return pb.MODE_ONESHOT if mode == "oneshot" else pb.MODE_PINNED


class _Routes:
    """Where each RPC goes: the domain services (tether.v1.Devices, Jobs, Sessions, Service).

    A tetherd from before the API split serves only the original ``tether.v1.Tether``
    service and answers UNIMPLEMENTED for the domain ones, without running anything: the
    first such answer switches this client to ``Tether`` for good and the call is made
    again there. So a new collection works with an older shared tetherd, and new RPCs
    (which exist only in the domain services) need no second client.
    """

    def __init__(self, channel: grpc.Channel) -> None:
        devices = devices_pb2_grpc.DevicesStub(channel)
        jobs = jobs_pb2_grpc.JobsStub(channel)
        sessions = sessions_pb2_grpc.SessionsStub(channel)
        service = service_pb2_grpc.ServiceStub(channel)
        self._domain: dict[str, Any] = {
            "Execute": devices.Execute,
            "Bulk": devices.Bulk,
            "Exec": devices.Exec,
            "PutFile": devices.PutFile,
            "FetchFile": devices.FetchFile,
            "LeaseChannel": devices.LeaseChannel,  # a domain service only: no legacy route
            "GetJob": jobs.GetJob,
            "ListJobs": jobs.ListJobs,
            "CancelJob": jobs.CancelJob,
            "ListSessions": sessions.ListSessions,
            "CloseSession": sessions.CloseSession,
            "GetServiceInfo": service.GetServiceInfo,
        }
        self._legacy = tether_pb2_grpc.TetherStub(channel)
        self.legacy_only = False

    def method(self, name: str) -> Any:
        if self.legacy_only and hasattr(self._legacy, name):
            return getattr(self._legacy, name)
        return self._domain[name]

    def fall_back(self, error: grpc.RpcError) -> bool:
        """Whether ``error`` says the service predates the split: then use ``Tether`` from now on."""
        if self.legacy_only or not isinstance(error, grpc.Call):
            return False
        if error.code() != grpc.StatusCode.UNIMPLEMENTED:
            return False
        self.legacy_only = True
        return True


class TetherClient:
    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig.from_env()
        self._channel = self._open_channel()
        self._routes = _Routes(self._channel)
        self._metadata = (("authorization", f"Bearer {self.config.token}"),) if self.config.token else ()

    def _open_channel(self) -> grpc.Channel:
        config = self.config
        target = config.resolved_endpoint
        if config.is_local and not (config.tls_ca or config.tls_cert):
            return grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=Path(config.tls_ca).read_bytes() if config.tls_ca else None,
            private_key=Path(config.tls_key).read_bytes() if config.tls_key else None,
            certificate_chain=Path(config.tls_cert).read_bytes() if config.tls_cert else None,
        )
        options = list(_CHANNEL_OPTIONS)
        if config.tls_server_name:
            options.append(("grpc.ssl_target_name_override", config.tls_server_name))
        return grpc.secure_channel(target, credentials, options=options)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> TetherClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def uses_legacy_service(self) -> bool:
        """True once the service turned out to predate the API split (only ``tether.v1.Tether``)."""
        return self._routes.legacy_only

    def _call(self, name: str, request: Any, timeout: float | None = None) -> Any:
        while True:
            try:
                return self._routes.method(name)(
                    request, timeout=timeout or self.config.timeout, metadata=self._metadata
                )
            except grpc.RpcError as error:
                if not self._routes.fall_back(error):
                    raise TetherError.from_rpc(error) from None

    def wait_ready(self, timeout: float) -> None:
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise TetherError("UNAVAILABLE", f"tetherd at {self.config.resolved_endpoint} did not answer") from None

    def execute(
        self,
        connection: Mapping[str, Any] | pb.Connection,
        commands: Sequence[str] = (),
        config: Sequence[str] = (),
        driver: str = "netmiko",
        mode: str = "pinned",
        read_timeout: float = 0.0,
        expect_prompt: str = "",
        parse: str = "",
        template: str = "",
        save: bool = False,
        stop_on_error: bool = False,
        timeout: float = 0.0,
        labels: Mapping[str, str] | None = None,
        config_mode: str = "apply",
        diff: bool = False,
        encoding: str = "",
    ) -> pb.ExecuteResponse:
        """Run commands (and/or config lines) on one target. ``config_mode``: apply, merge or check."""
        operation = operation_message(
            commands, config, read_timeout, expect_prompt, parse, template, save, stop_on_error
        )
        modes = {"apply": pb.CONFIG_MODE_APPLY, "merge": pb.CONFIG_MODE_MERGE, "check": pb.CONFIG_MODE_CHECK}
        if config_mode not in modes:
            raise TetherError("INVALID_ARGUMENT", f"config_mode must be apply, merge or check (got {config_mode!r})")
        operation.config_mode = modes[config_mode]
        operation.diff = diff
        operation.encoding = encoding  # "", text or json (structured answers where the driver can)
        request = pb.ExecuteRequest(
            driver=driver,
            connection=_connection(connection),
            operation=operation,
            mode=_mode(mode),
            timeout=timeout,
            labels=dict(labels or {}),
        )
        return self.run(request)

    def run(self, request: pb.ExecuteRequest) -> pb.ExecuteResponse:
        """Send a prepared ExecuteRequest."""
        timeout = (request.timeout + 5) if request.timeout else None
        return self._call("Execute", request, timeout=timeout)  # type: ignore[no-any-return]

    def exec_command(
        self,
        connection: Mapping[str, Any] | pb.Connection,
        command: str,
        stdin: bytes = b"",
        driver: str = "netmiko",
        mode: str = "pinned",
        timeout: float = 0.0,
    ) -> pb.ExecResponse:
        """Run one command in its own exec channel over the target's warm transport."""
        request = pb.ExecRequest(
            driver=driver,
            connection=_connection(connection),
            mode=_mode(mode),
            command=command,
            stdin=stdin,
            timeout=timeout,
        )
        return self._call("Exec", request, timeout=(timeout + 10) if timeout else None)  # type: ignore[no-any-return]

    def put_file(
        self,
        connection: Mapping[str, Any] | pb.Connection,
        remote_path: str,
        data: bytes,
        file_mode: int = 0,
        driver: str = "netmiko",
        mode: str = "pinned",
    ) -> pb.PutFileResponse:
        request = pb.PutFileRequest(
            driver=driver,
            connection=_connection(connection),
            mode=_mode(mode),
            remote_path=remote_path,
            data=data,
            file_mode=file_mode,
        )
        return self._call("PutFile", request)  # type: ignore[no-any-return]

    def fetch_file(
        self,
        connection: Mapping[str, Any] | pb.Connection,
        remote_path: str,
        driver: str = "netmiko",
        mode: str = "pinned",
    ) -> bytes:
        request = pb.FetchFileRequest(
            driver=driver, connection=_connection(connection), mode=_mode(mode), remote_path=remote_path
        )
        return bytes(self._call("FetchFile", request).data)

    def bulk(self, request: pb.BulkRequest) -> Iterator[pb.BulkEvent]:
        received = False
        while True:
            try:
                for event in self._routes.method("Bulk")(request, timeout=self.config.timeout, metadata=self._metadata):
                    received = True
                    yield event
                return
            except grpc.RpcError as error:
                # UNIMPLEMENTED comes before any event: nothing ran, the legacy route may go again.
                if received or not self._routes.fall_back(error):
                    raise TetherError.from_rpc(error) from None

    def get_job(self, job_id: str) -> pb.Job:
        return self._call("GetJob", pb.GetJobRequest(job_id=job_id))  # type: ignore[no-any-return]

    def list_jobs(self, **filters: Any) -> pb.ListJobsResponse:
        return self._call("ListJobs", pb.ListJobsRequest(**filters))  # type: ignore[no-any-return]

    def cancel_job(self, job_id: str) -> pb.Job:
        return self._call("CancelJob", pb.CancelJobRequest(job_id=job_id))  # type: ignore[no-any-return]

    def list_sessions(self, host: str = "", driver: str = "") -> list[pb.Session]:
        response = self._call("ListSessions", pb.ListSessionsRequest(host=host, driver=driver))
        return list(response.sessions)

    def close_sessions(self, session_id: str = "", host: str = "", everything: bool = False) -> int:
        request = pb.CloseSessionRequest(session_id=session_id, host=host, all=everything)
        return int(self._call("CloseSession", request).closed)

    def watch_events(
        self, request: pb.WatchEventsRequest, started: Callable[[int], None] | None = None
    ) -> Iterator[pb.Event]:
        """Follow the event stream (no deadline); ``started`` gets the seq the stream starts after."""
        call = events_pb2_grpc.EventsStub(self._channel).WatchEvents(request, metadata=self._metadata)
        try:
            if started is not None:
                start = dict(call.initial_metadata() or ()).get("tether-event-seq")
                if isinstance(start, str) and start.isdigit():
                    started(int(start))
            yield from call
        except grpc.RpcError as error:
            raise TetherError.from_rpc(error) from None
        finally:
            call.cancel()

    def info(self) -> pb.ServiceInfo:
        return self._call("GetServiceInfo", pb.GetServiceInfoRequest())  # type: ignore[no-any-return]


def operation_message(
    commands: Sequence[str] = (),
    config: Sequence[str] = (),
    read_timeout: float = 0.0,
    expect_prompt: str = "",
    parse: str = "",
    template: str = "",
    save: bool = False,
    stop_on_error: bool = False,
) -> pb.Operation:
    kinds = {"": pb.Parse.KIND_NONE, "textfsm": pb.Parse.KIND_TEXTFSM, "ttp": pb.Parse.KIND_TTP}
    if parse not in kinds:
        raise TetherError("INVALID_ARGUMENT", f"parse must be one of textfsm, ttp (got {parse!r})")
    return pb.Operation(
        commands=list(commands),
        config=list(config),
        read_timeout=read_timeout,
        expect_prompt=expect_prompt,
        parse=pb.Parse(kind=kinds[parse], template=template),
        save=save,
        stop_on_error=stop_on_error,
    )
