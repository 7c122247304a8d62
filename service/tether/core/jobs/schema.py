"""The job store's tables, files and the statements that write them.

``jobs`` holds one row per job: its ``Job`` record. A Bulk job's per-target results are
rows of their own in ``job_results`` (written as each target finishes, in finishing
order), and ``job_starts`` marks the targets that began running, so a job cut off by a
crash can say which targets never ran. An Execute job keeps its one result in its record.

Durability: SQLite in WAL mode with ``synchronous=NORMAL``. A commit survives the
process being killed (SIGKILL, a crash, OOM): it is in the WAL file, which the next
start replays. It does not survive losing power or the kernel before the next
checkpoint; that would need ``synchronous=FULL`` (an fsync per commit).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ...config import ensure_private_dir
from ...v1 import messages as pb
from .writer import Statement

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    state INTEGER NOT NULL,
    created REAL NOT NULL,
    targets TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created DESC, id DESC);
CREATE TABLE IF NOT EXISTS job_results (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    target TEXT NOT NULL,
    result BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS job_results_order ON job_results (job_id, seq);
CREATE TABLE IF NOT EXISTS job_starts (
    job_id TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (job_id, target)
) WITHOUT ROWID;
"""
UNFINISHED = (pb.JOB_STATE_QUEUED, pb.JOB_STATE_RUNNING)
_WAL_LIMIT_BYTES = 64 * 1024 * 1024  # the WAL file is truncated to this after a checkpoint


def prepare_files(path: Path) -> None:
    """The state dir 0700; the database 0600 before SQLite opens it.

    SQLite creates the -wal and -shm files with the database file's permission bits,
    so creating the database private first makes all three private; files left by an
    older version are tightened too.
    """
    ensure_private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def apply(db: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run statements in one transaction (start-up and housekeeping, on the writer's connection)."""
    if not statements:
        return
    db.execute("BEGIN")
    try:
        for sql, params in statements:
            db.execute(sql, params)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def job_row(job: pb.Job) -> Statement:
    return (
        "INSERT OR REPLACE INTO jobs (id, kind, state, created, targets, record) VALUES (?, ?, ?, ?, ?, ?)",
        (job.id, job.kind, job.state, job.created, "\n" + "\n".join(job.targets) + "\n", job.SerializeToString()),
    )


def result_row(job_id: str, seq: int, result: pb.TargetResult) -> Statement:
    return (
        "INSERT OR REPLACE INTO job_results (job_id, seq, target, result) VALUES (?, ?, ?, ?)",
        (job_id, seq, result.target, result.SerializeToString()),
    )


def start_row(job_id: str, target: str) -> Statement:
    return ("INSERT OR IGNORE INTO job_starts (job_id, target) VALUES (?, ?)", (job_id, target))


def forget_starts(job_id: str) -> Statement:
    return ("DELETE FROM job_starts WHERE job_id = ?", (job_id,))


def prune_statements(cutoff: float, max_jobs: int) -> list[Statement]:
    """Finished jobs older than ``cutoff`` or beyond the newest ``max_jobs``, with their rows."""
    doomed = (
        "SELECT id FROM jobs WHERE state NOT IN (?, ?) AND (created < ? OR id NOT IN "
        "(SELECT id FROM jobs ORDER BY created DESC, id DESC LIMIT ?))"
    )
    args = (*UNFINISHED, cutoff, max_jobs)
    return [
        (f"DELETE FROM job_results WHERE job_id IN ({doomed})", args),
        (f"DELETE FROM job_starts WHERE job_id IN ({doomed})", args),
        (f"DELETE FROM jobs WHERE id IN ({doomed})", args),
    ]
