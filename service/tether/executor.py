"""Runs operations: one target (Execute) or many (Bulk), each as a recorded job."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .drivers.capabilities import ExecChannel, FileTransfer, use
from .drivers.contract import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    ConnectFailed,
    ConnectionSpec,
    Driver,
    InvalidRequest,
    OutputLimitExceeded,
    SessionLost,
    Unsupported,
)
from .drivers.registry import DriverRegistry
from .jobs import ActiveJob, JobStore
from .operation import OperationResult, run_operation
from .pool import Outcome, PoolExhausted, SessionPool
from .redaction import redacted_exec
from .requests import Defaults, OperationSpec, Redactor
from .v1 import messages as pb
from .validation import RequestValidator

log = logging.getLogger("tether.executor")
T = TypeVar("T")
_HUNG_GRACE_SECONDS = 10.0


class Cancelled(Exception):
    pass


@dataclass(frozen=True)
class Failure(Exception):
    """A failure with the gRPC status code name it maps to."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, Failure):
        return exc
    mapping: list[tuple[type[BaseException], str]] = [
        (InvalidRequest, "INVALID_ARGUMENT"),
        (Unsupported, "FAILED_PRECONDITION"),
        (CommandTimeout, "DEADLINE_EXCEEDED"),
        (OutputLimitExceeded, "RESOURCE_EXHAUSTED"),
        (CommandFailed, "FAILED_PRECONDITION"),
        (AuthFailed, "PERMISSION_DENIED"),
        (ConnectFailed, "UNAVAILABLE"),
        (SessionLost, "UNAVAILABLE"),
        (PoolExhausted, "RESOURCE_EXHAUSTED"),
        (TimeoutError, "DEADLINE_EXCEEDED"),
        (Cancelled, "CANCELLED"),
        (asyncio.CancelledError, "CANCELLED"),
    ]
    for kind, code in mapping:
        if isinstance(exc, kind):
            return Failure(code, str(exc) or kind.__name__)
    log.error("unexpected error in a driver call", exc_info=exc)
    return Failure("INTERNAL", f"{type(exc).__name__}: {exc}")


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
    ) -> None:
        self.registry = registry
        self.pool = pool
        self.store = store
        self.defaults = defaults
        self.bulk_concurrency = bulk_concurrency
        self.default_timeout = default_timeout
        self._slots = asyncio.Semaphore(max_concurrency)
        self._background: set[asyncio.Future[None]] = set()
        self._validate = RequestValidator(registry, defaults, allow_special_file_modes)

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
            failure = classify(exc)
            message = redact(failure.message)
            job.record.results.add(target=spec.target, ok=False, error=message, error_code=failure.code)
            cancelled = failure.code == "CANCELLED"
            self.store.finish(job, pb.JOB_STATE_CANCELLED if cancelled else pb.JOB_STATE_FAILED, message)
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise Failure(failure.code, message) from None

    async def execute(self, request: pb.ExecuteRequest) -> pb.ExecuteResponse:
        driver, spec, redact, op = await self._validate.execute(request)
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
        state = pb.JOB_STATE_SUCCEEDED if ok else pb.JOB_STATE_FAILED
        if job.cancelled.is_set():
            state = pb.JOB_STATE_CANCELLED
        self.store.finish(job, state, "" if ok else "one or more commands failed")
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
        driver, spec, redact = await self._validate.transfer(request)  # path_required: see check_transfer
        job = self.store.create(pb.JOB_KIND_EXECUTE, driver.meta.name, [spec.target], [redact(label)], {})
        outcome = await self._single(
            job, spec, redact, self._run_target(driver, spec, work, request.mode, timeout, job)
        )
        job.record.results.add(target=spec.target, ok=True, meta=_meta(outcome))
        self.store.finish(job, pb.JOB_STATE_SUCCEEDED)
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
        driver, op, targets, redact = await self._validate.bulk(request)
        job = self.store.create(
            pb.JOB_KIND_BULK, driver.meta.name, [n for n, _ in targets], map(redact, op.lines), dict(request.labels)
        )
        self.pool.counters["jobs_bulk"] += 1
        total = len(targets)
        events: asyncio.Queue[pb.BulkEvent | None] = asyncio.Queue()
        limit = asyncio.Semaphore(min(request.concurrency or self.bulk_concurrency, self.bulk_concurrency * 8))
        failures: list[pb.BulkEvent.Failure] = []
        counts = {"done": 0, "ok": 0, "cancelled": 0}
        started = time.monotonic()

        async def one(name: str, spec: ConnectionSpec) -> None:
            async with limit:
                result = pb.TargetResult(target=name)
                if job.cancelled.is_set():
                    result.error, result.error_code = "cancelled before it started", "CANCELLED"
                else:
                    events.put_nowait(pb.BulkEvent(started=pb.BulkEvent.TargetStarted(target=name)))
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
                counts["done"] += 1
                if result.ok:
                    counts["ok"] += 1
                elif result.error_code == "CANCELLED":
                    counts["cancelled"] += 1
                else:
                    failures.append(pb.BulkEvent.Failure(target=name, reason=result.error))
                job.record.results.append(result)
                events.put_nowait(pb.BulkEvent(finished=result))
                events.put_nowait(
                    pb.BulkEvent(progress=pb.BulkEvent.Progress(done=counts["done"], total=total, failed=len(failures)))
                )

        async def run_all() -> None:
            try:
                await asyncio.gather(*(one(name, spec) for name, spec in targets))
                if job.cancelled.is_set():
                    state = pb.JOB_STATE_CANCELLED
                else:
                    state = pb.JOB_STATE_FAILED if failures else pb.JOB_STATE_SUCCEEDED
                self.store.finish(job, state, f"{len(failures)} of {total} targets failed" if failures else "")
                summary = pb.BulkEvent.Summary(
                    job_id=job.record.id,
                    succeeded=counts["ok"],
                    failed=failures,
                    cancelled=counts["cancelled"],
                    elapsed_ms=(time.monotonic() - started) * 1000,
                )
                events.put_nowait(pb.BulkEvent(summary=summary))
            finally:
                events.put_nowait(None)

        yield pb.BulkEvent(accepted=pb.BulkEvent.Accepted(job_id=job.record.id, total=total))
        # The job runs to its end even if the caller goes away: it is recorded either way.
        runner = asyncio.ensure_future(run_all())
        self._background.add(runner)
        runner.add_done_callback(self._background.discard)
        while (event := await events.get()) is not None:
            yield event
