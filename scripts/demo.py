"""The main job on the embedded default: a sample playbook against simulated switches, run twice.

Starts five simulated Cisco IOS switches on loopback, runs examples/show_commands.yml
with ansible-playbook (the tether.fleet plugins start tetherd on the private per-user
socket if it is not running), then runs it again: the second run finds every session
warm, so it opens no new connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.switches import start_switches  # noqa: E402
from tether.client import ClientConfig, TetherClient  # noqa: E402
from tether.config import default_endpoint, default_socket  # noqa: E402
from tether.embedded import local_socket_answers  # noqa: E402

PLAYBOOK = ROOT / "examples" / "show_commands.yml"


def connections_opened() -> int:
    if not local_socket_answers(default_socket()):
        return 0
    with TetherClient(ClientConfig(endpoint=default_endpoint())) as client:
        return int(client.info().counters.get("connections_opened", 0))


def run(label: str, inventory: Path, env: dict[str, str]) -> None:
    before = connections_opened()
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK), "--forks", "5"],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - started
    recap = done.stdout[done.stdout.find("PLAY RECAP") :].strip()
    print(recap or done.stdout[-2000:])
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{label}: ansible-playbook failed ({done.returncode})")
    opened = connections_opened() - before
    print(f"==> {label}: {elapsed:.2f} s wall, {opened} new device connections\n")


def main() -> int:
    farm = start_switches(5)
    try:
        with tempfile.TemporaryDirectory(prefix="tether-demo-") as workdir:
            work = Path(workdir)
            (work / "ansible_collections" / "tether").mkdir(parents=True)
            (work / "ansible_collections" / "tether" / "fleet").symlink_to(ROOT)
            hosts = {
                s.name: {
                    "ansible_host": s.host,
                    "ansible_port": s.port,
                    "ansible_user": s.username,
                    "ansible_password": s.password,
                }
                for s in farm.switches
            }
            inventory = work / "inventory.json"
            group_vars = {"ansible_network_os": "cisco.ios.ios", "ansible_connection": "tether.fleet.pinned"}
            inventory.write_text(json.dumps({"switches": {"hosts": hosts, "vars": group_vars}}))
            env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
            env.update(
                {
                    "ANSIBLE_COLLECTIONS_PATH": str(work),
                    "ANSIBLE_HOST_KEY_CHECKING": "False",
                    "ANSIBLE_NOCOLOR": "1",
                    "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
                }
            )
            print(f"5 simulated switches; {PLAYBOOK.relative_to(ROOT)} runs twice; tetherd on {default_endpoint()}\n")
            run("first run", inventory, env)
            run("second run", inventory, env)
            with TetherClient(ClientConfig(endpoint=default_endpoint())) as client:
                for session in client.list_sessions():
                    print(f"  warm session {session.id} {session.username}@{session.host}:{session.port} "
                          f"uses={session.use_count}")  # fmt: skip
                client.close_sessions(everything=True)
    finally:
        farm.stop()
    print("\n(tetherd exits by itself after 15 minutes with no session; `tether info` shows its counters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
