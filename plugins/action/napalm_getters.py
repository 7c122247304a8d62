# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of tether.fleet.napalm_getters (the documentation is in plugins/modules/napalm_getters.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils import _napalm, _tether
from ansible_collections.tether.fleet.plugins.module_utils._results import meta_dict
from ansible_collections.tether.fleet.plugins.plugin_utils._action import TaskError, TetherAction


class ActionModule(TetherAction):
    ARGUMENT_SPEC = staticmethod(_napalm.getters_spec)

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        target = self.target(args, task_vars, service)
        try:
            calls = _napalm.getter_calls(args["getters"])
        except ValueError as exc:
            raise TaskError(str(exc)) from None
        if not calls:
            raise TaskError("getters is empty: name at least one napalm getter, such as get_facts")
        names = [name for name, _arguments in calls]
        if args["facts"] and "get_facts" not in names:
            calls.append(("get_facts", {}))
        connection = target.connection  # tetherd's napalm driver takes the netmiko names an inventory resolves to
        operation = _tether.pb.Operation()
        for name, arguments in calls:
            call = operation.getters.add(name=name)
            call.arguments.update(arguments)
        request = _tether.pb.ExecuteRequest(
            driver=_napalm.DRIVER,
            connection=_tether.connection_message(connection),
            operation=operation,
            mode=_tether.pb.MODE_PINNED if target.pinned else _tether.pb.MODE_ONESHOT,
            timeout=service.settings.timeout,
            labels=self.labels(task_vars),
        )
        response = service.call(lambda client: client.run(request))
        from google.protobuf import json_format  # pylint: disable=import-outside-toplevel  # the service's dependency

        data = {
            g.name: json_format.MessageToDict(g.data)
            for g in response.getters
            if g.status == _tether.pb.RESULT_STATUS_OK
        }
        failures = {g.name: g.error for g in response.getters if g.status != _tether.pb.RESULT_STATUS_OK}
        result: dict[str, Any] = {
            "changed": False,
            "getters": {name: data.get(name) for name in names},
            "session": meta_dict(response.meta),
            "job_id": response.job_id,
        }
        if args["facts"] and "get_facts" in data:
            result["ansible_facts"] = _napalm.net_facts(data["get_facts"], data.get("get_interfaces"))
        if failures:
            result.update(
                failed=True,
                msg="; ".join(f"{name}: {error}" for name, error in failures.items()),
                failed_getters=failures,
            )
        return result
