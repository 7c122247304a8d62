"""Runs operations: one target (Execute) or many (Bulk), each as a recorded job."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from ..api.status import Cancelled, Failure, classify
from ..drivers.capabilities import ExecChannel, FileTransfer, use
from ..drivers.contract import ConnectionSpec, Driver, InvalidRequest
from ..drivers.registry import DriverRegistry
from ..operations.operation import OperationResult, run_operation
from ..operations.requests import Defaults, OperationSpec, Redactor
from ..operations.validation import RequestValidator
from ..security.redaction import redacted_exec
from ..v1 import messages as pb
from .events import EventBus
from .jobs import ActiveJob, BulkRun, JobStore
from .pool import Outcome, SessionPool

__all__ = ["Cancelled", "Executor", "Failure", "classify"]  # the last three live in api.status now
log = logging.getLogger("tether.executor")
T = TypeVar("T")
_HUNG_GRACE_SECONDS = 10.0


def _meta(outcome: Outcome[Any]) -> pb.ExecutionMeta:
    return pb.ExecutionMeta(
        session_id=outcome.session.id,
        session_reused=outcome.reused,
        connect_ms=outcome.connect_ms,
        run_ms=outcome.run_ms,
        queued_ms=outcome.queued_ms,
    )


def _typed_results(message: pb.ExecuteResponse | pb.TargetResult, result: OperationResult) -> None:
    """Getter results and the candidate's outcome, beside the command results."""
    message.getters.extend(result.getters)
    if result.candidate is not None:
        message.candidate.CopyFrom(result.candidate)


