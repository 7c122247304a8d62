# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The per-user process behind tether.fleet.network_cli: what ansible-connection is to network_cli.

One long-lived broker per user and Ansible set-up (Python, ansible-core, collection and
plugin paths: a controller with other vendor collections gets a broker of its own). For
each (playbook run, host) it hosts netcommon's network_cli over a tetherd channel lease
(``_netcli_shell``) and serves the JSON-RPC socket the vendor modules talk to. Stock
network_cli starts an ``ansible-connection`` process for every task; the broker answers
an ``attach`` on its control socket instead (about a millisecond), and holds the gRPC
channel so that task workers never import gRPC.

A run's lease is held from its first task to the run's closing ``reset()``, so runs that
share a device take turns on it; between tasks the lease is handed over when other work
waits for the session (a tether.fleet module of the same run, say), and taken again for
the next task. Sockets live in a 0700 directory and are 0600: they carry the enable secret.

Private to the collection: not a public API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pickle
import socket
import sys
import threading
import time
import traceback
from typing import Any

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.connection import recv_data, send_data
from ansible.playbook.play_context import PlayContext
from ansible.utils.jsonrpc import JsonRpcServer

from ansible_collections.tether.fleet.plugins.module_utils import _capabilities as caps
from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.plugin_utils._broker_relay import ServiceRelay

IDLE_EXIT = 900.0  # seconds with no link and no request before the broker exits
_LINK_IDLE = 1800.0  # a link no task used for this long is closed (a run that died without reset)
# A lease nothing was written to for this long ends, so a run that died without its reset holds the
# device no longer than that; the run's next task (after a long pause, say) simply leases it again.
_LEASE_IDLE = 60.0


