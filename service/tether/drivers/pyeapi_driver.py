"""pyeapi driver: Arista eAPI (JSON-RPC) over HTTPS, HTTP or EOS' local unix socket.

The pinned session is one warm eAPI connection (HTTP/1.1 keep-alive, ``_eapi_transport``):
``open`` connects and runs ``show version`` (which also proves the credentials), every later
request reuses the socket. Show commands answer data (``Structured``, eAPI's JSON encoding)
unless ``encoding: text`` is asked; a command EOS cannot answer in JSON (error 1003) falls
back to text unless JSON was asked for explicitly.

Options (``connection.options``):

- ``transport``: ``https`` (default), ``http`` or ``socket``; the port defaults to 443 or 80
  (``socket`` has none).
- ``path``: the unix socket (``socket`` only; default EOS' ``/var/run/command-api.sock``). It is
  a local file the service opens with its own rights, so the operator's key-file rule applies
  (``key_dirs``; on a TCP listener with none set, only the default path is accepted).
- ``ca_cert``: PEM text of the CA (or the device's self-signed certificate) to trust for this
  connection only. Certificates are verified and host names checked: a client can make the
  service trust what it names for its own connection; skipping verification (``verify: false``)
  works only where the operator allows it (``allow_unverified_tls``), else PERMISSION_DENIED.
- ``probe_command``: the keepalive probe (default ``show version``).

``connection.tls_client_cert`` / ``tls_client_key`` (PEM) present a client certificate over HTTPS
(the key is a secret like a password; it touches disk only in a private temp directory while
``ssl`` loads it). Not offered: configuration sessions (``configure session``, commit/abort) are
left out until they can be tested against a peer that has them (the simulator has none).
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pyeapi.client
from pyeapi.eapilib import CommandError, EapiConnection
from pyeapi.eapilib import ConnectionError as EapiConnectionError

from ..security.limits import MAX_OPTION_STRING, quote
from . import _ssh_policy, _tls_policy
from ._eapi_transport import (
    KeepAliveHttp,
    KeepAliveHttps,
    KeepAliveSocket,
    SessionShutDown,
    load_client_certificate,
    tls_context,
)
from .capabilities import ApiCalls, Commands, ConfigLines, RunningConfig, SaveConfig
from .contract import (
    AuthFailed,
    Capability,
    CommandFailed,
    CommandOptions,
    CommandTimeout,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverMeta,
    InvalidRequest,
    OutputLimitExceeded,
    SessionLost,
    SessionLostBeforeSend,
    Structured,
)

# pyeapi logs every request body at debug level (configuration lines, enable passwords) and every
# socket error with a traceback at error level; the driver reports failures itself.
logging.getLogger("pyeapi").setLevel(logging.CRITICAL)

T = TypeVar("T")
TRANSPORTS: Mapping[str, int] = {"https": 443, "http": 80, "socket": 0}
DEFAULT_TRANSPORT = "https"
DEFAULT_SOCKET = "/var/run/command-api.sock"
_OPTIONS: Mapping[str, type] = {"transport": str, "path": str, "ca_cert": str, "verify": bool, "probe_command": str}
_UNAUTHORIZED = "Unauthorized"
_NO_JSON = 1003  # eAPI: "this command does not support JSON output"
_ENCODINGS = ("", "text", "json")
_COMMAND_COUNT = re.compile(r"CLI command (\d+) of (\d+)")


def _transport_name(options: Mapping[str, Any]) -> str:
    return str(options.get("transport") or DEFAULT_TRANSPORT)


def _text_of(result: Any) -> str:
    """A text-encoded eAPI result's output."""
    return str(result.get("output", "")) if isinstance(result, dict) else str(result)


def _device_messages(output: Any) -> str:
    """The ``errors`` (and ``messages``) eAPI attached to the failing command, as text."""
    lines: list[str] = []
    for item in output if isinstance(output, list) else []:
        if isinstance(item, dict):
            lines += [str(x) for x in item.get("errors", []) + item.get("messages", [])]
    return "\n".join(lines)


class EapiCommandFailed(CommandFailed):
    """eAPI answered a JSON-RPC error (``code``: 1002 invalid command, 1003 no JSON, 1005 unauthorized, ...)."""

    def __init__(self, message: str, output: str, code: int) -> None:
        super().__init__(message, output)
        self.code = code


