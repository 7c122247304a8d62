"""Job records: every Execute and Bulk is a job, kept in an embedded SQLite store
so a restarted service still answers for every finished job.

A record is the API's own ``Job`` message, which has no field for a secret; the
outputs and errors inside it are redacted before they reach it.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .v1 import tether_pb2 as pb

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


class JobNotFound(KeyError):
    pass


class BadPageToken(ValueError):
    pass


@dataclass
class ActiveJob:
    record: pb.Job
    cancelled: threading.Event = field(default_factory=threading.Event)


class JobStore:
    def __init__(self, path: Path | str, max_jobs: int = 10_000, max_age_days: float = 30.0) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if str(path) != ":memory:":
            Path(path).chmod(0o600)
        self._lock = threading.Lock()
        self._active: dict[str, ActiveJob] = {}
        self.max_jobs = max_jobs
        self.max_age_days = max_age_days
        self._recover()
        self.prune()

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
            id=uuid.uuid4().hex,
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
        self._write(job)
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
        log.info(
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
        with self._lock:
            row = self._db.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return pb.Job.FromString(row[0])

    def list(
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
        sql = f"SELECT id, record FROM jobs WHERE {' AND '.join(where)} ORDER BY created DESC, id DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, size + 1)).fetchall()
        jobs = []
        for job_id, blob in rows[:size]:
            active = self._active.get(job_id)
            job = pb.Job()
            job.CopyFrom(active.record if active is not None else pb.Job.FromString(blob))
            if not include_results:
                del job.results[:]
            jobs.append(job)
        token = _encode_token(jobs[-1]) if len(rows) > size else ""
        return jobs, token

    def _write(self, job: pb.Job) -> None:
        targets = "\n" + "\n".join(job.targets) + "\n"
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (id, kind, state, created, targets, record) VALUES (?, ?, ?, ?, ?, ?)",
                (job.id, job.kind, job.state, job.created, targets, job.SerializeToString()),
            )

    def close(self) -> None:
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
