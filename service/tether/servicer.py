"""The gRPC servicer: maps API calls onto the executor, pool and job store, and
every failure onto a gRPC status whose message names the problem."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from . import __version__
from .core.events import EventBus
from .drivers.contract import Driver, InvalidRequest
from .drivers.registry import DriverRegistry
from .executor import Executor, Failure, classify
from .jobs import BadPageToken, JobNotFound, JobStore
from .limits import quote
from .pool import SessionPool
from .requests import check_job_id, check_list_jobs, check_session_filter
from .session import PinnedSession, SessionState
from .v1 import devices_pb2_grpc, jobs_pb2_grpc, service_pb2_grpc, sessions_pb2_grpc
from .v1 import messages as pb
from .v1 import tether_pb2_grpc as pb_grpc

log = logging.getLogger("tether.api")
T = TypeVar("T")
# A status message travels in a header the client caps (8 KiB by default, after
# percent-encoding): longer ones would turn the answer into RESOURCE_EXHAUSTED.
MAX_STATUS_MESSAGE = 1_024

_SESSION_STATES = {
    SessionState.CONNECTING: pb.SESSION_STATE_CONNECTING,
    SessionState.IDLE: pb.SESSION_STATE_IDLE,
    SessionState.BUSY: pb.SESSION_STATE_BUSY,
    SessionState.CLOSED: pb.SESSION_STATE_CLOSED,
}


async def _guard(context: grpc.aio.ServicerContext[Any, Any], call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (JobNotFound, BadPageToken) as exc:
        code = grpc.StatusCode.NOT_FOUND if isinstance(exc, JobNotFound) else grpc.StatusCode.INVALID_ARGUMENT
        message = f"no job with id {quote(exc.args[0])}" if isinstance(exc, JobNotFound) else str(exc)
        await context.abort(code, status_message(message))
    except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
        failure = classify(exc)
        await context.abort(grpc.StatusCode[failure.code], status_message(failure.message))
    raise AssertionError("unreachable")


def status_message(message: str) -> str:
    if len(message) <= MAX_STATUS_MESSAGE:
        return message
    return f"{message[:MAX_STATUS_MESSAGE]}... ({len(message)} characters)"


def session_message(session: PinnedSession) -> pb.Session:
    return pb.Session(
        id=session.id,
        fingerprint=session.key.fingerprint,
        driver=session.key.driver,
        host=session.key.host,
        port=session.key.port,
        username=session.key.username,
        platform=session.spec.platform,
        state=_SESSION_STATES[session.state],
        created=session.created,
        last_used=session.last_used,
        use_count=session.use_count,
        keepalive_failures=session.keepalive_failures,
        queued=session.queued,
    )


def driver_info(driver: type[Driver]) -> pb.DriverInfo:
    """What a client needs to know of a driver: capabilities as data, per platform where they differ."""
    meta = driver.meta
    return pb.DriverInfo(
        name=meta.name,
        version=meta.version,
        description=meta.description,
        contract_min=meta.contract_range.start,
        contract_max=meta.contract_range[-1],
        capabilities=sorted(meta.capabilities),
        getters=sorted(meta.getters),
        platform_capabilities={
            platform: pb.CapabilitySet(capabilities=sorted(capabilities))
            for platform, capabilities in driver.platform_capabilities().items()
        },
        default_port=meta.default_port,
    )


class TetherServicer(
    pb_grpc.TetherServicer,
    devices_pb2_grpc.DevicesServicer,
    jobs_pb2_grpc.JobsServicer,
    sessions_pb2_grpc.SessionsServicer,
    service_pb2_grpc.ServiceServicer,
):
    """Serves the domain services and, with the same methods, the original ``Tether`` service."""

    def __init__(
        self,
        executor: Executor,
        pool: SessionPool,
        store: JobStore,
        registry: DriverRegistry,
        listen: str,
        events: EventBus | None = None,
    ) -> None:
        self.events = events if events is not None else pool.events
        self.executor = executor
        self.pool = pool
        self.store = store
        self.registry = registry
        self.listen = listen
        self.started = time.time()
        self.last_call = time.monotonic()
        self._driver_info: list[pb.DriverInfo] | None = None

    async def Execute(
        self, request: pb.ExecuteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ExecuteResponse:
        self.last_call = time.monotonic()
        return await _guard(context, lambda: self.executor.execute(request))

    async def Bulk(
        self, request: pb.BulkRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.BulkEvent]:
        self.last_call = time.monotonic()
        try:
            async for event in self.executor.bulk(request):
                yield event
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            failure = exc if isinstance(exc, Failure) else classify(exc)
            await context.abort(grpc.StatusCode[failure.code], status_message(failure.message))

    async def Exec(self, request: pb.ExecRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.ExecResponse:
        self.last_call = time.monotonic()
        return await _guard(context, lambda: self.executor.exec_command(request))

    async def PutFile(
        self, request: pb.PutFileRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PutFileResponse:
        self.last_call = time.monotonic()
        return await _guard(context, lambda: self.executor.put_file(request))

    async def FetchFile(
        self, request: pb.FetchFileRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.FetchFileResponse:
        self.last_call = time.monotonic()
        return await _guard(context, lambda: self.executor.fetch_file(request))

    async def GetJob(self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.Job:
        async def get() -> pb.Job:
            check_job_id(request.job_id)
            return self.store.get(request.job_id)

        return await _guard(context, get)

    async def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListJobsResponse:
        async def list_jobs() -> pb.ListJobsResponse:
            check_list_jobs(request)
            jobs, token = self.store.query(
                states=list(request.states),
                kind=request.kind,
                target=request.target,
                since=request.since,
                page_size=request.page_size,
                page_token=request.page_token,
                include_results=request.include_results,
            )
            return pb.ListJobsResponse(jobs=jobs, next_page_token=token)

        return await _guard(context, list_jobs)

    async def CancelJob(self, request: pb.CancelJobRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.Job:
        async def cancel() -> pb.Job:
            check_job_id(request.job_id)
            return self.store.cancel(request.job_id)

        return await _guard(context, cancel)

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListSessionsResponse:
        try:
            check_session_filter(host=request.host, driver=request.driver)
        except InvalidRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        sessions = [
            session_message(s)
            for s in self.pool.sessions
            if (not request.host or s.key.host == request.host)
            and (not request.driver or s.key.driver == request.driver)
        ]
        return pb.ListSessionsResponse(sessions=sessions)

    async def CloseSession(
        self, request: pb.CloseSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.CloseSessionResponse:
        try:
            check_session_filter(session_id=request.session_id, host=request.host)
        except InvalidRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if not (request.session_id or request.host or request.all):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "say which sessions to close: session_id, host or all"
            )
        closed = self.pool.close_matching(request.session_id, request.host, request.all)
        return pb.CloseSessionResponse(closed=closed)

    async def GetServiceInfo(
        self, request: pb.GetServiceInfoRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ServiceInfo:
        if self._driver_info is None:  # loading every driver imports their libraries: once, off the loop
            self._driver_info = await asyncio.to_thread(self._describe_drivers)
        return pb.ServiceInfo(
            version=__version__,
            pid=os.getpid(),
            started=self.started,
            drivers=self.registry.names(),
            counters=dict(self.pool.counters),
            sessions_open=self.pool.open_count,
            jobs_running=self.store.running_count(),
            listen=self.listen,
            driver_info=self._driver_info,
            event_seq=self.events.newest_seq,
        )

    def _describe_drivers(self) -> list[pb.DriverInfo]:
        loaded, refused = self.registry.load_all()
        described = [driver_info(driver) for driver in loaded.values()]
        described += [pb.DriverInfo(name=name, load_error=reason) for name, reason in refused.items()]
        return sorted(described, key=lambda info: info.name)
