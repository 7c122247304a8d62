# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What only the CLI modules (cli_command, cli_config and bulk, which runs the same
commands and lines on many devices) need on top of the base action class: check-mode
filtering of commands, configuration lines from ``lines``/``parents`` or a rendered
``src`` template (rendered by the base class, which napalm_config uses too), and the
parser options.

Private to the collection: not a public API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, TetherAction

# Commands that only read: run in check mode; every other command is skipped there.
_READ_ONLY = re.compile(r"^\s*(show|display|dir|more|ping|traceroute|get)(\s|$)", re.IGNORECASE)


def read_only(command: str) -> bool:
    return _READ_ONLY.match(command) is not None


def indent_config(lines: list[str], parents: list[str] | None) -> list[str]:
    """Config lines under ``parents``: each parent one level deeper, the lines below the last.

    Indentation marks hierarchy, as in a running configuration (one space a level).
    """
    parents = [p.strip() for p in parents or [] if p.strip()]
    depth = len(parents)
    out = [" " * level + parent for level, parent in enumerate(parents)]
    out.extend(" " * depth + line.rstrip() for line in lines if line.strip())
    return out


def clean_config(text: str) -> list[str]:
    """Rendered configuration text as lines: blank lines and bare ``!`` separators dropped."""
    return [line.rstrip() for line in text.splitlines() if line.strip() and line.strip() != "!"]


class CliAction(TetherAction):
    """The base of the CLI modules' action plugins."""

    def parse_args(self, args: Mapping[str, Any]) -> tuple[str, str]:
        """(parse kind, template text) from parse / parse_template / parse_template_file."""
        parse = args.get("parse") or ""
        template = args.get("parse_template") or ""
        if args.get("parse_template_file"):
            template = self.read_file("templates", args["parse_template_file"])[1]
        if template and not parse:
            raise TaskError("parse_template / parse_template_file need parse: textfsm or parse: ttp")
        if parse == "ttp" and not template:
            raise TaskError("parse: ttp needs a template: set parse_template or parse_template_file")
        return str(parse), str(template)

    def config_lines(self, args: Mapping[str, Any], task_vars: Mapping[str, Any]) -> list[str]:
        if args.get("src"):
            return clean_config(self.render_template(args["src"], task_vars))
        return indent_config(list(args.get("lines") or []), args.get("parents"))
