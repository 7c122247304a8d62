"""netmiko's login and command loop without its fixed sleeps, for the netmiko driver.

netmiko polls: send_command sleeps 25 ms before each read of the channel, so no
command answers in under 25 ms however fast the device is, and its login sleeps
0.1 s before preparing the session. A pinned session pays the first on every
command. These are netmiko's own sequences with the sleeps replaced by waiting on
the SSH channel for data; everything else (first-line repaint handling, command
echo and prompt stripping, platform overrides of them) is netmiko's.

They apply to SSH sessions of platforms that keep netmiko's generic
``send_command``; a platform that overrides it, a telnet or serial session, or
``fast_cli: false`` uses netmiko's code unchanged.
"""

from __future__ import annotations

import re
import select
import time
from collections import deque

import paramiko
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import ReadTimeout

_MAX_SEARCHED = 2_000_000
_RECENT_READS = 20


def open_session(conn: BaseConnection, fast: bool) -> None:
    """netmiko's ``_open()``; when ``fast``, without the 0.1 s sleep after its first RETURN.

    session_preparation() reads until the prompt shows, so the sleep only delays the login.
    """
    if not fast:
        conn._open()
        return
    conn._modify_connection_params()
    conn.establish_connection()
    conn.write_channel(conn.RETURN)
    conn._try_session_preparation(force_data=False)


def can_read_fast(conn: BaseConnection) -> bool:
    return isinstance(conn.remote_conn, paramiko.Channel) and type(conn).send_command is BaseConnection.send_command


def send_command(conn: BaseConnection, command: str, pattern: str, read_timeout: float) -> str:
    """``conn.send_command(command, expect_string=pattern, cmd_verify=False)``, woken by data.

    Only for connections where ``can_read_fast(conn)``.
    """
    channel = conn.remote_conn
    assert isinstance(channel, paramiko.Channel)
    # poll, not select: a service with many sessions has descriptors above FD_SETSIZE.
    poller = select.poll()
    poller.register(channel.fileno(), select.POLLIN)  # paramiko signals buffered data on this pipe
    command_line = conn.normalize_cmd(command)
    deadline = time.monotonic() + read_timeout
    conn.write_channel(command_line)
    output = ""
    recent: deque[str] = deque(maxlen=_RECENT_READS)
    first_line_processed = False
    while True:
        new_data = conn.read_channel()
        if new_data:
            output += new_data
            recent.append(new_data)
            if not first_line_processed:
                output, first_line_processed = conn._first_line_handler(output, pattern)
            # As netmiko: past 2M characters, look for the prompt in the latest reads only.
            if re.search(pattern, output if len(output) <= _MAX_SEARCHED else "".join(recent)):
                break
            continue
        if channel.closed or channel.eof_received:
            raise EOFError("the device closed the session")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReadTimeout(f"Pattern not detected: {pattern!r} in output.")
        poller.poll(remaining * 1000)
    return conn._sanitize_output(output, strip_command=True, command_string=command_line, strip_prompt=True)
