"""The pool of pinned sessions: lookup by key, LRU cap, idle expiry, keepalive.

Counters kept here are the evidence for every claim about session reuse
(connections_opened, sessions_closed_*), exposed through GetServiceInfo.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..drivers.contract import (
    AuthFailed,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    DriverError,
    SessionLost,
    SessionLostBeforeSend,
)
from ..v1 import messages as pb
from .events import EventBus
from .session import DriverHung, PinnedSession, SessionClosedBeforeRun, SessionKey

T = TypeVar("T")
log = logging.getLogger("tether.pool")

# How often a session may be found closed under a request before giving up.
_MAX_SESSION_ATTEMPTS = 3
_KEY_CACHE_SIZE = 4096
# A session nobody waits for and that never opened is closed after this long.
_UNOPENED_GRACE_SECONDS = 5.0
_LOGIN_DETAIL_CHARS = 300


class PoolExhausted(Exception):
    """Every session slot is busy; none could be evicted."""


@dataclass(frozen=True)
class PoolLimits:
    max_sessions: int = 1000
    idle_timeout: float = 600.0
    probe_timeout: float = 10.0
    tick: float = 1.0


@dataclass
class Outcome(Generic[T]):
    value: T
    session: PinnedSession
    reused: bool
    connect_ms: float
    run_ms: float
    queued_ms: float


def _login_failure(target: str, exc: Exception) -> str:
    """A driver's unexpected exception during login, in its own words, without a traceback."""
    text = " ".join(str(exc).split())[:_LOGIN_DETAIL_CHARS]
    log.warning("login failed", extra={"target": target, "error": type(exc).__name__})
    return f"{target}: login failed: {type(exc).__name__}" + (f": {text}" if text else "")


