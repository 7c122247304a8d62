"""tetherd's gRPC server: listener, interceptors, the API services, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from .. import __version__
from ..config import ConfigError, Settings, ensure_private_dir
from ..core.events import EventBus
from ..core.executor import Executor
from ..core.jobs import JobStore
from ..core.memory import return_large_buffers_to_os
from ..core.pool import PoolLimits, SessionPool
from ..drivers import _napalm_options, _ssh_policy, _tls_policy
from ..drivers.registry import DriverRegistry
from ..operations import parsing
from ..operations.requests import Defaults
from ..security import redaction
from .devices import DEVICE_METHODS
from .interceptors import ActivityTracker, chain
from .services import ApiServices

log = logging.getLogger("tether.server")


class AlreadyRunning(RuntimeError):
    pass


def _server_options(settings: Settings) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", max(settings.max_message_bytes, 64 * 1024 * 1024)),
        # Ping idle clients so a vanished caller is noticed; let clients ping every 10 s.
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def _claim_socket(path: Path) -> IO[str]:
    """Take the listener's lock; remove a stale socket left by a dead tetherd.

    The lock, not the socket file, decides who serves: many processes may race to
    start the embedded service, and exactly one of them gets the lock.
    """
    ensure_private_dir(path.parent)
    lock = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - held for the server's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise AlreadyRunning(f"another tetherd already serves {path}") from None
    if path.exists() or path.is_symlink():
        path.unlink()
    return lock


class Tetherd:
    def __init__(self, settings: Settings, registry: DriverRegistry | None = None) -> None:
        self.settings = settings
        _ssh_policy.configure(_ssh_policy.SshPolicy.from_settings(settings))
        _tls_policy.configure(settings.allow_unverified_tls)
        _napalm_options.configure_mock_dirs(settings.napalm_mock_dirs)
        redaction.keep_config_secrets(settings.keep_config_secrets)
        self.registry = registry or DriverRegistry()
        self.events = EventBus(settings.event_retention, settings.event_retention_seconds)
        limits = PoolLimits(max_sessions=settings.max_sessions, idle_timeout=settings.idle_timeout)
        self.pool = SessionPool(limits, events=self.events)
        self.store = JobStore(settings.jobs_db, max_jobs=settings.max_jobs, events=self.events)
        self.executor = Executor(
            self.registry,
            self.pool,
            self.store,
            Defaults(
                settings.keepalive_seconds, settings.connect_timeout, settings.read_timeout, settings.max_output_bytes
            ),
            max_concurrency=settings.max_concurrency,
            bulk_concurrency=settings.bulk_concurrency,
            default_timeout=settings.request_timeout,
            allow_special_file_modes=settings.allow_special_file_modes,
            events=self.events,
        )
        self.api = ApiServices(
            self.executor,
            self.pool,
            self.store,
            self.registry,
            settings.listen,
            self.events,
            settings.max_event_watchers,
        )
        self.activity = ActivityTracker(DEVICE_METHODS)
        self.health = health.aio.HealthServicer()
        self._stop = asyncio.Event()
        self._lock: IO[str] | None = None
        self.server: grpc.aio.Server | None = None

    async def start(self) -> None:
        settings = self.settings
        interceptors = chain(settings.resolved_token(), self.activity)
        server = grpc.aio.server(options=_server_options(settings), interceptors=interceptors)
        self.api.add_to(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection((*self.api.names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        if settings.is_unix:
            self._lock = _claim_socket(settings.socket_path)
            old_umask = os.umask(0o177)  # the socket file is created 0600
            try:
                server.add_insecure_port(settings.listen)
            finally:
                os.umask(old_umask)
        else:
            server.add_secure_port(settings.listen, self._credentials())
        await server.start()
        self.server = server
        self.pool.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        for name in self.api.names:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("tetherd serving", extra={"listen": settings.listen, "version": __version__, "pid": os.getpid()})

    def _credentials(self) -> grpc.ServerCredentials:
        settings = self.settings
        try:
            key = Path(settings.tls_key).read_bytes()
            cert = Path(settings.tls_cert).read_bytes()
            client_ca = Path(settings.tls_client_ca).read_bytes() if settings.tls_client_ca else None
        except OSError as exc:
            raise ConfigError(f"cannot read TLS file: {exc}") from None
        return grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        idle_watch = asyncio.ensure_future(self._exit_when_idle()) if self.settings.exit_when_idle > 0 else None
        await self._stop.wait()
        if idle_watch is not None:
            idle_watch.cancel()
        await self.stop()

    async def _exit_when_idle(self) -> None:
        limit = self.settings.exit_when_idle
        while True:
            await asyncio.sleep(min(limit, 1.0))
            quiet = self.activity.quiet_seconds()
            if self.pool.open_count == 0 and self.store.running_count() == 0 and quiet >= limit:
                log.info("exiting: idle with no sessions", extra={"idle_seconds": round(quiet, 1)})
                self._stop.set()
                return

    async def stop(self) -> None:
        """Stop taking calls, let running ones finish (up to drain_seconds), close sessions."""
        await self.health.enter_graceful_shutdown()
        if self.server is not None:
            # Watchers see the running jobs finish, then their streams end cleanly (not cancelled at the drain's end).
            stopping = asyncio.ensure_future(self.server.stop(self.settings.drain_seconds))
            await self.events.close_when(lambda: self.store.running_count() == 0, self.settings.drain_seconds)
            await stopping
        self.events.close()
        await self.pool.shutdown()
        await asyncio.to_thread(parsing.close)  # parser worker processes
        self.store.close()
        if self.settings.is_unix and self._lock is not None:
            self.settings.socket_path.unlink(missing_ok=True)
            self._lock.close()
        log.info("tetherd stopped")


async def serve(settings: Settings, registry: DriverRegistry | None = None) -> None:
    return_large_buffers_to_os()
    daemon = Tetherd(settings, registry)
    await daemon.start()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, daemon.request_stop)
    await daemon.wait()
