# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one door to tetherd, as one name for the three modules that do its jobs:

- :mod:`._settings`: how the service is found and authenticated (no gRPC import);
- :mod:`._channel`: the gRPC channel's lifecycle and the embedded auto-start (imports
  gRPC at plugin load: see its docstring for why);
- :mod:`._requests`: requests built from plain arguments, answers turned into module results.

Importing this module imports gRPC (through ._channel): a plugin that must stay free of
it (a connection plugin's task worker) imports ._settings alone.

Private to the collection: not a public API.
"""

from __future__ import annotations

from ansible_collections.tether.fleet.plugins.module_utils._channel import IMPORT_ERROR, Channel, require_client
from ansible_collections.tether.fleet.plugins.module_utils._requests import (
    CONFIG_MODES,
    OperationArgs,
    Service,
    build_operation,
)
from ansible_collections.tether.fleet.plugins.module_utils._settings import (
    DEFAULT_IDLE_EXIT,
    DEFAULT_TIMEOUT,
    SERVICE_SOURCES,
    ServiceError,
    ServiceSettings,
    resolve_values,
    settings_from_values,
)

if IMPORT_ERROR is None:  # the client's message helpers, for plugins that build requests of their own
    from tether.client import TetherClient, TetherError, connection_message, operation_message, pb

__all__ = [
    "CONFIG_MODES",
    "DEFAULT_IDLE_EXIT",
    "DEFAULT_TIMEOUT",
    "IMPORT_ERROR",
    "SERVICE_SOURCES",
    "Channel",
    "OperationArgs",
    "Service",
    "ServiceError",
    "ServiceSettings",
    "TetherClient",
    "TetherError",
    "build_operation",
    "connection_message",
    "operation_message",
    "pb",
    "require_client",
    "resolve_values",
    "settings_from_values",
]
