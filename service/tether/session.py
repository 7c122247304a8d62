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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from .drivers.contract import ConnectionSpec, Driver, SessionLost

T = TypeVar("T")

_session_numbers = itertools.count(1)


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
        credentials = "\0".join((spec.password, spec.private_key, spec.private_key_file, spec.secret))
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
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tether-{self.id}")
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
        started = threading.Event()

        def run() -> T:
            started.set()
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
            future = self._executor.submit(run)
        except RuntimeError as exc:  # executor shut down by a concurrent close
            self.queued -= 1
            raise SessionClosedBeforeRun(self.id) from exc
        try:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            if not started.is_set() and future.cancel():
                raise TimeoutError("timed out waiting behind earlier work on the same session") from None
            # The driver is stuck inside a call: this session can no longer be trusted.
            self.close("hung", abort=True)
            raise TimeoutError("timed out inside the driver; the session was closed") from None
        finally:
            self.queued -= 1

    def close(self, reason: str, abort: bool = False) -> bool:
        """Close once; returns False when already closed. With ``abort``, the driver is
        closed from a helper thread so a call stuck on the session thread is unblocked."""
        with self._closing:
            if self.closed:
                return False
            self.state = SessionState.CLOSED
            self.close_reason = reason
        if abort:
            threading.Thread(target=self.driver.close, name=f"tether-abort-{self.id}", daemon=True).start()
        else:
            self._executor.submit(self.driver.close)
        self._executor.shutdown(wait=False, cancel_futures=False)
        return True

    def mark_lost(self, error: SessionLost) -> None:
        self.close(f"lost: {error}")
