# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.napalm_config (the documentation is in plugins/modules/napalm_config.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _napalm, _tether
from ansible_collections.tether.fleet.plugins.module_utils._results import meta_dict
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, TetherAction

_WITH_CONFIG = ("commit", "compare")


class ActionModule(TetherAction):
    ARGUMENT_SPEC = staticmethod(_napalm.config_spec)
    RULES = _napalm.CONFIG_RULES

    def candidate(self, args: dict[str, Any], task_vars: dict[str, Any]) -> Any:
        pb = _tether.pb
        action = args["action"]
        if action != "commit" and (args.get("commit_message") or args.get("revert_in")):
            raise TaskError("commit_message and revert_in go with action commit")
        check_mode = bool(self._task.check_mode)
        if check_mode and action == "commit":
            action = "compare"  # load, compare, discard: what would change
        candidate = pb.ConfigCandidate(action=pb.CandidateAction.Value(f"CANDIDATE_ACTION_{action.upper()}"))
        has_config = bool(args.get("src") or args.get("lines") or args.get("template"))
        if action in _WITH_CONFIG:
            if not has_config:
                raise TaskError(f"action {action} needs src, lines or template")
            if args.get("src"):
                candidate.config = self.render_template(args["src"], task_vars)
            elif args.get("lines"):
                candidate.config = "\n".join(args["lines"]) + "\n"
            else:
                candidate.template = args["template"]  # rendered by tetherd, in its sandbox
                candidate.variables.update(args.get("vars") or {})
            candidate.replace = args["replace"]
        elif has_config:
            raise TaskError(f"action {action} takes no src, lines or template")
        elif check_mode:
            return None  # confirm, discard, rollback change the device: not in check mode
        if action == "commit":
            candidate.message = args.get("commit_message") or ""
            candidate.revert_in = float(args.get("revert_in") or 0)
        return candidate

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        target = self.target(args, task_vars, service)
        candidate = self.candidate(args, task_vars)
        if candidate is None:
            return {"changed": True, "skipped": True, "msg": f"check mode: action {args['action']} not run"}
        connection = target.connection  # tetherd's napalm driver takes the netmiko names an inventory resolves to
        request = _tether.pb.ExecuteRequest(
            driver=_napalm.DRIVER,
            connection=_tether.connection_message(connection),
            operation=_tether.pb.Operation(candidate=candidate),
            mode=_tether.pb.MODE_PINNED if target.pinned else _tether.pb.MODE_ONESHOT,
            timeout=service.settings.timeout,
            labels=self.labels(task_vars),
        )
        response = service.call(lambda client: client.run(request))
        outcome = response.candidate
        result: dict[str, Any] = {
            "changed": bool(outcome.changed),
            "diff_text": outcome.diff,
            "committed": outcome.committed,
            "pending_confirm": outcome.pending_confirm,
            "discarded": outcome.discarded,
            "rolled_back": outcome.rolled_back,
            "session": meta_dict(response.meta),
            "job_id": response.job_id,
        }
        if self._task.diff and outcome.diff:
            result["diff"] = {"prepared": outcome.diff}
        return result