class Executor:
    def __init__(
        self,
        registry: DriverRegistry,
        pool: SessionPool,
        store: JobStore,
        defaults: Defaults,
        max_concurrency: int = 256,
        bulk_concurrency: int = 32,
        default_timeout: float = 300.0,
        allow_special_file_modes: bool = False,
        events: EventBus | None = None,
    ) -> None:
        self.registry = registry
        self.events = events if events is not None else store.events
        self.pool = pool
        self.store = store
        self.defaults = defaults
        self.bulk_concurrency = bulk_concurrency
        self.default_timeout = default_timeout
        self._slots = asyncio.Semaphore(max_concurrency)
        self._background: set[asyncio.Future[None]] = set()
        self.validate = RequestValidator(registry, defaults, allow_special_file_modes)

    async def _run_target(
        self,
        driver: type[Driver],
        spec: ConnectionSpec,
        work: Callable[[Driver], T],
        mode: pb.Mode.ValueType,
        timeout: float,
        job: ActiveJob,
    ) -> Outcome[T]:
        deadline = time.monotonic() + (timeout or self.default_timeout)
        async with self._slots:
            if job.cancelled.is_set():
                raise Cancelled("job was cancelled before this target ran")
            self.store.start(job)
            return await self.pool.run(driver, spec, work, deadline, pinned=mode != pb.MODE_ONESHOT)

    async def _run_operation(
        self,
        driver: type[Driver],
        spec: ConnectionSpec,
        op: OperationSpec,
        mode: pb.Mode.ValueType,
        timeout: float,
        job: ActiveJob,
        redact: Redactor,
    ) -> Outcome[OperationResult]:
        outcome = await self._run_target(
            driver, spec, lambda d: run_operation(d, op, job.cancelled, redact), mode, timeout, job
        )
        self.pool.counters["commands_run"] += sum(r.status == pb.RESULT_STATUS_OK for r in outcome.value.results)
        return outcome

    async def _single(
        self, job: ActiveJob, spec: ConnectionSpec, redact: Redactor, run: Awaitable[Outcome[T]]
    ) -> Outcome[T]:
        """Await one target's work; a failure is recorded on the job and raised as a Failure."""
        try:
            return await run
        except BaseException as exc:
            failure = classify(exc, target=spec.target, driver=job.record.driver)
            message = redact(failure.message)
            result = job.record.results.add(target=spec.target, ok=False, error=message, error_code=failure.code)
            self.events.target_finished(job.record, result, 1, 1, 1)
            state = pb.JOB_STATE_CANCELLED if failure.code == "CANCELLED" else pb.JOB_STATE_FAILED
            if isinstance(exc, asyncio.CancelledError):  # nobody is waiting for an answer
                self.store.finish(job, state, message, wait=False)
                raise
            await self.store.complete(job, state, message)  # recorded before the error is answered
            raise failure.with_message(message) from None

    async def execute(self, request: pb.ExecuteRequest) -> pb.ExecuteResponse:
        driver, spec, redact, op = await self.validate.execute(request)
        job = self.store.create(
            pb.JOB_KIND_EXECUTE, driver.meta.name, [spec.target], map(redact, op.lines), dict(request.labels)
        )
        self.pool.counters["jobs_execute"] += 1
        outcome = await self._single(
            job, spec, redact, self._run_operation(driver, spec, op, request.mode, request.timeout, job, redact)
        )
        ok = outcome.value.ok
        meta = _meta(outcome)
        target = job.record.results.add(target=spec.target, ok=ok, results=outcome.value.results, meta=meta)
        if outcome.value.config is not None:
            target.config.CopyFrom(outcome.value.config)
        _typed_results(target, outcome.value)
        self.events.target_finished(job.record, target, 1, 1, 0 if ok else 1)
        state = pb.JOB_STATE_SUCCEEDED if ok else pb.JOB_STATE_FAILED
        if job.cancelled.is_set():
            state = pb.JOB_STATE_CANCELLED
        await self.store.complete(job, state, "" if ok else "one or more commands failed")
        response = pb.ExecuteResponse(
            job_id=job.record.id, results=outcome.value.results, meta=meta, ok=ok, config=outcome.value.config
        )
        _typed_results(response, outcome.value)
        return response

    async def _transfer(
        self,
        request: pb.PutFileRequest | pb.FetchFileRequest | pb.ExecRequest,
        label: str,
        work: Callable[[Driver], T],
        path_required: bool = True,
        timeout: float = 0.0,
    ) -> tuple[str, Outcome[T]]:
        driver, spec, redact = await self.validate.transfer(request)  # path_required: see check_transfer
        job = self.store.create(pb.JOB_KIND_EXECUTE, driver.meta.name, [spec.target], [redact(label)], {})
        outcome = await self._single(
            job, spec, redact, self._run_target(driver, spec, work, request.mode, timeout, job)
        )
        result = job.record.results.add(target=spec.target, ok=True, meta=_meta(outcome))
        self.events.target_finished(job.record, result, 1, 1, 0)
        await self.store.complete(job, pb.JOB_STATE_SUCCEEDED)
        return job.record.id, outcome

    async def exec_command(self, request: pb.ExecRequest) -> pb.ExecResponse:
        if not request.command:
            raise InvalidRequest("command is required")
        timeout = request.timeout or self.default_timeout
        job_id, outcome = await self._transfer(
            request,
            f"exec {request.command}",
            lambda d: redacted_exec(use(d, ExecChannel).exec_command(request.command, request.stdin, timeout), d.spec),
            path_required=False,
            # The command's own timeout ends it cleanly; the deadline past it means a hung session.
            timeout=timeout + _HUNG_GRACE_SECONDS,
        )
        result = outcome.value
        return pb.ExecResponse(
            job_id=job_id,
            exit_status=result.exit_status,
            stdout=result.stdout,
            stderr=result.stderr,
            meta=_meta(outcome),
        )

    async def put_file(self, request: pb.PutFileRequest) -> pb.PutFileResponse:
        label = f"put {request.remote_path} ({len(request.data)} bytes)"
        job_id, outcome = await self._transfer(
            request,
            label,
            lambda d: use(d, FileTransfer).put_file(request.remote_path, request.data, request.file_mode),
        )
        return pb.PutFileResponse(job_id=job_id, size=len(request.data), meta=_meta(outcome))

    async def fetch_file(self, request: pb.FetchFileRequest) -> pb.FetchFileResponse:
        job_id, outcome = await self._transfer(
            request, f"fetch {request.remote_path}", lambda d: use(d, FileTransfer).fetch_file(request.remote_path)
        )
        return pb.FetchFileResponse(job_id=job_id, data=outcome.value, meta=_meta(outcome))

    async def bulk(self, request: pb.BulkRequest) -> AsyncIterator[pb.BulkEvent]:
        driver, op, targets, redact = await self.validate.bulk(request)
        job = self.store.create(
            pb.JOB_KIND_BULK, driver.meta.name, [n for n, _ in targets], map(redact, op.lines), dict(request.labels)
        )
        run = BulkRun(self.store, job)
        await run.accept()
        self.pool.counters["jobs_bulk"] += 1
        limit = asyncio.Semaphore(min(request.concurrency or self.bulk_concurrency, self.bulk_concurrency * 8))

        async def one(name: str, spec: ConnectionSpec) -> None:
            async with limit:
                result = pb.TargetResult(target=name)
                if job.cancelled.is_set():
                    result.error, result.error_code = "cancelled before it started", "CANCELLED"
                else:
                    await run.target_started(name)
                    try:
                        outcome = await self._run_operation(
                            driver, spec, op, request.mode, request.timeout, job, redact
                        )
                        result.results.extend(outcome.value.results)
                        result.meta.CopyFrom(_meta(outcome))
                        result.ok = outcome.value.ok
                        if outcome.value.config is not None:
                            result.config.CopyFrom(outcome.value.config)
                        _typed_results(result, outcome.value)
                        if not result.ok:
                            result.error = "one or more commands failed"
                    except Exception as exc:  # noqa: BLE001 - one target's failure is its result
                        failure = classify(exc)
                        result.error, result.error_code = redact(failure.message), failure.code
            done, failed = await run.target_finished(result)
            self.events.target_finished(job.record, result, done, run.total, failed)
            self.events.job(pb.EVENT_KIND_JOB_PROGRESS, job.record, "", done, run.total, failed)

        async def run_all() -> None:
            try:
                await asyncio.gather(*(one(name, spec) for name, spec in targets))
                if job.cancelled.is_set():
                    state = pb.JOB_STATE_CANCELLED
                else:
                    state = pb.JOB_STATE_FAILED if run.failed else pb.JOB_STATE_SUCCEEDED
                await run.close(state, f"{run.failed} of {run.total} targets failed" if run.failed else "")
            except Exception as exc:  # noqa: BLE001 - the store failed: the stream ends with the error
                job.cancelled.set()
                run.abort(classify(exc))

        # The job runs to its end even if the caller goes away: it is recorded either way, and
        # results the caller has not read wait in the store, not in memory.
        runner = asyncio.ensure_future(run_all())
        self._background.add(runner)
        runner.add_done_callback(self._background.discard)
        async for event in run.events():
            yield event
