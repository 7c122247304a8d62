"""napalm ``eos`` through tetherd against the simulated Arista switches' eAPI (tests/peers, fixture eapi_switches).

What the peer supports (its Arista model, with the peer's patches for ``show version``
as EOS 4.23.0F, which napalm 5's eos ``open()`` requires, and ``show hostname``):
``get_facts``, ``get_vlans``, ``get_interfaces``, ``get_interfaces_counters``,
``get_arp_table`` and ``cli()`` answer. ``get_config`` (no ``show startup-config``),
``get_lldp_neighbors(_detail)``, ``get_users``, ``get_snmp_information``,
``get_mac_address_table``, ``get_interfaces_ip``, ``get_ntp_servers``/``_stats``,
``get_bgp_*``, ``get_environment``, ``get_optics``, ``get_network_instances`` and
``get_route_to`` fail because each sends a show command the simulator does not implement
(eAPI error 1002); ``get_firewall_policies``, ``get_ipv6_neighbors_table``,
``get_ntp_peers`` and ``get_probes_*`` are not implemented by napalm's eos driver. Each
failure is a FAILED getter result with napalm's error, never INTERNAL. The eAPI model
has no configuration sessions napalm can use for candidates: those are tested with
napalm's ``mock`` driver (test_napalm.py).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from tests.harness import Tetherd
from tether.v1 import messages as pb

WORKING = ["get_facts", "get_vlans", "get_interfaces", "get_interfaces_counters", "get_arp_table"]
MISSING_COMMAND = {"get_config": "show startup-config", "get_lldp_neighbors": "show lldp neighbors"}
NOT_IN_NAPALM_EOS = ["get_ntp_peers"]


def eos(switch: Any) -> pb.Connection:
    connection = pb.Connection(
        host=switch.host, port=switch.eapi_port, platform="eos", username=switch.username, password=switch.password
    )
    connection.options.update({"transport": "http"})
    return connection


def run(tetherd: Tetherd, switch: Any, getters: list[str], commands: tuple[str, ...] = ()) -> pb.ExecuteResponse:
    request = pb.ExecuteRequest(
        driver="napalm",
        connection=eos(switch),
        operation=pb.Operation(getters=[pb.GetterCall(name=name) for name in getters], commands=commands),
    )
    return tetherd.client().run(request)


def test_napalm_eos_getters_the_simulator_supports(tetherd: Tetherd, eapi_switches: Any) -> None:
    switch = eapi_switches.switches[0]
    response = run(tetherd, switch, WORKING, ("show version",))
    assert response.ok, response
    got = {g.name: json_format.MessageToDict(g.data) for g in response.getters}
    assert got["get_facts"]["vendor"] == "Arista" and got["get_facts"]["hostname"] == switch.name
    assert got["get_facts"]["os_version"].startswith("4.23")
    assert got["get_vlans"]["1"]["name"] == "default"
    assert "Ethernet1" in got["get_interfaces"] and "Ethernet1" in got["get_interfaces_counters"]
    assert got["get_arp_table"] == []
    assert "Arista" in response.results[0].output
    again = run(tetherd, switch, ["get_facts"])
    assert again.meta.session_reused and again.ok
    assert tetherd.counters()["connections_opened"] == 1


def test_napalm_eos_getters_the_simulator_lacks_fail_clearly(tetherd: Tetherd, eapi_switches: Any) -> None:
    response = run(tetherd, eapi_switches.switches[1], [*MISSING_COMMAND, *NOT_IN_NAPALM_EOS, "get_vlans"])
    results = {g.name: g for g in response.getters}
    assert not response.ok and results["get_vlans"].status == pb.RESULT_STATUS_OK
    for name, command in MISSING_COMMAND.items():
        assert results[name].status == pb.RESULT_STATUS_FAILED
        assert f"napalm {name}: CommandError" in results[name].error and command in results[name].error
    for name in NOT_IN_NAPALM_EOS:
        assert results[name].status == pb.RESULT_STATUS_FAILED and "NotImplementedError" in results[name].error
