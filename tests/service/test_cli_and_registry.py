"""The tether CLI against a real tetherd, and third-party drivers through entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import Tetherd
from tether.config import ConfigError, load
from tether.drivers.contract import Capability, ConnectionSpec, InvalidRequest
from tether.drivers.registry import DriverRegistry

TETHER = [sys.executable, "-c", "import sys; from tether.cli.tether import main; sys.exit(main())"]


def tether(daemon: Tetherd, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TETHER, "--endpoint", daemon.endpoint, *args],
        capture_output=True,
        text=True,
        timeout=60,
        # PYTHONPATH kept: the CLI under test is this checkout's, not whatever is installed.
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}, **(env or {})},
    )


def test_cli_exec_sessions_jobs_and_bulk(tetherd: Tetherd) -> None:
    env = {"DEVICE_PW": "cli-secret-pw"}
    device = ["--driver", "null", "-u", "ops", "--password-env", "DEVICE_PW"]
    done = tether(tetherd, "exec", "edge1", "show clock", "show users", *device, env=env)
    assert done.returncode == 0, done.stderr
    assert "### show clock" in done.stdout and "new, connect" in done.stderr
    again = tether(tetherd, "exec", "edge1", "show clock", *device, env=env)
    assert "(reused)" in again.stderr
    listed = tether(tetherd, "--json", "sessions")
    (session,) = json.loads(listed.stdout)
    assert session["host"] == "edge1" and session["use_count"] == "2"
    jobs = tether(tetherd, "jobs")
    assert jobs.stdout.count("succeeded") == 2
    bulk = tether(tetherd, "bulk", "show clock", "--hosts", "a", "b", "c", *device, env=env)
    assert bulk.returncode == 0, bulk.stderr
    assert "3 succeeded, 0 failed" in bulk.stderr
    missing = tether(tetherd, "exec", "edge1", "x", "--driver", "null", "-u", "ops", "--password-env", "NOPE")
    assert missing.returncode != 0 and "NOPE is not set" in missing.stderr
    closed = tether(tetherd, "sessions", "--close-all")
    assert "closed 4 session(s)" in closed.stdout
    assert "cli-secret-pw" not in done.stdout + done.stderr + bulk.stdout + bulk.stderr + tetherd.log()


def test_cli_reports_an_unreachable_service(tmp_path: Path) -> None:
    done = subprocess.run(
        [*TETHER, "--endpoint", f"unix:{tmp_path}/none.sock", "info"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and f"no tetherd answers at unix:{tmp_path}/none.sock" in done.stderr


def test_third_party_driver_through_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_driver.py"
    package.write_text(
        "from tether.drivers.null_driver import NullDriver\n"
        "from tether.drivers.contract import DriverMeta, CONTRACT_VERSION\n"
        "import dataclasses\n"
        "class AcmeDriver(NullDriver):\n"
        "    meta = dataclasses.replace(NullDriver.meta, name='acme')\n"
        "class FutureDriver(NullDriver):\n"
        "    meta = dataclasses.replace(NullDriver.meta, name='future', contract_version=CONTRACT_VERSION + 1)\n"
        "class BoastfulDriver(NullDriver):\n"
        "    meta = dataclasses.replace(NullDriver.meta, name='boastful', capabilities=frozenset({'getters'}))\n"
        "from tether.drivers.contract import Capability, Driver\n"
        "class ContractOneDriver(Driver):\n"
        "    # written for contract 1: one class, run_command on it, capabilities declared\n"
        "    meta = DriverMeta(name='old', contract_version=1, version='0.9', description='v1',\n"
        "                      capabilities=frozenset({Capability.COMMANDS}))\n"
        "    def open(self): pass\n"
        "    def probe(self): pass\n"
        "    def close(self): pass\n"
        "    def run_command(self, command, options): return command.upper()\n"
    )
    dist = tmp_path / "acme_driver-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-driver\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[tether.drivers]\nacme = acme_driver:AcmeDriver\nfuture = acme_driver:FutureDriver\n"
        "boastful = acme_driver:BoastfulDriver\nold = acme_driver:ContractOneDriver\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = DriverRegistry()
    assert {"acme", "future", "netmiko", "null"} <= set(registry.names())
    assert registry.get("acme").meta.name == "acme"
    with pytest.raises(InvalidRequest, match=r"written for contract versions 3; this tetherd speaks 1\.\.2"):
        registry.get("future")
    with pytest.raises(InvalidRequest, match="declares capabilities it does not implement: getters needs get"):
        registry.get("boastful")
    old = registry.get("old")  # contract 1 drivers keep loading
    assert old.meta.contract_range == range(1, 2)
    assert old.capabilities_for(ConnectionSpec(host="h", port=22)) == {Capability.COMMANDS}
    _, refused = registry.load_all()
    assert set(refused) == {"boastful", "future"}


def test_settings_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "tetherd.toml"
    config.write_text('[tetherd]\nmax_sessions = 9\nidle_timeout = 42.5\nlog_format = "text"\n')
    settings = load(str(config), environ={"TETHER_IDLE_TIMEOUT": "7"})
    assert (settings.max_sessions, settings.idle_timeout, settings.log_format) == (9, 7.0, "text")
    config.write_text("[tetherd]\nmax_sesions = 9\n")
    with pytest.raises(ConfigError, match="unknown settings .*max_sesions"):
        load(str(config), environ={})
