"""Output is capped (max_output_bytes): an endless command fails naming the cap, tetherd's memory
stays bounded, and the session recovers (exec channel closed) or is replaced (CLI session)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import pytest

from tests.harness import Tetherd
from tests.service.test_linux_sshd import linux
from tests.service.test_switches import conn
from tether.client import TetherError

MIB = 1024 * 1024
# Far above what a 16 MiB cap needs (the output itself, plus a copy or two while it is handled),
# far below what the uncapped service reached (1.4 GB in 8 s): past it the watchdog kills tetherd.
RSS_BOUND = 400 * MIB


@contextmanager
def peak_rss(daemon: Tetherd) -> Iterator[dict[str, int]]:
    """Samples tetherd's RSS while the block runs; kills it past RSS_BOUND so the machine survives."""
    assert daemon.process is not None
    process = psutil.Process(daemon.process.pid)
    seen = {"before": process.memory_info().rss, "peak": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                return
            seen["peak"] = max(seen["peak"], rss)
            if rss > RSS_BOUND:
                process.kill()
                return

    watchdog = threading.Thread(target=sample, daemon=True)
    watchdog.start()
    try:
        yield seen
    finally:
        done.set()
        watchdog.join(5)


def test_exec_of_endless_output_fails_at_the_cap_with_bounded_memory(tetherd: Tetherd, sshd: Any) -> None:
    client = tetherd.client()
    target = linux(sshd, private_key=sshd.private_key)
    assert client.exec_command(target, "echo warm").stdout == b"warm\n"
    started = time.monotonic()
    with peak_rss(tetherd) as rss, pytest.raises(TetherError) as error:
        client.exec_command(target, "yes", timeout=60)
    elapsed = time.monotonic() - started
    print(
        f"exec yes: {error.value.code} after {elapsed:.1f}s; tetherd RSS {rss['before'] / MIB:.0f} MiB before, "
        f"peak {rss['peak'] / MIB:.0f} MiB"
    )
    assert error.value.code == "RESOURCE_EXHAUSTED", error.value
    assert "output of 'yes' exceeded max_output_bytes (16 MiB)" in error.value.message
    assert rss["peak"] < RSS_BOUND
    # Only the exec channel was closed: the warm session carries on.
    again = client.exec_command(target, "echo again")
    assert again.stdout == b"again\n" and again.meta.session_reused
    assert tetherd.counters()["connections_opened"] == 1


def test_cli_command_of_endless_output_fails_at_the_cap_and_the_next_request_gets_a_fresh_session(
    tetherd: Tetherd, sshd: Any
) -> None:
    client = tetherd.client()
    target = linux(sshd, private_key_file=str(sshd.key_path))
    with peak_rss(tetherd) as rss:
        endless = client.execute(target, ["yes tether-stream"], read_timeout=120, timeout=180)
    print(f"CLI yes: tetherd RSS {rss['before'] / MIB:.0f} MiB before, peak {rss['peak'] / MIB:.0f} MiB")
    error = endless.results[0].error
    assert not endless.ok and "output of 'yes tether-stream' exceeded max_output_bytes (16 MiB)" in error, error
    assert "the next request opens a fresh one" in error
    assert rss["peak"] < RSS_BOUND
    after = client.execute(target, ["echo still-here"])
    assert after.ok and after.results[0].output.strip() == "still-here"
    assert not after.meta.session_reused
    assert tetherd.counters()["sessions_closed_retired"] == 1


def test_a_configured_cap_bounds_switch_commands_exec_and_fetched_files(
    tetherd_factory: Any, switches: Any, sshd: Any, tmp_path: Any
) -> None:
    daemon = tetherd_factory(env={"TETHER_MAX_OUTPUT_BYTES": "256"})
    client = daemon.client()
    switch = switches.switches[5]
    assert client.execute(conn(switch), ["show clock"]).ok
    capped = client.execute(conn(switch), ["show running-config", "show version"])
    first, second = capped.results
    assert "output of 'show running-config' exceeded max_output_bytes (256 bytes)" in first.error, first.error
    assert "not run" in second.error  # the retired session runs nothing more
    after = client.execute(conn(switch), ["show clock"])
    assert after.ok and not after.meta.session_reused
    # netmiko's own read loop (fast_cli off) is capped the same way.
    slow_path = client.execute(conn(switch, options={"fast_cli": False}), ["show running-config"])
    assert "exceeded max_output_bytes (256 bytes)" in slow_path.results[0].error, slow_path.results[0]

    target = linux(sshd, private_key=sshd.private_key)
    with pytest.raises(TetherError) as error:
        client.exec_command(target, "head -c 100000 /dev/zero")
    assert error.value.code == "RESOURCE_EXHAUSTED"
    assert "exceeded max_output_bytes (256 bytes); its exec channel was closed" in error.value.message
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 4096)
    with pytest.raises(TetherError) as error:
        client.fetch_file(target, str(big))
    assert error.value.code == "RESOURCE_EXHAUSTED" and "4096 bytes" in error.value.message, error.value
    small = tmp_path / "small.bin"
    small.write_bytes(b"y" * 100)
    assert client.fetch_file(target, str(small)) == b"y" * 100
