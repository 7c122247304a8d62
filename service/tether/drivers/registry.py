"""Finds drivers through the ``tether.drivers`` entry-point group.

A third-party package adds a driver by declaring, in its pyproject.toml::

    [project.entry-points."tether.drivers"]
    mydriver = "my_package.driver:MyDriver"

Drivers load lazily on first use: importing netmiko costs half a second that a
service answering only session queries need not pay.
"""

from __future__ import annotations

import threading
from importlib.metadata import EntryPoint, entry_points

from ..limits import quote
from ..suggest import did_you_mean
from .contract import CONTRACT_VERSION, Driver, InvalidRequest

ENTRY_POINT_GROUP = "tether.drivers"


class DriverRegistry:
    def __init__(self, extra: dict[str, type[Driver]] | None = None) -> None:
        self._entry_points: dict[str, EntryPoint] = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        self._loaded: dict[str, type[Driver]] = dict(extra or {})
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def get(self, name: str) -> type[Driver]:
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            entry = self._entry_points.get(name)
            if entry is None:
                known = ", ".join(self.names()) or "none"
                hint = did_you_mean(name, self.names())
                raise InvalidRequest(f"unknown driver {quote(name)}{hint} (installed drivers: {known})")
            driver: type[Driver] = entry.load()
            self._check(name, driver)
            self._loaded[name] = driver
            return driver

    @staticmethod
    def _check(name: str, driver: object) -> None:
        if not (isinstance(driver, type) and issubclass(driver, Driver)):
            raise InvalidRequest(f"driver {name!r} does not implement tether's Driver contract")
        version = driver.meta.contract_version
        if version != CONTRACT_VERSION:
            raise InvalidRequest(
                f"driver {name!r} was written for contract version {version}; "
                f"this tetherd speaks version {CONTRACT_VERSION}"
            )