class DeviceLink:
    """One host of one run: netcommon's network_cli over a lease, and its JSON-RPC socket."""

    def __init__(self, broker: Broker, key: str, socket_path: str, connection: Any) -> None:
        self.broker = broker
        self.key = key
        self.socket_path = socket_path
        self.connection = connection
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.settings = ""  # digest of the options and play context last applied to the connection
        self.server = JsonRpcServer()
        # JsonRpcServer keeps its registered objects in a class attribute (ansible-connection serves one
        # device per process); here each link must dispatch to its own connection only.
        self.server._objects = {connection}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(socket_path)
        os.chmod(socket_path, 0o600)
        self.listener.listen(16)
        threading.Thread(target=self._accept, name=f"netcli-{key[:8]}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                peer = self.listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=self._serve, args=(peer,), daemon=True).start()

    def _serve(self, peer: socket.socket) -> None:
        with peer:
            while True:
                data = recv_data(peer)
                if not data:
                    return
                request = json.loads(to_text(data, errors="surrogate_or_strict"))
                with self.lock:
                    self.last_used = time.monotonic()
                    response = self.server.handle_request(data)
                send_data(peer, to_bytes(response))
                if request.get("method") == "reset":
                    self.broker.drop(self.key)
                    return

    def close(self) -> None:
        try:
            self.listener.close()
        finally:
            if os.path.exists(self.socket_path):
                os.unlink(self.socket_path)
        with self.lock:
            self.connection.release()


class Broker:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.links: dict[str, DeviceLink] = {}
        self.lock = threading.Lock()
        self.last_request = time.monotonic()
        self.relay = ServiceRelay()
        self._cli_class: type | None = None
        self._loading = threading.RLock()  # Ansible's plugin loader is not safe for two threads at once

    @property
    def cli_class(self) -> type:
        """netcommon's network_cli over a lease; loaded on first use (tether.fleet.pinned needs no netcommon)."""
        with self._loading:
            return self._load_cli_class()

    def _load_cli_class(self) -> type:
        if self._cli_class is None:
            from ansible_collections.tether.fleet.plugins.plugin_utils._netcli_shell import (
                leased_cli_class,
            )

            self._cli_class = leased_cli_class(self._open_lease)
        return self._cli_class

    # -- the lease behind a link

    def _open_lease(self, connection: Any) -> Any:
        from tether.lease_client import ChannelLeaseClient

        spec = connection._tether_spec
        platform = str(spec["connection"].get("platform", ""))
        try:
            service = self.relay.service(spec["settings"])
            caps.require(
                self.relay.capabilities(spec["settings"]),
                spec["driver"],
                platform,
                [caps.CHANNEL_LEASE],
                "tether.fleet.network_cli (a lease of the device's CLI channel)",
            )
        except (_tether.ServiceError, caps.MissingCapability) as exc:
            from ansible.errors import AnsibleConnectionFailure

            raise AnsibleConnectionFailure(f"tether.fleet.network_cli: no session to {spec['name']}: {exc}") from None
        wait = float(connection.get_option("persistent_connect_timeout"))

        def lease(client: Any) -> Any:
            held = ChannelLeaseClient(
                client,
                spec["connection"],
                driver=spec["driver"],
                wait_timeout=wait,
                idle_timeout=_LEASE_IDLE,
                labels={"source": "ansible", "connection": "tether.fleet.network_cli", "inventory_host": spec["name"]},
            )
            held.wait_opened(wait + 5)
            return held

        try:
            return service.call(lease)
        except _tether.ServiceError as exc:
            from ansible.errors import AnsibleConnectionFailure

            raise AnsibleConnectionFailure(
                f"tether.fleet.network_cli: no session to {spec['name']} ({exc.code}): {exc.message}"
            ) from None

    # -- control requests

    def attach(self, request: dict[str, Any]) -> dict[str, Any]:
        key = str(request["key"])
        settings = hashlib.sha256(
            json.dumps([request["options"], request["play_context"]], sort_keys=True, default=str).encode()
        ).hexdigest()
        play_context = PlayContext()
        play_context.deserialize(pickle.loads(base64.b64decode(request["play_context"])))
        options = request["options"]
        spec = {
            "settings": _tether.settings_from_values(request["settings"]),
            "connection": request["connection"],
            "driver": request["driver"],
            "name": request["name"],
        }
        with self.lock:
            link = self.links.get(key)
        if link is None:
            with self._loading:  # loads the vendor's terminal and cliconf plugins
                connection = self.cli_class(
                    play_context, "/dev/null", task_uuid=request["task_uuid"], ansible_playbook_pid=request["run"]
                )
                connection._tether_spec = spec
                connection.set_options(direct=options)
            path = os.path.join(self.directory, f"nl-{key[:20]}.sock")
            if os.path.exists(path):
                os.unlink(path)
            connection._socket_path = path
            link = DeviceLink(self, key, path, connection)
            with self.lock:
                self.links[key] = link
        else:
            with link.lock:
                link.last_used = time.monotonic()
                connection = link.connection
                connection._tether_spec = spec
                if link.settings != settings:  # most tasks of a play change nothing: skip netcommon's work
                    connection.set_options(direct=options)
                    connection.update_play_context(pickle.dumps(play_context.serialize()))
                else:
                    connection.reset_history()  # what update_play_context does besides
                connection.set_check_prompt(request["task_uuid"])
        link.settings = settings
        return {"socket_path": link.socket_path, "messages": link.connection.pop_messages()}

    def task_done(self, request: dict[str, Any]) -> dict[str, Any]:
        """Between tasks: hand the session over if other work waits for it."""
        with self.lock:
            link = self.links.get(str(request["key"]))
        if link is not None and link.lock.acquire(timeout=0.5):
            try:
                lease = link.connection.lease()
                if lease is not None and lease.yield_if_waited_on(timeout=5.0):
                    link.connection.release()
            finally:
                link.lock.release()
        return {}

    def reset(self, request: dict[str, Any]) -> dict[str, Any]:
        self.drop(str(request["key"]))
        return {}

    def drop(self, key: str) -> None:
        with self.lock:
            link = self.links.pop(key, None)
        if link is not None:
            link.close()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        self.last_request = time.monotonic()
        method = request.get("method")
        handlers = {"attach": self.attach, "task_done": self.task_done, "reset": self.reset, "service": self.relay.call}
        handler = handlers.get(str(method))
        if method == "ping":
            return {"pid": os.getpid()}
        if handler is None:
            return {"error": f"unknown broker method {method!r}"}
        try:
            return handler(request)
        except Exception as exc:  # noqa: BLE001 - the worker shows it as the task's failure
            return {"error": to_text(exc), "exception": traceback.format_exc()}

    # -- upkeep

    def expire(self) -> bool:
        """Close links no task used for long; True when the broker should exit."""
        now = time.monotonic()
        with self.lock:
            stale = [k for k, link in self.links.items() if now - link.last_used > _LINK_IDLE]
        for key in stale:
            self.drop(key)
        return not self.links and now - self.last_request > IDLE_EXIT


def serve(control_path: str) -> None:
    os.umask(0o077)
    broker = Broker(os.path.dirname(control_path))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(control_path):
        os.unlink(control_path)
    listener.bind(control_path)
    os.chmod(control_path, 0o600)
    listener.listen(64)
    listener.settimeout(30.0)

    def answer(peer: socket.socket) -> None:
        with peer:
            data = recv_data(peer)
            if data:
                reply = broker.handle(json.loads(to_text(data)))
                send_data(peer, to_bytes(json.dumps(reply)))

    try:
        while True:
            try:
                peer = listener.accept()[0]
            except TimeoutError:
                if broker.expire():
                    return
                continue
            peer.settimeout(None)
            threading.Thread(target=answer, args=(peer,), daemon=True).start()
    finally:
        listener.close()
        if os.path.exists(control_path):
            os.unlink(control_path)
        for key in list(broker.links):
            broker.drop(key)


def main() -> None:
    serve(sys.argv[1])
