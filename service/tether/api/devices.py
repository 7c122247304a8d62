"""tether.v1.Devices: work on targets (Execute, Bulk, Exec, PutFile, FetchFile, LeaseChannel)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import grpc

from ..core.executor import Executor
from ..core.lease import ChannelLeases
from ..v1 import devices_pb2_grpc
from ..v1 import messages as pb
from .status import abort

T = TypeVar("T")
Context = grpc.aio.ServicerContext[Any, Any]
# The methods that do work on devices: the activity interceptor counts only these.
DEVICE_METHODS = ("Execute", "Bulk", "Exec", "PutFile", "FetchFile", "LeaseChannel")


async def guarded(context: Context, call: Awaitable[T]) -> T:
    """``call``'s answer, or the call ended with the status its failure maps to."""
    try:
        return await call
    except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
        await abort(context, exc)


class DevicesServicer(devices_pb2_grpc.DevicesServicer):
    def __init__(self, executor: Executor, leases: ChannelLeases) -> None:
        self.executor = executor
        self.leases = leases

    async def Execute(self, request: pb.ExecuteRequest, context: Context) -> pb.ExecuteResponse:
        return await guarded(context, self.executor.execute(request))

    async def Bulk(self, request: pb.BulkRequest, context: Context) -> AsyncIterator[pb.BulkEvent]:
        try:
            async for event in self.executor.bulk(request):
                yield event
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)

    async def LeaseChannel(
        self, request_iterator: AsyncIterator[pb.ChannelRequest], context: Context
    ) -> AsyncIterator[pb.ChannelEvent]:
        try:
            async for event in self.leases.serve(request_iterator, context):
                yield event
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)

    async def Exec(self, request: pb.ExecRequest, context: Context) -> pb.ExecResponse:
        return await guarded(context, self.executor.exec_command(request))

    async def PutFile(self, request: pb.PutFileRequest, context: Context) -> pb.PutFileResponse:
        return await guarded(context, self.executor.put_file(request))

    async def FetchFile(self, request: pb.FetchFileRequest, context: Context) -> pb.FetchFileResponse:
        return await guarded(context, self.executor.fetch_file(request))
