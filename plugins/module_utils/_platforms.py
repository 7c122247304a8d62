# Copyright (c) Tether maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one table mapping Ansible's ``ansible_network_os`` to a Tether driver platform.

The netmiko driver's platform is a netmiko ``device_type``. Both the short form
(``ios``) and the collection-qualified form (``cisco.ios.ios``) of a network OS
are accepted: the last dotted part is looked up. A value that is not in the table
is passed through unchanged, so an inventory may also name a netmiko device_type
directly (``ansible_network_os: cisco_xe``); the service rejects an unknown one
with a list of similar names.

Private to the collection: not a public API.
"""

from __future__ import annotations

# ansible_network_os (last dotted part) -> netmiko device_type
NETWORK_OS_PLATFORMS: dict[str, str] = {
    # Cisco
    "ios": "cisco_ios",  # cisco.ios.ios (IOS and IOS-XE)
    "iosxr": "cisco_xr",  # cisco.iosxr.iosxr
    "nxos": "cisco_nxos",  # cisco.nxos.nxos
    "asa": "cisco_asa",  # cisco.asa.asa
    "aireos": "cisco_wlc",  # community.network.aireos
    # Arista, Juniper, VyOS
    "eos": "arista_eos",  # arista.eos.eos
    "junos": "juniper_junos",  # junipernetworks.junos.junos
    "vyos": "vyos",  # vyos.vyos.vyos
    # Dell
    "os10": "dell_os10",  # dellemc.os10.os10
    "os9": "dell_os9",  # dellemc.os9.os9
    "os6": "dell_os6",  # dellemc.os6.os6
    "dellos10": "dell_os10",  # community.network (older names)
    "dellos9": "dell_os9",
    "dellos6": "dell_os6",
    "sonic": "dell_sonic",  # dellemc.enterprise_sonic.sonic
    # Extreme / Brocade / Ruckus
    "exos": "extreme_exos",  # community.network.exos
    "slxos": "extreme_slx",  # community.network.slxos
    "voss": "extreme_vsp",  # community.network.voss
    "nos": "extreme_nos",  # community.network.nos
    "ironware": "brocade_netiron",  # community.network.ironware
    "icx": "ruckus_fastiron",  # community.network.icx
    # Aruba / HPE
    "aoscx": "aruba_aoscx",  # arubanetworks.aoscx.aoscx
    "aruba": "aruba_os",  # community.network.aruba
    # Others
    "routeros": "mikrotik_routeros",  # community.routeros.routeros
    "edgeos": "ubiquiti_edgerouter",  # community.network.edgeos
    "edgeswitch": "ubiquiti_edgeswitch",  # community.network.edgeswitch
    "onyx": "mellanox_mlnxos",  # mellanox.onyx.onyx
    "ce": "huawei_vrpv8",  # community.network.ce (CloudEngine, VRP V8)
    "fortios": "fortinet",  # fortinet.fortios.fortios (CLI)
    "panos": "paloalto_panos",  # paloaltonetworks.panos (CLI)
    "netvisor": "pluribus",  # community.network.netvisor
    "sros": "nokia_sros",  # nokia.sros
    "eric_eccli": "ericsson_ipos",  # community.network.eric_eccli
    "cumulus": "cumulus_linux",
    "linux": "linux",
}


def platform_for(network_os: str | None) -> str:
    """The driver platform for an ``ansible_network_os`` value ('' for an empty one)."""
    value = (network_os or "").strip()
    if not value:
        return ""
    short = value.rsplit(".", 1)[-1]
    return NETWORK_OS_PLATFORMS.get(short, NETWORK_OS_PLATFORMS.get(value, value))
