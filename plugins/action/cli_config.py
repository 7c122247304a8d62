# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.cli_config (the documentation is in plugins/modules/cli_config.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import CLI_CONFIG_RULES, cli_config_spec
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError
from ansible_collections.tether.fleet.plugins.plugin_utils._cli_action import CliAction


def config_result(
    change: dict[str, Any] | None, lines: list[str], match: str, check_mode: bool, save: bool
) -> dict[str, Any]:
    """changed / commands / saved from the service's ConfigChange, as cli_config reports them."""
    change = change or {"changed": bool(lines), "lines": lines, "saved": False}
    commands = list(change["lines"])
    changed = bool(change["changed"])
    if match == "none":  # every line is sent, whatever the device already has
        commands, changed = list(lines), bool(lines)
    result: dict[str, Any] = {"changed": changed, "commands": commands, "updates": commands}
    result["saved"] = bool(change.get("saved"))
    if check_mode and save and changed:
        result["would_save"] = True
    return result


class ActionModule(CliAction):
    ARGUMENT_SPEC = staticmethod(cli_config_spec)
    RULES = CLI_CONFIG_RULES

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        target = self.target(args, task_vars, service)
        lines = self.config_lines(args, task_vars)
        if not lines:
            raise TaskError("no configuration lines: lines is empty, or src rendered to nothing")
        check_mode = bool(self._task.check_mode)
        want_diff = bool(self._task.diff)
        match = args["match"]
        mode = "check" if check_mode else ("merge" if match == "line" else "apply")
        op = _tether.OperationArgs(
            config=lines,
            read_timeout=target.read_timeout,
            save=args["save"] and not check_mode,
            config_mode=mode,
            diff=want_diff,
        )
        outcome = service.execute(
            target.driver, target.connection, op, target.pinned, service.settings.timeout, self.labels(task_vars)
        )
        result = config_result(outcome.config, lines, match, check_mode, args["save"])
        result.update(session=outcome.meta, job_id=outcome.job_id)
        if outcome.results:
            result["output"] = "\n".join(r["output"] for r in outcome.results if r["output"])
        if want_diff and outcome.config is not None:
            result["diff"] = {
                "before": outcome.config["before"],
                "after": outcome.config["after"],
                "before_header": f"{target.name} running configuration",
                "after_header": f"{target.name} running configuration" + (" (predicted)" if check_mode else ""),
            }
        if not outcome.ok:
            failures = [r for r in outcome.results if r["status"] == "failed"]
            errors = "; ".join(r["error"] for r in failures) or "the configuration failed"
            result.update(failed=True, msg=f"configuration failed: {errors}")
        return result
