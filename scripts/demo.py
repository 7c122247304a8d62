"""The main job on the embedded default: simulated switches, the local tetherd, warm sessions.

Starts five simulated Cisco IOS switches on loopback, makes sure the embedded
tetherd answers on the private per-user socket (starting it if needed), runs
the same commands twice and shows that the second round found every session
warm: no new connection, a fraction of the time.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.switches import start_switches  # noqa: E402
from tether.client import ClientConfig, TetherClient  # noqa: E402
from tether.config import default_endpoint  # noqa: E402
from tether.embedded import ensure_service  # noqa: E402

COMMANDS = ["show version", "show vlan brief", "show running-config"]


def run_round(client: TetherClient, farm: object, label: str) -> None:
    opened_before = client.info().counters.get("connections_opened", 0)
    started = time.perf_counter()
    for switch in farm.switches:  # type: ignore[attr-defined]
        response = client.execute(
            {
                "host": switch.host,
                "port": switch.port,
                "platform": switch.platform,
                "username": switch.username,
                "password": switch.password,
                "secret": switch.enable_password,
            },
            COMMANDS,
        )
        meta = response.meta
        state = "warm" if meta.session_reused else f"new session, connect {meta.connect_ms:6.1f} ms"
        print(f"  {switch.name}  {len(response.results)} commands  run {meta.run_ms:6.1f} ms  ({state})")
    elapsed = (time.perf_counter() - started) * 1000
    opened = client.info().counters.get("connections_opened", 0) - opened_before
    print(f"{label}: {elapsed:.0f} ms for {len(COMMANDS) * len(farm.switches)} commands, {opened} new connections\n")  # type: ignore[attr-defined]


def main() -> int:
    endpoint = default_endpoint()
    started = ensure_service(endpoint)
    print(f"tetherd on {endpoint} ({'started now' if started else 'already running'})")
    farm = start_switches(5)
    try:
        with TetherClient(ClientConfig(endpoint=endpoint)) as client:
            print(f"5 simulated switches; running {len(COMMANDS)} commands on each, twice\n")
            run_round(client, farm, "first round")
            run_round(client, farm, "second round")
            for session in client.list_sessions():
                print(
                    f"  session {session.id} {session.username}@{session.host}:{session.port} uses={session.use_count}"
                )
            client.close_sessions(everything=True)
    finally:
        farm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
