"""Drivers written for contract 1 keep loading: one installed through an entry point, served by
a real tetherd process, answers, is published as contract 1..1, and is refused before any I/O
what it never declared."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.contract import models
from tests.contract.calls import execute
from tests.contract.listener import AcceptCounter
from tests.contract.models import problems
from tests.contract.test_conformance import unpeered_drivers
from tests.harness import Tetherd
from tether.client import TetherError

# As a third party wrote it against contract 1 (tether before issue 8): one class, the work as
# methods on it (run_command), contract_version=1, capabilities declared. It really connects
# to its target, so a refusal "before any I/O" can be seen from the target's side.
CONTRACT_ONE_DRIVER = """
import socket

from tether.drivers.contract import Capability, CommandOptions, ConnectFailed, Driver, DriverMeta, SessionLost


class LegacyDriver(Driver):
    meta = DriverMeta(
        name="legacy",
        contract_version=1,
        version="0.9",
        description="written for tether driver contract 1",
        capabilities=frozenset({Capability.COMMANDS}),
    )

    def open(self) -> None:
        try:
            self._socket = socket.create_connection((self.spec.host, self.spec.port), timeout=5)
        except OSError as exc:
            raise ConnectFailed(f"{self.spec.target}: {exc}") from exc

    def run_command(self, command: str, options: CommandOptions) -> str:
        if self._socket is None:
            raise SessionLost("closed")
        return f"legacy says {command}"

    def probe(self) -> None:
        if self._socket is None:
            raise SessionLost("closed")

    def close(self) -> None:
        socket_, self._socket = getattr(self, "_socket", None), None
        if socket_ is not None:
            socket_.close()


class LegacyConfigDriver(LegacyDriver):
    meta = DriverMeta(
        name="legacy-config",
        contract_version=1,
        version="0.9",
        description="written for tether driver contract 1, with configuration lines",
        capabilities=frozenset({Capability.COMMANDS, Capability.CONFIG}),
    )

    def run_config(self, lines, options: CommandOptions) -> str:
        return "; ".join(f"legacy applied {line}" for line in lines)
"""


def install_contract_one_package(root: Path) -> Path:
    """A package with a ``tether.drivers`` entry point, installed into ``root`` as pip would."""
    root.mkdir()
    (root / "tether_legacy_driver.py").write_text(CONTRACT_ONE_DRIVER)
    dist = root / "tether_legacy_driver-0.9.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tether-legacy-driver\nVersion: 0.9\n")
    (dist / "entry_points.txt").write_text(
        "[tether.drivers]\nlegacy = tether_legacy_driver:LegacyDriver\n"
        "legacy-config = tether_legacy_driver:LegacyConfigDriver\n"
    )
    return root


@pytest.fixture
def legacy_tetherd(tmp_path: Path, tetherd_factory: Callable[..., Tetherd]) -> Tetherd:
    """A real tetherd that found the contract 1 package through its entry points, and loaded it."""
    site = install_contract_one_package(tmp_path / "site")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    daemon = tetherd_factory(env={"PYTHONPATH": path}, name="legacy-tetherd")
    published = {d.name: d for d in daemon.client().info().driver_info}
    for name in ("legacy", "legacy-config"):
        assert name in published and not problems(models.DriverInfoModel, published[name], contract=1)
    return daemon


def test_a_contract_one_driver_is_served_published_and_refused_before_io(legacy_tetherd: Tetherd) -> None:
    client = legacy_tetherd.client()
    (info,) = [d for d in client.info().driver_info if d.name == "legacy"]
    assert not problems(models.DriverInfoModel, info, contract=1)
    assert (info.contract_min, info.contract_max, list(info.capabilities)) == (1, 1, ["commands"])
    # The conformance suite refuses to pass while a published driver has no peer: this one has none.
    assert unpeered_drivers(client.info()) == ["legacy", "legacy-config"]

    with AcceptCounter() as device:
        connection = {"host": device.host, "port": device.port}
        answer = execute(client, "legacy", connection, commands=["show version"])
        assert answer.ok and not problems(
            models.CommandText, answer.results[0], command="show version", contains="legacy says show version"
        )
        assert device.settled_accepts() == 1

    with AcceptCounter() as device:
        before = legacy_tetherd.counters()
        connection = {"host": device.host, "port": device.port}
        for needs, send in {
            "config": lambda: execute(client, "legacy", connection, config=["hostname x"]),
            "save_config": lambda: execute(client, "legacy", connection, save=True),
            "exec": lambda: client.exec_command(connection, "true", driver="legacy"),
        }.items():
            with pytest.raises(TetherError) as error:
                send()
            assert not problems(models.Refusal, error.value, capability=needs)
        assert device.settled_accepts() == 0
        after = legacy_tetherd.counters()
    assert after.get("connections_opened") == before.get("connections_opened") == 1
    assert after.get("sessions_created") == before.get("sessions_created")


def test_a_contract_one_driver_applies_configuration(legacy_tetherd: Tetherd) -> None:
    client = legacy_tetherd.client()
    with AcceptCounter() as device:
        connection = {"host": device.host, "port": device.port}
        applied = execute(client, "legacy-config", connection, config=["hostname legacy"])
    assert applied.ok and not problems(models.ConfigApplied, applied.config, lines=["hostname legacy"])
    assert "legacy applied hostname legacy" in applied.results[0].output
