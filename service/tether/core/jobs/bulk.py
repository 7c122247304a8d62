"""One Bulk job in flight: each target's result is committed as it finishes, and the
caller's stream reads the results back from the store.

Memory stays bounded whatever the caller does: the runner keeps counts, the stream keeps
its position and one page of results, and a caller that stops reading leaves its results
on disk (the stream generator waits at its ``yield``: gRPC's flow control is the
backpressure). The events sent are unchanged: accepted, started, finished, progress,
summary. ``started`` events are not coalesced: a stream sends one per target from the
list of started target names (one reference per target, bounded by the target count),
always before that target's ``finished``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from ...v1 import messages as pb
from .store import ActiveJob, JobStore
from .writer import JobStoreError


def _is_failure(result: pb.TargetResult) -> bool:
    return not result.ok and result.error_code != "CANCELLED"


class BulkRun:
    def __init__(self, store: JobStore, job: ActiveJob) -> None:
        self.store = store
        self.job = job
        self.total = len(job.record.targets)
        self.started: list[str] = []
        self.succeeded = 0
        self.failed = 0
        self.cancelled = 0
        self._seq = 0  # results handed to the store
        self._committed = 0  # results 1.._committed are on disk (commits keep submission order)
        self._done = False
        self._error: BaseException | None = None
        self._elapsed_ms = 0.0
        self._clock = time.monotonic()
        self._changed = asyncio.Event()

    async def accept(self) -> None:
        """Put the job on disk before the caller learns its id."""
        try:
            await self.store.record(self.job)
        except JobStoreError as exc:
            self._forget(str(exc))
            raise

    async def target_started(self, name: str) -> None:
        """Commit that ``name`` is about to run, so a crash can tell it from targets that never ran."""
        self.started.append(name)
        self._changed.set()
        await self.store.record_target_start(self.job, name)

    async def target_finished(self, result: pb.TargetResult) -> tuple[int, int]:
        """Commit one target's result; the stream sends it once it is on disk.

        Returns (done, failed) as this result made them, before other targets' commits move them."""
        if result.ok:
            self.succeeded += 1
        elif result.error_code == "CANCELLED":
            self.cancelled += 1
        else:
            self.failed += 1
        self._seq += 1
        seq, failed = self._seq, self.failed
        await self.store.record_result(self.job, seq, result)
        self._committed = max(self._committed, seq)
        self._changed.set()
        return seq, failed

    async def close(self, state: pb.JobState.ValueType, error: str) -> None:
        self._elapsed_ms = (time.monotonic() - self._clock) * 1000
        try:
            await self.store.complete(self.job, state, error)
        finally:
            self._done = True
            self._changed.set()

    def abort(self, error: BaseException) -> None:
        """The runner failed (the store could not record a result): end the stream with that error."""
        self._error = error
        self._done = True
        self._changed.set()
        self._forget(str(error))

    def _forget(self, error: str) -> None:
        with contextlib.suppress(JobStoreError):  # a closed store: the next start closes the job
            self.store.finish(self.job, pb.JOB_STATE_FAILED, error, wait=False)

    async def events(self) -> AsyncIterator[pb.BulkEvent]:
        job_id = self.job.record.id
        yield pb.BulkEvent(accepted=pb.BulkEvent.Accepted(job_id=job_id, total=self.total))
        sent_started = 0
        read = 0
        failed = 0
        failures: list[pb.BulkEvent.Failure] = []
        while True:
            self._changed.clear()
            # Every result up to `upto` started before it was committed, so sending the starts
            # recorded by now first keeps each target's `started` before its `finished`.
            upto = self._committed
            while sent_started < len(self.started):
                yield pb.BulkEvent(started=pb.BulkEvent.TargetStarted(target=self.started[sent_started]))
                sent_started += 1
            if read < upto:
                page = await self.store.read_results(job_id, read, upto)
                if not page:  # rows gone (a failed commit, pruned): nothing more to send up to here
                    read = upto
                for seq, result in page:
                    read = seq
                    if _is_failure(result):
                        failed += 1
                        failures.append(pb.BulkEvent.Failure(target=result.target, reason=result.error))
                    yield pb.BulkEvent(finished=result)
                    yield pb.BulkEvent(progress=pb.BulkEvent.Progress(done=seq, total=self.total, failed=failed))
                continue
            if read < self._committed or sent_started < len(self.started):
                continue
            if self._done:
                break
            await self._changed.wait()
        if self._error is not None:
            raise self._error
        summary = pb.BulkEvent.Summary(
            job_id=job_id,
            succeeded=self.succeeded,
            failed=failures,
            cancelled=self.cancelled,
            elapsed_ms=self._elapsed_ms,
        )
        yield pb.BulkEvent(summary=summary)
