"""A loopback TCP listener that counts the connections it is offered: proof of (no) I/O."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class AcceptCounter:
    """Accepts on 127.0.0.1 (a free port), closes each connection at once and counts it."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.host, self.port = "127.0.0.1", int(self._socket.getsockname()[1])
        self.accepts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="accept-counter", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepts += 1
            connection.close()

    def settled_accepts(self, grace: float = 0.3) -> int:
        """The count once anything already on its way has had time to arrive."""
        time.sleep(grace)
        return self.accepts

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._socket.close()

    def __enter__(self) -> AcceptCounter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def established_to(port: int) -> int:
    """Established TCP connections on this machine whose remote end is ``port`` (from /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                        count += 1
        except FileNotFoundError:
            continue
    return count
