"""netmiko's login and read loops without their fixed sleeps, for the netmiko driver.

netmiko polls: send_command sleeps 25 ms before each read of the channel and
read_until_pattern (behind configuration mode, enable, prompts) 10 ms, so no
command answers in under 25 ms and no configuration line in under 10 ms however
fast the device is; its login also sleeps 0.1 s before preparing the session. These
are netmiko's own loops with the sleeps replaced by waiting on the SSH channel for
data; everything else (first-line repaint handling, command echo and prompt
stripping, what is left after a match, platform overrides) is netmiko's.

They apply to SSH sessions of platforms that keep netmiko's generic methods; a
platform that overrides one, a telnet or serial session, or ``fast_cli: false``
uses netmiko's code unchanged.
"""

from __future__ import annotations

import re
import select
import time
import types
from collections import deque
from collections.abc import Iterator

import paramiko
from netmiko.base_connection import BaseConnection
from netmiko.exceptions import ReadException, ReadTimeout
from netmiko.netmiko_globals import BACKSPACE_CHAR

from ..security.safe_regex import SafePattern

_MAX_SEARCHED = 2_000_000
_RECENT_READS = 20


def open_session(conn: BaseConnection, fast: bool) -> None:
    """netmiko's ``_open()``; when ``fast``, woken by data and without its 0.1 s first sleep.

    session_preparation() reads until the prompt shows, so that sleep only delays the login.
    """
    if not fast:
        conn._open()
        return
    conn._modify_connection_params()
    conn.establish_connection()
    generic = type(conn).read_until_pattern is BaseConnection.read_until_pattern
    if generic and isinstance(conn.remote_conn, paramiko.Channel):
        # Every netmiko step that waits for a pattern (prompts, enable, configuration mode,
        # each configuration line) goes through this method: wake it on data.
        conn.read_until_pattern = types.MethodType(_read_until_pattern, conn)  # type: ignore[method-assign]
    conn.write_channel(conn.RETURN)
    conn._try_session_preparation(force_data=False)


def can_read_fast(conn: BaseConnection) -> bool:
    return isinstance(conn.remote_conn, paramiko.Channel) and type(conn).send_command is BaseConnection.send_command


def _reads(conn: BaseConnection, read_timeout: float, pattern: str) -> Iterator[str]:
    """Each new piece of output, waiting on the SSH channel in between (never on a timer).

    Raises ReadTimeout once ``read_timeout`` (0: no limit) has passed, even while data keeps
    coming, and EOFError when the device closes the session.
    """
    channel = conn.remote_conn
    assert isinstance(channel, paramiko.Channel)
    # poll, not select: a service with many sessions has descriptors above FD_SETSIZE.
    poller = select.poll()
    poller.register(channel.fileno(), select.POLLIN)  # paramiko signals buffered data on this pipe
    deadline = time.monotonic() + read_timeout if read_timeout else None
    while True:
        new_data = conn.read_channel()
        if new_data:
            yield new_data
        elif channel.closed or channel.eof_received:
            raise EOFError("the device closed the session")
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise ReadTimeout(f"Pattern not detected: {pattern!r} in output.")
        if not new_data:
            poller.poll(None if left is None else left * 1000)


def send_command(conn: BaseConnection, command: str, pattern: str | SafePattern, read_timeout: float) -> str:
    """``conn.send_command(command, expect_string=pattern, cmd_verify=False)``, woken by data.

    Only for connections where ``can_read_fast(conn)``. A user's pattern comes as a
    SafePattern (linear-time RE2); a ``str`` is one of tether's own (an escaped prompt).
    """
    command_line = conn.normalize_cmd(command)
    conn.write_channel(command_line)
    user_pattern = pattern if isinstance(pattern, SafePattern) else None
    found = pattern.matches if isinstance(pattern, SafePattern) else re.compile(pattern).search
    text = pattern.pattern if isinstance(pattern, SafePattern) else pattern
    output = ""
    recent: deque[str] = deque(maxlen=_RECENT_READS)
    first_line_processed = False
    for new_data in _reads(conn, read_timeout, text):
        output += new_data
        recent.append(new_data)
        if not first_line_processed:
            if user_pattern is None:
                output, first_line_processed = conn._first_line_handler(output, text)
            else:
                output, first_line_processed = _first_line_handler(conn, output, user_pattern), True
        # As netmiko: past 2M characters, look for the prompt in the latest reads only.
        if found(output if len(output) <= _MAX_SEARCHED else "".join(recent)):
            break
    return conn._sanitize_output(output, strip_command=True, command_string=command_line, strip_prompt=True)


def _first_line_handler(conn: BaseConnection, output: str, pattern: SafePattern) -> str:
    """netmiko's ``_first_line_handler`` for a user's pattern, which it would run with re.

    A repainted echo line (it holds a backspace) may show the prompt early: drop the line
    from the pattern's first match on, as netmiko's ``re.sub(pattern + ".*$", "", line)``.
    """
    first_line, newline, rest = output.partition(conn.RETURN)
    if BACKSPACE_CHAR in first_line and (parts := pattern.partition(first_line)) is not None:
        return parts[0] + newline + rest
    return output


def _read_until_pattern(
    self: BaseConnection,
    pattern: str | SafePattern = "",
    read_timeout: float = 10.0,
    re_flags: int = 0,
    max_loops: int | None = None,
) -> str:
    """netmiko's ``read_until_pattern``: up to and including ``pattern``; the rest stays buffered.

    netmiko's own callers pass its constant patterns (``re``); a user's pattern comes as a
    SafePattern, matched in linear time (its flags were given when it was compiled).
    """
    if self.read_timeout_override:
        read_timeout = self.read_timeout_override
    if isinstance(pattern, SafePattern):
        return _read_until_user_pattern(self, pattern, read_timeout)
    output = ""
    for new_data in _reads(self, read_timeout, pattern):
        output += new_data
        if re.search(pattern, output, flags=re_flags):
            break
    results = re.split(pattern, output, maxsplit=1, flags=re_flags)
    if len(results) == 2:  # no capturing group: add one so the match itself is kept
        results = re.split(f"({pattern})", output, maxsplit=1, flags=re_flags)
    if len(results) != 3 or results[1] is None:
        raise ReadException(f"Unable to split output on pattern={pattern!r}: {results!r}")
    before, match, rest = results
    if rest:
        self._read_buffer += rest
    return before + match


def _read_until_user_pattern(conn: BaseConnection, pattern: SafePattern, read_timeout: float) -> str:
    output = ""
    for new_data in _reads(conn, read_timeout, pattern.pattern):
        output += new_data
        if pattern.matches(output):
            break
    parts = pattern.partition(output)
    if parts is None:
        raise ReadException(f"Unable to split output on pattern={pattern!r}")
    before, match, rest = parts
    if rest:
        conn._read_buffer += rest
    return before + match
