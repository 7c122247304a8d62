# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of every tether.fleet action plugin.

Each module of the collection runs as an action plugin inside the Ansible worker
process: it validates the task's arguments against the module's argument spec,
resolves the service options and the target from task options and inventory
variables, and calls tetherd over gRPC. There is no AnsiballZ payload and no
module subprocess.

``_requires_connection = False`` matters for existing network inventories: with
``ansible_connection: ansible.netcommon.network_cli`` Ansible would otherwise
start its persistent connection helper (``ansible-connection``) for every task.

What only the CLI modules (cli_command, cli_config, bulk) need is in ._cli_action.

Private to the collection: not a public API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.tether.fleet.plugins.module_utils import _tether
from ansible_collections.tether.fleet.plugins.module_utils._argspec import TARGET_OPTIONS, Spec
from ansible_collections.tether.fleet.plugins.module_utils._target import Target, TargetError, build_target, redact

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: templates are trusted as they are

    def trust_as_template(value: Any) -> Any:
        return value


display = Display()

_LABEL_LIMIT = 200


class TaskError(Exception):
    """The task cannot run as written; the message says what to change."""


class TetherAction(ActionBase):  # type: ignore[misc]  # ansible ships no type information
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC: ClassVar[Callable[[], Spec]]
    RULES: ClassVar[dict[str, Any]] = {}

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars if task_vars is not None else {}
        self._secrets: list[str] = []
        try:
            args = self.validate_argument_spec(type(self).ARGUMENT_SPEC(), **type(self).RULES)[1]
        except AnsibleActionFail as exc:  # name the module as users write it, not its Python path
            message = str(exc.message).replace(str(self._load_name), str(self._task.resolved_action or ""))
            raise AnsibleActionFail(message) from None
        try:
            settings = self.service_settings(args, task_vars)
            if settings.token:
                self._secrets.append(settings.token)
            with _tether.Service(settings) as service:
                result.update(self.run_task(service, args, task_vars))
                if service.started_service:
                    display.vv(f"tether.fleet: started tetherd on {service.endpoint}")
        except _tether.ServiceError as exc:
            result.update(failed=True, msg=f"tetherd ({exc.code}): {exc.message}", error_code=exc.code)
        except (TargetError, TaskError) as exc:
            result.update(failed=True, msg=str(exc))
        return redact(result, tuple(self._secrets))  # type: ignore[no-any-return]

    def run_task(self, service: _tether.Service, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # -- resolution of options -------------------------------------------------------------

    def lookup(self, variables: Mapping[str, Any]) -> Callable[[str], Any]:
        """A variable getter that templates what it returns (None when undefined)."""

        def get(name: str) -> Any:
            if name not in variables:
                return None
            return self._templar.template(variables[name])

        return get

    def service_settings(self, args: Mapping[str, Any], task_vars: Mapping[str, Any]) -> _tether.ServiceSettings:
        """The service options: task, then inventory variable, then environment (the option table's order)."""
        return _tether.settings_from_values(_tether.resolve_values(args, self.lookup(task_vars)))

    def cli_fallbacks(self) -> dict[str, Any]:
        """Credentials given on the command line (-u, -k, -K), below inventory variables."""
        context = self._play_context
        return {
            "username": getattr(context, "remote_user", None) if self._connection.transport != "local" else None,
            "password": getattr(context, "password", None) or None,
            "enable_password": getattr(context, "become_pass", None) or None,
        }

    def target_options(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {name: args.get(name) for name in TARGET_OPTIONS}

    def target(
        self,
        args: Mapping[str, Any],
        task_vars: Mapping[str, Any],
        service: _tether.Service,
    ) -> Target:
        """This task's device: the inventory host's variables with the task's options on top."""
        name = str(task_vars.get("inventory_hostname") or self._task.get_name())
        target = build_target(
            name,
            self.lookup(task_vars),
            self.target_options(args),
            local_service=service.is_local,
            fallbacks=self.cli_fallbacks(),
        )
        self._secrets.extend(target.secrets)
        return target

    def labels(self, task_vars: Mapping[str, Any]) -> dict[str, str]:
        """Free-form labels stored with the service's job record (never a secret)."""
        labels = {
            "source": "ansible",
            "action": str(self._task.resolved_action or self._task.action),
            "inventory_host": str(task_vars.get("inventory_hostname", "")),
            "task": self._task.get_name(),
            "play": str(task_vars.get("ansible_play_name", "")),
        }
        return {key: value[:_LABEL_LIMIT] for key, value in labels.items() if value}

    # -- shared pieces of tasks (the CLI modules' own are in _cli_action) --------------------

    def read_file(self, kind: str, path: str) -> tuple[str, str]:
        """A controller-side file found the way templates are (role dirs, playbook dir): (path, text)."""
        try:
            found = self._find_needle(kind, path)
            return found, self._loader.get_text_file_contents(found)
        except AnsibleError as exc:
            raise AnsibleActionFail(str(exc)) from None

    def render_template(self, src: str, task_vars: Mapping[str, Any]) -> str:
        """A Jinja2 template on the controller, rendered with the task's variables (like ansible.builtin.template)."""
        path, text = self.read_file("templates", src)
        searchpath = list(task_vars.get("ansible_search_path", []))
        searchpath.extend([self._loader.get_basedir(), os.path.dirname(path)])
        searchpath = [p for base in searchpath for p in (os.path.join(base, "templates"), base)]
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=dict(task_vars))
        rendered = templar.template(trust_as_template(text), escape_backslashes=False)
        return "" if rendered is None else str(rendered)
