"""The event bus: what happens in tetherd (jobs, sessions, devices), numbered and retained.

Publishers are jobs (the executor and job store), the session pool and, through the
pool, drivers; they run on the event loop, on session worker threads and on
validation threads. Publishing never waits on a reader: it serializes the event
outside any lock, then takes a lock only to number it and put it in a ring buffer,
and wakes the waiting readers at most once per loop iteration.

Readers (``WatchEvents`` streams) keep a cursor into that one shared ring instead of
a queue of their own, so a reader that stops reading costs nothing but its cursor;
when the ring moves past it, it is told so with a GAP event.

Sequence numbers increase by exactly one per event. The first one is the start
time in microseconds since the epoch, so a client resuming against a restarted
tetherd (whose numbers are all larger) gets a GAP instead of silently missing the
events the old process had not yet sent it. docs/events.md has the rules.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, NamedTuple

from google.protobuf.message import Message

from ..security.limits import QUOTE_LIMIT
from ..security.redaction import REDACTED, scrub_log_text
from ..v1 import messages as pb

if TYPE_CHECKING:
    from .session import PinnedSession

DEFAULT_RETENTION = 100_000
DEFAULT_RETENTION_SECONDS = 3_600.0
_READ_BATCH = 256
_MAX_REASON = 300
_MAX_TRACKED_DEVICES = 100_000
# Event's wire format, written directly for the payload events (docs/events.md): building an
# Event around a payload message and serializing it cost more than the rest of publishing.
_SEQ_FIELD_TAG = b"\x08"  # seq: field 1, varint
_TIME_FIELD_TAG = b"\x11"  # time: field 2, 64-bit double
_KIND_FIELD_TAG = b"\x18"  # kind: field 3, varint
_PAYLOAD_TAGS = {"job": b"\x52", "session": b"\x5a", "device": b"\x62"}  # fields 10, 11, 12, length-delimited
_pack_double = struct.Struct("<d").pack


class Record(NamedTuple):
    """One retained event: the fields filters look at, and its serialized ``Event``."""

    seq: int
    time: float
    kind: int
    job_id: str
    target: str  # host:port or a bulk target's name
    host: str
    data: bytes


class AfterSeqOutOfRange(ValueError):
    """A client asked to resume after a sequence number this service never issued."""


class TooManyWatchers(Exception):
    """Every watcher slot (max_event_watchers) is taken."""


class BusClosed(Exception):
    """The service is shutting down: no new watcher."""


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL_VARINTS = [bytes([value]) for value in range(0x80)]
# A seq's varint is its low 7 bits (continuation bit set: seqs are far above 127), then the rest,
# which changes once every 128 events: cached.
_LOW_SEQ_GROUPS = [bytes([value | 0x80]) for value in range(0x80)]


def safe_reason(text: str, secrets: tuple[str, ...] = ()) -> str:
    """A reason an event may carry: no connection secret, no secret config line, bounded, one line."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    text = " ".join(scrub_log_text(text).split())
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + "..."


