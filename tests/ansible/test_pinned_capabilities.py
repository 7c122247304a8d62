"""tether.fleet.pinned's broker decides how a host's commands and copies run from the
capabilities a real tetherd publishes (GetServiceInfo), never from a platform's name,
and refuses what a driver lacks with an error that names the capability."""

from __future__ import annotations

import base64
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ansible.test_option_tables import _collection_importable

pytestmark = [pytest.mark.ansible]


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Any]:
    _collection_importable(tmp_path / "collections")
    module = importlib.import_module("ansible_collections.tether.fleet.plugins.plugin_utils._broker_relay")
    held = module.ServiceRelay()
    yield held
    held.close()


def _request(tetherd: Any, call: str, platform: str, **more: Any) -> dict[str, Any]:
    return {
        "method": "service",
        "call": call,
        "settings": {"endpoint": tetherd.endpoint, "auto_start": False},
        "driver": "null",
        "connection": {"host": "192.0.2.1", "platform": platform},
        "pinned": True,
        "name": "dev1",
        **more,
    }


def _command(tetherd: Any, platform: str, stdin: bytes = b"") -> dict[str, Any]:
    return _request(
        tetherd,
        "command",
        platform,
        command="show clock",
        stdin=base64.b64encode(stdin).decode(),
        read_timeout=0.0,
        timeout=30.0,
        labels={},
    )


def test_capabilities_are_read_from_the_service_once(relay: Any, tetherd: Any) -> None:
    answer = relay.call(_command(tetherd, "cisco_ios"))
    assert answer["status"] == 0, answer
    settings = next(iter(relay._capabilities))
    published = relay._capabilities[settings]
    assert "null" in published and "netmiko" in published
    assert "exec" not in published["null"].base
    assert "exec" in published["netmiko"].for_platform("linux")  # netmiko publishes exec for its linux platforms
    assert "exec" not in published["netmiko"].for_platform("cisco_ios")
    relay.call(_command(tetherd, "cisco_ios"))
    assert relay._capabilities[settings] is published  # cached: no second GetServiceInfo


def test_a_platform_named_linux_does_not_get_an_exec_channel_the_driver_lacks(relay: Any, tetherd: Any) -> None:
    """The null driver publishes no exec: a 'linux' platform runs its command through the CLI operation."""
    answer = relay.call(_command(tetherd, "linux"))
    assert answer.get("status") == 0, answer
    assert b"show clock" in base64.b64decode(answer["stdout"])


def test_standard_input_without_the_exec_capability_is_refused_naming_it(relay: Any, tetherd: Any) -> None:
    answer = relay.call(_command(tetherd, "linux", stdin=b"data"))
    assert answer["code"] == "FAILED_PRECONDITION"
    assert answer["capability"] == "exec"
    assert "'exec'" in answer["message"] and "null driver" in answer["message"]


@pytest.mark.parametrize("call", ["put_file", "fetch_file"])
def test_file_copies_without_file_transfer_are_refused_before_any_call(relay: Any, tetherd: Any, call: str) -> None:
    before = tetherd.counters()
    answer = relay.call(_request(tetherd, call, "linux", remote_path="/tmp/x", data=""))
    assert answer["code"] == "FAILED_PRECONDITION"
    assert answer["capability"] == "file_transfer"
    assert "'file_transfer'" in answer["message"]
    after = tetherd.counters()
    assert after.get("connections_opened", 0) == before.get("connections_opened", 0)
