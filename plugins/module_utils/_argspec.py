# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs of the tether.fleet modules, shared by the action plugins (which
validate task arguments with them) and the module files (whose documentation
ansible-test checks against them).

Pure data: no import beyond the standard library and the option tables, so it loads
anywhere. Service and target options come from the option tables (._options), where
the reason they carry no ``default`` is told.

Private to the collection: not a public API.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils._options import SERVICE, TARGET, argument_spec

Spec = dict[str, dict[str, Any]]

# How to reach tetherd, and which device: derived from the option tables (._options), which
# also feed the doc fragments tether.fleet.service and tether.fleet.target.
SERVICE_OPTIONS: Spec = argument_spec(SERVICE)
TARGET_OPTIONS: Spec = argument_spec(TARGET)

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
