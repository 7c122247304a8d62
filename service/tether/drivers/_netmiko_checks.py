"""What the netmiko driver checks itself rather than leave to netmiko: option ranges,
and device errors in configuration output (with tether's linear-time regex engine).

netmiko's ``send_config_set(error_pattern=...)`` runs the pattern with Python's ``re``,
which backtracks; a user's ``error_pattern`` must never reach it (docs/reliability.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from netmiko.base_connection import BaseConnection
from netmiko.exceptions import ConfigInvalidException

from ..security.limits import MAX_SECONDS, quote
from ..security.safe_regex import SafePattern
from .contract import InvalidRequest

# netmiko's default bypass_commands: with such a line in a set, no line's echo is verified.
_NO_ECHO_CHECK = re.compile(r"^banner .*$")
_SECONDS_OPTIONS = ("auth_timeout", "banner_timeout", "blocking_timeout", "session_timeout", "probe_timeout")
_MAX_DELAY_FACTOR = 100.0
_DISABLED_ALGORITHM_KINDS = {"ciphers", "macs", "keys", "kex", "pubkeys"}


def check_option_ranges(options: Mapping[str, Any]) -> None:
    """Numbers netmiko and paramiko take as seconds or factors: positive and bounded (types are checked before)."""
    for name in _SECONDS_OPTIONS:
        value = options.get(name)
        if value is not None and not 0 < value <= MAX_SECONDS:
            raise InvalidRequest(f"netmiko option {name!r} must be between 0 and {MAX_SECONDS:g} seconds (got {value})")
    factor = options.get("global_delay_factor")
    if factor is not None and not 0 < factor <= _MAX_DELAY_FACTOR:
        raise InvalidRequest(
            f"netmiko option 'global_delay_factor' must be in (0, {_MAX_DELAY_FACTOR:g}] (got {factor})"
        )
    algorithms = options.get("disabled_algorithms")
    if algorithms is not None:
        for kind, names in algorithms.items():
            if kind not in _DISABLED_ALGORITHM_KINDS:
                known = ", ".join(sorted(_DISABLED_ALGORITHM_KINDS))
                raise InvalidRequest(f"netmiko option 'disabled_algorithms' has unknown kind {quote(kind)} ({known})")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InvalidRequest(f"netmiko option 'disabled_algorithms.{kind}' must be a list of names")


def send_config(conn: BaseConnection, lines: Sequence[str], read_timeout: float, errors: SafePattern | None) -> str:
    """netmiko's send_config_set, with device errors found by ``errors`` (RE2), never by netmiko (re).

    Platforms that keep netmiko's generic send_config_set get it one line at a time
    (configuration mode entered once), so the first line the device rejects stops the rest,
    as netmiko's own error_pattern check does. A platform with its own send_config_set gets
    the whole set, then its output is checked: every line was sent by then. Raises
    ConfigInvalidException, as netmiko does.
    """
    if errors is None or type(conn).send_config_set is not BaseConnection.send_config_set:
        output = str(conn.send_config_set(list(lines), read_timeout=read_timeout, cmd_verify=True))
        if errors is not None and (error := errors.search(output)) is not None:
            raise ConfigInvalidException(f"Invalid input detected after all lines were sent, matched error: {error}")
        return output
    verify_echo = not any(_NO_ECHO_CHECK.search(line) for line in lines)
    output = str(conn.config_mode())
    for line in lines:
        chunk = str(
            conn.send_config_set(
                [line],
                enter_config_mode=False,
                exit_config_mode=False,
                read_timeout=read_timeout,
                cmd_verify=verify_echo,
                bypass_commands="",
            )
        )
        output += chunk
        if (error := errors.search(chunk)) is not None:
            raise ConfigInvalidException(f"Invalid input detected at command: {line}, matched error: {error}")
    return output + str(conn.exit_config_mode())
