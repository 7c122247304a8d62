"""Start simulated Cisco IOS switches (tests/peers/fakeswitch_server.py) as a subprocess for tests.

farm = start_switches(3)
sw = farm.switches[0]          # SwitchPeer(name="sw01", host="127.0.0.1", port=..., username="admin", ...)
...
farm.kill()                    # SIGKILL: the simulator "crashes", its ports stop answering
farm.restart()                 # a new simulator on the same ports, fresh state
farm.stop()                    # SIGTERM, bounded wait, then SIGKILL
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.peers._process import PeerProcess

SERVER = Path(__file__).with_name("fakeswitch_server.py")
START_TIMEOUT = 20.0


class SwitchFarmError(RuntimeError):
    """The simulator did not start (the message carries the tail of its log)."""


@dataclass(frozen=True)
class SwitchPeer:
    """One simulated switch, as the ready file lists it."""

    name: str  # also the hostname: prompts are "sw01>" / "sw01#" / "sw01(config)#"
    host: str
    port: int
    username: str  # privilege 15: lands in "sw01#"
    password: str
    enable_password: str
    platform: str  # "cisco_ios" (netmiko device_type)
    other_username: str  # a second privilege-15 credential set on the same switch
    other_password: str
    exec_username: str | None  # a privilege-1 user: lands in "sw01>", needs enable + enable_password
    exec_password: str | None
    users: tuple[tuple[str, str, int], ...] = ()  # every (username, password, privilege)
    eapi_port: int | None = None  # Arista eAPI over HTTP (start_switches(..., eapi=True))
    eapi_socket: str | None = None  # Arista eAPI over a unix socket (no password, like EOS' local socket)

    @property
    def other_credentials(self) -> tuple[str, str]:
        return self.other_username, self.other_password

    @property
    def exec_credentials(self) -> tuple[str, str]:
        if self.exec_username is None or self.exec_password is None:
            raise LookupError(f"{self.name} has no privilege-1 user")
        return self.exec_username, self.exec_password

    def netmiko_params(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``netmiko.ConnectHandler`` (as the privilege-15 user)."""
        params: dict[str, Any] = {
            "device_type": self.platform,
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "secret": self.enable_password,
        }
        params.update(overrides)
        return params

    def pyeapi_params(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``pyeapi.connect`` (HTTP, as the privilege-15 user)."""
        if self.eapi_port is None:
            raise LookupError(f"{self.name} serves no eAPI (start_switches(..., eapi=True))")
        params: dict[str, Any] = {
            "transport": "http",
            "host": self.host,
            "port": self.eapi_port,
            "username": self.username,
            "password": self.password,
            "timeout": 10,
        }
        params.update(overrides)
        return params

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SwitchPeer:
        users = tuple((u["username"], u["password"], int(u["privilege"])) for u in data.get("users", []))
        return cls(
            name=data["name"],
            host=data["host"],
            port=int(data["port"]),
            username=data["username"],
            password=data["password"],
            enable_password=data["enable_password"],
            platform=data["platform"],
            other_username=data["other_username"],
            other_password=data["other_password"],
            exec_username=data.get("exec_username"),
            exec_password=data.get("exec_password"),
            users=users,
            eapi_port=int(data["eapi_port"]) if data.get("eapi_port") else None,
            eapi_socket=data.get("eapi_socket"),
        )


@dataclass
class SwitchFarm(PeerProcess):
    """A running fakeswitch_server.py process and the switches it serves."""

    count: int
    workdir: Path
    extra_args: list[str] = field(default_factory=list)
    start_timeout: float = START_TIMEOUT
    switches: list[SwitchPeer] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    patches: list[str] = field(default_factory=list)
    _own_workdir: bool = False
    _starts: int = 0

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self.switches]

    @property
    def eapi_ports(self) -> list[int]:
        return [s.eapi_port for s in self.switches if s.eapi_port is not None]

    @property
    def ready_file(self) -> Path:
        return self.workdir / "ready.json"

    @property
    def log_path(self) -> Path:
        return self.workdir / "fakeswitch.log"

    def start(self, ports: Sequence[int] | None = None, eapi_ports: Sequence[int] | None = None) -> SwitchFarm:
        """Start the simulator (on ``ports`` if given) and wait, bounded, for its ready file."""
        if self.running():
            raise SwitchFarmError("the simulator is already running")
        self.ready_file.unlink(missing_ok=True)
        command = [
            sys.executable,
            str(SERVER),
            "--count",
            str(self.count),
            "--ready-file",
            str(self.ready_file),
            "--parent-pid",
            str(os.getpid()),
            *self.extra_args,
        ]
        if ports:
            command += ["--ports", ",".join(str(p) for p in ports)]
        if eapi_ports:
            command += ["--eapi-ports", ",".join(str(p) for p in eapi_ports)]
        self._starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self._starts}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.start_timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                raise SwitchFarmError(
                    f"fakeswitch_server exited with {self.process.returncode} before it was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise SwitchFarmError(
                    f"fakeswitch_server not ready after {self.start_timeout:.0f} s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.02)
        data = json.loads(self.ready_file.read_text())
        self.patches = list(data.get("patches", []))
        self.switches = [SwitchPeer.from_json(item) for item in data["switches"]]
        return self

    def restart(self) -> SwitchFarm:
        """Stop the simulator if it still runs, then start a fresh one on the same ports (state is lost)."""
        ports, eapi_ports = self.ports, self.eapi_ports
        self._signal_and_wait(signal.SIGTERM)
        return self.start(ports, eapi_ports)

    def kill(self) -> None:
        """SIGKILL the simulator (a crash): its ports refuse connections from now on."""
        self._signal_and_wait(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the simulator (SIGTERM, then SIGKILL after a bounded wait) and remove its temp dir."""
        self._signal_and_wait(signal.SIGTERM)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_switches(
    count: int,
    ports: Sequence[int] | None = None,
    *,
    workdir: Path | None = None,
    disable_patches: Iterable[str] = (),
    users: str | None = None,
    enable_password: str | None = None,
    name_prefix: str | None = None,
    timeout: float = START_TIMEOUT,
    model: str | None = None,
    eapi: bool = False,
) -> SwitchFarm:
    """Start ``count`` simulated Cisco IOS switches in one subprocess and return once they all listen.

    ``ports``: one per switch (default: free ports chosen by the OS). ``workdir``: where the ready
    file and the log go (default: a new temp dir, removed by ``stop()``). ``disable_patches``: names
    from fakeswitch_server.PATCHES to leave off. ``users``: ``name:password[:privilege],...``.
    ``model``: a fake-switches model (``arista_generic``: platform ``arista_eos``); ``eapi``: Arista
    switches also serve eAPI over HTTP and a unix socket (``SwitchPeer.eapi_port`` / ``eapi_socket``).
    """
    if ports is not None and len(ports) != count:
        raise ValueError(f"{len(ports)} ports for {count} switches")
    own = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="tether-switches-")) if workdir is None else workdir
    directory.mkdir(parents=True, exist_ok=True)
    extra: list[str] = []
    for name in disable_patches:
        extra += ["--disable-patch", name]
    if users is not None:
        extra += ["--users", users]
    if enable_password is not None:
        extra += ["--enable-password", enable_password]
    if name_prefix is not None:
        extra += ["--name-prefix", name_prefix]
    if eapi:
        model = model or "arista_generic"
        extra.append("--eapi")
    if model is not None:
        extra += ["--model", model]
    farm = SwitchFarm(count, directory, extra, timeout, _own_workdir=own)
    try:
        return farm.start(ports)
    except BaseException:
        farm.kill()  # keep the workdir: the error names its log
        raise
