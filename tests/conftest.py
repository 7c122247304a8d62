"""Shared fixtures: real peers (simulated switches, OpenSSH) and real tetherd processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Tetherd, free_port

SWITCH_COUNT = 12
EAPI_SWITCH_COUNT = 4


@pytest.fixture(scope="session")
def switches() -> Iterator[Any]:
    """A farm of simulated Cisco IOS switches, shared by the whole run (one per xdist worker)."""
    from tests.peers.switches import start_switches

    farm = start_switches(SWITCH_COUNT)
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def eapi_switches() -> Iterator[Any]:
    """Simulated Arista switches serving eAPI over HTTP and a unix socket, shared by the whole run."""
    from tests.peers.switches import start_switches

    farm = start_switches(EAPI_SWITCH_COUNT, eapi=True, name_prefix="eos")
    yield farm
    farm.stop()


@pytest.fixture
def tetherd_factory(tmp_path: Path) -> Iterator[Callable[..., Tetherd]]:
    started: list[Tetherd] = []

    def start(*args: str, env: dict[str, str] | None = None, name: str = "tetherd") -> Tetherd:
        daemon = Tetherd(tmp_path / name, list(args), dict(env or {}))
        (daemon.workdir / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
        started.append(daemon.start())
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


@pytest.fixture
def tetherd(tetherd_factory: Callable[..., Tetherd]) -> Tetherd:
    return tetherd_factory()


@pytest.fixture(autouse=True)
def _private_runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the user's real socket and state."""
    runtime = tmp_path / "xdg-runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for name in [n for n in os.environ if n.startswith("TETHER_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def own_switch() -> Iterator[Any]:
    """One simulated switch of this test's own, to kill and restart."""
    from tests.peers.switches import start_switches

    farm = start_switches(1)
    yield farm
    farm.stop()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


@pytest.fixture(scope="session")
def sshd() -> Iterator[Any]:
    """A throwaway OpenSSH server on loopback (key authentication for the current user)."""
    from tests.peers.sshd import start_sshd

    server = start_sshd()
    yield server
    server.stop()
