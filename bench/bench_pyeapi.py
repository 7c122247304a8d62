"""pyeapi through tetherd against pyeapi used directly, measured in one run on the same simulator.

Per-command latency (p50/p95) and commands/s of ``show version`` (JSON) on one simulated Arista
switch serving eAPI over HTTP (fake-switches, tests/peers):

  - tetherd Execute, driver pyeapi, warm pinned session (one keep-alive eAPI connection)
  - tetherd's pyeapi driver called in this process, no service (what gRPC and the service add)
  - pyeapi used directly on one Node (pyeapi opens a new TCP connection per request: its
    transport closes after every request)
  - pyeapi connect-per-call (pyeapi.connect + Node + one request), as a script or an Ansible
    module run per task would
  - a warm keep-alive connection driven by hand (http.client, no pyeapi): the floor for eAPI here

Ratios are against tetherd Execute, from this one run. tetherd's ``connections_opened`` is
printed after the run to show the session stayed warm.

Run: python bench/bench_pyeapi.py [--commands 200]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyeapi  # noqa: E402
from _measure import print_table, row, timed  # noqa: E402

from tests.harness import Tetherd  # noqa: E402
from tests.peers.switches import start_switches  # noqa: E402
from tests.peers.tls_front import TlsFront  # noqa: E402
from tether.drivers.contract import CommandOptions, ConnectionSpec, Secret  # noqa: E402
from tether.drivers.pyeapi_driver import PyeapiDriver  # noqa: E402
from tether.v1 import messages as pb  # noqa: E402

COMMAND = "show version"
BASELINE = "tetherd Execute (pyeapi, warm pinned)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=200)
    args = parser.parse_args()
    count = args.commands
    with tempfile.TemporaryDirectory(prefix="tether-bench-pyeapi-") as workdir:
        daemon = Tetherd(Path(workdir), ["--log-level", "warning"]).start()
        farm = start_switches(1, eapi=True)
        try:
            switch = farm.switches[0]
            params: dict[str, Any] = switch.pyeapi_params()
            client = daemon.client()
            connection = {
                "host": switch.host,
                "port": switch.eapi_port,
                "username": switch.username,
                "password": switch.password,
                "options": {"transport": "http"},
            }
            request = pb.ExecuteRequest(
                driver="pyeapi",
                connection=connection_message(connection),
                operation=pb.Operation(commands=[COMMAND]),
            )
            assert client.run(request).ok  # opens the pinned session
            rows = [row(BASELINE, timed(lambda: client.run(request), count))]

            driver = PyeapiDriver(
                ConnectionSpec(
                    host=switch.host,
                    port=switch.eapi_port,
                    username=switch.username,
                    password=Secret(switch.password),
                    options={"transport": "http"},
                )
            )
            driver.open()
            options = CommandOptions()
            rows.append(
                row(
                    "tetherd's driver in-process (no service)",
                    timed(lambda: driver.run_command(COMMAND, options), count),
                )
            )
            driver.close()

            node = pyeapi.connect(**params, return_node=True)
            rows.append(
                row("pyeapi direct, one Node (new TCP per request)", timed(lambda: node.enable([COMMAND]), count))
            )

            def connect_per_call() -> None:
                pyeapi.connect(**params, return_node=True).enable([COMMAND])

            rows.append(row("pyeapi connect-per-call", timed(connect_per_call, count)))

            raw = http.client.HTTPConnection(switch.host, switch.eapi_port, timeout=10)
            auth = base64.b64encode(f"{switch.username}:{switch.password}".encode()).decode()
            body = json.dumps(
                {"jsonrpc": "2.0", "method": "runCmds", "id": 1,
                 "params": {"version": 1, "cmds": ["enable", COMMAND], "format": "json"}}
            )  # fmt: skip
            headers = {"Content-Type": "application/json-rpc", "Authorization": f"Basic {auth}"}

            def keep_alive_by_hand() -> None:
                raw.request("POST", "/command-api", body, headers)
                json.loads(raw.getresponse().read())

            rows.append(row("http.client keep-alive by hand (floor)", timed(keep_alive_by_hand, count)))
            raw.close()

            print(f"\n## '{COMMAND}' (JSON) on one simulated Arista switch over eAPI/HTTP ({count} calls each)")
            print_table(rows, BASELINE, width=46)
            print(f"tetherd connections_opened: {daemon.counters().get('connections_opened', 0)}")
            bench_https(daemon, switch, Path(workdir), count)
        finally:
            farm.stop()
            daemon.stop()
    return 0


def bench_https(daemon: Tetherd, switch: Any, workdir: Path, count: int) -> None:
    """The same over HTTPS (a TLS front, tests/peers/tls_front.py): where a new connection costs a handshake."""
    front = TlsFront((switch.host, switch.eapi_port), workdir)
    try:
        connection = {
            "host": "127.0.0.1",
            "port": front.port,
            "username": switch.username,
            "password": switch.password,
            "options": {"transport": "https", "ca_cert": front.cert_pem},
        }
        request = pb.ExecuteRequest(
            driver="pyeapi", connection=connection_message(connection), operation=pb.Operation(commands=[COMMAND])
        )
        client = daemon.client()
        assert client.run(request).ok
        rows = [row(BASELINE, timed(lambda: client.run(request), count))]
        context = ssl.create_default_context(cafile=str(front.cert_path))
        params = {**switch.pyeapi_params(), "transport": "https", "port": front.port, "context": context}
        node = pyeapi.connect(**params, return_node=True)
        rows.append(row("pyeapi direct, one Node (new TLS per request)", timed(lambda: node.enable([COMMAND]), count)))

        def connect_per_call() -> None:
            pyeapi.connect(**params, return_node=True).enable([COMMAND])

        rows.append(row("pyeapi connect-per-call", timed(connect_per_call, count)))
        print(f"\n## The same over HTTPS (TLS front, self-signed certificate pinned; {count} calls each)")
        print_table(rows, BASELINE, width=46)
    finally:
        front.stop()


def connection_message(connection: dict[str, Any]) -> pb.Connection:
    from tether.client import connection_message as build

    return build(connection)


if __name__ == "__main__":
    raise SystemExit(main())
