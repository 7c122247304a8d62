# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Task workers' side of the tether.fleet.network_cli broker: find it, start it, ask it.

Nothing here imports gRPC (the broker holds the channel to tetherd): a worker pays only
for a unix socket round trip. The broker is keyed by everything that decides which
plugins it loads (Python, ansible-core, collection and plugin paths, ansible.cfg), so a
controller set up differently never talks to a broker with other vendor plugins.

Private to the collection: not a public API.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

from ansible import constants, release
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.connection import recv_data, send_data
from ansible.plugins.loader import (
    become_loader,
    cliconf_loader,
    connection_loader,
    httpapi_loader,
    netconf_loader,
    terminal_loader,
)
from ansible.utils.collection_loader import AnsibleCollectionConfig

START_TIMEOUT = 30.0
# Bumped when the requests a worker sends change, so a worker never talks to a broker started
# by an older copy of the collection (a broker lives up to its idle timeout after an upgrade).
BROKER_PROTOCOL = "relay-2"
_MAX_DIR = 72  # room for "/nl-" + 20 + ".sock" within the 107 bytes of a unix socket path
_BOOT = (
    "from ansible.plugins.loader import init_plugin_loader; init_plugin_loader(); "
    "from ansible_collections.tether.fleet.plugins.plugin_utils._netcli_broker import main; main()"
)


class BrokerError(Exception):
    pass


def _private_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR") or ""
    path = os.path.join(base, "tether") if base and os.path.isdir(base) else f"/tmp/tether-{os.getuid()}"
    if len(path) > _MAX_DIR:  # unix socket paths hold at most 107 bytes
        path = f"/tmp/tether-{os.getuid()}"
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not os.path.isdir(path) or os.path.islink(path):
        raise BrokerError(f"{path} must be a directory owned by this user with mode 0700")
    return path


def broker_environment() -> dict[str, str]:
    """What ansible-connection is given (ansible-core's start_connection), so the broker sees the same plugins."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_BECOME_PLUGINS": become_loader.print_paths(),
            "ANSIBLE_CLICONF_PLUGINS": cliconf_loader.print_paths(),
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(AnsibleCollectionConfig.collection_paths),
            "ANSIBLE_CONNECTION_PLUGINS": connection_loader.print_paths(),
            "ANSIBLE_HTTPAPI_PLUGINS": httpapi_loader.print_paths(),
            "ANSIBLE_NETCONF_PLUGINS": netconf_loader.print_paths(),
            "ANSIBLE_TERMINAL_PLUGINS": terminal_loader.print_paths(),
        }
    )
    if constants.CONFIG_FILE:
        env["ANSIBLE_CONFIG"] = constants.CONFIG_FILE
    return env


def control_path() -> str:
    """The broker for this Ansible set-up: keyed by what decides which plugins it loads and which tetherd
    it talks to. Cheap (no plugin path scan): it runs on every task."""
    env = os.environ
    identity = [
        BROKER_PROTOCOL,
        sys.executable,
        release.__version__,
        os.pathsep.join(AnsibleCollectionConfig.collection_paths),
        os.pathsep.join(AnsibleCollectionConfig.playbook_paths),
        str(constants.CONFIG_FILE),
        str(_mtime(constants.CONFIG_FILE)),
    ]
    identity += [f"{k}={env[k]}" for k in sorted(env) if k.startswith(("ANSIBLE_", "TETHER_"))]
    identity += [f"{k}={env.get(k, '')}" for k in ("XDG_RUNTIME_DIR", "PYTHONPATH")]
    digest = hashlib.sha256("\0".join(identity).encode()).hexdigest()[:16]
    return os.path.join(_private_dir(), f"nc-{digest[:12]}.sock")


def _mtime(path: str | None) -> float:
    try:
        return os.stat(path).st_mtime if path else 0.0
    except OSError:
        return 0.0


def _ask(path: str, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        send_data(sock, to_bytes(json.dumps(request)))
        data = recv_data(sock)
    if not data:
        raise BrokerError("the tether.fleet.network_cli broker closed the connection without answering")
    return dict(json.loads(to_text(data)))


def _answers(path: str) -> bool:
    try:
        return bool(_ask(path, {"method": "ping"}, 2.0).get("pid"))
    except OSError:
        return False


def _start(path: str, env: dict[str, str]) -> None:
    """Start the broker unless one answers; a lock keeps racing workers to one start."""
    with open(path + ".lock", "a+b") as lock:
        os.chmod(path + ".lock", 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(path):
            return
        log = os.open(path[: -len(".sock")] + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, path],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(log)
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BrokerError(f"the tether.fleet.network_cli broker did not start; see {path[: -len('.sock')]}.log")
            time.sleep(0.02)


def ask(request: dict[str, Any], start: bool = True, timeout: float = 60.0) -> dict[str, Any]:
    """``request`` answered by this user's broker (started when ``start`` and none answers)."""
    path = control_path()
    try:
        return _ask(path, request, timeout)
    except (FileNotFoundError, ConnectionRefusedError):
        if not start:
            return {}
    _start(path, broker_environment())
    return _ask(path, request, timeout)
