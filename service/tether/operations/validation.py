"""Request validation for the executor, never on the event loop.

Validating a request can take real time: the registry may import a driver (netmiko:
half a second), a Bulk has up to 10,000 connections, a template is compiled. All of it
runs on this module's own threads (``tether-validate``), so no request can delay
another client's call. A warm request skips the hop: validated connection and operation
specs are cached by their serialized bytes, and a small request (at most
``INLINE_VALIDATION_BYTES``, so serializing it for the key costs microseconds) whose
connection and operation are both cached is two dict lookups on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from ..drivers.capabilities import require
from ..drivers.contract import Capability, ConnectionSpec, Driver, InvalidRequest
from ..drivers.registry import DriverRegistry
from ..v1 import messages as pb
from .requests import (
    Defaults,
    OperationSpec,
    Redactor,
    check_bulk,
    check_execute,
    check_transfer,
    connection_spec,
    driver_name,
    merge_connection,
    operation_spec,
)
from .typed_operations import check_getters

T = TypeVar("T")
INLINE_VALIDATION_BYTES = 16_384  # also the largest cache key kept: the caches stay bounded in bytes
SPEC_CACHE_SIZE = 1_024  # entries per cache
VALIDATION_THREADS = 2

Connection = tuple[type[Driver], ConnectionSpec, Redactor]
Transfer = pb.PutFileRequest | pb.FetchFileRequest | pb.ExecRequest


def _transfer_needs(request: Transfer) -> frozenset[Capability]:
    exec_request = isinstance(request, pb.ExecRequest)
    return frozenset({Capability.EXEC if exec_request else Capability.FILE_TRANSFER})


def _remember(cache: dict[Any, Any], key: Any, size: int, value: Any) -> None:
    if size > INLINE_VALIDATION_BYTES:
        return
    if len(cache) >= SPEC_CACHE_SIZE:
        cache.clear()
    cache[key] = value


class RequestValidator:
    def __init__(self, registry: DriverRegistry, defaults: Defaults, allow_special_file_modes: bool = False) -> None:
        self.registry = registry
        self.defaults = defaults
        self.allow_special_file_modes = allow_special_file_modes
        self._connections: dict[tuple[str, bytes], Connection] = {}
        self._operations: dict[bytes, OperationSpec] = {}
        self._threads = concurrent.futures.ThreadPoolExecutor(VALIDATION_THREADS, "tether-validate")

    async def _off_loop(self, validate: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, validate)

    def _connection(self, driver: str, connection: pb.Connection) -> Connection:
        """(validation thread) The driver and validated spec of a connection message, cached."""
        key = (driver, connection.SerializeToString(deterministic=True))
        cached = self._connections.get(key)
        if cached is None:
            driver_class = self.registry.get(driver_name(driver))
            spec = connection_spec(connection, self.defaults, driver_class)
            cached = (driver_class, spec, Redactor.for_specs([spec]))
            _remember(self._connections, key, len(key[1]), cached)
        return cached

    def _operation(self, operation: pb.Operation) -> OperationSpec:
        """(validation thread) The validated spec of an operation message, cached."""
        key = operation.SerializeToString(deterministic=True)
        cached = self._operations.get(key)
        if cached is None:
            cached = operation_spec(operation, self.defaults)
            _remember(self._operations, key, len(key), cached)
        return cached

    def _execute(self, request: pb.ExecuteRequest) -> tuple[type[Driver], ConnectionSpec, Redactor, OperationSpec]:
        driver_name(request.driver)
        check_execute(request)
        driver, spec, redact = self._connection(request.driver, request.connection)
        op = self._operation(request.operation)
        require(driver, spec, op.required)
        check_getters(driver, op.getters)
        return driver, spec, redact, op

    async def execute(self, request: pb.ExecuteRequest) -> tuple[type[Driver], ConnectionSpec, Redactor, OperationSpec]:
        """The driver, spec, redactor and operation of an Execute; InvalidRequest when refused."""
        if request.ByteSize() <= INLINE_VALIDATION_BYTES:
            connection = self._connections.get(
                (request.driver, request.connection.SerializeToString(deterministic=True))
            )
            operation = self._operations.get(request.operation.SerializeToString(deterministic=True))
            if connection is not None and operation is not None:
                check_execute(request)  # a few bounded fields of a small message
                require(connection[0], connection[1], operation.required)
                check_getters(connection[0], operation.getters)
                return (*connection, operation)
        return await self._off_loop(lambda: self._execute(request))

    def _transfer(self, request: Transfer) -> Connection:
        driver_name(request.driver)
        check_transfer(request, self.allow_special_file_modes)
        connection = self._connection(request.driver, request.connection)
        require(connection[0], connection[1], _transfer_needs(request))
        return connection

    async def transfer(self, request: Transfer) -> Connection:
        """The driver, spec and redactor of an Exec, PutFile or FetchFile; InvalidRequest when refused."""
        small = len(request.driver) <= INLINE_VALIDATION_BYTES
        if small and request.connection.ByteSize() <= INLINE_VALIDATION_BYTES:
            cached = self._connections.get((request.driver, request.connection.SerializeToString(deterministic=True)))
            if cached is not None:
                check_transfer(request, self.allow_special_file_modes)  # lengths are checked before any scan
                require(cached[0], cached[1], _transfer_needs(request))
                return cached
        return await self._off_loop(lambda: self._transfer(request))

    async def connection(self, driver: str, connection: pb.Connection) -> Connection:
        """The driver, spec and redactor of a bare connection (LeaseChannel's open), off the loop."""

        def validate() -> Connection:
            driver_name(driver)
            return self._connection(driver, connection)

        return await self._off_loop(validate)

    def _bulk(
        self, request: pb.BulkRequest
    ) -> tuple[type[Driver], OperationSpec, list[tuple[str, ConnectionSpec]], Redactor]:
        driver = self.registry.get(driver_name(request.driver))
        check_bulk(request)
        op = operation_spec(request.operation, self.defaults)
        targets: list[tuple[str, ConnectionSpec]] = []
        names: set[str] = set()
        for index, target in enumerate(request.targets):
            merged = merge_connection(request.defaults, target.connection)
            spec = connection_spec(merged, self.defaults, driver, where=f"targets[{index}]")
            name = target.name or spec.host
            if name in names:
                raise InvalidRequest(f"targets[{index}]: duplicate target name {name!r}")
            names.add(name)
            require(driver, spec, op.required)
            targets.append((name, spec))
        check_getters(driver, op.getters)
        return driver, op, targets, Redactor.for_specs(spec for _, spec in targets)

    async def bulk(
        self, request: pb.BulkRequest
    ) -> tuple[type[Driver], OperationSpec, list[tuple[str, ConnectionSpec]], Redactor]:
        """The driver, operation, named target specs and redactor of a Bulk (always off the loop)."""
        return await self._off_loop(lambda: self._bulk(request))
