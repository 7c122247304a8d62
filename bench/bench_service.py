"""tetherd against the alternatives, measured in one run on the same simulator.

Prints per-command latency (p50/p95) and commands/s for:
  - tetherd Execute on a warm pinned session (netmiko driver)
  - tetherd's netmiko driver called in this process, no service (what gRPC and the service add)
  - netmiko used directly on a warm connection, default send_command
  - netmiko used directly on a warm connection, tuned (expect_string, cmd_verify=False)
  - connect-per-command (ConnectHandler, one command, disconnect)
then the service's own overhead (null driver through gRPC vs the bare driver
call) and the RSS of tetherd per idle pinned session over N sessions.

Run: make bench   (or: python bench/bench_service.py --commands 50 --sessions 100)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _measure import print_table, row, timed  # noqa: E402
from netmiko import ConnectHandler  # noqa: E402

from tests.harness import Tetherd  # noqa: E402
from tests.peers.switches import start_switches  # noqa: E402
from tether.drivers.contract import CommandOptions, ConnectionSpec  # noqa: E402
from tether.drivers.netmiko_driver import NetmikoDriver  # noqa: E402
from tether.drivers.null_driver import NullDriver  # noqa: E402

COMMAND = "show version"


def netmiko_params(switch: object) -> dict[str, object]:
    return {
        "device_type": "cisco_ios",
        "host": switch.host,  # type: ignore[attr-defined]
        "port": switch.port,  # type: ignore[attr-defined]
        "username": switch.username,  # type: ignore[attr-defined]
        "password": switch.password,  # type: ignore[attr-defined]
        "secret": switch.enable_password,  # type: ignore[attr-defined]
        "fast_cli": True,
    }


def bench_latency(daemon: Tetherd, switch: object, count: int) -> None:
    client = daemon.client()
    connection = {
        "host": switch.host,  # type: ignore[attr-defined]
        "port": switch.port,  # type: ignore[attr-defined]
        "platform": "cisco_ios",
        "username": switch.username,  # type: ignore[attr-defined]
        "password": switch.password,  # type: ignore[attr-defined]
        "secret": switch.enable_password,  # type: ignore[attr-defined]
    }
    client.execute(connection, [COMMAND])  # open the pinned session
    rows = [row("tetherd Execute (warm pinned session)", timed(lambda: client.execute(connection, [COMMAND]), count))]

    driver = NetmikoDriver(
        ConnectionSpec(
            host=connection["host"],
            port=connection["port"],
            platform="cisco_ios",
            username=connection["username"],
            password=connection["password"],
            secret=connection["secret"],
        )
    )
    driver.open()
    options = CommandOptions()
    rows.append(
        row("tetherd's driver in-process (no service)", timed(lambda: driver.run_command(COMMAND, options), count))
    )
    driver.close()

    direct = ConnectHandler(**netmiko_params(switch))
    direct.enable()
    prompt = direct.find_prompt()
    rows.append(row("netmiko direct, warm, default send_command", timed(lambda: direct.send_command(COMMAND), count)))
    rows.append(
        row(
            "netmiko direct, warm, tuned (expect_string)",
            timed(lambda: direct.send_command(COMMAND, expect_string=prompt, cmd_verify=False), count),
        )
    )
    direct.disconnect()

    def connect_per_command() -> None:
        connection_ = ConnectHandler(**netmiko_params(switch))
        connection_.enable()
        connection_.send_command(COMMAND)
        connection_.disconnect()

    rows.append(row("netmiko connect-per-command", timed(connect_per_command, max(5, count // 5))))
    print(f"\n## Per-command latency, '{COMMAND}' on one simulated Cisco IOS switch ({count} commands)")
    print_table(rows, "tetherd Execute (warm pinned session)")


def bench_overhead(daemon: Tetherd, count: int) -> None:
    client = daemon.client()
    connection = {"host": "overhead.null", "username": "u", "password": "p"}
    client.execute(connection, [COMMAND], driver="null")
    through_service = timed(lambda: client.execute(connection, [COMMAND], driver="null"), count)
    driver = NullDriver(ConnectionSpec(host="overhead.null", port=22))
    driver.open()
    options = CommandOptions()
    bare = timed(lambda: driver.run_command(COMMAND, options), count)
    floor = timed(lambda: client.info(), count)
    service_p50 = statistics.median(through_service)
    bare_p50 = statistics.median(bare)
    floor_p50 = statistics.median(floor)
    print(f"\n## Service overhead (null driver, {count} calls, unix socket)")
    print(f"tetherd Execute p50 {service_p50:.3f} ms, bare driver call p50 {bare_p50:.4f} ms")
    print(f"overhead p50 {service_p50 - bare_p50:.3f} ms (target <= 1 ms)")
    print(f"of which the Python gRPC round trip alone (GetServiceInfo) p50 {floor_p50:.3f} ms;")
    print(f"session, job and driver-thread work p50 {service_p50 - floor_p50:.3f} ms")


def bench_memory(daemon: Tetherd, sessions: int) -> None:
    client = daemon.client()
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    farm = start_switches(sessions)
    try:
        first = farm.switches[0]
        client.execute({"host": first.host, "port": first.port, "platform": "cisco_ios", "username": first.username,
                        "password": first.password}, [COMMAND])  # fmt: skip
        client.close_sessions(everything=True)
        time.sleep(0.5)
        before = process.memory_info().rss
        for switch in farm.switches:
            client.execute(
                {"host": switch.host, "port": switch.port, "platform": "cisco_ios", "username": switch.username,
                 "password": switch.password},
                [COMMAND],
            )  # fmt: skip
        time.sleep(1.0)
        after = process.memory_info().rss
        opened = len(client.list_sessions())
    finally:
        client.close_sessions(everything=True)
        farm.stop()
    per_session = (after - before) / opened / 1024 / 1024
    print(f"\n## Memory: {opened} idle pinned netmiko sessions")
    print(f"tetherd RSS {before / 2**20:.1f} MB -> {after / 2**20:.1f} MB: {per_session:.2f} MB per idle session")
    print("(Salt proxy minion: 40-240 MB per device; target <= 2 MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--overhead-calls", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as workdir:
        daemon = Tetherd(Path(workdir), ["--log-level", "warning"]).start()
        farm = start_switches(1)
        try:
            bench_latency(daemon, farm.switches[0], args.commands)
            bench_overhead(daemon, args.overhead_calls)
            bench_memory(daemon, args.sessions)
        finally:
            farm.stop()
            daemon.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