class SessionPool:
    def __init__(self, limits: PoolLimits, events: EventBus | None = None) -> None:
        self.limits = limits
        self.events = events if events is not None else EventBus(retention=1024)
        self.counters: Counter[str] = Counter()
        self._secret = secrets.token_bytes(32)
        self._sessions: dict[SessionKey, PinnedSession] = {}
        self._maintenance: asyncio.Task[None] | None = None
        self._closing: set[concurrent.futures.Future[None]] = set()
        self._keys: dict[int, tuple[ConnectionSpec, SessionKey]] = {}

    def key_for(self, driver: type[Driver], spec: ConnectionSpec) -> SessionKey:
        # Specs are reused across calls (the executor caches them), so is their key.
        cached = self._keys.get(id(spec))
        if cached is not None and cached[0] is spec:
            return cached[1]
        key = SessionKey.for_spec(driver, spec, self._secret)
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[id(spec)] = (spec, key)
        return key

    def start(self) -> None:
        self._maintenance = asyncio.get_running_loop().create_task(self._maintain(), name="tether-pool-maintenance")

    @property
    def sessions(self) -> list[PinnedSession]:
        return list(self._sessions.values())

    @property
    def open_count(self) -> int:
        return len(self._sessions)

    async def run(
        self,
        driver: type[Driver],
        spec: ConnectionSpec,
        work: Callable[[Driver], T],
        deadline: float | None,
        pinned: bool = True,
    ) -> Outcome[T]:
        """Run ``work`` on the session for ``spec``, opening one if needed.

        A warm session found dead before any byte of the work reached the device (the device
        restarted since the last call) is replaced once, transparently: the result then says
        ``reused=False``. Work that may have partly run is never repeated."""
        retried_dead = False
        for _attempt in range(_MAX_SESSION_ATTEMPTS):
            session, reused = self._acquire(driver, spec) if pinned else (self._new(driver, spec, None), False)
            try:
                return await self._run_on(session, reused, work, deadline)
            except SessionClosedBeforeRun:
                self._close(session, "retired")  # a no-op when it was already closed
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError("timed out waiting for a session: the ones found kept closing") from None
                continue
            except SessionLostBeforeSend:
                if not reused or retried_dead:
                    raise
                retried_dead = True
                self.counters["retries_after_dead_session"] += 1
                continue
            finally:
                if not pinned:
                    self._close(session, "oneshot")
        raise SessionLost("the session kept closing before the request could run on it")

    async def _run_on(
        self, session: PinnedSession, reused: bool, work: Callable[[Driver], T], deadline: float | None
    ) -> Outcome[T]:
        submitted = time.monotonic()
        times: dict[str, float] = {}

        def timed(driver: Driver) -> T:
            times["start"] = time.monotonic()
            if session.opened and not driver.usable():
                raise SessionClosedBeforeRun(session.id)  # retired by its driver after earlier work
            if not session.opened:
                try:
                    driver.open()
                except BaseException as exc:
                    # Whatever went wrong, this session never served anything: it goes, and no
                    # later request may take it for a warm one.
                    session.close("connect failed")
                    if isinstance(exc, DriverError) or not isinstance(exc, Exception):
                        raise
                    raise ConnectFailed(_login_failure(session.spec.target, exc)) from exc
                session.opened = True
                self.counters["connections_opened"] += 1
                self.events.session(pb.EVENT_KIND_SESSION_OPENED, session)
                self.events.devices.set(session, pb.DEVICE_STATE_ONLINE, "session opened")
                times["connected"] = time.monotonic()
            value = work(driver)
            times["end"] = time.monotonic()
            return value

        try:
            value = await session.call(timed, deadline)
        except DriverError as exc:
            if not session.opened:  # the login failed (the session closed itself)
                self.counters["connections_failed"] += 1
                self._forget(session)
                self.events.session(pb.EVENT_KIND_SESSION_FAILED, session, str(exc))
                state = pb.DEVICE_STATE_ERROR if isinstance(exc, AuthFailed) else pb.DEVICE_STATE_OFFLINE
                self.events.devices.set(session, state, str(exc))
            elif isinstance(exc, SessionLost):
                self.events.devices.set(session, pb.DEVICE_STATE_OFFLINE, f"session lost: {exc}")
                self._close(session, f"lost: {exc}")
            raise
        except DriverHung as exc:
            self._close(session, "hung", hung=exc.call)
            raise
        session.use_count += 1
        session.last_used = time.time()
        self.events.devices.call_succeeded(session)
        if not session.driver.usable():
            self._close(session, "retired")
        connected = times.get("connected", times["start"])
        return Outcome(
            value=value,
            session=session,
            reused=reused,
            connect_ms=(connected - times["start"]) * 1000,
            run_ms=(times["end"] - connected) * 1000,
            queued_ms=(times["start"] - submitted) * 1000,
        )

    def _acquire(self, driver: type[Driver], spec: ConnectionSpec) -> tuple[PinnedSession, bool]:
        key = self.key_for(driver, spec)
        session = self._sessions.get(key)
        if session is not None and not session.closed:
            self.counters["sessions_reused"] += 1
            return session, session.opened
        return self._new(driver, spec, key), False

    def _new(self, driver: type[Driver], spec: ConnectionSpec, key: SessionKey | None) -> PinnedSession:
        if key is not None:
            self._sessions.pop(key, None)
            if len(self._sessions) >= self.limits.max_sessions:
                self._evict_lru()
        session = PinnedSession(key or self.key_for(driver, spec), driver, spec)
        if key is not None:
            self._sessions[key] = session
        self.counters["sessions_created"] += 1
        return session

    def _evict_lru(self) -> None:
        idle = [s for s in self._sessions.values() if s.idle]
        if not idle:
            raise PoolExhausted(f"all {self.limits.max_sessions} sessions are busy (max_sessions)")
        victim = min(idle, key=lambda s: s.last_activity)
        self._close(victim, "lru")

    def _forget(self, session: PinnedSession) -> None:
        if self._sessions.get(session.key) is session:
            del self._sessions[session.key]

    def _close(self, session: PinnedSession, reason: str, hung: concurrent.futures.Future[Any] | None = None) -> bool:
        self._forget(session)
        closing = session.close(reason, hung=hung)
        if closing is not None:
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            bucket = reason.split(":", 1)[0].replace(" ", "_")
            self.counters[f"sessions_closed_{bucket}"] += 1
            if session.opened:
                self.events.session(pb.EVENT_KIND_SESSION_CLOSED, session, reason)
            log.info(
                "session closed",
                extra={"session": session.id, "target": session.spec.target, "reason": reason},
            )
        return closing is not None

    def close_matching(self, session_id: str = "", host: str = "", everything: bool = False) -> int:
        victims = [
            s
            for s in self.sessions
            if everything or (session_id and s.id == session_id) or (host and s.key.host == host)
        ]
        return sum(self._close(s, "request") for s in victims)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Close every session, waiting (bounded) for the drivers to disconnect."""
        if self._maintenance is not None:
            self._maintenance.cancel()
        for session in self.sessions:
            self._close(session, "shutdown")
        pending = [asyncio.wrap_future(f) for f in list(self._closing)]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.limits.tick)
            try:
                await self._maintain_once()
            except Exception:
                log.exception("session maintenance failed")

    async def _maintain_once(self) -> None:
        now = time.monotonic()
        probes = []
        for session in self.sessions:
            if not session.opened and session.queued == 0 and now - session.last_activity >= _UNOPENED_GRACE_SECONDS:
                # Every request for it gave up (deadlines) before it could open: its thread goes too.
                self._close(session, "never opened")
                continue
            if not session.idle or not session.opened:
                continue
            if time.time() - session.last_used >= self.limits.idle_timeout:
                self._close(session, "idle")
            elif session.spec.keepalive_seconds > 0 and now - session.last_activity >= session.spec.keepalive_seconds:
                probes.append(self._probe(session))
        if probes:
            await asyncio.gather(*probes)

    async def _probe(self, session: PinnedSession) -> None:
        self.counters["keepalive_probes"] += 1
        try:
            await session.call(lambda driver: driver.probe(), time.monotonic() + self.limits.probe_timeout)
        except SessionClosedBeforeRun:
            return
        except (DriverError, TimeoutError) as exc:
            session.keepalive_failures += 1
            self.counters["keepalive_failures"] += 1
            self.events.session(pb.EVENT_KIND_KEEPALIVE_FAILED, session, str(exc))
            self.events.devices.set(session, pb.DEVICE_STATE_OFFLINE, f"keepalive failed: {exc}")
            # A probe stuck in the driver is aborted like any hung call, or its thread would wait it out.
            self._close(session, f"keepalive: {exc}", hung=exc.call if isinstance(exc, DriverHung) else None)
