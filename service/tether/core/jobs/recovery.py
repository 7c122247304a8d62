"""On start: close every job a previous process left unfinished, keeping what it finished.

A Bulk job cut off by a crash keeps every target result that was committed, and gets one
``ABORTED`` result per target that has none, saying whether that target never ran or was
cut off while running (its start marker was committed, so it may have reached the device).
"""

from __future__ import annotations

import logging
import sqlite3
import time

from ...v1 import messages as pb
from .schema import UNFINISHED, apply, forget_starts, job_row, result_row
from .writer import Statement

log = logging.getLogger("tether.jobs")

ABORTED = "ABORTED"
NEVER_RAN = "tetherd stopped before this target ran"
CUT_OFF = "tetherd stopped while this target ran: whether it took effect is unknown"
JOB_CUT_OFF = "tetherd stopped before this job finished"


def _close_bulk(db: sqlite3.Connection, job: pb.Job) -> tuple[str, list[Statement]]:
    finished = {t for (t,) in db.execute("SELECT target FROM job_results WHERE job_id = ?", (job.id,))}
    finished.update(result.target for result in job.results)
    started = {t for (t,) in db.execute("SELECT target FROM job_starts WHERE job_id = ?", (job.id,))}
    (seq,) = db.execute("SELECT coalesce(max(seq), 0) FROM job_results WHERE job_id = ?", (job.id,)).fetchone()
    statements: list[Statement] = []
    never_ran = cut_off = 0
    for target in job.targets:
        if target in finished:
            continue
        running = target in started
        cut_off += running
        never_ran += not running
        seq += 1
        result = pb.TargetResult(target=target, ok=False, error_code=ABORTED, error=CUT_OFF if running else NEVER_RAN)
        statements.append(result_row(job.id, seq, result))
    statements.append(forget_starts(job.id))
    total = len(job.targets)
    error = f"{JOB_CUT_OFF}: {never_ran} of {total} targets never ran"
    if cut_off:
        error += f", {cut_off} were cut off while running"
    return error, statements


def recover(db: sqlite3.Connection) -> int:
    """Mark every unfinished job failed; returns how many there were."""
    rows = db.execute("SELECT record FROM jobs WHERE state IN (?, ?)", UNFINISHED).fetchall()
    statements: list[Statement] = []
    for (blob,) in rows:
        job = pb.Job.FromString(blob)
        job.state = pb.JOB_STATE_FAILED
        job.finished = job.finished or time.time()
        job.error = JOB_CUT_OFF
        if job.kind == pb.JOB_KIND_BULK:
            job.error, closing = _close_bulk(db, job)
            statements.extend(closing)
        statements.append(job_row(job))
        log.warning("job cut off by a previous stop", extra={"job": job.id, "error": job.error})
    apply(db, statements)
    return len(rows)
