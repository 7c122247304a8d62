"""The HTTP connection under pyeapi, kept warm and bounded.

pyeapi closes its ``http.client`` connection after every request (``EapiConnection.send``
ends with ``transport.close()``), so each call would pay a TCP (and TLS) handshake. These
transports make that ``close()`` a no-op and keep the socket for the next request (HTTP/1.1
keep-alive, as eAPI serves it): the warm connection is the pinned session. They also

- read at most ``max_output_bytes`` of a response body (pyeapi reads it whole);
- check an idle socket before each request: one the device closed meanwhile (it is readable:
  EOF) is dropped and a new one opened before any byte of the request is sent, so ``sent``
  says whether the device may have seen the request;
- count the connections they open (``connects``), and refuse to reconnect once shut down
  (an abort from another thread must not be undone by the stuck call's retry).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import socket
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any

from pyeapi.eapilib import HttpConnection, HttpsConnection, SocketConnection

from .contract import OutputLimitExceeded


@dataclass
class BufferedResponse:
    """What pyeapi reads from a response: status, reason and the (bounded) body."""

    status: int
    reason: str
    body: bytes

    def read(self) -> bytes:
        return self.body


class SessionShutDown(OSError):
    """The session was closed (perhaps from another thread): no new connection is opened."""


class _KeepAlive(http.client.HTTPConnection):
    """Mixed into pyeapi's connection classes (which subclass ``http.client.HTTPConnection``)."""

    max_body = 0
    connect_timeout = 15.0
    read_timeout = 30.0
    connects = 0
    sent = False  # whether the current request reached the socket
    answered = ""  # "HTTP <status> <reason>" of the last response read ("" before any)
    shut = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # pyeapi's signatures: (path, host, port, ...)
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        if self.shut:
            raise SessionShutDown("the eAPI session is closed")
        self.timeout = self.connect_timeout
        super().connect()
        self.connects += 1
        self.sock.settimeout(self.read_timeout)

    def close(self) -> None:
        """pyeapi calls this after every request: keep the connection for the next one."""

    def shutdown(self) -> None:
        """Close the socket for real (any thread); later requests open a new one unless ``final``."""
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv blocked in another thread
        http.client.HTTPConnection.close(self)

    def shut_down_for_good(self) -> None:
        self.shut = True
        self.shutdown()

    def set_read_timeout(self, seconds: float) -> None:
        self.read_timeout = seconds
        if self.sock is not None:
            self.sock.settimeout(seconds)

    def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        self.sent, self.answered = False, ""
        if self.sock is not None and _closed_by_peer(self.sock):
            self.shutdown()  # nothing of this request was sent: reconnect below
        super().putrequest(method, url, *args, **kwargs)

    def endheaders(self, message_body: Any = None, **kwargs: Any) -> None:
        try:
            super().endheaders(message_body, **kwargs)
        finally:
            self.sent = self.sock is not None

    def getresponse(self) -> Any:
        response = super().getresponse()
        try:
            body = response.read(self.max_body + 1)
        except BaseException:
            self.shutdown()
            raise
        if len(body) > self.max_body or not response.isclosed():
            self.shutdown()  # the rest is still on its way: this connection cannot carry another request
            raise OutputLimitExceeded("the eAPI response", self.max_body, "; the connection was closed")
        if response.will_close:
            self.shutdown()
        self.answered = f"HTTP {response.status} {response.reason}"
        return BufferedResponse(response.status, response.reason, body)


def _closed_by_peer(sock: socket.socket) -> bool:
    """An idle keep-alive socket is readable only when the peer closed it (or sent junk)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class KeepAliveHttp(_KeepAlive, HttpConnection):  # type: ignore[misc]  # pyeapi is untyped
    pass


class KeepAliveHttps(_KeepAlive, HttpsConnection):  # type: ignore[misc]  # pyeapi is untyped
    pass


class KeepAliveSocket(_KeepAlive, SocketConnection):  # type: ignore[misc]  # pyeapi is untyped
    def connect(self) -> None:
        if self.shut:
            raise SessionShutDown("the eAPI session is closed")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(self.read_timeout)
        self.sock = sock
        self.connects += 1


def load_client_certificate(context: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """Present a client certificate. ``ssl`` reads certificates only from files: both go to a private
    directory (0700, files 0600) that is removed as soon as they are loaded."""
    with tempfile.TemporaryDirectory(prefix="tether-tls-") as directory:
        cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
        for path, text in ((cert_path, cert_pem), (key_path, key_pem)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
        context.load_cert_chain(cert_path, key_path)


def tls_context(ca_cert: str, verify: bool = True) -> ssl.SSLContext:
    """Certificates verified, host name checked: against the system's CAs, or only ``ca_cert``
    (PEM: the device's own self-signed certificate or its CA) when the client gives one.
    ``verify=False`` (allowed by the operator only: ``_tls_policy``) checks nothing."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if not ca_cert:
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.load_verify_locations(cadata=ca_cert)
    return context
