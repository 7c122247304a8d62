"""napalm ``eos`` against the simulated Arista switches' eAPI (tests/peers, fixture eapi_switches).

What works and why not:
- Through tetherd, napalm ``eos`` cannot open a session on this peer: napalm 5's ``eos``
  driver refuses EOS older than 4.23.0 in ``open()``, and the simulator answers
  ``show version`` as EOS 4.20.8M (the version its Arista model imitates). tetherd
  reports that as FAILED_PRECONDITION naming the version, before any getter runs.
- Past that gate (the driver-level test below lifts it in-process, for this test only),
  ``get_vlans``, ``get_interfaces``, ``get_interfaces_counters``, ``get_arp_table`` and
  ``cli()`` answer; ``get_facts`` fails (the simulator lacks ``show hostname``), and so
  do ``get_config`` (``show startup-config``), ``get_lldp_neighbors``, ``get_users``,
  ``get_snmp_information``, ``get_mac_address_table``, ``get_interfaces_ip``, ``get_ntp_*``,
  ``get_bgp_*``, ``get_environment``, ``get_optics``, ``get_network_instances`` and
  ``get_route_to`` (each a show command the simulator does not implement: eAPI error
  1002); ``get_firewall_policies``, ``get_ipv6_neighbors_table``, ``get_ntp_peers`` and
  ``get_probes_*`` are not implemented by napalm's eos driver. Each failure is a FAILED
  getter result with napalm's error, never INTERNAL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import Tetherd
from tether.client import TetherError
from tether.drivers.contract import CommandOptions, ConnectionSpec, Secret
from tether.drivers.napalm_driver import NapalmDriver
from tether.operation import run_operation
from tether.redaction import Redactor
from tether.requests import Defaults, operation_spec
from tether.v1 import messages as pb


def eos(switch: Any) -> pb.Connection:
    connection = pb.Connection(
        host=switch.host, port=switch.eapi_port, platform="eos", username=switch.username, password=switch.password
    )
    connection.options.update({"transport": "http"})
    return connection


def test_napalm_eos_refuses_the_simulators_eos_version_clearly(tetherd: Tetherd, eapi_switches: Any) -> None:
    request = pb.ExecuteRequest(
        driver="napalm",
        connection=eos(eapi_switches.switches[0]),
        operation=pb.Operation(getters=[pb.GetterCall(name="get_vlans")]),
    )
    with pytest.raises(TetherError) as caught:
        tetherd.client().run(request)
    assert caught.value.code == "FAILED_PRECONDITION", caught.value
    assert "napalm eos does not support this device's software version 4.20.8M" in caught.value.message


@pytest.fixture
def past_the_version_gate() -> Iterator[None]:
    """napalm eos without its EOS >= 4.23 check, in this process only (see the module docstring)."""
    from napalm.eos.utils.versions import EOSVersion

    original = EOSVersion.__lt__
    EOSVersion.__lt__ = lambda self, other: False  # type: ignore[method-assign]
    yield
    EOSVersion.__lt__ = original  # type: ignore[method-assign]


def test_napalm_eos_getters_the_simulator_supports(past_the_version_gate: None, eapi_switches: Any) -> None:
    switch = eapi_switches.switches[0]
    spec = ConnectionSpec(
        host=switch.host,
        port=switch.eapi_port,
        platform="eos",
        username=switch.username,
        password=Secret(switch.password),
        options={"transport": "http"},
    )
    NapalmDriver.validate(spec)
    driver = NapalmDriver(spec)
    driver.open()
    try:
        getters = ["get_vlans", "get_interfaces", "get_interfaces_counters", "get_arp_table", "get_facts"]
        op = operation_spec(
            pb.Operation(getters=[pb.GetterCall(name=name) for name in getters], commands=["show version"]),
            Defaults(),
        )
        outcome = run_operation(driver, op, threading.Event(), Redactor.for_specs([spec]))
        status = {g.name: g.status for g in outcome.getters}
        assert status == {
            "get_vlans": pb.RESULT_STATUS_OK,
            "get_interfaces": pb.RESULT_STATUS_OK,
            "get_interfaces_counters": pb.RESULT_STATUS_OK,
            "get_arp_table": pb.RESULT_STATUS_OK,
            "get_facts": pb.RESULT_STATUS_FAILED,
        }
        vlans = outcome.getters[0].data.struct_value.fields
        assert vlans["1"].struct_value.fields["name"].string_value == "default"
        assert "Ethernet1" in outcome.getters[1].data.struct_value.fields
        assert "show hostname" in outcome.getters[4].error
        assert "4.20.8M" in outcome.results[0].output
        assert "Arista" in driver.run_command("show version", CommandOptions())
        driver.probe()
    finally:
        driver.close()
