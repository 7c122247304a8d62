"""One pinned session: a driver instance and the single thread that drives it.

Every call into the driver runs on the session's own worker thread, submitted
as one unit per operation, so operations on one session run strictly in
arrival order while sessions run in parallel. A driver call that overruns its
deadline only costs its own session: the session is marked lost, the driver is
closed from outside to unblock the thread, and later work gets a fresh session.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from ..drivers.contract import ConnectionSpec, Driver

T = TypeVar("T")
log = logging.getLogger("tether.session")

_session_numbers = itertools.count(1)
_ABORT_THREADS = 4
_ABORT_THREAD_IDLE_SECONDS = 2.0


class SessionState(StrEnum):
    CONNECTING = "connecting"
    IDLE = "idle"
    BUSY = "busy"
    CLOSED = "closed"


@dataclass(frozen=True)
class SessionKey:
    """Identifies a session that may be reused. Holds no secret: credentials are
    reduced to a keyed hash under a per-process secret, so a warm session only
    ever serves a request carrying exactly the same credentials."""

    driver: str
    host: str
    port: int
    username: str
    credentials_digest: str
    options_digest: str

    @classmethod
    def for_spec(cls, driver: type[Driver], spec: ConnectionSpec, process_secret: bytes) -> SessionKey:
        credentials = "\0".join((*spec.secrets(), spec.private_key_file, spec.tls_client_cert))
        digest = hmac.new(process_secret, credentials.encode(), hashlib.sha256).hexdigest()
        options = json.dumps(dict(driver.session_options(spec)), sort_keys=True, default=str)
        return cls(
            driver=driver.meta.name,
            host=spec.host,
            port=spec.port,
            username=spec.username,
            credentials_digest=digest,
            options_digest=hashlib.sha256(options.encode()).hexdigest(),
        )

    @property
    def fingerprint(self) -> str:
        text = "\0".join(
            (self.driver, self.host, str(self.port), self.username, self.credentials_digest, self.options_digest)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class SessionClosedBeforeRun(Exception):
    """Work reached a session that had already closed; it never touched the device."""


class DriverHung(TimeoutError):
    """The deadline passed while the driver was inside a call: the session cannot be trusted.

    ``call`` is that call's future: only that call is aborted, never one that started after it."""

    def __init__(self, message: str, call: concurrent.futures.Future[Any]) -> None:
        super().__init__(message)
        self.call = call


class _Worker:
    """The session's own thread, running submitted calls one at a time, in order.

    A daemon thread rather than a ThreadPoolExecutor: a driver stuck in a call
    must not keep tetherd from exiting (executor threads are joined at exit).
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._queue = queue.SimpleQueue()
        self._stopped = False
        self.current: concurrent.futures.Future[Any] | None = None  # the call running now
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], T]) -> concurrent.futures.Future[T]:
        if self._stopped:
            raise RuntimeError("worker stopped")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((call, future))
        return future

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            call, future = item
            if not future.set_running_or_notify_cancel():
                continue
            self.current = future
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)
            finally:
                self.current = None
            # An idle session must not keep its last result (a whole output) alive while it waits.
            del item, call, future


class _Aborter:
    """Runs driver aborts (severing a stuck call from outside) on a few daemon threads.

    A storm of deadlines can hang many sessions at once: their aborts share at most
    ``_ABORT_THREADS`` threads, which exit once idle, instead of one thread each.
    """

    def __init__(self, max_threads: int, idle_seconds: float) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._max_threads = max_threads
        self._idle_seconds = idle_seconds
        self._threads = 0
        self._waiting = 0

    def run(self, call: Callable[[], None]) -> None:
        with self._lock:
            self._queue.put(call)
            if self._waiting == 0 and self._threads < self._max_threads:
                self._threads += 1
                threading.Thread(target=self._loop, name="tether-abort", daemon=True).start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._waiting += 1
            try:
                call = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._waiting -= 1
                    if self._queue.empty():  # else a call arrived while this thread counted as waiting
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._waiting -= 1
            try:
                call()
            except Exception:
                log.exception("aborting a driver failed")


_aborter = _Aborter(_ABORT_THREADS, _ABORT_THREAD_IDLE_SECONDS)


class PinnedSession:
    def __init__(self, key: SessionKey, driver_class: type[Driver], spec: ConnectionSpec) -> None:
        self.id = f"s{next(_session_numbers)}-{key.fingerprint[:8]}"
        self.key = key
        self.spec = spec
        self.driver = driver_class(spec)
        self.state = SessionState.CONNECTING
        self.opened = False
        self.created = time.time()
        self.last_used = self.created
        self.last_activity = time.monotonic()
        self.use_count = 0
        self.keepalive_failures = 0
        self.queued = 0
        self.close_reason = ""
        self._worker = _Worker(f"tether-{self.id}")
        self._closing = threading.Lock()

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    @property
    def idle(self) -> bool:
        return self.state is SessionState.IDLE and self.queued == 0

    async def call(self, work: Callable[[Driver], T], deadline: float | None) -> T:
        """Run ``work(driver)`` on this session's thread, after everything queued before it."""
        if self.closed:
            raise SessionClosedBeforeRun(self.id)

        def run() -> T:
            if self.closed:
                raise SessionClosedBeforeRun(self.id)
            self.state = SessionState.BUSY
            try:
                return work(self.driver)
            finally:
                self.last_activity = time.monotonic()
                if not self.closed:
                    self.state = SessionState.IDLE

        self.queued += 1
        try:
            future = self._worker.submit(run)
        except RuntimeError as exc:  # worker stopped by a concurrent close
            self.queued -= 1
            raise SessionClosedBeforeRun(self.id) from exc
        if deadline is None:
            try:
                return await asyncio.wrap_future(future)
            finally:
                self.queued -= 1
        loop = asyncio.get_running_loop()
        limit = asyncio.timeout_at(loop.time() + max(0.0, deadline - time.monotonic()))
        try:
            async with limit:
                return await asyncio.wrap_future(future)
        except TimeoutError:
            if not limit.expired():
                raise  # the work itself raised TimeoutError: its own failure, not a deadline
            # The worker marks work running before it starts, so cancel() succeeds only for queued work.
            if future.cancel():
                raise TimeoutError("timed out waiting behind earlier work on the same session") from None
            if future.done():  # it finished just as the deadline passed
                return future.result()
            raise DriverHung("timed out inside the driver; the session was closed", future) from None
        finally:
            self.queued -= 1

    def close(
        self, reason: str, hung: concurrent.futures.Future[Any] | None = None
    ) -> concurrent.futures.Future[None] | None:
        """Close once; None when already closed, else a future done when the driver is closed.

        Queued work behind the close finds the session closed and never runs. The driver is
        always closed on the session's own thread, after the call under way (if any), and the
        thread then ends: whatever that call opened meanwhile is closed too. With ``hung`` (a call
        that overran its deadline) still running, the driver is first aborted from a helper
        thread, which unblocks it. Work that started after it checked the session open before
        the close, so it is never the one aborted."""
        with self._closing:
            if self.closed:
                return None
            self.state = SessionState.CLOSED
            self.close_reason = reason
        if hung is not None and self._worker.current is hung:
            _aborter.run(self.driver.abort)
        done = self._worker.submit(self.driver.close)
        self._worker.stop()
        return done
