"""LeaseChannel against a simulated switch: bytes both ways, exclusive while held, handed back clean."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.harness import Tetherd
from tether.client import TetherClient, TetherError
from tether.lease_client import ChannelLeaseClient, LeaseEnded
from tether.v1 import messages as pb


def conn(switch: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "host": switch.host,
        "port": switch.port,
        "platform": switch.platform,
        "username": switch.username,
        "password": switch.password,
        **overrides,
    }


def until(lease: ChannelLeaseClient, ending: bytes, timeout: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout
    seen = b""
    while not seen.rstrip().endswith(ending):
        left = deadline - time.monotonic()
        assert left > 0, f"no {ending!r} in {seen[-300:]!r}"
        seen += lease.read(left)
    return seen


def test_a_lease_moves_bytes_and_hands_the_session_back_clean(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch), ["show version"]).ok
    lease = ChannelLeaseClient(client, conn(switch))
    opened = lease.wait_opened(20)
    assert opened.session_reused and opened.session_id
    lease.write(b"show version\r")
    assert b"Cisco IOS" in until(lease, b"sw01#")
    lease.write(b"configure terminal\rinterface FastEthernet0/5\r")
    until(lease, b"sw01(config-if)#")
    lease.release()
    assert isinstance(lease.ended, LeaseEnded) and "released" in lease.ended.message

    # The next caller finds the session at its enable prompt, not in configuration mode.
    after = client.execute(conn(switch), ["show running-config | include hostname"])
    assert after.ok and after.meta.session_reused and after.results[0].output.strip() == "hostname sw01"
    again = ChannelLeaseClient(client, conn(switch))
    again.wait_opened(20)
    again.write(b"\r")
    assert until(again, b"#").rstrip().endswith(b"sw01#")
    again.release()
    assert tetherd.counters()["connections_opened"] == 1


def test_work_for_a_leased_session_waits_for_the_release(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    lease = ChannelLeaseClient(client, conn(switch))
    lease.wait_opened(20)
    done: dict[str, float] = {}

    def execute() -> None:
        with TetherClient(client.config) as other:
            other.execute(conn(switch), ["show version"])
        done["at"] = time.monotonic()

    worker = threading.Thread(target=execute)
    worker.start()
    time.sleep(1.0)
    assert "at" not in done  # queued behind the lease
    assert lease.yield_if_waited_on(timeout=10)  # something waits: the lease ends
    worker.join(20)
    assert "at" in done


def test_a_lease_ends_after_its_idle_timeout(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    lease = ChannelLeaseClient(client, conn(own_switch.switches[0]), idle_timeout=0.5)
    assert lease.wait_opened(20).idle_timeout == pytest.approx(0.5)
    with pytest.raises(LeaseEnded, match="idle timeout"):
        while True:
            lease.read(5)


def test_oversized_input_is_refused(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    lease = ChannelLeaseClient(client, conn(own_switch.switches[0]))
    lease.wait_opened(20)
    lease._requests.put(pb.ChannelRequest(input=b"x" * (64 * 1024 + 1)))
    with pytest.raises(TetherError) as caught:
        while True:
            lease.read(5)
    assert caught.value.code == "INVALID_ARGUMENT" and "at most 65536" in caught.value.message


def test_the_first_message_must_open(tetherd: Tetherd) -> None:
    client = tetherd.client()
    call = client._routes.method("LeaseChannel")(
        iter([pb.ChannelRequest(input=b"show version\r")]), metadata=client._metadata
    )
    with pytest.raises(Exception, match="first message of LeaseChannel must be open"):
        list(call)


@pytest.mark.parametrize("field", ["wait_timeout", "idle_timeout", "max_duration"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 1e308])
def test_lease_timeouts_must_be_finite_bounded_seconds(tetherd: Tetherd, field: str, value: float) -> None:
    """NaN passed `< 0` and came through min() as NaN: a lease whose timers never fire."""
    lease = ChannelLeaseClient(tetherd.client(), {"host": "h", "username": "u"}, driver="null", **{field: value})
    with pytest.raises(LeaseEnded) as refused:
        lease.wait_opened(20)
    lease.release()
    assert refused.value.code == "INVALID_ARGUMENT" and field in refused.value.message
