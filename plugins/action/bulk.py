# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.bulk (the documentation is in plugins/modules/bulk.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import (
    BULK_RULES,
    BULK_TARGET_FIELDS,
    TARGET_OPTIONS,
    bulk_spec,
)
from ansible_collections.tether.fleet.plugins.module_utils._target import Target, build_target
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, display
from ansible_collections.tether.fleet.plugins.plugin_utils._cli_action import CliAction, read_only

# Options of the task that apply to every target (each overrides the target's inventory variables).
_SHARED_TARGET_OPTIONS = tuple(name for name in TARGET_OPTIONS if name != "host")


class ActionModule(CliAction):
    ARGUMENT_SPEC = staticmethod(bulk_spec)
    RULES = BULK_RULES

    def targets(self, args: dict[str, Any], task_vars: dict[str, Any], service: _tether.Service) -> list[Target]:
        if args.get("host"):
            raise TaskError("bulk takes its devices from hosts or targets, not from the host option")
        shared = {name: args.get(name) for name in _SHARED_TARGET_OPTIONS}
        local = service.is_local
        fallbacks = self.cli_fallbacks()
        hosts = args.get("hosts")
        explicit = args.get("targets") or []
        if hosts is None and not explicit:
            hosts = list(task_vars.get("ansible_play_batch") or [])
            if len(hosts) > 1 and not self._task.run_once:
                raise TaskError(
                    "bulk runs once for all the play's hosts: add run_once: true to the task "
                    "(or list the devices in hosts or targets)"
                )
        targets: list[Target] = []
        hostvars = task_vars.get("hostvars") or {}
        for name in hosts or []:
            if name not in hostvars:
                raise TaskError(f"hosts: {name!r} is not a host of the inventory")
            target = build_target(str(name), self.lookup_host(hostvars[name]), shared, local, fallbacks)
            targets.append(target)
        for index, item in enumerate(explicit):
            name = item.get("name") or item["host"]
            overrides = dict(shared)
            overrides.update({k: item.get(k) for k in BULK_TARGET_FIELDS if item.get(k) is not None})
            try:
                target = build_target(str(name), lambda _var: None, overrides, local, fallbacks)
            except ValueError as exc:
                raise TaskError(f"targets[{index}]: {exc}") from None
            targets.append(target)
        seen: set[str] = set()
        for target in targets:
            if target.name in seen:
                raise TaskError(f"{target.name} is listed twice (in hosts or targets)")
            seen.add(target.name)
            self._secrets.extend(target.secrets)
        if not targets:
            raise TaskError("no devices: hosts and targets are empty")
        drivers = sorted({t.driver for t in targets})
        if len(drivers) > 1:
            raise TaskError(f"one bulk task runs one driver; these devices use {', '.join(drivers)}")
        if len({t.pinned for t in targets}) > 1:
            raise TaskError("one bulk task runs all devices pinned or all one-shot, not a mix")
        return targets

    def lookup_host(self, variables: Mapping[str, Any]) -> Any:
        """A getter over another host's variables (hostvars templates what it returns)."""

        def get(name: str) -> Any:
            try:
                return variables[name]
            except KeyError:
                return None

        return get

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        targets = self.targets(args, task_vars, service)
        commands = list(args.get("commands") or [])
        lines = self.config_lines(args, task_vars) if args.get("lines") else []
        check_mode = bool(self._task.check_mode)
        skipped: list[str] = []
        if check_mode and commands:
            skipped = [c for c in commands if not read_only(c)]
            commands = [c for c in commands if read_only(c)]
            for command in skipped:
                display.warning(f"check mode: not running {command!r} (only show-type commands run in check mode)")
        if not commands and not lines:
            return {"changed": False, "skipped": True, "msg": "check mode: nothing to run", "skipped_commands": skipped}
        parse, template = self.parse_args(args)
        mode = "check" if check_mode else ("merge" if args["match"] == "line" else "apply")
        read_timeouts = {t.read_timeout for t in targets}
        op = _tether.OperationArgs(
            commands=commands,
            config=lines,
            read_timeout=max(read_timeouts) if read_timeouts else 0.0,
            parse=parse,
            template=template,
            save=args["save"] and not check_mode and bool(lines),
            stop_on_error=args["stop_on_error"],
            config_mode=mode,
            diff=False,
        )
        outcome = service.bulk(
            targets[0].driver,
            [(t.name, t.connection) for t in targets],
            op,
            pinned=targets[0].pinned,
            concurrency=args.get("concurrency") or 0,
            target_timeout=args.get("target_timeout") or service.settings.timeout,
            labels=self.labels(task_vars),
        )
        results: dict[str, Any] = {}
        changed = False
        for target in targets:
            item = outcome.targets.get(target.name)
            if item is None:
                results[target.name] = {"ok": False, "error": "no result from the service", "error_code": "UNKNOWN"}
                continue
            # Config and save steps come first; the last len(commands) results are the commands'.
            command_results = item.results[max(0, len(item.results) - len(commands)) :] if commands else []
            entry: dict[str, Any] = {
                "ok": item.ok,
                "stdout": [r["output"] for r in command_results],
                "results": [{k: r[k] for k in ("command", "status", "error", "duration_ms")} for r in item.results],
                "session": item.meta,
                "error": item.error,
                "error_code": item.error_code,
            }
            if parse:
                entry["parsed"] = [r["parsed"] for r in command_results]
            if item.config is not None:
                commands_sent = list(item.config["lines"]) if args["match"] == "line" else list(lines)
                entry["changed"] = bool(commands_sent) if args["match"] == "none" else item.config["changed"]
                entry["commands"] = commands_sent
                entry["saved"] = item.config["saved"]
                changed = changed or entry["changed"]
            results[target.name] = entry
        failed_targets = [name for name, entry in results.items() if not entry["ok"]]
        result: dict[str, Any] = {
            "changed": changed,
            "results": results,
            "failed_targets": failed_targets,
            "summary": {
                "job_id": outcome.job_id,
                "total": len(targets),
                "succeeded": outcome.succeeded,
                "failed": len(failed_targets),
                "cancelled": outcome.cancelled,
                "elapsed_ms": outcome.elapsed_ms,
            },
        }
        if skipped:
            result["skipped_commands"] = skipped
        if failed_targets and args["fail_on_error"]:
            reasons = "; ".join(f"{name}: {results[name]['error'] or 'failed'}" for name in failed_targets[:5])
            more = f" (and {len(failed_targets) - 5} more)" if len(failed_targets) > 5 else ""
            result.update(failed=True, msg=f"{len(failed_targets)} of {len(targets)} devices failed: {reasons}{more}")
        return result
