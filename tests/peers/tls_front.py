"""A TLS front for a plain TCP peer: eAPI over HTTPS for the simulated Arista switches.

fake-switches serves eAPI over plain HTTP only (Twisted's TLS needs pyOpenSSL), so a test
that needs HTTPS puts this in front: it terminates TLS with a throwaway self-signed
certificate for 127.0.0.1/localhost (tests/tls.py) and forwards the bytes to the backend.
One thread accepts, one thread per connection pipes; ``stop()`` closes everything.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from pathlib import Path

from tests.tls import make_cert


class TlsFront:
    def __init__(self, backend: tuple[str, int], directory: Path, client_ca: Path | None = None) -> None:
        """``client_ca``: require a client certificate signed by it (or that self-signed certificate)."""
        self.backend = backend
        self.cert_path, key_path = make_cert(directory)
        self.cert_pem = self.cert_path.read_text()
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(self.cert_path, key_path)
        if client_ca is not None:
            self._context.verify_mode = ssl.CERT_REQUIRED
            self._context.load_verify_locations(cafile=str(client_ca))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self.handshakes_failed = 0
        threading.Thread(target=self._accept, name="tls-front", daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            self._track(raw)
            threading.Thread(target=self._serve, args=(raw,), name="tls-front-conn", daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        # Small writes each way (headers, then body): without NODELAY, Nagle meets delayed ACKs (+40 ms a call).
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self._context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            raw.close()
            return
        self._track(tls)
        with tls, socket.create_connection(self.backend, timeout=10) as backend:
            self._track(backend)
            backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls.settimeout(30)
            with contextlib.suppress(OSError):
                while True:
                    ready = [tls] if tls.pending() else select.select([tls, backend], [], [], 30)[0]
                    if not ready:
                        return
                    if tls in ready:
                        data = tls.recv(65536)
                        if not data:
                            return
                        backend.sendall(data)
                    if backend in ready:
                        data = backend.recv(65536)
                        if not data:
                            return
                        tls.sendall(data)

    def stop(self) -> None:
        self._stopped = True
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in [self._listener, *sockets]:
            with contextlib.suppress(OSError):
                sock.close()
