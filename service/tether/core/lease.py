"""LeaseChannel: a pinned session's raw CLI channel, lent to one client at a time.

The lease is one unit of work on the session's own thread, like an operation: while
it is held, everything else for that session (operations, keepalive probes, other
leases) queues behind it, which serialises the clients of a device. The service only
moves bytes: it never runs a client's regex or code. Prompt and error matching is
the client's (tether.fleet.network_cli does it in the user's own process, with the
vendor's terminal plugin).

Bounds: input at most ``MAX_INPUT_MESSAGE`` bytes per message and ``MAX_PENDING_INPUT``
bytes not yet written; output in chunks of at most ``OUTPUT_CHUNK`` bytes with at most
``OUTPUT_CHUNKS_IN_FLIGHT`` of them not yet sent to the client (past that the session
thread stops reading the device, and SSH flow control holds the device back); an idle
timeout (no input) and a maximum duration, both capped by the service. On release the
driver hands the session back clean (``ChannelLease.release``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import grpc

from ..drivers.capabilities import RawChannel, require, use
from ..drivers.contract import Capability, Driver, InvalidRequest
from ..security.limits import check_seconds
from ..v1 import messages as pb
from .executor import Executor, Failure, classify
from .pool import SessionPool
from .session import SessionKey

MAX_INPUT_MESSAGE = 64 * 1024
MAX_PENDING_INPUT = 1024 * 1024
OUTPUT_CHUNK = 32 * 1024
OUTPUT_CHUNKS_IN_FLIGHT = 64
DEFAULT_WAIT = 60.0
DEFAULT_IDLE = 300.0
MAX_IDLE = 3600.0
DEFAULT_DURATION = 3600.0
MAX_DURATION = 86400.0
_GRACE = 30.0  # past the lease's own end: only a hung driver takes that long to hand the session back


def _granted(asked: float, default: float, cap: float, name: str) -> float:
    """A finite, non-negative number of seconds (checked as every timeout is), capped by the service."""
    return min(check_seconds(f"open.{name}", asked) or default, cap)


class _Bridge:
    """What the asyncio handler and the session thread share during one lease."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.events: asyncio.Queue[pb.ChannelEvent | None] = asyncio.Queue()
        self.credits = threading.Semaphore(OUTPUT_CHUNKS_IN_FLIGHT)
        self.stopped = threading.Event()
        self.stop_reason = ""
        self.failure: Failure | None = None
        self.yield_asked = threading.Event()
        self._input: deque[bytes] = deque()
        self._pending = 0
        self._lock = threading.Lock()
        self.last_input = time.monotonic()
        self._closed = False
        self.wake_read, self._wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self._wake_write, False)

    def wake(self) -> None:
        with self._lock:
            if not self._closed:
                with contextlib.suppress(BlockingIOError, OSError):
                    os.write(self._wake_write, b"x")

    def add_input(self, data: bytes) -> None:
        with self._lock:
            if self._pending + len(data) > MAX_PENDING_INPUT:
                raise Failure("RESOURCE_EXHAUSTED", f"more than {MAX_PENDING_INPUT} bytes of input not yet written")
            self._input.append(data)
            self._pending += len(data)
            self.last_input = time.monotonic()
        self.wake()

    def take_input(self) -> bytes:
        with self._lock:
            data = b"".join(self._input)
            self._input.clear()
            self._pending = 0
        return data

    def stop(self, reason: str, failure: Failure | None = None) -> None:
        if not self.stopped.is_set():
            self.stop_reason = reason
            self.failure = failure
            self.stopped.set()
        self.wake()

    def emit(self, event: pb.ChannelEvent | None) -> None:
        self.loop.call_soon_threadsafe(self.events.put_nowait, event)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        for fd in (self.wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)


