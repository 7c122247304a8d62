"""tether.v1.Service: what this tetherd is and can do (GetServiceInfo)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import grpc

from .. import __version__
from ..core.events import EventBus
from ..core.jobs import JobStore
from ..core.pool import SessionPool
from ..drivers.contract import Driver
from ..drivers.registry import DriverRegistry
from ..v1 import messages as pb
from ..v1 import service_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


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


class ServiceServicer(service_pb2_grpc.ServiceServicer):
    def __init__(
        self, registry: DriverRegistry, pool: SessionPool, store: JobStore, listen: str, events: EventBus
    ) -> None:
        self.events = events
        self.registry = registry
        self.pool = pool
        self.store = store
        self.listen = listen
        self.started = time.time()
        self._driver_info: list[pb.DriverInfo] | None = None

    async def GetServiceInfo(self, request: pb.GetServiceInfoRequest, context: Context) -> pb.ServiceInfo:
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
