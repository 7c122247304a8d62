"""Ends the tether.fleet broker processes (tether.fleet.network_cli, tether.fleet.pinned) a test's
playbooks started, found by the private XDG_RUNTIME_DIR each test runs them with."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def stop_brokers(runtime_dir: Path) -> list[int]:
    stopped = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"_netcli_broker" not in (proc / "cmdline").read_bytes():
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"XDG_RUNTIME_DIR={runtime_dir}".encode() in environ:
            os.kill(int(proc.name), signal.SIGTERM)
            stopped.append(int(proc.name))
    return stopped
