"""One gate for every read a netmiko session makes: the output cap, and no reading after an abort.

netmiko reads through ``conn.read_channel()`` everywhere (send_command, send_config_set,
read_until_pattern, login), and so does the channel-woken fast path. Wrapping that one method
bounds what any of them can accumulate, whichever path a platform takes, and lets a session
closed from another thread fail its reads at once instead of polling until a read timeout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from netmiko.base_connection import BaseConnection

from .contract import OutputLimitExceeded


def _size(data: str) -> int:
    return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))


class ReadGuard:
    def __init__(self, max_output_bytes: int) -> None:
        self.limit = max_output_bytes
        self.aborted = False
        self._what = ""  # what is being counted ("" while nothing is)
        self._used = 0

    def install(self, conn: BaseConnection) -> None:
        read: Callable[[], str] = conn.read_channel

        def guarded_read_channel() -> str:
            if self.aborted:
                raise EOFError("the session was closed")
            data = read()
            if self._what and data:
                self._used += _size(data)
                if self._used > self.limit:
                    raise OutputLimitExceeded(self._what, self.limit)
            return data

        conn.read_channel = guarded_read_channel  # type: ignore[method-assign]

    @contextlib.contextmanager
    def counting(self, what: str) -> Iterator[None]:
        """Count reads against the cap for one command (``what`` names it in the error)."""
        self._what, self._used = what, 0
        try:
            yield
        finally:
            self._what = ""
