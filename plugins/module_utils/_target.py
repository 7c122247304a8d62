# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""From Ansible's usual inventory variables to a Tether connection.

Existing network inventories work unchanged: ``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_password``, ``ansible_ssh_private_key_file``,
``ansible_become_password`` (the enable secret) and ``ansible_network_os`` (mapped
to a driver platform by :mod:`._platforms`). A task option of the same meaning
overrides the variable. The connection plugin tether.fleet.pinned documents the
same variable names (there, the last one listed wins; here, the first one).

Private to the collection: not a public API.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.tether.fleet.plugins.module_utils._option_sources import TARGET_DEFAULTS, TARGET_VARIABLES
from ansible_collections.tether.fleet.plugins.module_utils._platforms import platform_for

DEFAULT_DRIVER = str(TARGET_DEFAULTS["driver"])

# Target option -> inventory variables, highest precedence first (from the option table, in its
# compact rendering: a connection plugin imports this module on every task).
INVENTORY_VARS: dict[str, tuple[str, ...]] = TARGET_VARIABLES
SECRET_OPTIONS = ("password", "enable_password")

Lookup = Callable[[str], Any]


class TargetError(ValueError):
    """The inventory and task options do not describe a usable target (names the option or variable)."""


@dataclass(frozen=True)
class Target:
    """One device as the service sees it. ``connection`` holds secrets: it is kept out of repr."""

    name: str  # the inventory hostname (or a bulk target's name)
    driver: str
    connection: dict[str, Any] = field(repr=False)
    read_timeout: float = 0.0
    pinned: bool = True

    @property
    def host(self) -> str:
        return str(self.connection.get("host", ""))

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(str(self.connection[k]) for k in ("password", "secret", "private_key") if self.connection.get(k))


def to_bool(value: Any, option: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "y", "t"):
        return True
    if text in ("0", "false", "no", "off", "n", "f", ""):
        return False
    raise TargetError(f"{option} must be a boolean, not {value!r}")


def _number(value: Any, option: str, kind: type[int] | type[float]) -> int | float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise TargetError(f"{option} must be a number, not {value!r}") from None
    if number < 0:
        raise TargetError(f"{option} must not be negative")
    return number


def _driver_options(value: Any, option: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TargetError(f"{option} must be a dictionary (or JSON object text)") from None
    if not isinstance(value, Mapping):
        raise TargetError(f"{option} must be a dictionary, not {type(value).__name__}")
    return dict(value)


def build_target(
    name: str,
    lookup: Lookup,
    overrides: Mapping[str, Any],
    local_service: bool = True,
    fallbacks: Mapping[str, Any] | None = None,
) -> Target:
    """The target ``name`` from its variables (``lookup(var)`` -> value or None) with
    task options (``overrides``, None = not set) on top and ``fallbacks`` (values from
    the command line, such as -u / -k / -K) below.

    ``local_service`` says whether tetherd runs on this machine: a private key file is
    then passed by path, and otherwise read here and sent as key text.
    """
    fallbacks = fallbacks or {}

    def pick(option: str) -> tuple[Any, str]:
        value = overrides.get(option)
        if value is not None:
            return value, f"option {option}"
        for var in INVENTORY_VARS.get(option, ()):
            value = lookup(var)
            if value is not None and value != "":
                return value, f"variable {var}"
        value = fallbacks.get(option)
        return value, f"option {option}"

    host = pick("host")[0]
    host = str(host or name).strip()
    if not host:
        raise TargetError(f"{name}: no host: set ansible_host or the host option")
    driver = str(pick("driver")[0] or DEFAULT_DRIVER)
    platform = pick("platform")[0]
    if not platform:
        network_os = pick("network_os")[0]
        platform = platform_for(str(network_os or ""))
    connection: dict[str, Any] = {"host": host, "platform": str(platform or "")}

    port, where = pick("port")
    if port not in (None, ""):
        port = int(_number(port, where, int))
        if not 0 < port < 65536:
            raise TargetError(f"{name}: {where}: port {port} is out of range")
        connection["port"] = port
    username = pick("username")[0]
    if username:
        connection["username"] = str(username)
    password = pick("password")[0]
    if password:
        connection["password"] = str(password)
    secret = pick("enable_password")[0]
    if secret:
        connection["secret"] = str(secret)
    key_file, where = pick("private_key_file")
    if key_file:
        path = os.path.expanduser(str(key_file))
        if local_service:
            connection["private_key_file"] = path
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    connection["private_key"] = handle.read()
            except OSError as exc:
                raise TargetError(f"{name}: {where}: cannot read private key file {path}: {exc.strerror}") from None
    options, where = pick("driver_options")
    if options not in (None, ""):
        connection["options"] = _driver_options(options, where)
    connect_timeout, where = pick("connect_timeout")
    if connect_timeout not in (None, ""):
        connection["connect_timeout"] = float(_number(connect_timeout, where, float))
    keepalive, where = pick("keepalive")
    if keepalive not in (None, ""):
        connection["keepalive_seconds"] = int(_number(keepalive, where, int))
    read_timeout, where = pick("read_timeout")
    read = float(_number(read_timeout, where, float)) if read_timeout not in (None, "") else 0.0
    pinned, where = pick("pinned")
    pinned_flag = True if pinned in (None, "") else to_bool(pinned, where)

    if driver == DEFAULT_DRIVER:
        if not connection["platform"]:
            raise TargetError(
                f"{name}: no platform for the netmiko driver: set ansible_network_os (for example cisco.ios.ios), "
                "ansible_tether_platform or the platform option (a netmiko device_type such as cisco_ios)"
            )
        if not connection.get("username"):
            raise TargetError(f"{name}: no user name: set ansible_user or the username option")
        if not (connection.get("password") or connection.get("private_key_file") or connection.get("private_key")):
            raise TargetError(
                f"{name}: no credentials: set ansible_password or ansible_ssh_private_key_file "
                "(or the password / private_key_file options)"
            )
    return Target(name=name, driver=driver, connection=connection, read_timeout=read, pinned=pinned_flag)


def same_login(session: Mapping[str, Any], target: Target) -> bool:
    """Whether a listed session (tether.fleet.session_info's form) is this target's:
    same driver, address, port (when the target names one) and user."""
    port = target.connection.get("port")
    return bool(
        session["driver"] == target.driver
        and session["host"] == target.host
        and (not port or session["port"] == port)
        and session["username"] == target.connection.get("username", "")
    )


def redact(value: Any, secrets: tuple[str, ...]) -> Any:
    """``value`` with every secret (3 characters or more) replaced, in every string inside it."""
    usable = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)
    if not usable:
        return value

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for secret in usable:
                if secret in item:
                    item = item.replace(secret, "********")
            return item
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(inner) for inner in item]
        return item

    return walk(value)
