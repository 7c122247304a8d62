"""Runs real ansible-playbook processes against the simulated switches.

Each test gets a private XDG_RUNTIME_DIR, so the embedded tetherd the plugins
auto-start lives on a socket of its own and is stopped afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ansible.brokers import stop_brokers
from tether.client import ClientConfig, TetherClient
from tether.embedded import local_socket_answers

ROOT = Path(__file__).resolve().parents[2]


def collections_dir(base: Path) -> Path:
    """A collections path holding tether.fleet as a link to this checkout."""
    target = base / "ansible_collections" / "tether"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "fleet"
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    return base


def inventory(switches: Iterable[Any], extra: dict[str, Any] | None = None, **group_vars: Any) -> dict[str, Any]:
    hosts = {
        s.name: {
            "ansible_host": s.host,
            "ansible_port": s.port,
            "ansible_user": s.username,
            "ansible_password": s.password,
            **(extra or {}),
        }
        for s in switches
    }
    return {"all": {"hosts": hosts, "vars": {"ansible_network_os": "cisco.ios.ios", **group_vars}}}


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    stderr: str
    elapsed: float

    @property
    def report(self) -> dict[str, Any]:
        start = self.output.find("{")
        return dict(json.loads(self.output[start:])) if start >= 0 else {}

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        return dict(self.report.get("stats", {}))

    def task_results(self, name: str) -> dict[str, dict[str, Any]]:
        for play in self.report.get("plays", []):
            for task in play["tasks"]:
                if task["task"]["name"] == name:
                    return dict(task["hosts"])
        raise KeyError(f"no task named {name!r}")

    def total(self, key: str) -> int:
        return sum(host.get(key, 0) for host in self.stats.values())


@dataclass
class Ansible:
    workdir: Path
    collections: Path

    @property
    def runtime_dir(self) -> Path:
        path = self.workdir / "xdg-runtime"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    @property
    def endpoint(self) -> str:
        return f"unix:{self.runtime_dir / 'tether' / 'tetherd.sock'}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TETHER_", "ANSIBLE_"))}
        env.update(
            {
                "ANSIBLE_COLLECTIONS_PATH": str(self.collections),
                "ANSIBLE_STDOUT_CALLBACK": "json_report",
                "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "callback_plugins"),
                "ANSIBLE_HOST_KEY_CHECKING": "False",
                "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
                "ANSIBLE_RETRY_FILES_ENABLED": "False",
                "ANSIBLE_NOCOLOR": "1",
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "XDG_STATE_HOME": str(self.workdir / "xdg-state"),
                "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            }
        )
        env.update(extra)
        return env

    def write(self, name: str, content: Any) -> Path:
        path = self.workdir / name
        path.write_text(json.dumps(content, indent=1) if not isinstance(content, str) else content)
        return path

    def playbook(
        self, playbook: str, inventory_data: dict[str, Any], *args: str, timeout: float = 300, **env: str
    ) -> PlaybookRun:
        book = self.write("playbook.yml", playbook)
        hosts = self.write("inventory.json", inventory_data)
        command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(hosts), str(book), *args]
        started = time.monotonic()
        done = subprocess.run(
            command, capture_output=True, text=True, env=self.env(**env), timeout=timeout, cwd=self.workdir
        )
        return PlaybookRun(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def client(self) -> TetherClient:
        return TetherClient(ClientConfig(endpoint=self.endpoint, timeout=30))

    def counters(self) -> dict[str, int]:
        with self.client() as client:
            return dict(client.info().counters)

    def stop_service(self) -> None:
        stop_brokers(self.runtime_dir)
        socket_path = self.runtime_dir / "tether" / "tetherd.sock"
        if not local_socket_answers(socket_path):
            return
        with self.client() as client:
            pid = client.info().pid
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and local_socket_answers(socket_path):
            time.sleep(0.05)
