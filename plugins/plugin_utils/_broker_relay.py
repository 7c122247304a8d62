# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tetherd calls made by the broker on behalf of a connection plugin in a task worker.

Ansible loads a connection plugin afresh in every task's worker, so a plugin that talks
gRPC itself pays gRPC's import (~0.1 s) on every task. tether.fleet.pinned sends its
calls here instead: the broker holds the gRPC channels, warm, and the worker pays one
unix socket round trip. Bytes travel base64-encoded; errors come back as a gRPC status
name and a message that holds no secret (tetherd redacts its own).

What a host's commands and file copies go through is decided here from the capabilities
tetherd publishes for the driver and platform (fetched once per service, with the call
that starts it, and kept for the broker's life): an ``exec`` capability runs each command
in an exec channel of its own, otherwise it goes through the CLI session; a copy needs
``file_transfer``. A missing capability is a FAILED_PRECONDITION that names it.

Private to the collection: not a public API.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _capabilities as caps
from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._target import Target, same_login


class ServiceRelay:
    def __init__(self) -> None:
        self._services: dict[_tether.ServiceSettings, _tether.Service] = {}
        self._capabilities: dict[_tether.ServiceSettings, dict[str, caps.DriverCapabilities]] = {}
        self._lock = threading.Lock()

    def service(self, settings: _tether.ServiceSettings) -> _tether.Service:
        with self._lock:
            service = self._services.get(settings)
            if service is None:
                service = _tether.Service(settings)
                # Start the embedded tetherd now, once: a Service restarting it under calls that
                # other threads have in flight on the same channel would cut those calls off.
                info = service.call(lambda client: client.info())
                self._capabilities[settings] = caps.from_service_info(info)
                self._services[settings] = service
            return service

    def close(self) -> None:
        with self._lock:
            services, self._services = list(self._services.values()), {}
            self._capabilities.clear()
        for service in services:
            service.close()

    def capabilities(self, settings: _tether.ServiceSettings) -> dict[str, caps.DriverCapabilities]:
        self.service(settings)
        return self._capabilities.get(settings, {})

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            settings = _tether.settings_from_values(request["settings"])
            return self._call(self.service(settings), self.capabilities(settings), str(request["call"]), request)
        except _tether.ServiceError as exc:
            return {"code": exc.code, "message": exc.message}
        except caps.MissingCapability as exc:
            return {"code": "FAILED_PRECONDITION", "message": str(exc), "capability": exc.capability}

    def _call(
        self,
        service: _tether.Service,
        known: dict[str, caps.DriverCapabilities],
        call: str,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        driver, connection, pinned = str(request["driver"]), dict(request["connection"]), bool(request["pinned"])
        platform = str(connection.get("platform", ""))
        if call == "command":
            return self._command(service, known, driver, connection, pinned, request)
        if call in ("put_file", "fetch_file"):
            caps.require(known, driver, platform, [caps.FILE_TRANSFER], "copying files")
        if call == "execute":
            op = _tether.OperationArgs(commands=list(request["commands"]), read_timeout=float(request["read_timeout"]))
            outcome = service.execute(
                driver, connection, op, pinned, float(request["timeout"]), dict(request.get("labels") or {})
            )
            return {"results": outcome.results}
        if call == "exec_command":
            status, stdout, stderr = service.exec_command(
                driver,
                connection,
                str(request["command"]),
                base64.b64decode(request["stdin"]),
                pinned,
                float(request["timeout"]),
            )
            return {"status": status, "stdout": _b64(stdout), "stderr": _b64(stderr)}
        if call == "put_file":
            data = base64.b64decode(request["data"])
            service.put_file(driver, connection, str(request["remote_path"]), data, pinned)
            return {}
        if call == "fetch_file":
            return {"data": _b64(service.fetch_file(driver, connection, str(request["remote_path"]), pinned))}
        if call == "close_login":
            target = Target(name=str(request["name"]), driver=driver, connection=connection)
            if not service.running():
                return {"closed": 0}
            closed = 0
            for session in service.list_sessions(host=target.host):
                if same_login(session, target):
                    closed += service.close_sessions(session_id=session["id"])
            return {"closed": closed}
        return {"code": "INVALID_ARGUMENT", "message": f"unknown call {call!r}"}

    @staticmethod
    def _command(
        service: _tether.Service,
        known: dict[str, caps.DriverCapabilities],
        driver: str,
        connection: dict[str, Any],
        pinned: bool,
        request: dict[str, Any],
    ) -> dict[str, Any]:
        """One command of a connection plugin: (status, stdout, stderr) whichever way the target runs it."""
        stdin = base64.b64decode(request["stdin"])
        platform = str(connection.get("platform", ""))
        if caps.has(known, driver, platform, caps.EXEC):
            # A host with a shell: each command in an exec channel of its own over the warm
            # transport, as SSH does: a real exit status, stdin, stderr, and no shell state
            # (or an ``exit``) leaking from one command into the CLI session.
            status, stdout, stderr = service.exec_command(
                driver, connection, str(request["command"]), stdin, pinned, float(request["read_timeout"])
            )
            return {"status": status, "stdout": _b64(stdout), "stderr": _b64(stderr)}
        if stdin:
            raise caps.MissingCapability(caps.EXEC, driver, platform, "a command with standard input")
        op = _tether.OperationArgs(commands=[str(request["command"])], read_timeout=float(request["read_timeout"]))
        outcome = service.execute(
            driver, connection, op, pinned, float(request["timeout"]), dict(request.get("labels") or {})
        )
        if not outcome.results:
            return {"status": 1, "stdout": "", "stderr": _b64(b"tetherd returned no result")}
        result = outcome.results[0]
        if result["status"] != "ok":
            error = str(result["error"] or result["status"]).encode()
            return {"status": 1, "stdout": _b64(str(result["output"]).encode()), "stderr": _b64(error)}
        return {"status": 0, "stdout": _b64(str(result["output"]).encode()), "stderr": ""}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
