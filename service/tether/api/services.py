"""The one place that puts the API on a server: every domain service, and the legacy one.

Each entry names the service (for reflection and health), the servicer and the
generated function that adds it. The domain services are what new clients call; the
original ``tether.v1.Tether`` delegates to them, for clients generated before the split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from ..core.events import EventBus
from ..core.executor import Executor
from ..core.jobs import JobStore
from ..core.lease import ChannelLeases
from ..core.pool import SessionPool
from ..drivers.registry import DriverRegistry
from ..v1 import (
    devices_pb2,
    devices_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    service_pb2,
    service_pb2_grpc,
    sessions_pb2,
    sessions_pb2_grpc,
    tether_pb2,
    tether_pb2_grpc,
)
from .devices import DevicesServicer
from .events import SERVICE_NAME as EVENTS_SERVICE
from .events import EventsServicer, add_events_servicer
from .jobs import JobsServicer
from .legacy import TetherServicer
from .service import ServiceServicer
from .sessions import SessionsServicer


@dataclass(frozen=True)
class Served:
    name: str  # the full service name, e.g. tether.v1.Devices
    servicer: Any
    add: Callable[[Any, grpc.aio.Server], None]


def _name(module: Any, service: str) -> str:
    return str(module.DESCRIPTOR.services_by_name[service].full_name)


class ApiServices:
    """The servicers of one tetherd, by domain."""

    def __init__(
        self,
        executor: Executor,
        pool: SessionPool,
        store: JobStore,
        registry: DriverRegistry,
        listen: str,
        events: EventBus,
        max_event_watchers: int,
    ) -> None:
        self.devices = DevicesServicer(executor, ChannelLeases(executor, pool))
        self.jobs = JobsServicer(store)
        self.sessions = SessionsServicer(pool)
        self.service = ServiceServicer(registry, pool, store, listen, events)
        self.events = EventsServicer(events, max_event_watchers)
        self.legacy = TetherServicer(self.devices, self.jobs, self.sessions, self.service)
        self.served: list[Served] = [
            Served(_name(devices_pb2, "Devices"), self.devices, devices_pb2_grpc.add_DevicesServicer_to_server),
            Served(_name(jobs_pb2, "Jobs"), self.jobs, jobs_pb2_grpc.add_JobsServicer_to_server),
            Served(_name(sessions_pb2, "Sessions"), self.sessions, sessions_pb2_grpc.add_SessionsServicer_to_server),
            Served(_name(service_pb2, "Service"), self.service, service_pb2_grpc.add_ServiceServicer_to_server),
            Served(EVENTS_SERVICE, self.events, add_events_servicer),
            Served(_name(tether_pb2, "Tether"), self.legacy, tether_pb2_grpc.add_TetherServicer_to_server),
        ]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(served.name for served in self.served)

    def add_to(self, server: grpc.aio.Server) -> None:
        for served in self.served:
            served.add(served.servicer, server)
