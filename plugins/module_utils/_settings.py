# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the collection finds and authenticates to tetherd: the service settings.

A task option wins, then the inventory variable, then the environment, then the
default: all four from the service option table (._options). Nothing here imports
gRPC, so a connection plugin's task worker can resolve settings for free.

Private to the collection: not a public API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ansible_collections.tether.fleet.plugins.module_utils._options import SERVICE, defaults, environment, variables

if TYPE_CHECKING:
    from tether.client import ClientConfig

_DEFAULTS = defaults(SERVICE)
DEFAULT_TIMEOUT = float(_DEFAULTS["timeout"])
DEFAULT_IDLE_EXIT = float(_DEFAULTS["auto_start_idle"])
DEFAULT_AUTO_START = bool(_DEFAULTS["auto_start"])

# Service option -> (inventory variables, environment variables), highest precedence first.
_VARIABLES, _ENVIRONMENT = variables(SERVICE), environment(SERVICE)
SERVICE_SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    item.name: (_VARIABLES.get(item.name, ()), _ENVIRONMENT.get(item.name, ())) for item in SERVICE
}
_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")
_PATHS = ("tls_ca", "tls_cert", "tls_key")


class ServiceError(Exception):
    """A call to tetherd failed. ``code`` is the gRPC status name (UNAVAILABLE, INVALID_ARGUMENT, ...)
    or MISSING_PACKAGE; ``message`` never holds a secret (the service redacts its own)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ServiceSettings:
    """How to reach tetherd (the doc fragment tether.fleet.service)."""

    endpoint: str = ""  # empty: the local embedded socket
    token: str = field(default="", repr=False)
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_server_name: str = ""
    timeout: float = DEFAULT_TIMEOUT
    auto_start: bool = DEFAULT_AUTO_START
    auto_start_idle: float = DEFAULT_IDLE_EXIT

    def client_config(self) -> ClientConfig:
        """The client's own settings: where the endpoint resolves to, and what is local, is its call."""
        from ansible_collections.tether.fleet.plugins.module_utils._channel import require_client

        require_client()
        from tether.client import ClientConfig

        return ClientConfig(
            endpoint=self.endpoint,
            token=self.token,
            tls_ca=self.tls_ca,
            tls_cert=self.tls_cert,
            tls_key=self.tls_key,
            tls_server_name=self.tls_server_name,
            timeout=self.timeout,
        )

    @property
    def is_local(self) -> bool:
        return self.client_config().is_local


def resolve_values(
    options: Mapping[str, Any], lookup: Callable[[str], Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Each service option's value: the task's, else the first inventory variable set
    (``lookup(name)`` -> value or None), else the first environment variable set."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (names, env) in SERVICE_SOURCES.items():
        value = options.get(name)
        for var in names:
            if value is not None:
                break
            value = lookup(var)
        for var in env:
            if value not in (None, ""):
                break
            value = environ.get(var)
        values[name] = value
    return values


def settings_from_values(values: Mapping[str, Any]) -> ServiceSettings:
    """ServiceSettings from resolved option values (None or '' = not set: the default)."""
    kwargs: dict[str, Any] = {}
    for name in ("endpoint", "token", "tls_server_name", *_PATHS):
        value = values.get(name)
        if value not in (None, ""):
            kwargs[name] = os.path.expanduser(str(value)) if name in _PATHS else str(value)
    for name in ("timeout", "auto_start_idle"):
        value = values.get(name)
        if value not in (None, ""):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ServiceError("INVALID_ARGUMENT", f"{name} must be a number of seconds, not {value!r}") from None
            if number <= 0:
                raise ServiceError("INVALID_ARGUMENT", f"{name} must be positive")
            kwargs[name] = number
    auto_start = values.get("auto_start")
    if auto_start not in (None, ""):
        if isinstance(auto_start, bool):
            kwargs["auto_start"] = auto_start
        elif str(auto_start).strip().lower() in _TRUE + _FALSE:
            kwargs["auto_start"] = str(auto_start).strip().lower() in _TRUE
        else:
            raise ServiceError("INVALID_ARGUMENT", f"auto_start must be a boolean, not {auto_start!r}")
    endpoint = kwargs.get("endpoint", "")
    if endpoint and not endpoint.startswith("unix:") and ":" not in endpoint:
        raise ServiceError("INVALID_ARGUMENT", f"endpoint {endpoint!r} is neither unix:/path/to/socket nor host:port")
    return ServiceSettings(**kwargs)
