"""How devices say a command was wrong, by platform: one table for every driver that runs CLI
commands (netmiko by device_type prefix; napalm through the netmiko family of its platform).

A command whose output matches fails that command's result (``CommandFailed``), not the call,
as Ansible's vendor modules fail on their terminal plugins' error regexes. Patterns run on
device output, so they run on RE2 (linear time), like every other pattern the service applies.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..security import safe_regex

_IOS_LIKE = r"^\s*% ?(?:Invalid|Incomplete|Ambiguous|Unknown|Unrecognized|Bad|Error|Unable)\b.*$"
# netmiko device_type prefix -> pattern (multiline).
BY_PREFIX: Mapping[str, str] = {
    "cisco_": _IOS_LIKE,
    "arista_": _IOS_LIKE,
    "dell_": _IOS_LIKE,
    "brocade_": _IOS_LIKE,
    "ruckus_": _IOS_LIKE,
    "hp_": _IOS_LIKE,
    "extreme_": _IOS_LIKE,
    "juniper": r"^\s*(?:error:|syntax error|unknown command).*$",
}
# napalm platform -> the netmiko family its CLI speaks.
NAPALM_FAMILY: Mapping[str, str] = {
    "ios": "cisco_ios",
    "nxos_ssh": "cisco_nxos",
    "nxos": "cisco_nxos",
    "iosxr": "cisco_xr",
    "iosxr_netconf": "cisco_xr",
    "eos": "arista_eos",
    "junos": "juniper_junos",
}


def default_pattern(netmiko_platform: str) -> str:
    """The built-in error pattern for a netmiko device_type ("" when none is known)."""
    return next((p for prefix, p in BY_PREFIX.items() if netmiko_platform.startswith(prefix)), "")


def compiled(pattern: str, field: str) -> safe_regex.SafePattern | None:
    return safe_regex.compile(pattern, field, multiline=True) if pattern else None
