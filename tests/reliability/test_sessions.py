"""Sessions under stress: every connection tetherd opens is closed or owned by a pooled session,
a device restart between calls costs nothing, and a failed login leaves nothing behind."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.harness import Tetherd, wait_until
from tests.peers.switches import SwitchFarm
from tests.service.test_switches import conn
from tether.client import TetherError
from tether.v1 import messages as pb

STORM_CALLS = 500
STORM_IN_FLIGHT = 32
# Deadlines that pass before, during and just after a login to the simulator (~0.2 s).
STORM_TIMEOUTS = (0.001, 0.001, 0.001, 0.01, 0.05, 0.1, 0.2)
STORM_KEYS = 8  # distinct sessions to the one device (their options differ), so several logins overlap


def device_side_connections(port: int) -> int:
    """ESTABLISHED TCP connections as the device sees them: its listening port is the local end."""
    return sum(
        1
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
    )


def process_footprint(daemon: Tetherd) -> tuple[int, int]:
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    return process.num_fds(), process.num_threads()


@pytest.mark.slow
def test_a_storm_of_expiring_requests_leaves_no_connection_behind(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    target = conn(switch, connect_timeout=5)
    # Baseline once the service has served calls and closed its sessions: lazy imports done, and the
    # bounded validation pool (validation.VALIDATION_THREADS) started, which concurrent new requests do.
    warm_ups = [["show version"], ["show vlan"], ["show running-config"], ["show version", "show vlan"]]
    with concurrent.futures.ThreadPoolExecutor(len(warm_ups)) as warmers:
        assert all(warmers.map(lambda commands: client.execute(target, commands).ok, warm_ups))
    assert client.close_sessions(everything=True) == 1
    wait_until(lambda: device_side_connections(switch.port) == 0, 15, what="the warm-up session to close")
    time.sleep(0.5)
    fds_before, threads_before = process_footprint(tetherd)

    messages: dict[str, str] = {}

    def one(index: int) -> str:
        keyed = conn(switch, connect_timeout=5, options={"probe_timeout": 1 + index % STORM_KEYS})
        try:
            client.execute(keyed, ["show version"], timeout=STORM_TIMEOUTS[index % len(STORM_TIMEOUTS)])
        except TetherError as error:
            messages[error.code] = error.message
            return error.code
        return "OK"

    peak_threads = threads_before
    storming = True

    def watch_threads() -> None:
        nonlocal peak_threads
        while storming:
            peak_threads = max(peak_threads, process_footprint(tetherd)[1])
            time.sleep(0.02)

    watcher = concurrent.futures.ThreadPoolExecutor(1)
    watching = watcher.submit(watch_threads)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(STORM_IN_FLIGHT) as pool:
        codes = list(pool.map(one, range(STORM_CALLS)))
    storm_seconds = time.monotonic() - started
    storming = False
    watching.result(timeout=5)
    watcher.shutdown()
    # UNAVAILABLE: a login the loaded simulator failed, or sessions closing under a request (by
    # other requests' deadlines) more often than the pool retries.
    assert set(codes) <= {"OK", "DEADLINE_EXCEEDED", "UNAVAILABLE"}, messages
    assert codes.count("DEADLINE_EXCEEDED") > STORM_CALLS // 4, codes

    def settled() -> bool:
        return device_side_connections(switch.port) == len(client.list_sessions(host=switch.host))

    # Opens cut short finish (or fail) within their connect timeout; then every connection is owned.
    deadline = time.monotonic() + 30
    while not settled():
        assert time.monotonic() < deadline, (
            f"{device_side_connections(switch.port)} connections at the device for "
            f"{len(client.list_sessions(host=switch.host))} pooled sessions; codes {set(codes)}"
        )
        time.sleep(0.5)
    pooled = len(client.list_sessions(host=switch.host))
    leftover = device_side_connections(switch.port)
    client.close_sessions(everything=True)
    wait_until(lambda: device_side_connections(switch.port) == 0, 15, what="every connection to close")

    def back_to_baseline() -> bool:
        fds, threads = process_footprint(tetherd)
        return fds <= fds_before and threads <= threads_before

    wait_until(back_to_baseline, 20, interval=0.5, what="tetherd's fds and threads to return to baseline")
    fds_after, threads_after = process_footprint(tetherd)
    print(
        f"storm: {STORM_CALLS} calls in {storm_seconds:.1f}s, codes "
        f"{ {c: codes.count(c) for c in set(codes)} } ({messages}), pooled {pooled}, device-side {leftover}; "
        f"fds {fds_before}->{fds_after}, threads {threads_before}->{threads_after} (peak {peak_threads}); "
        f"counters {tetherd.counters()}"
    )
    assert client.execute(target, ["show version"]).ok  # and the service still works


def test_a_device_restart_between_calls_is_invisible(tetherd: Tetherd, own_switch: Any) -> None:
    """The warm session is found dead before anything is sent: one fresh session, no error."""
    client = tetherd.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch), ["show version"]).ok
    own_switch.kill()
    own_switch.restart()
    after = client.execute(conn(switch), ["show version"], config=["interface FastEthernet0/3", " description x"])
    assert after.ok and not after.meta.session_reused, after
    counters = tetherd.counters()
    assert counters["connections_opened"] == 2
    assert counters["retries_after_dead_session"] == 1
    assert counters["sessions_closed_lost"] == 1


def test_a_device_dying_mid_operation_still_fails(tetherd: Tetherd, own_switch: Any) -> None:
    """Part of the operation reached the device: it is never run again on a fresh session."""
    client = tetherd.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch), ["show version"]).ok
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            client.execute, conn(switch), ["show version", "show clock"], expect_prompt="never-shown", read_timeout=30
        )
        wait_until(
            lambda: any(s.state == pb.SESSION_STATE_BUSY for s in client.list_sessions()), 10, what="a busy session"
        )
        time.sleep(0.2)  # the command has been written: the read for its prompt is under way
        own_switch.kill()
        with pytest.raises(TetherError) as error:
            pending.result(timeout=30)
    assert error.value.code == "UNAVAILABLE", error.value
    assert f"{switch.host}:{switch.port}" in error.value.message
    counters = tetherd.counters()
    assert counters["connections_opened"] == 1 and "retries_after_dead_session" not in counters
    assert client.list_sessions() == []


def test_a_session_dead_after_an_earlier_step_of_the_operation_is_not_retried(
    tetherd: Tetherd, own_switch: Any
) -> None:
    """`exit` (its echo taken for the prompt) ends the shell: the next step finds the session dead
    before sending, but the operation already reached the device, so it is not run again."""
    client = tetherd.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch), ["show version"]).ok
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch), ["exit", "show version"], expect_prompt="exit")
    assert error.value.code == "UNAVAILABLE", error.value
    counters = tetherd.counters()
    assert counters["connections_opened"] == 1 and "retries_after_dead_session" not in counters, counters


@pytest.mark.slow
def test_a_login_that_never_completes_is_classified_counted_and_discarded(tetherd: Tetherd, tmp_path: Path) -> None:
    """fake-switches' Arista model never answers netmiko's arista_eos login ('terminal width')."""
    (tmp_path / "arista").mkdir()
    farm = SwitchFarm(1, tmp_path / "arista", ["--model", "arista_generic"]).start()
    try:
        switch = farm.switches[0]
        target = conn(switch, platform="arista_eos")
        client = tetherd.client()
        for _attempt in range(3):
            with pytest.raises(TetherError) as error:
                client.execute(target, ["show version"])
            assert error.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"), error.value
            message = error.value.message
            assert "arista_eos" in message and "Pattern not detected" in message, message
            assert "Things you might try" not in message  # netmiko's advice paragraph is dropped
            assert client.list_sessions() == []
        counters = tetherd.counters()
        assert counters["connections_failed"] == 3, counters
        assert counters.get("sessions_reused", 0) == 0 and counters.get("connections_opened", 0) == 0
        wait_until(lambda: device_side_connections(switch.port) == 0, 10, what="the failed logins to disconnect")
        assert "Traceback" not in tetherd.log()
    finally:
        farm.stop()
