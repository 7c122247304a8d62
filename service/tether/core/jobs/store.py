"""Job records: every Execute and Bulk is a job, kept in an embedded SQLite store
so a restarted service still answers for every job it acknowledged.

A record is the API's own ``Job`` message, which has no field for a secret; the
outputs and errors inside it are redacted before they reach it.

Threads: one writer thread owns the write connection (``writer.py``: group commit),
one reader thread serves GetJob, ListJobs and Bulk streams from a second connection.
The event loop only keeps the running jobs in memory and awaits futures.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ...v1 import messages as pb
from ..events import EventBus
from . import schema
from .recovery import recover
from .writer import GroupCommitWriter, Statement

log = logging.getLogger("tether.jobs")
T = TypeVar("T")
MAX_PAGE_SIZE = 500
_PRUNE_SECONDS = 3600.0
# A Bulk stream reads its results back a page at a time: what one stream holds in memory.
PAGE_BYTES = 1024 * 1024
PAGE_ROWS = 64


class JobNotFound(KeyError):
    pass


class BadPageToken(ValueError):
    pass


@dataclass
class ActiveJob:
    record: pb.Job  # a Bulk's record holds no results: they are rows in job_results
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Filter:
    states: tuple[int, ...]
    kind: int
    target: str
    since: float
    bound: tuple[float, str] | None

    def matches(self, job: pb.Job) -> bool:
        return (
            (not self.states or job.state in self.states)
            and (not self.kind or job.kind == self.kind)
            and (not self.target or self.target in job.targets)
            and job.created >= self.since
            and (self.bound is None or (job.created, job.id) < self.bound)
        )


def _copy(job: pb.Job) -> pb.Job:
    copy = pb.Job()
    copy.CopyFrom(job)
    return copy


class JobStore:
    def __init__(
        self, path: Path | str, max_jobs: int = 10_000, max_age_days: float = 30.0, events: EventBus | None = None
    ) -> None:
        self.events = events if events is not None else EventBus(retention=1024)
        self.path = Path(path)
        self.max_jobs = max_jobs
        self.max_age_days = max_age_days
        schema.prepare_files(self.path)
        db = schema.connect(self.path)
        db.executescript(schema.SCHEMA)
        recover(db)
        schema.apply(db, self._prune_statements())
        self._writer = GroupCommitWriter(
            db,
            housekeeping=lambda conn: schema.apply(conn, self._prune_statements()),
            housekeeping_seconds=_PRUNE_SECONDS,
        )
        self._write_db = db
        self._reader = schema.connect(self.path)
        self._read_lock = threading.Lock()  # guards the reader connection
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-jobs-reader")
        # Job ids: a random per-process prefix and a counter, cheaper than uuid4 per call.
        prefix = secrets.token_hex(6)
        self._ids = (f"{prefix}{n:08x}" for n in itertools.count(1))
        # Jobs not yet committed as finished; a job leaves only once its final record is on disk.
        self._active: dict[str, ActiveJob] = {}

    def _prune_statements(self) -> list[Statement]:
        return schema.prune_statements(time.time() - self.max_age_days * 86400, self.max_jobs)

    def prune(self) -> None:
        self._writer.submit(self._prune_statements(), wait=False)
        self.flush()

    # --- the running job: memory first, the store where durability is owed ---

    def create(
        self,
        kind: pb.JobKind.ValueType,
        driver: str,
        targets: Sequence[str],
        commands: Iterable[str],
        labels: dict[str, str],
    ) -> ActiveJob:
        """A job in memory; an Execute reaches the store when it finishes, a Bulk via ``record``."""
        job = pb.Job(
            id=next(self._ids),
            kind=kind,
            state=pb.JOB_STATE_QUEUED,
            driver=driver,
            targets=list(targets),
            commands=list(commands),
            created=time.time(),
            labels=labels,
        )
        active = ActiveJob(job)
        self._active[job.id] = active
        self.events.job(
            pb.EVENT_KIND_JOB_STARTED, job, job.targets[0] if len(job.targets) == 1 else "", 0, len(job.targets)
        )
        return active

    def start(self, active: ActiveJob) -> bool:
        """Mark the job running; True the first time."""
        if active.record.started:
            return False
        active.record.started = time.time()
        active.record.state = pb.JOB_STATE_RUNNING
        return True

    async def _commit(self, statements: Sequence[Statement]) -> None:
        committed = self._writer.submit(statements)
        assert committed is not None  # called on the event loop
        await committed

    async def record(self, active: ActiveJob) -> None:
        """Commit the job's record as it stands (a Bulk, before its id is handed out)."""
        await self._commit([schema.job_row(active.record)])

    async def record_target_start(self, active: ActiveJob, target: str) -> None:
        """Commit that ``target`` is about to run (and the job's start time, the first time)."""
        statements = [schema.start_row(active.record.id, target)]
        if self.start(active):
            statements.append(schema.job_row(active.record))
        await self._commit(statements)

    async def record_result(self, active: ActiveJob, seq: int, result: pb.TargetResult) -> None:
        await self._commit([schema.result_row(active.record.id, seq, result)])

    def finish(
        self, active: ActiveJob, state: pb.JobState.ValueType, error: str = "", wait: bool = True
    ) -> asyncio.Future[None] | None:
        """Hand the final record to the writer; on an event loop with ``wait``, returns the future of its commit."""
        job = active.record
        job.state = state
        job.error = error
        job.finished = time.time()
        statements = [schema.job_row(job)]
        if job.kind == pb.JOB_KIND_BULK:
            statements.append(schema.forget_starts(job.id))

        def forget() -> None:  # on the writer thread, once the record is on disk
            if self._active.get(job.id) is active:
                self._active.pop(job.id, None)
            self.events.job_finished(job)  # watchers hear of a finished job once it is durable

        committed = self._writer.submit(statements, after_commit=forget, wait=wait)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "job finished",
                extra={
                    "job": job.id,
                    "kind": pb.JobKind.Name(job.kind).removeprefix("JOB_KIND_").lower(),
                    "state": pb.JobState.Name(state).removeprefix("JOB_STATE_").lower(),
                    "targets": len(job.targets),
                    "ms": round((job.finished - job.created) * 1000, 2),
                    "error": error,
                },
            )
        return committed

    async def complete(self, active: ActiveJob, state: pb.JobState.ValueType, error: str = "") -> None:
        """Finish the job and wait until its record is durable: only then may the caller be answered."""
        committed = self.finish(active, state, error)
        if committed is not None:
            await committed

    def running_count(self) -> int:
        return len(self._active)

    # --- reads: synchronous on the caller's thread, or async on the reader thread ---

    async def _read(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reads, call, *args)

    def _snapshot(self, job_id: str) -> pb.Job | None:
        active = self._active.get(job_id)
        return None if active is None else _copy(active.record)

    async def get_job(self, job_id: str) -> pb.Job:
        active = self._active.get(job_id)
        if active is not None and active.record.kind != pb.JOB_KIND_BULK:
            return active.record
        return await self._read(self._load, job_id, self._snapshot(job_id))

    def _load(self, job_id: str, snapshot: pb.Job | None) -> pb.Job:
        with self._read_lock:
            if snapshot is not None:
                job = snapshot
            else:
                row = self._reader.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
                if row is None:
                    raise JobNotFound(job_id)
                job = pb.Job.FromString(row[0])
            self._attach_results(job)
        return job

    def _attach_results(self, job: pb.Job) -> None:
        if job.kind == pb.JOB_KIND_BULK:
            rows = self._reader.execute("SELECT result FROM job_results WHERE job_id = ? ORDER BY seq", (job.id,))
            job.results.extend(pb.TargetResult.FromString(blob) for (blob,) in rows)

    async def cancel_job(self, job_id: str) -> pb.Job:
        active = self._active.get(job_id)
        if active is not None:
            active.cancelled.set()
        return await self.get_job(job_id)

    async def read_results(self, job_id: str, after: int, upto: int) -> list[tuple[int, pb.TargetResult]]:
        """The next page of a Bulk's results, in finishing order: seq in (after, upto]."""
        return await self._read(self._read_page, job_id, after, upto)

    def _read_page(self, job_id: str, after: int, upto: int) -> list[tuple[int, pb.TargetResult]]:
        page: list[tuple[int, pb.TargetResult]] = []
        size = 0
        with self._read_lock:
            cursor = self._reader.execute(
                "SELECT seq, result FROM job_results WHERE job_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (job_id, after, upto),
            )
            try:
                for seq, blob in cursor:
                    page.append((seq, pb.TargetResult.FromString(blob)))
                    size += len(blob)
                    if size >= PAGE_BYTES or len(page) >= PAGE_ROWS:
                        break
            finally:
                cursor.close()
        return page

    def _query_args(
        self, states: Sequence[int], kind: int, target: str, since: float, page_token: str
    ) -> tuple[_Filter, list[pb.Job]]:
        """The filter, and copies of the running jobs it matches (taken on the caller's thread)."""
        bound = _decode_token(page_token) if page_token else None
        wanted = _Filter(tuple(states), kind, target, since, bound)
        running = [_copy(a.record) for a in list(self._active.values()) if wanted.matches(a.record)]
        return wanted, running

    async def list_jobs(
        self,
        states: Sequence[int] = (),
        kind: int = 0,
        target: str = "",
        since: float = 0.0,
        page_size: int = 0,
        page_token: str = "",
        include_results: bool = False,
    ) -> tuple[list[pb.Job], str]:
        wanted, running = self._query_args(states, kind, target, since, page_token)
        return await self._read(self._select, wanted, running, page_size, include_results)

    def _select(
        self, wanted: _Filter, running: list[pb.Job], page_size: int, include_results: bool
    ) -> tuple[list[pb.Job], str]:
        size = min(page_size or 50, MAX_PAGE_SIZE)
        where: list[str] = ["created >= ?"]
        args: list[object] = [wanted.since]
        if wanted.states:
            where.append(f"state IN ({','.join('?' * len(wanted.states))})")
            args.extend(wanted.states)
        if wanted.kind:
            where.append("kind = ?")
            args.append(wanted.kind)
        if wanted.target:
            where.append("instr(targets, ?) > 0")
            args.append(f"\n{wanted.target}\n")
        if wanted.bound is not None:
            created, job_id = wanted.bound
            where.append("(created < ? OR (created = ? AND id < ?))")
            args.extend([created, created, job_id])
        sql = f"SELECT id, record FROM jobs WHERE {' AND '.join(where)} ORDER BY created DESC, id DESC LIMIT ?"
        with self._read_lock:
            rows = self._reader.execute(sql, (*args, size + 1)).fetchall()
            found: dict[str, pb.Job] = {job_id: pb.Job.FromString(blob) for job_id, blob in rows}
            found.update((job.id, job) for job in running)  # the running version wins over an earlier row
            ordered = sorted(found.values(), key=lambda j: (j.created, j.id), reverse=True)
            jobs = ordered[:size]
            for job in jobs:
                if include_results:
                    self._attach_results(job)
                else:
                    del job.results[:]
        token = _encode_token(jobs[-1]) if len(ordered) > size else ""
        return jobs, token

    # --- lifecycle ---

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every record handed to the writer is in the database."""
        self._writer.flush(timeout)

    def close(self) -> None:
        self._writer.flush()
        self._writer.close()
        self._reads.shutdown(wait=True)
        with self._read_lock:
            self._reader.close()
        self._write_db.close()


def _encode_token(job: pb.Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created!r}|{job.id}".encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return float(created), job_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPageToken(f"page_token {token!r} is not one this service issued") from exc
