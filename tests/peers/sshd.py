"""A throwaway OpenSSH server on 127.0.0.1 for tests (Debian's /usr/sbin/sshd, no systemd).

    server = start_sshd()
    # netmiko: ConnectHandler(**server.netmiko_params())            (device_type "linux", key auth)
    # paramiko: client.connect(server.host, server.port, server.username, key_filename=str(server.key_path))
    server.stop()

Everything lives in one temp dir: sshd_config, a generated ed25519 host key, a generated ed25519
client key, authorized_keys, the PidFile and the log (``sshd -D -f CONFIG -E LOG``). The server
accepts the current user (root here) by public key only (``PasswordAuthentication no``,
``PermitRootLogin prohibit-password``, ``UsePAM no``, ``StrictModes no`` because the temp dir is not
the user's home) and serves SFTP (``Subsystem sftp internal-sftp``).

The login shell is the user's own (bash for root on Debian: prompt ``root@HOST:~# ``), which netmiko's
``linux`` driver handles as is. With ``simple_shell=True`` the client key's authorized_keys line gets a
``command=`` wrapper that starts ``bash --noprofile --norc`` with ``PS1='$ '`` for interactive
sessions (no rc files: no pyenv/PROMPT_COMMAND hooks) and runs exec requests unchanged.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.peers._process import PeerProcess

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
START_TIMEOUT = 10.0
PORT_ATTEMPTS = 5

SIMPLE_SHELL = """#!/bin/sh
# authorized_keys command= wrapper: exec requests run as asked, interactive shells get a bare bash.
if [ -n "$SSH_ORIGINAL_COMMAND" ]; then
    exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
fi
exec env PS1='$ ' PROMPT_COMMAND= /bin/bash --noprofile --norc -i
"""


class SshdError(RuntimeError):
    """sshd did not start (the message carries the tail of its log)."""


@dataclass
class SshdServer(PeerProcess):
    """A running sshd: where it listens and how to log in."""

    host: str
    port: int
    username: str
    key_path: Path  # the client's private key (OpenSSH format, no passphrase)
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    _own_workdir: bool = field(default=True, repr=False)

    @property
    def private_key(self) -> str:
        """The client private key's text (OpenSSH PEM-like format)."""
        return self.key_path.read_text()

    @property
    def public_key(self) -> str:
        return self.key_path.with_suffix(".pub").read_text().strip()

    @property
    def config_path(self) -> Path:
        return self.workdir / "sshd_config"

    @property
    def log_path(self) -> Path:
        return self.workdir / "sshd.log"

    @property
    def host_key_path(self) -> Path:
        return self.workdir / "ssh_host_ed25519_key"

    def netmiko_params(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``netmiko.ConnectHandler``: device_type linux, key auth only."""
        params: dict[str, Any] = {
            "device_type": "linux",
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "use_keys": True,
            "key_file": str(self.key_path),
            "allow_agent": False,
        }
        params.update(overrides)
        return params

    def stop(self) -> None:
        """Stop sshd (see ``halt``) and remove its temp dir if start_sshd made it."""
        self.halt()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def halt(self) -> None:
        """SIGTERM the per-connection sshd children (open sessions drop) and the listening sshd;
        bounded wait, then SIGKILL."""
        process = self.process
        if process is not None and process.poll() is None:
            for child in _children(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGTERM)
        self._signal_and_wait(signal.SIGTERM)


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (sshd forks one child per connection; they call setsid())."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )


def _banner(host: str, port: int, timeout: float) -> bytes | None:
    """The server's SSH identification line, or None if it does not answer in time."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            data = b""
            while b"\n" not in data and len(data) < 512:
                chunk = connection.recv(256)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return None
    return data if data.startswith(b"SSH-") else None


def _config(workdir: Path, host: str, port: int, username: str) -> str:
    return f"""# generated by tests/peers/sshd.py
ListenAddress {host}
Port {port}
HostKey {workdir / "ssh_host_ed25519_key"}
PidFile {workdir / "sshd.pid"}
AuthorizedKeysFile {workdir / "authorized_keys"}
AllowUsers {username}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxSessions 50
ClientAliveInterval 0
Subsystem sftp internal-sftp
"""


def start_sshd(
    *,
    host: str = "127.0.0.1",
    workdir: Path | None = None,
    simple_shell: bool = False,
    timeout: float = START_TIMEOUT,
) -> SshdServer:
    """Start sshd on ``host`` and a free port; return once it answers with its SSH banner.

    ``workdir``: where its files go (default: a new temp dir, removed by ``stop()``).
    ``simple_shell``: give interactive logins a bare ``bash`` with prompt ``$ `` (see module doc).
    Raises SshdError with the log tail when it does not come up within ``timeout`` seconds.
    """
    own = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="tether-sshd-")) if workdir is None else workdir
    directory.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # sshd's privilege-separation dir
    username = getpass.getuser()
    key_path = directory / "client_ed25519"
    _keygen(directory / "ssh_host_ed25519_key", "tether-test-host")
    _keygen(key_path, f"tether-test-{username}")
    public = key_path.with_suffix(".pub").read_text().strip()
    if simple_shell:
        wrapper = directory / "simple_shell.sh"
        wrapper.write_text(SIMPLE_SHELL)
        wrapper.chmod(0o755)
        public = f'command="{wrapper}" {public}'
    (directory / "authorized_keys").write_text(public + "\n")

    deadline = time.monotonic() + timeout
    server = SshdServer(host, 0, username, key_path, directory, _own_workdir=own)
    try:
        for _attempt in range(PORT_ATTEMPTS):
            # The port is free now; sshd binds it a few ms later. If something else takes it in
            # between, sshd exits at once and the next attempt picks another port.
            server.port = _free_port(host)
            server.config_path.write_text(_config(directory, host, server.port, username))
            with server.log_path.open("ab") as log:
                server.process = subprocess.Popen(
                    [SSHD, "-D", "-f", str(server.config_path), "-E", str(server.log_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            while server.process.poll() is None and time.monotonic() < deadline:
                if _banner(host, server.port, timeout=max(0.1, min(2.0, deadline - time.monotonic()))):
                    return server
                time.sleep(0.02)
            if server.process.poll() is None or time.monotonic() >= deadline:
                break  # running but silent, or out of time: do not try another port
    except BaseException:
        server.halt()
        raise
    server.halt()  # keep the workdir: the error names its log
    raise SshdError(
        f"sshd did not come up on {host} within {timeout:.0f} s; log {server.log_path}:\n{server.log_tail()}"
    )
