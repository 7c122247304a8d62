"""Synchronous client side of LeaseChannel: a pinned session's raw CLI channel as a byte pipe.

One reader thread drains the response stream into a buffer; ``read`` waits on it with a
deadline. Output is buffered here without limit only as far as the service sends it, and
the service sends at most a bounded number of chunks ahead of what this side has taken.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import grpc

from .client import TetherClient, TetherError, _connection
from .v1 import messages as pb

__all__ = ["ChannelLeaseClient", "LeaseEnded"]

MAX_INPUT_MESSAGE = 64 * 1024


class LeaseEnded(TetherError):
    """The lease is over (released, idle, yielded or failed); ``code`` says how."""


class ChannelLeaseClient:
    def __init__(
        self,
        client: TetherClient,
        connection: Mapping[str, Any] | pb.Connection,
        driver: str = "netmiko",
        wait_timeout: float = 0.0,
        idle_timeout: float = 0.0,
        max_duration: float = 0.0,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self._requests: queue.SimpleQueue[pb.ChannelRequest | None] = queue.SimpleQueue()
        self._requests.put(
            pb.ChannelRequest(
                open=pb.ChannelOpen(
                    driver=driver,
                    connection=_connection(connection),
                    wait_timeout=wait_timeout,
                    idle_timeout=idle_timeout,
                    max_duration=max_duration,
                    labels=dict(labels or {}),
                )
            )
        )
        self._buffer = bytearray()
        self._ready = threading.Condition()
        self._ended: LeaseEnded | None = None
        self._opened: pb.ChannelOpened | None = None
        self._held_answers: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._call = client._routes.method("LeaseChannel")(self._outgoing(), metadata=client._metadata)
        self._reader = threading.Thread(target=self._read_loop, name="tether-lease-reader", daemon=True)
        self._reader.start()

    def _outgoing(self) -> Iterator[pb.ChannelRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def _read_loop(self) -> None:
        ended = LeaseEnded("CANCELLED", "the lease stream ended")
        try:
            for event in self._call:
                kind = event.WhichOneof("event")
                if kind == "output":
                    with self._ready:
                        self._buffer += event.output
                        self._ready.notify_all()
                elif kind == "opened":
                    with self._ready:
                        self._opened = event.opened
                        self._ready.notify_all()
                elif kind == "still_held":
                    self._held_answers.put(True)
                elif kind == "closed":
                    ended = LeaseEnded("LEASE_ENDED", event.closed)
        except grpc.RpcError as error:
            failure = TetherError.from_rpc(error)
            ended = LeaseEnded(failure.code, failure.message)
        with self._ready:
            self._ended = ended
            self._ready.notify_all()
        self._held_answers.put(False)
        self._requests.put(None)  # ends the request stream gRPC is still consuming

    def wait_opened(self, timeout: float) -> pb.ChannelOpened:
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._opened is None:
                if self._ended is not None:
                    raise self._ended
                left = deadline - time.monotonic()
                if left <= 0:
                    self.release()
                    raise LeaseEnded("DEADLINE_EXCEEDED", f"no channel lease within {timeout:g}s")
                self._ready.wait(left)
            return self._opened

    @property
    def ended(self) -> LeaseEnded | None:
        return self._ended

    def write(self, data: bytes) -> None:
        if self._ended is not None:
            raise self._ended
        for start in range(0, len(data), MAX_INPUT_MESSAGE):
            self._requests.put(pb.ChannelRequest(input=bytes(data[start : start + MAX_INPUT_MESSAGE])))

    def read(self, timeout: float | None, max_bytes: int = 65536) -> bytes:
        """What the device sent, waiting up to ``timeout`` seconds for something (None: no wait).
        b"" when nothing came in time; LeaseEnded when the lease is over and nothing is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._ready:
            while not self._buffer:
                if self._ended is not None:
                    raise self._ended
                left = 0.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return b""
                self._ready.wait(left)
            data = bytes(self._buffer[:max_bytes])
            del self._buffer[:max_bytes]
            return data

    def yield_if_waited_on(self, timeout: float = 10.0) -> bool:
        """Ends the lease when other work waits for the session. True when it ended."""
        if self._ended is not None:
            return True
        self._requests.put(pb.ChannelRequest(yield_if_waited_on=True))
        try:
            held = self._held_answers.get(timeout=timeout)
        except queue.Empty:
            return False
        if not held:
            self._reader.join(timeout)
        return not held

    def release(self, timeout: float = 10.0) -> None:
        """End the lease; the service hands the session back clean. Waits (bounded) for the end."""
        if self._ended is None:
            self._requests.put(pb.ChannelRequest(release=True))
            self._requests.put(None)
        self._reader.join(timeout)
        if self._reader.is_alive():
            self._call.cancel()
