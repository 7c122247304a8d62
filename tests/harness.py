"""Runs a real tetherd process for a test: its own socket, state dir and log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tether.client import ClientConfig, TetherClient
from tether.embedded import local_socket_answers

START_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Tetherd:
    workdir: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    listen: str = ""  # empty: a unix socket in workdir
    process: subprocess.Popen[bytes] | None = None
    _clients: list[TetherClient] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.workdir / "run" / "tetherd.sock"

    @property
    def endpoint(self) -> str:
        return self.listen or f"unix:{self.socket}"

    def answers(self) -> bool:
        if not self.listen:
            return local_socket_answers(self.socket)
        # Our own process must hold the listening socket: the port came from free_port(), and another
        # test worker's server may have taken it meanwhile (a connect would then reach that one).
        _host, port = self.listen.rsplit(":", 1)
        if self.process is None:
            return False
        try:
            listening = psutil.Process(self.process.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == int(port) for c in listening)

    @property
    def log_path(self) -> Path:
        return self.workdir / "tetherd.log"

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def start(self) -> Tetherd:
        command = [
            sys.executable, "-m", "tether", "serve",
            "--listen", self.endpoint,
            "--state-dir", str(self.state_dir),
            "--log-level", "debug",
            *self.args,
        ]  # fmt: skip
        env = {**os.environ, **self.env}
        (self.workdir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tetherd did not start: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def client(self, **overrides: Any) -> TetherClient:
        client = TetherClient(ClientConfig(**{"endpoint": self.endpoint, "timeout": 60, **overrides}))
        self._clients.append(client)
        return client

    def counters(self) -> dict[str, int]:
        return dict(self.client().info().counters)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        for client in self._clients:
            client.close()
        self._clients.clear()
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(5)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_until(predicate: Any, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
