"""The job store's one writer: a thread that owns the write connection and commits in groups.

Durable first, then reply: a coroutine hands its statements to the writer and awaits the
commit of the batch that holds them. The writer commits as soon as it is woken; whatever
arrives while it commits forms the next batch. An idle service so pays one thread hand-off
per call, and under load one commit serves every call that finished meanwhile.

The event loop never touches SQLite: it only awaits a future the writer settles.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tether.jobs")

Statement = tuple[str, Sequence[Any]]


class JobStoreError(RuntimeError):
    """The job store could not record a job (I/O error, disk full, store closed)."""


@dataclass
class _Op:
    statements: Sequence[Statement]
    future: asyncio.Future[None] | None
    after_commit: Callable[[], None] | None


def _settle(futures: list[asyncio.Future[None]], error: str) -> None:
    """Runs on the event loop: wake every coroutine waiting on one batch."""
    for future in futures:
        if future.done():  # the waiter was cancelled
            continue
        if error:
            future.set_exception(JobStoreError(error))
        else:
            future.set_result(None)


class GroupCommitWriter:
    def __init__(
        self,
        db: sqlite3.Connection,
        housekeeping: Callable[[sqlite3.Connection], None] | None = None,
        housekeeping_seconds: float = 3600.0,
    ) -> None:
        self._db = db
        self._housekeeping = housekeeping
        self._housekeeping_seconds = housekeeping_seconds
        # A SimpleQueue wakes the writer with one C-level hand-off; None asks it to stop.
        self._queue: queue.SimpleQueue[list[_Op] | None] = queue.SimpleQueue()
        # Ops submitted on the event loop during one pass of it, handed over together at its
        # end: under load one wake-up of the writer (and of the loop after) serves them all.
        self._staged: list[_Op] = []
        self._loop_thread: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tether-jobs-writer", daemon=True)
        self._thread.start()

    def submit(
        self, statements: Sequence[Statement], after_commit: Callable[[], None] | None = None, wait: bool = True
    ) -> asyncio.Future[None] | None:
        """Queue statements for the next commit.

        Called on an event loop with ``wait``, returns a future settled once they are
        committed (or failed: ``JobStoreError``); ``after_commit`` runs on the writer
        thread after the batch, whether it committed or not.
        """
        if self._closed:
            raise JobStoreError("the job store is closed")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: a synchronous caller uses flush()
            self._queue.put([_Op(statements, None, after_commit)])
            return None
        future = loop.create_future() if wait else None
        self._staged.append(_Op(statements, future, after_commit))
        if len(self._staged) == 1:
            self._loop_thread = threading.get_ident()
            loop.call_soon(self._hand_over)
        return future

    def _hand_over(self) -> None:
        if self._staged:
            staged, self._staged = self._staged, []
            self._queue.put(staged)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every op handed over so far is committed; False on timeout."""
        if self._loop_thread == threading.get_ident():  # on the loop: what it staged comes first
            self._hand_over()
        if not self._thread.is_alive():
            return True
        reached = threading.Event()
        self._queue.put([_Op((), None, reached.set)])  # ops commit in order: this one comes last
        return reached.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        last_housekeeping = time.monotonic()
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch: list[_Op] = []
            if first is None:
                stopping = True
            else:
                batch.extend(first)
            while True:  # everything that arrived meanwhile joins this commit
                try:
                    ops = self._queue.get_nowait()
                except queue.Empty:
                    break
                if ops is None:
                    stopping = True
                else:
                    batch.extend(ops)
            if not batch:
                continue
            error = self._commit(batch)
            for op in batch:
                if op.after_commit is not None:
                    op.after_commit()
            # Last: once woken, the event loop wants the GIL, and the writer gives it up by blocking.
            self._wake_waiters(batch, error)
            if self._housekeeping is not None and time.monotonic() - last_housekeeping > self._housekeeping_seconds:
                last_housekeeping = time.monotonic()
                self.run_housekeeping()

    def run_housekeeping(self) -> None:
        if self._housekeeping is None:
            return
        try:
            self._housekeeping(self._db)
        except sqlite3.Error:
            log.exception("job store housekeeping failed")

    def _commit(self, batch: list[_Op]) -> str:
        # Runs of one statement become one executemany: each call into SQLite gives up the GIL
        # and must win it back from a busy event loop, so a batch makes as few calls as it can.
        runs: list[tuple[str, list[Sequence[Any]]]] = []
        for op in batch:
            for sql, params in op.statements:
                if runs and runs[-1][0] == sql:
                    runs[-1][1].append(params)
                else:
                    runs.append((sql, [params]))
        try:
            if len(runs) == 1 and len(runs[0][1]) == 1:  # one statement is its own transaction
                self._db.execute(runs[0][0], runs[0][1][0])
            elif runs:
                self._db.execute("BEGIN")
                for sql, rows in runs:
                    self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("could not write job records", extra={"error": str(exc), "records": len(batch)})
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            return f"the job store could not record the job: {exc}"
        return ""

    @staticmethod
    def _wake_waiters(batch: list[_Op], error: str) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for op in batch:
            if op.future is not None:
                by_loop.setdefault(op.future.get_loop(), []).append(op.future)
        for loop, futures in by_loop.items():  # one wake-up per loop per batch
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, futures, error)
