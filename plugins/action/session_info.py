# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.session_info (the documentation is in plugins/modules/session_info.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import SESSION_INFO_RULES, session_info_spec
from ansible_collections.tether.fleet.plugins.module_utils._target import build_target
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TetherAction


class ActionModule(TetherAction):
    ARGUMENT_SPEC = staticmethod(session_info_spec)
    RULES = SESSION_INFO_RULES

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host, port = "", 0
        if not args["all_hosts"]:
            # Only the address matters here: no credentials are needed to look.
            name = str(task_vars.get("inventory_hostname") or "")
            overrides = {"host": args.get("host"), "port": args.get("port"), "driver": "null"}
            target = build_target(name, self.lookup(task_vars), overrides)
            host, port = target.host, int(target.connection.get("port") or 0)
        if not service.running():
            # Looking never starts the embedded service.
            return {"changed": False, "sessions": [], "service": {"running": False, "listen": service.endpoint}}
        sessions = [s for s in service.list_sessions(host=host) if not port or s["port"] == port]
        return {"changed": False, "sessions": sessions, "service": service.info()}