class EventBus:
    def __init__(
        self,
        retention: int = DEFAULT_RETENTION,
        retention_seconds: float = DEFAULT_RETENTION_SECONDS,
        first_seq: int = 0,
    ) -> None:
        self._capacity = max(1, retention)
        self._max_age = retention_seconds
        self._ring: list[Record | None] = [None] * self._capacity
        first = first_seq or time.time_ns() // 1000
        self._newest = first - 1  # nothing published yet
        self._oldest = first  # the oldest retained seq; newest + 1 when nothing is retained
        self._lock = threading.Lock()
        self._seq_high = -1
        self._seq_high_bytes = b""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._wake_pending = False
        self._subscribers = 0
        self._closed = False
        self.devices = DeviceStatusTracker(self)

    @property
    def newest_seq(self) -> int:
        return self._newest

    @property
    def oldest_seq(self) -> int:
        return self._oldest

    @property
    def closed(self) -> bool:
        return self._closed

    # Publishing -------------------------------------------------------------------------------

    def publish(self, event: pb.Event, job_id: str = "", target: str = "", host: str = "") -> int:
        """Number, time and retain ``event`` (its seq and time are set here); returns its seq."""
        now = time.time()
        event.time = now
        return self._retain(now, event.kind, event.SerializeToString(), job_id, target, host)

    def publish_payload(
        self, kind: int, field: str, payload: Message, job_id: str = "", target: str = "", host: str = ""
    ) -> int:
        """Publish an Event of ``kind`` carrying ``payload`` in its ``field`` (job, session or device)."""
        now = time.time()
        body = payload.SerializeToString()
        head = _TIME_FIELD_TAG + _pack_double(now) + _KIND_FIELD_TAG + _varint(kind)
        return self._retain(now, kind, head + _PAYLOAD_TAGS[field] + _varint(len(body)) + body, job_id, target, host)

    def _retain(self, now: float, kind: int, body: bytes, job_id: str, target: str, host: str) -> int:
        """Number and keep an event serialized without its seq (field 1, prepended here)."""
        with self._lock:
            seq = self._newest + 1
            # The oldest bound moves before the slot is overwritten: a reader finding a slot
            # that no longer holds the seq it wanted then always sees a bound past it.
            if seq - self._capacity + 1 > self._oldest:
                self._oldest = seq - self._capacity + 1
            oldest = self._ring[self._oldest % self._capacity]
            if oldest is not None and oldest.time < now - self._max_age:
                self._expire(now)
            if seq >> 7 != self._seq_high:
                self._seq_high = seq >> 7
                self._seq_high_bytes = _varint(self._seq_high)
            data = _SEQ_FIELD_TAG + _LOW_SEQ_GROUPS[seq & 0x7F] + self._seq_high_bytes + body
            # tuple.__new__: a NamedTuple's own constructor is Python code, this is not.
            self._ring[seq % self._capacity] = tuple.__new__(Record, (seq, now, kind, job_id, target, host, data))
            self._newest = seq
        if self._subscribers and not self._wake_pending:
            self._schedule_wake()
        return seq

    def _expire(self, now: float) -> None:
        """Drop events older than the retention age (called with the lock held)."""
        cutoff = now - self._max_age
        while self._oldest <= self._newest:
            slot = self._oldest % self._capacity
            record = self._ring[slot]
            if record is None or record.seq != self._oldest or record.time >= cutoff:
                return
            self._oldest += 1
            self._ring[slot] = None

    def _schedule_wake(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._wake_pending = True
        try:
            loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: nobody is left to wake
            self._wake_pending = False

    def _wake(self) -> None:
        self._wake_pending = False  # before waking: an event published from now on schedules another wake
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def job(
        self,
        kind: pb.EventKind.ValueType,
        record: pb.Job,
        target: str = "",
        done: int = 0,
        total: int = 0,
        failed: int = 0,
        error: str = "",
        error_code: str = "",
    ) -> int:
        """A job event; job records hold no secret and their errors are already redacted."""
        payload = pb.JobEvent(
            job_id=record.id, job_kind=record.kind, state=record.state, target=target, done=done, total=total
        )
        if failed or error or error_code:  # rare: not paid for by every successful call
            payload.failed, payload.error, payload.error_code = failed, error[:_MAX_REASON], error_code
        host = target.rpartition(":")[0] if ":" in target else target
        return self.publish_payload(kind, "job", payload, record.id, target, host)

    def target_finished(self, record: pb.Job, result: pb.TargetResult, done: int, total: int, failed: int) -> int:
        return self.job(
            pb.EVENT_KIND_JOB_TARGET_FINISHED,
            record,
            result.target,
            done,
            total,
            failed,
            result.error,
            result.error_code or ("" if result.ok else "FAILED"),
        )

    def job_finished(self, record: pb.Job) -> int:
        results, targets = record.results, record.targets
        done, total = len(results), len(targets)
        if total == 1:
            target, failed = targets[0], int(done == 1 and not results[0].ok)
        else:
            target, failed = "", sum(not result.ok for result in results)
        return self.job(pb.EVENT_KIND_JOB_FINISHED, record, target, done, total, failed, record.error)

    def session(self, kind: pb.EventKind.ValueType, session: PinnedSession, reason: str = "") -> int:
        key = session.key
        payload = pb.SessionEvent(
            session_id=session.id,
            driver=key.driver,
            host=key.host,
            port=key.port,
            platform=session.spec.platform,
            reason=safe_reason(reason, session.spec.secrets()) if reason else "",
        )
        return self.publish_payload(kind, "session", payload, "", f"{key.host}:{key.port}", key.host)

    # Reading ----------------------------------------------------------------------------------

    def subscribe(self, after_seq: int) -> Subscription:
        """A reader from ``after_seq`` (0: from now on). Call on the event loop; close it when done."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._changed = loop, asyncio.Event()
        with self._lock:
            self._expire(time.time())
            newest = self._newest
        if after_seq > newest:
            raise AfterSeqOutOfRange(f"after_seq {after_seq} is newer than the newest event ({newest})")
        self._subscribers += 1
        return Subscription(self, newest if after_seq == 0 else after_seq)

    def _take(self, cursor: int, limit: int) -> tuple[int, list[Record]]:
        """``(gap, records)``: the records after ``cursor`` (at most ``limit``); ``gap`` is the
        oldest retained seq when events after ``cursor`` were dropped before this read, else 0."""
        gap = 0
        oldest = self._oldest
        if cursor + 1 < oldest:
            gap, cursor = oldest, oldest - 1
        records: list[Record] = []
        end = min(self._newest, cursor + limit)
        ring, capacity = self._ring, self._capacity
        for seq in range(cursor + 1, end + 1):
            record = ring[seq % capacity]
            if record is None or record.seq != seq:  # dropped while we read: the next read reports it
                break
            records.append(record)
        return gap, records

    def close(self) -> None:
        """Readers finish what they have and end; publishing still works (for late shutdown events)."""
        self._closed = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake)

    async def close_when(self, idle: Callable[[], bool], timeout: float) -> None:
        """Close once ``idle()`` holds (e.g. no job running) or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not idle() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.close()


class Subscription:
    """A reader's cursor into the bus: the seq of the last event it was handed."""

    def __init__(self, bus: EventBus, cursor: int) -> None:
        self._bus = bus
        self.cursor = cursor
        self._open = True

    async def follow(self, accept: Callable[[Record], bool]) -> AsyncIterator[bytes]:
        """Serialized events after the cursor that ``accept`` takes, then live ones, until the bus closes.

        A GAP event (never filtered out) comes first whenever events after the cursor were dropped."""
        bus = self._bus
        while True:
            changed = bus._changed
            gap, records = bus._take(self.cursor, _READ_BATCH)
            if gap:
                self.cursor = gap - 1
                yield pb.Event(seq=gap, time=time.time(), kind=pb.EVENT_KIND_GAP).SerializeToString()
            for record in records:
                self.cursor = record.seq
                if accept(record):
                    yield record.data
            if gap or records:
                continue
            if bus.closed or changed is None:
                return
            await changed.wait()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._bus._subscribers -= 1


def event_filter(kinds: set[int], job_id: str, target: str) -> Callable[[Record], bool]:
    """Which records a reader wants: any of ``kinds`` (empty: all), of that job, of that target
    (its ``host:port``, its host, or a bulk target's name)."""

    def accept(record: Record) -> bool:
        return (
            (not kinds or record.kind in kinds)
            and (not job_id or record.job_id == job_id)
            and (not target or record.target == target or record.host == target)
        )

    return accept


class DeviceStatusTracker:
    """A target's status, derived from what its sessions do; an event only when it changes.

    ONLINE when a session to it opens or a call succeeds after it was not online, OFFLINE when
    a connection fails, a session is lost or a keepalive fails, ERROR when authentication fails.
    """

    def __init__(self, bus: EventBus, capacity: int = _MAX_TRACKED_DEVICES) -> None:
        self._bus = bus
        self._capacity = capacity
        self._states: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def state(self, target: str) -> int:
        return self._states.get(target, pb.DEVICE_STATE_UNSPECIFIED)

    def set(self, session: PinnedSession, state: pb.DeviceState.ValueType, reason: str = "") -> None:
        target = session.spec.target
        if self._states.get(target) == state:  # the common case, without the lock
            return
        with self._lock:
            if self._states.get(target) == state:
                return
            self._states[target] = state
            self._states.move_to_end(target)
            while len(self._states) > self._capacity:
                self._states.popitem(last=False)
        payload = pb.DeviceStatus(
            target=target,
            driver=session.key.driver,
            state=state,
            reason=safe_reason(reason, session.spec.secrets())[: QUOTE_LIMIT * 5] if reason else "",
        )
        self._bus.publish_payload(pb.EVENT_KIND_DEVICE_STATUS, "device", payload, "", target, session.key.host)

    def call_succeeded(self, session: PinnedSession) -> None:
        if self._states.get(session.spec.target) != pb.DEVICE_STATE_ONLINE:
            self.set(session, pb.DEVICE_STATE_ONLINE, "a call succeeded")
