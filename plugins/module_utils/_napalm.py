# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What tether.fleet.napalm_getters and napalm_config share: argument specs, the napalm
platform of a target, requests for getters and candidates, and ``ansible_net_*`` facts.

A target resolved from the inventory carries a netmiko platform (``cisco_ios`` from
``ansible_network_os: cisco.ios.ios``); the napalm driver names platforms as napalm
does (``ios``); tetherd's napalm driver maps one to the other, and passes napalm's
own names through.

Private to the collection: not a public API.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils._argspec import SERVICE_OPTIONS, TARGET_OPTIONS, Spec

DRIVER = "napalm"

GETTERS_SPEC: Spec = {
    "getters": {
        "type": "list",
        "elements": "raw",
        "required": True,
    },
    "facts": {"type": "bool", "default": True},
}

CONFIG_SPEC: Spec = {
    "src": {"type": "path"},
    "lines": {"type": "list", "elements": "str"},
    "template": {"type": "str"},
    "vars": {"type": "dict"},
    "replace": {"type": "bool", "default": False},
    "commit_message": {"type": "str"},
    "revert_in": {"type": "int"},
    "action": {"type": "str", "choices": ["commit", "compare", "confirm", "discard", "rollback"], "default": "commit"},
}
CONFIG_RULES: dict[str, Any] = {"mutually_exclusive": [["src", "lines", "template"]]}


def _with_common(extra: Spec) -> Spec:
    spec: Spec = {}
    for part in (SERVICE_OPTIONS, TARGET_OPTIONS, extra):
        spec.update(copy.deepcopy(part))
    return spec


def getters_spec() -> Spec:
    return _with_common(GETTERS_SPEC)


def config_spec() -> Spec:
    return _with_common(CONFIG_SPEC)


def getter_calls(entries: Sequence[Any]) -> list[tuple[str, dict[str, Any]]]:
    """``getters`` entries: a name, or ``{name: ..., arguments: {...}}`` (or ``{get_x: {args}}``)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            calls.append((entry, {}))
        elif isinstance(entry, Mapping) and "name" in entry:
            unknown = set(entry) - {"name", "arguments"}
            if unknown:
                raise ValueError(f"getters[{index}]: unknown keys {', '.join(sorted(unknown))} (name, arguments)")
            calls.append((str(entry["name"]), dict(entry.get("arguments") or {})))
        elif isinstance(entry, Mapping) and len(entry) == 1:
            ((name, arguments),) = entry.items()
            calls.append((str(name), dict(arguments or {})))
        else:
            raise ValueError(f"getters[{index}] must be a getter name or {{name: ..., arguments: {{...}}}}")
    return calls


def net_facts(facts: Mapping[str, Any], interfaces: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``ansible_net_*`` facts from napalm's get_facts model, named as the vendor facts modules name them."""
    result: dict[str, Any] = {
        "ansible_net_hostname": facts.get("hostname"),
        "ansible_net_fqdn": facts.get("fqdn"),
        "ansible_net_version": facts.get("os_version"),
        "ansible_net_serialnum": facts.get("serial_number"),
        "ansible_net_model": facts.get("model"),
        "ansible_net_vendor": facts.get("vendor"),
        "ansible_net_uptime": facts.get("uptime"),
        "ansible_net_interfaces": interfaces or {name: {} for name in facts.get("interface_list") or []},
        "ansible_net_api": "tether.napalm",
    }
    return {key: value for key, value in result.items() if value is not None}
