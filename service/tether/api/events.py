"""The ``tether.v1.Events`` service: ``WatchEvents``, an async generator fed by the event bus.

Every retained event after the request's ``after_seq`` first, then live ones, filtered
by kind, job and target. The bus hands over events already serialized (each is
serialized once, however many watchers read it), so the method's response serializer
passes bytes through. Before the first event the stream's initial metadata says where
it starts (``tether-event-seq``: the seq after which it delivers), so a client that saw
no event yet can still resume without a gap. docs/events.md has the protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from ..core.events import BusClosed, EventBus, TooManyWatchers, event_filter
from ..drivers.contract import InvalidRequest
from ..security.limits import MAX_JOB_ID, MAX_TARGET_NAME, check_enum, check_text
from ..v1 import events_pb2
from ..v1 import messages as pb
from .status import abort

SERVICE_NAME = events_pb2.DESCRIPTOR.services_by_name["Events"].full_name
START_METADATA_KEY = "tether-event-seq"
_KNOWN_KINDS = tuple(value for value in pb.EventKind.values() if value != pb.EVENT_KIND_UNSPECIFIED)
MAX_FILTER_KINDS = 64


def check_watch_request(request: pb.WatchEventsRequest) -> tuple[set[int], str, str]:
    """The request's filters, each bounded; INVALID_ARGUMENT-class errors name the field."""
    if len(request.kinds) > MAX_FILTER_KINDS:
        raise InvalidRequest(f"kinds lists {len(request.kinds)} kinds; at most {MAX_FILTER_KINDS}")
    for kind in request.kinds:
        check_enum("kinds[]", kind, _KNOWN_KINDS)
    check_text("job_id", request.job_id, MAX_JOB_ID)
    check_text("target", request.target, MAX_TARGET_NAME)
    return set(request.kinds), request.job_id, request.target


class EventsServicer:
    def __init__(self, bus: EventBus, max_watchers: int = 1_000) -> None:
        self.bus = bus
        self.max_watchers = max_watchers
        self.watchers = 0

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[bytes]:
        try:
            kinds, job_id, target = check_watch_request(request)
            if self.watchers >= self.max_watchers:
                raise TooManyWatchers(f"{self.watchers} event watchers already (max_event_watchers)")
            if self.bus.closed:
                raise BusClosed("tetherd is shutting down")
            subscription = self.bus.subscribe(request.after_seq)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a status, never a crash
            await abort(context, exc)
        self.watchers += 1
        try:
            await context.send_initial_metadata(((START_METADATA_KEY, str(subscription.cursor)),))
            accept = event_filter(kinds, job_id, target)
            async for data in subscription.follow(accept):
                yield data
        finally:
            subscription.close()
            self.watchers -= 1


def _passthrough(data: bytes) -> bytes:
    return data


def add_events_servicer(servicer: EventsServicer, server: grpc.aio.Server) -> None:
    handler = grpc.unary_stream_rpc_method_handler(
        servicer.WatchEvents,
        request_deserializer=pb.WatchEventsRequest.FromString,
        response_serializer=_passthrough,
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, {"WatchEvents": handler}),))
