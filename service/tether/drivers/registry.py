"""The driver registry: entry points ``tether.drivers``, checked against the driver contract.

A driver loads when its contract range meets the versions this service speaks
(:data:`~.contract.SUPPORTED_CONTRACTS`) and every capability it declares is
implemented; otherwise it is refused with the reason, and never served.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint

from ..core.registry import PluginRefused, PluginRegistry
from .capabilities import missing_methods
from .contract import SUPPORTED_CONTRACTS, Driver

ENTRY_POINT_GROUP = "tether.drivers"
# Drivers shipped with tether are found even when the installed metadata predates them
# (an editable install made before the driver existed); an entry point of the same name wins.
BUILTIN_DRIVERS: Mapping[str, str] = {
    "napalm": "tether.drivers.napalm_driver:NapalmDriver",
    "pyeapi": "tether.drivers.pyeapi_driver:PyeapiDriver",
}


def check_driver(name: str, driver: object) -> type[Driver]:
    if not (isinstance(driver, type) and issubclass(driver, Driver)):
        raise PluginRefused(f"driver {name!r} does not implement tether's Driver contract")
    meta = driver.meta
    wanted = meta.contract_range
    if not wanted or wanted.start > SUPPORTED_CONTRACTS[-1] or wanted[-1] < SUPPORTED_CONTRACTS.start:
        raise PluginRefused(
            f"driver {name!r} was written for contract versions {_span(wanted)}; "
            f"this tetherd speaks {_span(SUPPORTED_CONTRACTS)}"
        )
    declared = meta.capabilities.union(*driver.platform_capabilities().values())
    missing = missing_methods(driver, declared)
    if missing:
        detail = "; ".join(f"{cap} needs {', '.join(methods)}" for cap, methods in sorted(missing.items()))
        raise PluginRefused(f"driver {name!r} declares capabilities it does not implement: {detail}")
    return driver


def _span(versions: range) -> str:
    return f"{versions.start}" if len(versions) == 1 else f"{versions.start}..{versions[-1]}"


class DriverRegistry(PluginRegistry[type[Driver]]):
    def __init__(self, extra: Mapping[str, type[Driver]] | None = None) -> None:
        checked = {name: check_driver(name, driver) for name, driver in (extra or {}).items()}
        super().__init__(ENTRY_POINT_GROUP, "driver", check_driver, checked)
        for name, target in BUILTIN_DRIVERS.items():
            self._entry_points.setdefault(name, EntryPoint(name, target, ENTRY_POINT_GROUP))
