# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.session (the documentation is in plugins/modules/session.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import SESSION_RULES, session_spec
from ansible_collections.tether.fleet.plugins.module_utils._target import build_target, same_login
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, TetherAction


class ActionModule(TetherAction):
    ARGUMENT_SPEC = staticmethod(session_spec)
    RULES = SESSION_RULES

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if args["state"] == "present":
            if args["all"] or args.get("session_id"):
                raise TaskError("all and session_id only apply to state: absent")
            return self.present(service, args, task_vars)
        return self.absent(service, args, task_vars)

    def present(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Make sure the host's session is open and warm (open it now rather than at the first command)."""
        target = self.target(args, task_vars, service)
        if not target.pinned:
            raise TaskError("state: present keeps a session open, which pinned: false does not do")
        if self._task.check_mode:
            warm = service.running() and any(same_login(s, target) for s in service.list_sessions(host=target.host))
            return {"changed": not warm, "session": {"session_reused": warm}}
        # An empty command: the session returns its prompt, which opens it when it is not open yet.
        op = _tether.OperationArgs(commands=[""], read_timeout=target.read_timeout)
        outcome = service.execute(
            target.driver, target.connection, op, True, service.settings.timeout, self.labels(task_vars)
        )
        if not outcome.ok:
            errors = "; ".join(r["error"] for r in outcome.results if r["error"]) or "the probe failed"
            return {"failed": True, "msg": f"session is open but does not answer: {errors}", "session": outcome.meta}
        return {"changed": not outcome.meta["session_reused"], "session": outcome.meta, "job_id": outcome.job_id}

    def absent(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Close sessions: one by id, every one to this host, or all of them."""
        session_id = args.get("session_id") or ""
        host, port = "", 0
        if not (args["all"] or session_id):
            name = str(task_vars.get("inventory_hostname") or "")
            overrides = {"host": args.get("host"), "port": args.get("port"), "driver": "null"}
            target = build_target(name, self.lookup(task_vars), overrides)
            host, port = target.host, int(target.connection.get("port") or 0)
        if not service.running():
            return {"changed": False, "closed": 0, "msg": "tetherd is not running: no session is open"}
        if port or self._task.check_mode:
            # Several devices may share an address (a console server, say): match the port too.
            sessions = service.list_sessions(host=host)
            matching = [
                s["id"]
                for s in sessions
                if (not session_id or s["id"] == session_id) and (not port or s["port"] == port)
            ]
            if self._task.check_mode:
                return {"changed": bool(matching), "closed": len(matching)}
            closed = sum(service.close_sessions(session_id=sid) for sid in matching)
        else:
            closed = service.close_sessions(session_id=session_id, host=host, everything=bool(args["all"]))
        return {"changed": closed > 0, "closed": closed}
