"""The embedded default: start a private tetherd on the local socket when none answers.

Like SSH's ControlPersist: the first caller starts the service in the
background, every later caller (and the next playbook run) finds it, and it
exits by itself once it has had no session and no call for a while. Many
processes may race here at once (Ansible forks); a lock file serialises the
spawners and the server's own socket lock guarantees a single listener.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .config import ConfigError, ensure_private_dir

DEFAULT_EXIT_WHEN_IDLE = 900.0
_START_TIMEOUT = 20.0


class StartFailed(RuntimeError):
    pass


def socket_path(endpoint: str) -> Path:
    if not endpoint.startswith("unix:"):
        raise ConfigError(f"only a unix: endpoint can be started locally, not {endpoint!r}")
    return Path(endpoint.removeprefix("unix:").removeprefix("//"))


def local_socket_answers(path: Path, timeout: float = 0.5) -> bool:
    """True when something accepts connections on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def ensure_service(endpoint: str, exit_when_idle: float = DEFAULT_EXIT_WHEN_IDLE) -> bool:
    """Make sure a tetherd answers on the unix ``endpoint``; True when this call started it."""
    path = socket_path(endpoint)
    if local_socket_answers(path):
        return False
    ensure_private_dir(path.parent)
    with open(path.parent / "spawn.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held by one spawner at a time; released on close
        if local_socket_answers(path):
            return False
        _spawn(endpoint, path, exit_when_idle)
        return True


def _spawn(endpoint: str, path: Path, exit_when_idle: float) -> None:
    log_path = path.parent / "tetherd.log"
    command = [
        sys.executable,
        "-m",
        "tether",
        "serve",
        "--listen",
        endpoint,
        "--exit-when-idle",
        str(exit_when_idle),
    ]
    # TETHER_* in the caller's environment are client settings (its token, its TLS files):
    # the local service must not mistake them for its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    with open(log_path, "ab") as log:
        os.chmod(log_path, 0o600)
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives the Ansible worker that started it
            close_fds=True,
        )
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if local_socket_answers(path):
            return
        if process.poll() is not None and not local_socket_answers(path):
            break
        time.sleep(0.02)
    tail = log_path.read_text(errors="replace").splitlines()[-5:]
    raise StartFailed(f"tetherd did not start on {endpoint} (log {log_path}): " + " | ".join(tail))
