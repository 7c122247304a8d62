# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The channel to tetherd: the gRPC client's lifecycle and the embedded auto-start.

Fork safety (gRPC is fork-sensitive):

- ``grpc`` and the client are imported here, at module level. Ansible's strategy
  imports action plugins in the ansible-playbook parent once, so every forked
  worker inherits the import instead of paying ~80 ms for it on each task.
- A channel is only ever made inside :class:`Channel`, which a plugin creates in
  the worker that runs the task and closes when the task ends. Nothing here makes
  a channel at import time, and a :class:`Channel` refuses to use a channel in a
  process other than the one that made it.

The embedded default: with no endpoint configured the service is the local
socket (``tether.config.default_endpoint()``). When nothing answers there and
``auto_start`` is on, ``tether.embedded.ensure_service`` starts tetherd in the
background (race-free across forks) and the call is made again; that tetherd
exits by itself after ``auto_start_idle`` seconds with no session and no call.

Private to the collection: not a public API.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

try:
    import grpc  # noqa: F401  # pylint: disable=unused-import  # at plugin load, never per task (see above)

    from tether.client import TetherClient, TetherError
    from tether.config import ConfigError
    from tether.embedded import StartFailed, ensure_service, local_socket_answers, socket_path
except ImportError as _error:
    IMPORT_ERROR: str | None = f"{type(_error).__name__}: {_error}"
else:
    IMPORT_ERROR = None

from ansible_collections.tether.fleet.plugins.module_utils._settings import ServiceError, ServiceSettings

T = TypeVar("T")
_C = TypeVar("_C", bound="Channel")


def require_client() -> None:
    if IMPORT_ERROR is not None:
        raise ServiceError(
            "MISSING_PACKAGE",
            "the tether.fleet collection needs the Python package 'tether' (pip install 'tether[server]') "
            f"in the Python that runs Ansible on the controller: {IMPORT_ERROR}",
        )


class Channel:
    """The gRPC channel to tetherd as one Ansible task (or one broker) sees it: made lazily
    in this process, closed with the task (``with Service(settings) as service: ...``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        require_client()
        self.settings = settings
        self._config = settings.client_config()
        self.started_service = False  # whether this task started the embedded tetherd
        self._client: TetherClient | None = None
        self._pid = os.getpid()

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return self._config.resolved_endpoint

    @property
    def is_local(self) -> bool:
        return self._config.is_local

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()

    # -- channel and embedded auto-start

    def _may_start(self) -> bool:
        return self.settings.auto_start and self.is_local

    def running(self) -> bool:
        """Whether something answers on a local endpoint (always True for a remote one: only a call can tell)."""
        if not self.is_local:
            return True
        return local_socket_answers(socket_path(self.endpoint))

    def _start(self) -> None:
        try:
            self.started_service = ensure_service(self.endpoint, exit_when_idle=self.settings.auto_start_idle)
        except (StartFailed, ConfigError, OSError) as exc:
            raise ServiceError("UNAVAILABLE", f"could not start tetherd on {self.endpoint}: {exc}") from None

    def _new_client(self) -> TetherClient:
        try:
            return TetherClient(self._config)
        except OSError as exc:  # a TLS file that cannot be read
            raise ServiceError("INVALID_ARGUMENT", f"cannot set up the channel to {self.endpoint}: {exc}") from None

    def _client_here(self, start: bool) -> TetherClient:
        if self._client is not None and self._pid != os.getpid():
            self._client = None  # made in another process (fork): never touch it here
            self._pid = os.getpid()
        if self._client is None:
            if start and self._may_start() and not os.path.exists(socket_path(self.endpoint)):
                self._start()
            self._client = self._new_client()
        return self._client

    @staticmethod
    def _never_sent(exc: TetherError) -> bool:
        """Whether the channel failed to connect, so that no server ever saw the request."""
        return exc.code == "UNAVAILABLE" and exc.message.startswith("failed to connect to all addresses")

    def _error(self, exc: TetherError) -> ServiceError:
        if exc.code != "UNAVAILABLE":
            return ServiceError(exc.code, exc.message)
        # UNAVAILABLE is also how tetherd reports a device it cannot reach: blame the
        # service only when its own socket is dead or the channel never connected.
        if self.is_local and not self.running():
            hint = "" if self.settings.auto_start else " (auto_start is off: start it with 'tetherd serve')"
            return ServiceError("UNAVAILABLE", f"tetherd does not answer on {self.endpoint}{hint}")
        if self._never_sent(exc):
            return ServiceError("UNAVAILABLE", f"tetherd at {self.endpoint} does not answer: {exc.message}")
        return ServiceError(exc.code, exc.message)

    def call(self, work: Callable[[TetherClient], T], start: bool = True) -> T:
        """``work(client)``; on a local endpoint where nothing answers, start tetherd (when
        allowed) and try once more. Only a request that never reached a server is sent
        again (a service that died under a call does not get the call twice). ``work``
        must consume any stream it opens."""
        client = self._client_here(start)
        try:
            return work(client)
        except TetherError as exc:
            if not (self._never_sent(exc) and start and self._may_start() and not self.running()):
                raise self._error(exc) from None
        self.close()
        self._start()
        client = self._client_here(start=False)
        try:
            return work(client)
        except TetherError as exc:
            raise self._error(exc) from None