class ChannelLeases:
    def __init__(self, executor: Executor, pool: SessionPool) -> None:
        self.executor = executor
        self.pool = pool
        self._background: set[asyncio.Future[Any]] = set()

    def _waiters(self, key: SessionKey) -> int:
        session = self.pool._sessions.get(key)
        return 0 if session is None else max(0, session.queued - 1)

    def _hold(
        self, driver: Driver, bridge: _Bridge, key: SessionKey, opened: pb.ChannelOpened, wait_deadline: float
    ) -> str:
        """The lease itself, on the session's thread: bytes both ways until it ends. Returns why it ended."""
        if time.monotonic() > wait_deadline:
            raise TimeoutError("timed out waiting for the session (earlier work or leases held it)")
        lease = use(driver, RawChannel).lease_channel()
        try:
            bridge.emit(pb.ChannelEvent(opened=opened))
            poller = select.poll()
            poller.register(lease.fileno(), select.POLLIN)
            poller.register(bridge.wake_read, select.POLLIN)
            ends = time.monotonic() + opened.max_duration
            while True:
                if bridge.stopped.is_set():
                    return bridge.stop_reason
                if bridge.yield_asked.is_set():
                    bridge.yield_asked.clear()
                    if self._waiters(key):
                        return "yielded to work waiting for the session"
                    bridge.emit(pb.ChannelEvent(still_held=True))
                data = bridge.take_input()
                if data:
                    lease.write(data)
                output = lease.read(OUTPUT_CHUNK)
                if output:
                    while not bridge.credits.acquire(timeout=0.5):  # the client is not reading: wait for it
                        if bridge.stopped.is_set() or time.monotonic() > bridge.last_input + opened.idle_timeout:
                            return bridge.stop_reason or "the client stopped reading"
                    bridge.emit(pb.ChannelEvent(output=output))
                    continue
                now = time.monotonic()
                left = min(ends, bridge.last_input + opened.idle_timeout) - now
                if left <= 0:
                    return "maximum duration reached" if now >= ends else "idle timeout"
                poller.poll(left * 1000)
                with contextlib.suppress(BlockingIOError, OSError):
                    os.read(bridge.wake_read, 4096)
        finally:
            lease.release()

    async def serve(
        self, requests: AsyncIterator[pb.ChannelRequest], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.ChannelEvent]:
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("request") != "open":
            raise InvalidRequest("the first message of LeaseChannel must be open")
        request = first.open
        opened = pb.ChannelOpened(
            idle_timeout=_granted(request.idle_timeout, DEFAULT_IDLE, MAX_IDLE, "idle_timeout"),
            max_duration=_granted(request.max_duration, DEFAULT_DURATION, MAX_DURATION, "max_duration"),
        )
        wait = _granted(request.wait_timeout, DEFAULT_WAIT, MAX_DURATION, "wait_timeout")
        driver, spec, _redact = await self.executor.validate.connection(request.driver, request.connection)
        require(driver, spec, frozenset({Capability.CHANNEL_LEASE}))
        key = self.pool.key_for(driver, spec)
        bridge = _Bridge(asyncio.get_running_loop())
        submitted = time.monotonic()
        wait_deadline = submitted + wait

        def hold(d: Driver) -> str:
            opened.queued_ms = (time.monotonic() - submitted) * 1000
            return self._hold(d, bridge, key, opened, wait_deadline)

        self.pool.counters["channel_leases"] += 1
        run = asyncio.ensure_future(self.pool.run(driver, spec, hold, wait_deadline + opened.max_duration + _GRACE))
        run.add_done_callback(lambda _f: bridge.events.put_nowait(None))
        pump = asyncio.ensure_future(self._pump(requests, bridge))
        self._background.update((run, pump))
        for task in (run, pump):
            task.add_done_callback(self._background.discard)

        def finished(_run: asyncio.Future[Any]) -> None:
            pump.cancel()
            bridge.close()

        run.add_done_callback(finished)
        try:
            while (event := await bridge.events.get()) is not None:
                if event.WhichOneof("event") == "opened":
                    session = self.pool._sessions.get(key)
                    event.opened.session_id = session.id if session else ""
                    event.opened.session_reused = bool(session and session.use_count)
                yield event
                if event.WhichOneof("event") == "output":
                    bridge.credits.release()
        finally:
            bridge.stop("the client went away")
        try:
            reason = run.result().value
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status
            failure = classify(exc)
            raise Failure(failure.code, _redact(failure.message)) from None
        if bridge.failure is not None:
            raise bridge.failure
        yield pb.ChannelEvent(closed=reason)

    async def _pump(self, requests: AsyncIterator[pb.ChannelRequest], bridge: _Bridge) -> None:
        """Client messages into the bridge; the end of the client's stream releases the lease."""
        try:
            async for message in requests:
                kind = message.WhichOneof("request")
                if kind == "input":
                    if len(message.input) > MAX_INPUT_MESSAGE:
                        raise Failure(
                            "INVALID_ARGUMENT", f"input holds {len(message.input)} bytes; at most {MAX_INPUT_MESSAGE}"
                        )
                    bridge.add_input(message.input)
                elif kind == "release":
                    bridge.stop("released by the client")
                    return
                elif kind == "yield_if_waited_on":
                    bridge.yield_asked.set()
                    bridge.wake()
                else:
                    raise Failure("INVALID_ARGUMENT", f"unexpected {kind or 'empty'} message after open")
            bridge.stop("released by the client")
        except Failure as failure:
            bridge.stop(failure.message, failure)
        except (grpc.RpcError, asyncio.CancelledError):
            bridge.stop("the client went away")
