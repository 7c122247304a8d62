"""tether.v1.Tether: the original single service, for clients generated before the split.

Every method delegates to the domain servicer that owns it, so the two routes answer
alike (same messages, statuses and details). New RPCs go to the domain services only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from ..v1 import messages as pb
from ..v1 import tether_pb2_grpc
from .devices import DevicesServicer
from .jobs import JobsServicer
from .service import ServiceServicer
from .sessions import SessionsServicer

Context = grpc.aio.ServicerContext[Any, Any]


class TetherServicer(tether_pb2_grpc.TetherServicer):
    def __init__(
        self, devices: DevicesServicer, jobs: JobsServicer, sessions: SessionsServicer, service: ServiceServicer
    ) -> None:
        self.devices = devices
        self.jobs = jobs
        self.sessions = sessions
        self.service = service

    async def Execute(self, request: pb.ExecuteRequest, context: Context) -> pb.ExecuteResponse:
        return await self.devices.Execute(request, context)

    async def Bulk(self, request: pb.BulkRequest, context: Context) -> AsyncIterator[pb.BulkEvent]:
        async for event in self.devices.Bulk(request, context):
            yield event

    async def Exec(self, request: pb.ExecRequest, context: Context) -> pb.ExecResponse:
        return await self.devices.Exec(request, context)

    async def PutFile(self, request: pb.PutFileRequest, context: Context) -> pb.PutFileResponse:
        return await self.devices.PutFile(request, context)

    async def FetchFile(self, request: pb.FetchFileRequest, context: Context) -> pb.FetchFileResponse:
        return await self.devices.FetchFile(request, context)

    async def GetJob(self, request: pb.GetJobRequest, context: Context) -> pb.Job:
        return await self.jobs.GetJob(request, context)

    async def ListJobs(self, request: pb.ListJobsRequest, context: Context) -> pb.ListJobsResponse:
        return await self.jobs.ListJobs(request, context)

    async def CancelJob(self, request: pb.CancelJobRequest, context: Context) -> pb.Job:
        return await self.jobs.CancelJob(request, context)

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        return await self.sessions.ListSessions(request, context)

    async def CloseSession(self, request: pb.CloseSessionRequest, context: Context) -> pb.CloseSessionResponse:
        return await self.sessions.CloseSession(request, context)

    async def GetServiceInfo(self, request: pb.GetServiceInfoRequest, context: Context) -> pb.ServiceInfo:
        return await self.service.GetServiceInfo(request, context)
