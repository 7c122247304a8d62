"""Typed synchronous client for tetherd, used by the CLI and the Ansible collection.

Fork safety: a channel belongs to the process that made it. Create a client in
the process that uses it (an Ansible worker, not the ansible-playbook parent)
and never carry one across fork().
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.struct_pb2 import Struct

from .config import default_endpoint
from .v1 import messages as pb
from .v1 import tether_pb2_grpc as pb_grpc

__all__ = ["ClientConfig", "TetherClient", "TetherError", "connection_message", "pb"]

_CHANNEL_OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.enable_retries", 1),
]


class TetherError(Exception):
    """A call failed; ``code`` is the gRPC status code name (e.g. ``UNAVAILABLE``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_rpc(cls, error: grpc.RpcError) -> TetherError:
        code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = error.details() if isinstance(error, grpc.Call) else str(error)
        return cls(code.name, details or code.name)


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
            "tls_ca": env.get("TETHER_TLS_CA", ""),
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


class TetherClient:
    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config or ClientConfig.from_env()
        self._channel = self._open_channel()
        self._stub = pb_grpc.TetherStub(self._channel)
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

    def _call(self, method: Any, request: Any, timeout: float | None = None) -> Any:
        try:
            return method(request, timeout=timeout or self.config.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
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
        return self._call(self._stub.Execute, request, timeout=timeout)  # type: ignore[no-any-return]

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
        return self._call(self._stub.Exec, request, timeout=(timeout + 10) if timeout else None)  # type: ignore[no-any-return]

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
        return self._call(self._stub.PutFile, request)  # type: ignore[no-any-return]

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
        return bytes(self._call(self._stub.FetchFile, request).data)

    def bulk(self, request: pb.BulkRequest) -> Iterator[pb.BulkEvent]:
        try:
            yield from self._stub.Bulk(request, timeout=self.config.timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise TetherError.from_rpc(error) from None

    def get_job(self, job_id: str) -> pb.Job:
        return self._call(self._stub.GetJob, pb.GetJobRequest(job_id=job_id))  # type: ignore[no-any-return]

    def list_jobs(self, **filters: Any) -> pb.ListJobsResponse:
        return self._call(self._stub.ListJobs, pb.ListJobsRequest(**filters))  # type: ignore[no-any-return]

    def cancel_job(self, job_id: str) -> pb.Job:
        return self._call(self._stub.CancelJob, pb.CancelJobRequest(job_id=job_id))  # type: ignore[no-any-return]

    def list_sessions(self, host: str = "", driver: str = "") -> list[pb.Session]:
        response = self._call(self._stub.ListSessions, pb.ListSessionsRequest(host=host, driver=driver))
        return list(response.sessions)

    def close_sessions(self, session_id: str = "", host: str = "", everything: bool = False) -> int:
        request = pb.CloseSessionRequest(session_id=session_id, host=host, all=everything)
        return int(self._call(self._stub.CloseSession, request).closed)

    def info(self) -> pb.ServiceInfo:
        return self._call(self._stub.GetServiceInfo, pb.GetServiceInfoRequest())  # type: ignore[no-any-return]


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
