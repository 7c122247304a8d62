# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs of the tether.fleet modules, shared by the action plugins (which
validate task arguments with them) and the module files (whose documentation
ansible-test checks against them).

Pure data: no import beyond the standard library, so it loads anywhere.

Service and target options have no ``default`` here on purpose: a value that is
not given in the task falls back, in order, to an inventory variable
(``ansible_tether_<option>`` for the service options, the usual ``ansible_*``
variables for the target), then to a ``TETHER_*`` environment variable, then to
the documented default. The action plugins resolve that chain, so a default in
the spec would hide whether the task set the option.

Private to the collection: not a public API.
"""

from __future__ import annotations

import copy
from typing import Any

Spec = dict[str, dict[str, Any]]

# How to reach tetherd. Doc fragment: tether.fleet.service.
SERVICE_OPTIONS: Spec = {
    "endpoint": {"type": "str"},
    "token": {"type": "str", "no_log": True},
    "tls_ca": {"type": "path"},
    "tls_cert": {"type": "path"},
    "tls_key": {"type": "path", "no_log": False},
    "tls_server_name": {"type": "str"},
    "timeout": {"type": "float"},
    "auto_start": {"type": "bool"},
    "auto_start_idle": {"type": "float"},
}

# Which device, and how to log in. Doc fragment: tether.fleet.target.
TARGET_OPTIONS: Spec = {
    "host": {"type": "str"},
    "port": {"type": "int"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "private_key_file": {"type": "path", "no_log": False},
    "enable_password": {"type": "str", "no_log": True},
    "platform": {"type": "str"},
    "driver": {"type": "str"},
    "driver_options": {"type": "dict"},
    "connect_timeout": {"type": "float"},
    "read_timeout": {"type": "float"},
    "keepalive": {"type": "int"},
    "pinned": {"type": "bool"},
}

PARSE_OPTIONS: Spec = {
    "parse": {"type": "str", "choices": ["textfsm", "ttp"]},
    "parse_template": {"type": "str"},
    "parse_template_file": {"type": "path"},
}

CONFIG_OPTIONS: Spec = {
    "lines": {"type": "list", "elements": "str", "aliases": ["commands"]},
    "parents": {"type": "list", "elements": "str"},
    "src": {"type": "path"},
    "match": {"type": "str", "choices": ["line", "none"], "default": "line"},
    "save": {"type": "bool", "default": False},
}

# Bulk targets: an explicit list, as an alternative to inventory hosts. Each entry names one
# device with the target options that describe a device (host required); the others
# (driver, timeouts, pinned) are the task's, shared by every device.
BULK_TARGET_FIELDS = (
    "host",
    "port",
    "username",
    "password",
    "private_key_file",
    "enable_password",
    "platform",
    "driver_options",
)
BULK_TARGET_SUBOPTIONS: Spec = {
    "name": {"type": "str"},
    **{name: {**TARGET_OPTIONS[name], **({"required": True} if name == "host" else {})} for name in BULK_TARGET_FIELDS},
}


def _common(*extra: Spec) -> Spec:
    spec: Spec = {}
    for part in (SERVICE_OPTIONS, TARGET_OPTIONS, *extra):
        spec.update(copy.deepcopy(part))
    return spec


def cli_command_spec() -> Spec:
    return _common(
        {
            "commands": {"type": "list", "elements": "str", "required": True},
            "wait_for": {"type": "list", "elements": "str", "aliases": ["waitfor"]},
            "match": {"type": "str", "choices": ["any", "all"], "default": "all"},
            "retries": {"type": "int", "default": 9},
            "interval": {"type": "float", "default": 1.0},
            "expect_prompt": {"type": "str"},
            "stop_on_error": {"type": "bool", "default": True},
            "encoding": {"type": "str", "choices": ["text", "json"]},
        },
        PARSE_OPTIONS,
    )


CLI_COMMAND_RULES: dict[str, Any] = {"mutually_exclusive": [["parse_template", "parse_template_file"]]}


def cli_config_spec() -> Spec:
    return _common(CONFIG_OPTIONS)


CLI_CONFIG_RULES: dict[str, Any] = {
    "mutually_exclusive": [["lines", "src"], ["parents", "src"]],
    "required_one_of": [["lines", "src"]],
}


def session_info_spec() -> Spec:
    return _common({"all_hosts": {"type": "bool", "default": False}})


SESSION_INFO_RULES: dict[str, Any] = {}


def session_spec() -> Spec:
    return _common(
        {
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "all": {"type": "bool", "default": False},
            "session_id": {"type": "str"},
        }
    )


SESSION_RULES: dict[str, Any] = {"mutually_exclusive": [["all", "session_id"]]}


def bulk_spec() -> Spec:
    return _common(
        {
            "hosts": {"type": "list", "elements": "str"},
            "targets": {"type": "list", "elements": "dict", "options": copy.deepcopy(BULK_TARGET_SUBOPTIONS)},
            "commands": {"type": "list", "elements": "str"},
            "lines": {"type": "list", "elements": "str"},
            "parents": {"type": "list", "elements": "str"},
            "match": {"type": "str", "choices": ["line", "none"], "default": "line"},
            "save": {"type": "bool", "default": False},
            "stop_on_error": {"type": "bool", "default": True},
            "concurrency": {"type": "int"},
            "target_timeout": {"type": "float"},
            "fail_on_error": {"type": "bool", "default": True},
        },
        PARSE_OPTIONS,
    )


BULK_RULES: dict[str, Any] = {
    "required_one_of": [["commands", "lines"]],
    "mutually_exclusive": [["parse_template", "parse_template_file"]],
}
