"""The napalm driver options a request may set, vetted: names, types and bounds.

napalm passes ``optional_args`` on to netmiko, pyeapi, junos-eznc or ncclient, some of
which read files or keys with the service's rights (``ssh_config_file``, ``key_file``,
``alt_key_file``, ``use_keys``, ``allow_agent``, ``sock``, the mock driver's ``path``).
So options pass through an allow-list: an unknown name is refused, and the few that
touch files go through the operator's policy (key files: the same ``key_dirs`` as the
netmiko driver; the mock driver's ``path``: only inside ``napalm_mock_dirs``, a setting
that is empty, so off, by default). Credentials never travel here: the enable secret
is ``connection.secret``, the port ``connection.port``.

Imports nothing of napalm, so the server can configure the policy at start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..security.limits import MAX_OPTION_STRING, MAX_SECONDS, quote
from .contract import InvalidRequest

_mock_dirs: tuple[str, ...] = ()


def configure_mock_dirs(directories: Sequence[str]) -> None:
    """The directories the ``mock`` platform's ``path`` may name (set once from Settings)."""
    global _mock_dirs
    _mock_dirs = tuple(os.path.realpath(d) for d in directories)


def mock_dirs() -> tuple[str, ...]:
    return _mock_dirs


@dataclass(frozen=True)
class Rule:
    """One option: its check, and the platforms it means something on (empty: every platform)."""

    check: Callable[[str, Any], Any]
    platforms: frozenset[str] = frozenset()


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        raise InvalidRequest(f"napalm option {name!r} must be 0 to {MAX_SECONDS:g} seconds: {quote(value)}")
    return float(value)


def _factor(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise InvalidRequest(f"napalm option {name!r} must be a number above 0, at most 100: {quote(value)}")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"napalm option {name!r} must be true or false: {quote(value)}")
    return value


def _choice(*allowed: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in allowed:
            raise InvalidRequest(f"napalm option {name!r} must be one of {', '.join(allowed)}: {quote(value)}")
        return str(value)

    return check


def _device_file(name: str, value: Any) -> str:
    """A file name on the device (IOS candidate files), never a path on the service."""
    if not isinstance(value, str) or not value or len(value) > 255 or any(c in value for c in "/\\\0\n\r "):
        raise InvalidRequest(f"napalm option {name!r} must be a plain file name on the device: {quote(value)}")
    return value


def _device_filesystem(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.endswith(":") or len(value) > 64 or any(c in value for c in "/\\\0 "):
        raise InvalidRequest(f"napalm option {name!r} must be a device file system such as 'flash:': {quote(value)}")
    return value


def _mock_path(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_OPTION_STRING:
        raise InvalidRequest(f"napalm option {name!r} must be a directory: {quote(value)}")
    resolved = os.path.realpath(value)
    for directory in _mock_dirs:
        if os.path.commonpath([directory, resolved]) == directory:
            return resolved
    where = f"napalm_mock_dirs ({', '.join(_mock_dirs)})" if _mock_dirs else "napalm_mock_dirs (none set: mock is off)"
    raise InvalidRequest(f"napalm option 'path' {quote(value)} is not inside the operator's {where}")


def _profiles(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 16 or not all(isinstance(v, str) and len(v) <= 64 for v in value):
        raise InvalidRequest(f"napalm option {name!r} must be a list of at most 16 short names: {quote(value)}")
    return list(value)


_SSH = frozenset({"ios", "nxos_ssh", "iosxr"})
RULES: Mapping[str, Rule] = {
    "transport": Rule(_choice("ssh", "telnet", "http", "https", "socket")),
    "global_delay_factor": Rule(_factor, _SSH),
    "read_timeout_override": Rule(_seconds, _SSH),
    "conn_timeout": Rule(_seconds, _SSH),
    "auth_timeout": Rule(_seconds, _SSH),
    "banner_timeout": Rule(_seconds, _SSH),
    "blocking_timeout": Rule(_seconds, _SSH),
    "session_timeout": Rule(_seconds, _SSH),
    "keepalive": Rule(_seconds, _SSH),
    "fast_cli": Rule(_flag, _SSH),
    "inline_transfer": Rule(_flag, frozenset({"ios"})),
    "auto_rollback_on_error": Rule(_flag, frozenset({"ios"})),
    "auto_file_prompt": Rule(_flag, frozenset({"ios"})),
    "dest_file_system": Rule(_device_filesystem, frozenset({"ios"})),
    "candidate_cfg": Rule(_device_file, frozenset({"ios"})),
    "merge_cfg": Rule(_device_file, frozenset({"ios"})),
    "rollback_cfg": Rule(_device_file, frozenset({"ios"})),
    "eos_autoComplete": Rule(_flag, frozenset({"eos"})),
    "eos_fn0039_config": Rule(_flag, frozenset({"eos"})),
    "lock_disable": Rule(_flag, frozenset({"eos"})),
    "config_lock": Rule(_flag, frozenset({"junos"})),
    "config_private": Rule(_flag, frozenset({"junos"})),
    "ignore_warning": Rule(_flag, frozenset({"junos"})),
    "path": Rule(_mock_path, frozenset({"mock"})),
    "profile": Rule(_profiles, frozenset({"mock"})),
    "fail_on_open": Rule(_flag, frozenset({"mock"})),
}
# Named so the refusal can say why, rather than "unknown".
REFUSED: Mapping[str, str] = {
    "ssh_config_file": "it reads an SSH configuration file with the service's rights",
    "key_file": "use connection.private_key_file (checked against the operator's key_dirs)",
    "alt_key_file": "use connection.private_key_file (checked against the operator's key_dirs)",
    "use_keys": "it would use the service's own SSH keys",
    "allow_agent": "it would use the service's SSH agent",
    "sock": "it hands the session a socket of the service",
    "secret": "send the enable secret as connection.secret",
    "port": "send the port as connection.port",
    "enable_password": "send the enable secret as connection.secret",
}


def vetted(platform: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options as napalm gets them; InvalidRequest naming the first refused one."""
    result: dict[str, Any] = {}
    for name, value in options.items():
        if name in REFUSED:
            raise InvalidRequest(f"napalm option {name!r} is not allowed: {REFUSED[name]}")
        rule = RULES.get(name)
        if rule is None:
            known = ", ".join(sorted(RULES))
            raise InvalidRequest(f"unknown napalm option {quote(name)} (allowed: {known})")
        if rule.platforms and platform not in rule.platforms:
            raise InvalidRequest(
                f"napalm option {name!r} applies to platform {', '.join(sorted(rule.platforms))}, not {platform!r}"
            )
        result[name] = rule.check(name, value)
    return result
