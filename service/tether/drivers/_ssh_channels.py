"""SSH exec channels and SFTP over an open paramiko transport, beside a driver's CLI session.

An exec channel runs one command as OpenSSH would (its own exit status, stdin, stderr,
nothing shared with the CLI shell); SFTP moves files. Both reuse the session's warm
transport, so neither logs in again.
"""

from __future__ import annotations

import time

import paramiko

from ..security.limits import quote
from .contract import (
    CommandFailed,
    CommandTimeout,
    ExecResult,
    OutputLimitExceeded,
    SessionLostBeforeSend,
    Unsupported,
)

# What a dead or dying SSH transport raises, to paramiko's callers and netmiko's.
TRANSPORT_ERRORS = (OSError, EOFError, paramiko.SSHException)


_CHUNK = 65536


def run_exec(
    transport: paramiko.Transport, target: str, command: str, stdin: bytes, timeout: float, max_output_bytes: int
) -> ExecResult:
    """Run ``command`` in an exec channel; stdout and stderr together are cut off past ``max_output_bytes``."""
    try:
        channel = transport.open_session(timeout=timeout)
    except paramiko.ChannelException as exc:
        raise Unsupported(f"{target} refuses SSH exec channels ({exc})") from exc
    except TRANSPORT_ERRORS as exc:  # no channel, so the command was never sent
        raise SessionLostBeforeSend(f"{target}: cannot open an exec channel: {exc}") from exc
    try:
        channel.settimeout(timeout)
        try:
            channel.exec_command(command)
        except paramiko.SSHException as exc:
            raise Unsupported(f"{target} refuses SSH exec requests ({exc})") from exc
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        stdout, stderr = bytearray(), bytearray()

        def within_cap() -> None:
            if len(stdout) + len(stderr) > max_output_bytes:
                raise OutputLimitExceeded(
                    f"output of {quote(command)}", max_output_bytes, "; its exec channel was closed"
                )

        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            if channel.recv_ready():
                stdout += channel.recv(_CHUNK)
            elif channel.recv_stderr_ready():
                stderr += channel.recv_stderr(_CHUNK)
            elif channel.exit_status_ready():
                break
            else:
                channel.status_event.wait(0.005)
            within_cap()
        # Whatever arrived between the last read and the exit status.
        while (chunk := channel.recv(_CHUNK)) != b"":
            stdout += chunk
            within_cap()
        while channel.recv_stderr_ready():
            stderr += channel.recv_stderr(_CHUNK)
            within_cap()
        return ExecResult(channel.recv_exit_status(), bytes(stdout), bytes(stderr))
    except TimeoutError as exc:
        raise CommandTimeout(f"{command!r} did not finish within {timeout:g}s") from exc
    except paramiko.SSHException as exc:
        raise CommandFailed(f"{target} refused to run {command!r}: {exc}") from exc
    finally:
        channel.close()


def put_file(sftp: paramiko.SFTPClient, target: str, remote_path: str, data: bytes, file_mode: int = 0) -> None:
    try:
        with sftp.open(remote_path, "wb") as remote:
            remote.write(data)
        if file_mode:
            sftp.chmod(remote_path, file_mode)
    except OSError as exc:
        raise CommandFailed(f"cannot write {remote_path} on {target}: {exc}") from exc


def fetch_file(sftp: paramiko.SFTPClient, target: str, remote_path: str, max_output_bytes: int) -> bytes:
    what = f"file {quote(remote_path)}"
    try:
        with sftp.open(remote_path, "rb") as remote:
            size = remote.stat().st_size
            if size is not None and size > max_output_bytes:
                raise OutputLimitExceeded(f"{what} ({size} bytes)", max_output_bytes)
            data = remote.read(max_output_bytes + 1)  # the file may grow while it is read
            if len(data) > max_output_bytes:
                raise OutputLimitExceeded(what, max_output_bytes)
            return bytes(data)
    except OSError as exc:
        raise CommandFailed(f"cannot read {remote_path} on {target}: {exc}") from exc
