# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a driver can do on a platform, as tetherd publishes it (GetServiceInfo's
``driver_info[].capabilities`` and ``platform_capabilities``): the collection decides
from this data, never from a platform's name.

Pure data (no gRPC import): the answer is read duck-typed from the ServiceInfo message.

Private to the collection: not a public API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Capability names as the service publishes them (tether.drivers.contract.Capability).
COMMANDS = "commands"
EXEC = "exec"
FILE_TRANSFER = "file_transfer"
CHANNEL_LEASE = "channel_lease"


class MissingCapability(Exception):
    """The driver does not publish a capability the work needs on this platform."""

    def __init__(self, capability: str, driver: str, platform: str, needed_for: str) -> None:
        on = f" on platform {platform!r}" if platform else ""
        super().__init__(
            f"{needed_for} needs the capability {capability!r}, which the {driver} driver does not have{on} "
            "(GetServiceInfo publishes each driver's capabilities)"
        )
        self.capability = capability


@dataclass(frozen=True)
class DriverCapabilities:
    driver: str
    base: frozenset[str]
    platforms: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def for_platform(self, platform: str) -> frozenset[str]:
        """A platform's capabilities: its own entry where they differ from the driver's, else the driver's."""
        return self.platforms.get(platform, self.base)


def from_service_info(info: Any) -> dict[str, DriverCapabilities]:
    """Driver name -> its capabilities, from a ServiceInfo message (drivers that failed to load left out)."""
    found: dict[str, DriverCapabilities] = {}
    for driver in getattr(info, "driver_info", ()):
        if driver.load_error:
            continue
        found[driver.name] = DriverCapabilities(
            driver=driver.name,
            base=frozenset(driver.capabilities),
            platforms={name: frozenset(item.capabilities) for name, item in driver.platform_capabilities.items()},
        )
    return found


def require(
    known: Mapping[str, DriverCapabilities], driver: str, platform: str, needed: Iterable[str], needed_for: str
) -> None:
    """Raise MissingCapability for the first of ``needed`` the driver lacks on ``platform``.

    A driver the service does not describe is left to the service, whose own answer names the problem."""
    described = known.get(driver)
    if described is None:
        return
    have = described.for_platform(platform)
    for capability in needed:
        if capability not in have:
            raise MissingCapability(capability, driver, platform, needed_for)


def has(known: Mapping[str, DriverCapabilities], driver: str, platform: str, capability: str) -> bool:
    described = known.get(driver)
    return described is not None and capability in described.for_platform(platform)