class PyeapiDriver(Driver, Commands, ConfigLines, RunningConfig, SaveConfig, ApiCalls):
    meta = DriverMeta(
        name="pyeapi",
        version="1.0",
        description="Arista eAPI through pyeapi over HTTPS, HTTP or EOS' unix socket (structured show output)",
        capabilities=frozenset(
            {
                Capability.COMMANDS,
                Capability.STRUCTURED_OUTPUT,
                Capability.CONFIG,
                Capability.RUNNING_CONFIG,
                Capability.SAVE_CONFIG,
                Capability.API_CALLS,
            }
        ),
        default_port=TRANSPORTS[DEFAULT_TRANSPORT],
    )

    def __init__(self, spec: ConnectionSpec) -> None:
        super().__init__(spec)
        self._node: pyeapi.client.Node | None = None
        self._http: KeepAliveHttp | KeepAliveHttps | KeepAliveSocket | None = None
        self._lifecycle = threading.Lock()
        self._closed = False

    # --- validation (no I/O) ------------------------------------------------------------------

    @classmethod
    def default_port_for(cls, options: Mapping[str, Any]) -> int:
        """The port a connection without one uses: per transport (443, 80; 0 for the socket)."""
        return TRANSPORTS.get(_transport_name(options), cls.meta.default_port)

    @classmethod
    def session_options(cls, spec: ConnectionSpec) -> Mapping[str, Any]:
        return {"platform": spec.platform, **spec.options, "transport": _transport_name(spec.options)}

    @classmethod
    def validate(cls, spec: ConnectionSpec) -> None:
        options = spec.options
        for name, value in options.items():
            expected = _OPTIONS.get(name)
            if expected is None:
                known = ", ".join(sorted(_OPTIONS))
                raise InvalidRequest(f"unknown pyeapi option {quote(name)} (known: {known})")
            if not isinstance(value, expected):
                raise InvalidRequest(f"pyeapi option {name!r} must be a {expected.__name__}: {quote(value)}")
        transport = _transport_name(options)
        if transport not in TRANSPORTS:
            raise InvalidRequest(
                f"pyeapi option 'transport' must be one of {', '.join(TRANSPORTS)}: {quote(transport)}"
            )
        if transport == "socket":
            if "path" in options and not str(options["path"]).startswith("/"):
                raise InvalidRequest(f"pyeapi option 'path' must be an absolute path: {quote(options['path'])}")
        else:
            super().validate(spec)  # a host is needed
            if "path" in options:
                raise InvalidRequest("pyeapi option 'path' is for transport 'socket' only")
            if not spec.username:
                raise InvalidRequest(f"connection.username is required for pyeapi over {transport}")
        if "ca_cert" in options:
            if transport != "https":
                raise InvalidRequest("pyeapi option 'ca_cert' is for transport 'https' only")
            if options.get("verify") is False:
                raise InvalidRequest("pyeapi options 'ca_cert' and 'verify: false' contradict each other")
            if len(options["ca_cert"]) > MAX_OPTION_STRING or "-----BEGIN CERTIFICATE-----" not in options["ca_cert"]:
                raise InvalidRequest("pyeapi option 'ca_cert' must be PEM text (-----BEGIN CERTIFICATE-----)")
        if "verify" in options and transport != "https":
            raise InvalidRequest("pyeapi option 'verify' is for transport 'https' only")
        if spec.private_key or spec.private_key_file or spec.api_token:
            raise InvalidRequest("pyeapi authenticates with connection.username and password only")
        if (spec.tls_client_cert or spec.tls_client_key) and transport != "https":
            raise InvalidRequest("connection.tls_client_cert is for transport 'https' only")
        if bool(spec.tls_client_cert) != bool(spec.tls_client_key):
            raise InvalidRequest("connection.tls_client_cert and tls_client_key go together")
        if spec.tls_client_cert and "-----BEGIN CERTIFICATE-----" not in spec.tls_client_cert:
            raise InvalidRequest("connection.tls_client_cert must be PEM text (-----BEGIN CERTIFICATE-----)")
        probe = options.get("probe_command", "")
        if "\n" in probe or "\r" in probe:
            raise InvalidRequest("pyeapi option 'probe_command' must be one line")

    # --- connection ---------------------------------------------------------------------------

    def _transport(self) -> KeepAliveHttp | KeepAliveHttps | KeepAliveSocket:
        spec = self.spec
        transport = _transport_name(spec.options)
        path = "/command-api"
        http: KeepAliveHttp | KeepAliveHttps | KeepAliveSocket
        if transport == "socket":
            socket_path = str(spec.options.get("path") or DEFAULT_SOCKET)
            if socket_path != DEFAULT_SOCKET:
                socket_path = _allowed_socket(socket_path)
            http = KeepAliveSocket(socket_path, timeout=spec.connect_timeout)
        elif transport == "https":
            verify = bool(spec.options.get("verify", True))
            if not verify:
                _tls_policy.check_unverified("pyeapi option verify: false")
            context = tls_context(str(spec.options.get("ca_cert", "")), verify)
            if spec.tls_client_cert:
                try:
                    load_client_certificate(context, spec.tls_client_cert, str(spec.tls_client_key))
                except (ssl.SSLError, OSError) as exc:
                    raise InvalidRequest(
                        f"connection.tls_client_cert / tls_client_key cannot be used: {type(exc).__name__}"
                    ) from None
            http = KeepAliveHttps(path, spec.host, spec.port, context=context, timeout=spec.connect_timeout)
        else:
            http = KeepAliveHttp(path, spec.host, spec.port, timeout=spec.connect_timeout)
        http.max_body = spec.max_output_bytes
        http.connect_timeout = spec.connect_timeout
        return http

    def open(self) -> None:
        with self._lifecycle:
            if self._closed:
                raise SessionLost(f"{self.spec.target}: the session was closed before it opened")
            http = self._http = self._transport()
        connection = EapiConnection()
        connection.transport = http
        if _transport_name(self.spec.options) != "socket":
            connection.authentication(self.spec.username, str(self.spec.password))
        self._node = pyeapi.client.Node(connection, enablepwd=str(self.spec.secret) or None)
        try:
            first = CommandOptions(read_timeout=self.spec.connect_timeout)  # the login's answer is part of connecting
            self._call(lambda node: node.run_commands([self._probe_command()], "json"), first, opening=True)
        except CommandFailed as exc:
            self.close()
            raise ConnectFailed(f"{self.spec.target}: eAPI answered the first request with an error: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _probe_command(self) -> str:
        return str(self.spec.options.get("probe_command") or "show version")

    def probe(self) -> None:
        try:
            self._call(lambda node: node.run_commands([self._probe_command()], "json"), CommandOptions(read_timeout=10))
        except CommandFailed as exc:
            raise SessionLost(f"{self.spec.target}: keepalive probe failed: {exc}") from exc

    def usable(self) -> bool:
        return self._node is not None and not self._closed

    def close(self) -> None:
        with self._lifecycle:
            self._closed = True
            http, self._http = self._http, None
            self._node = None
        if http is not None:
            http.shut_down_for_good()

    def abort(self) -> None:
        self.close()  # shutting the socket down wakes the stuck recv; nothing reconnects

    @property
    def connects(self) -> int:
        """TCP (or unix) connections this session opened: 1 while keep-alive holds."""
        http = self._http
        return http.connects if http is not None else 0

    # --- one eAPI request, errors in contract terms ---------------------------------------------

    def _call(self, request: Callable[[pyeapi.client.Node], T], options: CommandOptions, opening: bool = False) -> T:
        node, http = self._node, self._http
        if node is None or http is None:
            raise SessionLost(f"{self.spec.target}: the eAPI session is closed")
        http.set_read_timeout(options.read_timeout)
        target = self.spec.target if _transport_name(self.spec.options) != "socket" else "eAPI socket"
        try:
            return request(node)
        except CommandError as exc:
            raise EapiCommandFailed(
                f"{target} rejected the request: {_without_enable(exc.error_text)}"[:1000],
                _device_messages(exc.output),
                int(exc.error_code),
            ) from None
        except OutputLimitExceeded:
            raise
        except EapiConnectionError as exc:
            cause = exc.__context__
            sent = http.sent
            http.shutdown()
            if isinstance(cause, OutputLimitExceeded):
                raise cause from None
            if _UNAUTHORIZED in str(exc.message):
                raise AuthFailed(f"{self.spec.username}@{target}: eAPI refused the credentials (HTTP 401)") from None
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc.message)
            if http.shut or isinstance(cause, SessionShutDown):  # closed or aborted from another thread
                raise SessionLost(f"{target}: the eAPI session was closed") from None
            if isinstance(cause, ValueError) and http.answered:  # an HTTP answer that is not JSON-RPC
                failure = f"{target}: eAPI answered {http.answered} without a JSON-RPC body"[:500]
                raise (ConnectFailed(failure) if opening else CommandFailed(failure)) from None
            if opening:
                raise ConnectFailed(f"{target}: eAPI unreachable: {detail}"[:500]) from None
            if isinstance(cause, TimeoutError) and sent:
                raise CommandTimeout(f"{target}: no eAPI answer within {options.read_timeout:g}s") from None
            if not sent:
                raise SessionLostBeforeSend(f"{target}: eAPI connection lost before sending: {detail}"[:500]) from None
            raise SessionLost(f"{target}: eAPI connection lost: {detail}"[:500]) from None

    # --- capabilities -------------------------------------------------------------------------

    def run_command(self, command: str, options: CommandOptions) -> str | Structured:
        if options.encoding not in _ENCODINGS:
            raise InvalidRequest(f"operation.encoding must be text or json: {quote(options.encoding)}")
        if options.expect_prompt:
            raise InvalidRequest("operation.expect_prompt means nothing over eAPI (no prompt): leave it empty")
        if options.encoding == "text":
            return _text_of(self._call(lambda node: node.run_commands([command], "text"), options)[0])
        try:
            data = self._call(lambda node: node.run_commands([command], "json"), options)[0]
        except EapiCommandFailed as exc:
            if options.encoding == "json" or exc.code != _NO_JSON:
                raise
            return _text_of(self._call(lambda node: node.run_commands([command], "text"), options)[0])
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "sourceDetail"}
        return Structured(data)

    def run_config(self, lines: Sequence[str], options: CommandOptions) -> str:
        # JSON: a configuration line answers {} or its messages/warnings (text would echo prompts).
        results = self._call(lambda node: node.config(list(lines)), options)
        return "\n".join(_notes(result) for result in results if _notes(result))

    def running_config(self) -> str:
        options = CommandOptions(read_timeout=60.0)
        return _text_of(self._call(lambda node: node.run_commands(["show running-config"], "text"), options)[0])

    def save_config(self) -> str:
        # "write memory" is EOS' "copy running-config startup-config"; both exist on EOS.
        result = self._call(lambda node: node.run_commands(["write memory"], "text"), CommandOptions())[0]
        return _text_of(result).strip() or "saved"

    def call_api(self, requests: Sequence[Any], options: CommandOptions) -> list[Any]:
        encoding = options.encoding or "json"
        commands = [dict(item) if isinstance(item, Mapping) else str(item) for item in requests]
        results = self._call(lambda node: node.run_commands(commands, encoding), options)
        if encoding == "json":
            return [_without_source_detail(result) for result in results]
        return [_text_of(result) for result in results]


def _without_enable(message: str) -> str:
    """eAPI counts the ``enable`` pyeapi puts first ("CLI command 2 of 2"): count the caller's commands."""
    return _COMMAND_COUNT.sub(lambda m: f"CLI command {int(m[1]) - 1} of {int(m[2]) - 1}", str(message), count=1)


def _notes(result: Any) -> str:
    """What EOS said about one configuration line (``messages``, ``warnings``), as text."""
    if not isinstance(result, dict):
        return str(result)
    return "\n".join(str(x) for key in ("messages", "warnings") for x in result.get(key, []))


def _without_source_detail(result: Any) -> Any:
    if isinstance(result, dict):
        return {key: value for key, value in result.items() if key != "sourceDetail"}
    return result


def _allowed_socket(path: str) -> str:
    """A socket path other than EOS' default is a local file the service opens with its own rights:
    the operator's key-file rule applies (key_dirs)."""
    try:
        return _ssh_policy.allowed_key_file(path)
    except _ssh_policy.KeyPolicyRefused as exc:
        raise _ssh_policy.KeyPolicyRefused(
            str(exc).replace("connection.private_key_file", "pyeapi option 'path'").split(": send")[0]
        ) from None
