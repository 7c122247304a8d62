"""Job records: every Execute and Bulk is a job, kept in an embedded SQLite store
so a restarted service still answers for every finished job.

A record is the API's own ``Job`` message, which has no field for a secret; the
outputs and errors inside it are redacted before they reach it.
"""

from __future__ import annotations

import base64
import itertools
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .core.events import EventBus
from .v1 import messages as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    state INTEGER NOT NULL,
    created REAL NOT NULL,
    targets TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created DESC, id DESC);
"""
log = logging.getLogger("tether.jobs")
_UNFINISHED = (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)
MAX_PAGE_SIZE = 500
_BATCH_SECONDS = 0.02
_PRUNE_SECONDS = 3600.0


class JobNotFound(KeyError):
    pass


class BadPageToken(ValueError):
    pass


@dataclass
class ActiveJob:
    record: pb.Job
    cancelled: threading.Event = field(default_factory=threading.Event)


class JobStore:
    def __init__(
        self, path: Path | str, max_jobs: int = 10_000, max_age_days: float = 30.0, events: EventBus | None = None
    ) -> None:
        self.events = events if events is not None else EventBus(retention=1024)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if str(path) != ":memory:":
            Path(path).chmod(0o600)
        self._lock = threading.Lock()  # guards the connection
        # Records waiting for the writer thread, newest version per job id: writes leave
        # the request path, and a job created and finished in one batch is written once.
        self._pending_rows: dict[str, tuple[str, int, int, float, str, bytes]] = {}
        self._changed = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closed = False
        # Job ids: a random per-process prefix and a counter, cheaper than uuid4 per call.
        prefix = secrets.token_hex(6)
        self._ids = (f"{prefix}{n:08x}" for n in itertools.count(1))
        self._active: dict[str, ActiveJob] = {}
        self.max_jobs = max_jobs
        self.max_age_days = max_age_days
        self._recover()
        self.prune()
        self._writer = threading.Thread(target=self._write_loop, name="tether-jobs-writer", daemon=True)
        self._writer.start()

    def _recover(self) -> None:
        """Jobs left unfinished by a previous process can never finish: say so."""
        rows = self._db.execute("SELECT record FROM jobs WHERE state IN (?, ?)", _UNFINISHED).fetchall()
        for (blob,) in rows:
            job = pb.Job.FromString(blob)
            job.state = pb.JOB_STATE_FAILED
            job.error = "tetherd stopped before this job finished"
            job.finished = job.finished or time.time()
            self._write(job)

    def prune(self) -> None:
        cutoff = time.time() - self.max_age_days * 86400
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE created < ?", (cutoff,))
            self._db.execute(
                "DELETE FROM jobs WHERE id NOT IN (SELECT id FROM jobs ORDER BY created DESC LIMIT ?)",
                (self.max_jobs,),
            )

    def create(
        self,
        kind: pb.JobKind.ValueType,
        driver: str,
        targets: Sequence[str],
        commands: Iterable[str],
        labels: dict[str, str],
    ) -> ActiveJob:
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
        if kind != pb.JOB_KIND_EXECUTE:  # long-running: on disk from the start
            self._write(job)
        self.events.job(
            pb.EVENT_KIND_JOB_STARTED, job, job.targets[0] if len(job.targets) == 1 else "", 0, len(job.targets)
        )
        return active

    def start(self, active: ActiveJob) -> None:
        if not active.record.started:
            active.record.started = time.time()
            active.record.state = pb.JOB_STATE_RUNNING

    def finish(self, active: ActiveJob, state: pb.JobState.ValueType, error: str = "") -> None:
        job = active.record
        job.state = state
        job.error = error
        job.finished = time.time()
        self._active.pop(job.id, None)
        self._write(job)
        self.events.job_finished(job)
        if not log.isEnabledFor(logging.DEBUG):
            return
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

    def cancel(self, job_id: str) -> pb.Job:
        active = self._active.get(job_id)
        if active is None:
            return self.get(job_id)
        active.cancelled.set()
        return active.record

    def running_count(self) -> int:
        return len(self._active)

    def get(self, job_id: str) -> pb.Job:
        active = self._active.get(job_id)
        if active is not None:
            return active.record
        with self._changed:
            pending = self._pending_rows.get(job_id)
        if pending is not None:
            return pb.Job.FromString(pending[-1])
        with self._lock:
            row = self._db.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return pb.Job.FromString(row[0])

    def query(
        self,
        states: Sequence[int] = (),
        kind: int = 0,
        target: str = "",
        since: float = 0.0,
        page_size: int = 0,
        page_token: str = "",
        include_results: bool = False,
    ) -> tuple[list[pb.Job], str]:
        size = min(page_size or 50, MAX_PAGE_SIZE)
        where: list[str] = ["created >= ?"]
        args: list[object] = [since]
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if target:
            where.append("instr(targets, ?) > 0")
            args.append(f"\n{target}\n")
        if page_token:
            created, job_id = _decode_token(page_token)
            where.append("(created < ? OR (created = ? AND id < ?))")
            args.extend([created, created, job_id])
        bound = _decode_token(page_token) if page_token else None
        self.flush()
        sql = f"SELECT id, record FROM jobs WHERE {' AND '.join(where)} ORDER BY created DESC, id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, size + 1)).fetchall()
        found: dict[str, pb.Job] = {job_id: pb.Job.FromString(blob) for job_id, blob in rows}
        # Running Execute jobs are only written when they finish: add the ones that match.
        for job_id, active in list(self._active.items()):
            job = active.record
            if (
                (not states or job.state in states)
                and (not kind or job.kind == kind)
                and (not target or target in job.targets)
                and job.created >= since
                and (bound is None or (job.created, job.id) < bound)
            ):
                found[job_id] = job
        ordered = sorted(found.values(), key=lambda j: (j.created, j.id), reverse=True)
        jobs = []
        for record in ordered[:size]:
            job = pb.Job()
            job.CopyFrom(record)
            if not include_results:
                del job.results[:]
            jobs.append(job)
        token = _encode_token(jobs[-1]) if len(ordered) > size else ""
        return jobs, token

    def _write(self, job: pb.Job) -> None:
        row = (job.id, job.kind, job.state, job.created, "\n" + "\n".join(job.targets) + "\n", job.SerializeToString())
        if self._writer is None:  # during start-up, before the writer runs
            self._write_rows([row])
            return
        with self._changed:
            first = not self._pending_rows
            self._pending_rows[job.id] = row
            if first:  # wake the writer once per batch, not once per record
                self._changed.notify_all()

    def _write_rows(self, rows: list[tuple[str, int, int, float, str, bytes]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO jobs (id, kind, state, created, targets, record) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._db.execute("COMMIT")

    def _write_loop(self) -> None:
        last_prune = time.monotonic()
        while True:
            with self._changed:
                while not self._pending_rows and not self._closed:
                    self._changed.wait()
                if not self._pending_rows and self._closed:
                    return
            if not self._closed:
                time.sleep(_BATCH_SECONDS)  # let the batch fill: one commit, one wake-up
            with self._changed:
                rows = list(self._pending_rows.values())
            try:
                self._write_rows(rows)
            except sqlite3.Error:
                log.exception("could not write job records; will retry")
                time.sleep(1.0)
                continue
            with self._changed:
                for row in rows:
                    if self._pending_rows.get(row[0]) is row:
                        del self._pending_rows[row[0]]
                self._changed.notify_all()
            if time.monotonic() - last_prune > _PRUNE_SECONDS:  # a long-lived service keeps its bounds
                last_prune = time.monotonic()
                self.prune()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every record handed to the writer is in the database."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending_rows, timeout)

    def close(self) -> None:
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._writer is not None:
            self._writer.join(10)
        with self._lock:
            self._db.close()


def _encode_token(job: pb.Job) -> str:
    return base64.urlsafe_b64encode(f"{job.created!r}|{job.id}".encode()).decode()


def _decode_token(token: str) -> tuple[float, str]:
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)
        return float(created), job_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPageToken(f"page_token {token!r} is not one this service issued") from exc
