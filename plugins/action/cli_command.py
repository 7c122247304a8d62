# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.cli_command (the documentation is in plugins/modules/cli_command.py)."""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import CLI_COMMAND_RULES, cli_command_spec
from ansible_collections.tether.fleet.plugins.module_utils._conditions import ConditionError, parse_condition
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, display
from ansible_collections.tether.fleet.plugins.plugin_utils._cli_action import CliAction, read_only


def command_failures(results: list[dict[str, Any]]) -> str:
    failures = [r for r in results if r["status"] == "failed"]
    return "; ".join(f"{r['command']!r}: {r['error']}" for r in failures) or "the operation failed"


def structured(result: dict[str, Any], parse: str) -> Any:
    """A command's data when the device answered data (not the result of ``parse``), else None."""
    return None if parse else result.get("data")


def answer(result: dict[str, Any], parse: str) -> Any:
    """What wait_for conditions see: parsed data, the device's data, or the text."""
    if parse and result["parsed"] is not None:
        return result["parsed"]
    data = structured(result, parse)
    return result["output"] if data is None else data


def brief(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in ("command", "status", "error", "duration_ms")} for r in results]


class ActionModule(CliAction):
    ARGUMENT_SPEC = staticmethod(cli_command_spec)
    RULES = CLI_COMMAND_RULES

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        target = self.target(args, task_vars, service)
        commands = list(args["commands"])
        if not commands:
            raise TaskError("commands is empty: give at least one command")
        skipped: list[str] = []
        if self._task.check_mode:
            skipped = [c for c in commands if not read_only(c)]
            commands = [c for c in commands if read_only(c)]
            for command in skipped:
                display.warning(f"check mode: not running {command!r} (only show-type commands run in check mode)")
            if not commands:
                return {"changed": False, "skipped": True, "msg": "check mode: no read-only command to run",
                        "skipped_commands": skipped}  # fmt: skip
        parse, template = self.parse_args(args)
        try:
            conditions = [parse_condition(text, len(commands)) for text in args.get("wait_for") or []]
        except ConditionError as exc:
            raise TaskError(str(exc)) from None
        op = _tether.OperationArgs(
            commands=commands,
            read_timeout=target.read_timeout,
            expect_prompt=args.get("expect_prompt") or "",
            parse=parse,
            template=template,
            stop_on_error=args["stop_on_error"],
            encoding=args.get("encoding") or "",
        )
        attempts = args["retries"] + 1 if conditions else 1
        labels = self.labels(task_vars)
        unmet: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            outcome = service.execute(
                target.driver, target.connection, op, target.pinned, service.settings.timeout, labels
            )
            if not outcome.ok or not conditions:
                break
            values = [answer(r, parse) for r in outcome.results]
            unmet = [c.text for c in conditions if not c(values)]
            met = not unmet if args["match"] == "all" else len(unmet) < len(conditions)
            if met:
                unmet = []
                break
            if attempt >= attempts:
                break
            time.sleep(args["interval"])

        result: dict[str, Any] = {
            "changed": False,
            # A structured answer (encoding json, pyeapi's default) is data, as arista.eos.eos_command's output: json.
            "stdout": [structured(r, parse) or r["output"] for r in outcome.results],
            "stdout_lines": [structured(r, parse) or r["output"].splitlines() for r in outcome.results],
            "results": brief(outcome.results),
            "session": outcome.meta,
            "job_id": outcome.job_id,
        }
        if parse:
            result["parsed"] = [r["parsed"] for r in outcome.results]
        if conditions:
            result["attempts"] = attempt
        if skipped:
            result["skipped_commands"] = skipped
        if not outcome.ok:
            result.update(failed=True, msg=command_failures(outcome.results))
        elif unmet:
            result.update(
                failed=True,
                msg=f"wait_for: conditions not met after {attempt} attempt(s)",
                failed_conditions=unmet,
            )
        return result
