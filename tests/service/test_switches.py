"""tetherd against real simulated switches (fake-switches over SSH, netmiko driver)."""

from __future__ import annotations

import concurrent.futures
import json
import time
from typing import Any

import pytest

from tests.harness import Tetherd, wait_until
from tether.client import TetherError
from tether.v1 import messages as pb


def conn(switch: Any, **overrides: Any) -> dict[str, Any]:
    values = {
        "host": switch.host,
        "port": switch.port,
        "platform": switch.platform,
        "username": switch.username,
        "password": switch.password,
    }
    values.update(overrides)
    return values


def test_twenty_commands_open_exactly_one_connection(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[0]
    responses = [client.execute(conn(switch), ["show version"]) for _ in range(20)]
    assert all(r.ok for r in responses)
    assert [r.meta.session_reused for r in responses] == [False] + [True] * 19
    assert responses[0].meta.connect_ms > 0 and responses[1].meta.connect_ms == 0
    assert "Cisco" in responses[-1].results[0].output
    counters = tetherd.counters()
    assert counters["connections_opened"] == 1
    assert counters["commands_run"] == 20
    (session,) = client.list_sessions()
    assert session.use_count == 20 and session.host == switch.host


def test_reused_session_never_returns_stale_output(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[1]
    first = client.execute(conn(switch), ["show version", "show vlan"])
    second = client.execute(conn(switch), ["show clock"])
    assert second.meta.session_reused
    assert "VLAN" not in second.results[0].output and "Cisco IOS" not in second.results[0].output
    assert first.results[1].output != second.results[0].output


def test_two_credential_sets_get_two_sessions(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[2]
    admin = client.execute(conn(switch), ["show version"])
    other_user, other_password = switch.other_credentials
    ops = client.execute(conn(switch, username=other_user, password=other_password), ["show version"])
    again = client.execute(conn(switch), ["show version"])
    assert not admin.meta.session_reused and not ops.meta.session_reused and again.meta.session_reused
    assert admin.meta.session_id != ops.meta.session_id == ops.meta.session_id
    sessions = client.list_sessions(host=switch.host)
    assert len({s.fingerprint for s in sessions}) == 2
    assert tetherd.counters()["connections_opened"] == 2


def test_wrong_password_fails_clearly_and_never_reuses_a_warm_session(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[2]
    assert client.execute(conn(switch), ["show version"]).ok
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch, password="not-the-password"), ["show version"])
    assert error.value.code == "PERMISSION_DENIED"
    assert f"{switch.username}@{switch.host}:{switch.port}: authentication failed" in error.value.message
    assert "not-the-password" not in error.value.message


def test_unreachable_port_is_unavailable(tetherd: Tetherd, switches: Any, unused_port: int) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().execute(conn(switches.switches[0], port=unused_port, connect_timeout=3), ["show version"])
    assert error.value.code == "UNAVAILABLE"
    assert f"127.0.0.1:{unused_port}" in error.value.message


def test_bad_textfsm_template_is_rejected_before_connecting(tetherd: Tetherd, switches: Any) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().execute(conn(switches.switches[0]), ["show vlan"], parse="textfsm", template="Value X (\\S+\n")
    assert error.value.code == "INVALID_ARGUMENT" and "TextFSM" in error.value.message
    assert tetherd.counters().get("connections_opened", 0) == 0


def test_textfsm_and_ttp_parsing(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    template = "Value VLAN (\\d+)\nValue NAME (\\S+)\n\nStart\n  ^${VLAN}\\s+${NAME}\\s+active -> Record\n"
    parsed = client.execute(conn(switches.switches[3]), ["show vlan"], parse="textfsm", template=template)
    rows = json.loads(parsed.results[0].parsed_json)
    assert {"VLAN": "1", "NAME": "default"} in rows
    ttp = client.execute(
        conn(switches.switches[3]),
        ["show vlan"],
        parse="ttp",
        template='{{ vlan | DIGIT }} {{ name }} active {{ ignore(".*") }}',
    )
    assert {"vlan": "1", "name": "default"} in json.loads(ttp.results[0].parsed_json)


def test_per_device_fifo_under_concurrent_requests(tetherd: Tetherd, switches: Any) -> None:
    """Each request sets then reads a description: an interleaving would show another's value."""
    client = tetherd.client()
    switch = switches.switches[4]
    client.execute(conn(switch), ["show version"])  # warm up so the order is the service's, not connect's

    def tag(i: int) -> pb.ExecuteResponse:
        return client.execute(
            conn(switch),
            ["show running-config interface FastEthernet0/1"],
            config=["interface FastEthernet0/1", f" description seq-{i}"],
        )

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(tag, range(16)))
    for i, response in enumerate(responses):
        assert f"description seq-{i}" in response.results[-1].output, response.results[-1].output
    jobs = [client.get_job(r.job_id) for r in responses]
    by_arrival = sorted(jobs, key=lambda j: j.created)
    by_finish = sorted(jobs, key=lambda j: j.finished)
    assert [j.id for j in by_arrival] == [j.id for j in by_finish]
    assert tetherd.counters()["connections_opened"] == 1


def test_other_devices_run_in_parallel(tetherd: Tetherd, switches: Any) -> None:
    """One device's slow command (a prompt that never comes, for 2 s) holds up no other device."""
    client = tetherd.client()
    stuck, *others = switches.switches[5:9]
    for switch in (stuck, *others):
        client.execute(conn(switch), ["show version"])
    with concurrent.futures.ThreadPoolExecutor(1 + len(others)) as pool:
        held = pool.submit(client.execute, conn(stuck), ["show version"], expect_prompt="never-shown", read_timeout=2.0)
        time.sleep(0.3)  # the stuck command is on its device by now
        started = time.monotonic()
        answers = list(pool.map(lambda s: client.execute(conn(s), ["show version"] * 5), others))
        elapsed = time.monotonic() - started
        assert not held.done(), "the stuck command ended early: the test proves nothing"
        stuck_result = held.result(timeout=10)
    assert all(a.ok for a in answers)
    assert elapsed < 1.0, elapsed
    assert not stuck_result.ok and "no prompt after 2s" in stuck_result.results[0].error
    assert client.execute(conn(stuck), ["show version"]).ok  # and that session recovers


def test_bulk_across_ten_devices_streams_progress(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    first = switches.switches[0]
    request = pb.BulkRequest(
        driver="netmiko",
        defaults=pb.Connection(platform="cisco_ios", username=first.username, password=first.password),
        targets=[
            pb.Target(name=s.name, connection=pb.Connection(host=s.host, port=s.port)) for s in switches.switches[:10]
        ],
        operation=pb.Operation(commands=["show version"]),
        concurrency=4,
    )
    events = list(client.bulk(request))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "accepted" and events[0].accepted.total == 10
    assert kinds.count("started") == 10 and kinds.count("finished") == 10
    progress = [e.progress.done for e in events if e.WhichOneof("event") == "progress"]
    assert progress == list(range(1, 11))
    assert kinds[-1] == "summary"
    summary = events[-1].summary
    assert summary.succeeded == 10 and not summary.failed
    finished = {e.finished.target for e in events if e.WhichOneof("event") == "finished"}
    assert finished == {s.name for s in switches.switches[:10]}
    job = client.get_job(summary.job_id)
    assert job.state == pb.JOB_STATE_SUCCEEDED and len(job.results) == 10


def test_bulk_reports_each_failure_with_its_reason(tetherd: Tetherd, switches: Any, unused_port: int) -> None:
    client = tetherd.client()
    good = switches.switches[0]
    request = pb.BulkRequest(
        defaults=pb.Connection(platform="cisco_ios", username=good.username, password=good.password),
        targets=[
            pb.Target(name="good", connection=pb.Connection(host=good.host, port=good.port)),
            pb.Target(name="down", connection=pb.Connection(host="127.0.0.1", port=unused_port, connect_timeout=3)),
            pb.Target(name="badpw", connection=pb.Connection(host=good.host, port=good.port, password="nope-nope")),
        ],
        operation=pb.Operation(commands=["show version"]),
    )
    summary = list(client.bulk(request))[-1].summary
    assert summary.succeeded == 1
    reasons = {f.target: f.reason for f in summary.failed}
    assert set(reasons) == {"down", "badpw"}
    assert "refused" in reasons["down"] and "authentication failed" in reasons["badpw"]


def test_config_check_merge_and_diff(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[9]
    lines = ["interface FastEthernet0/3", " description merged-by-tether"]

    def run(mode: str) -> pb.ExecuteResponse:
        return client.execute(conn(switch), config=lines, config_mode=mode, diff=True)

    check = run("check")
    assert check.config.changed and list(check.config.lines) == lines
    assert "merged-by-tether" not in check.config.before and "merged-by-tether" in check.config.after
    assert "merged-by-tether" not in client.execute(conn(switch), ["show running-config"]).results[0].output
    merge = run("merge")
    assert merge.ok and merge.config.changed
    assert "description merged-by-tether" in merge.config.after
    again = run("merge")
    assert again.ok and not again.config.changed and not again.config.lines


def test_killed_simulator_fails_clearly_then_recovers_on_a_fresh_session(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch), ["show version"]).ok
    own_switch.kill()
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch, connect_timeout=3), ["show version"])
    assert error.value.code == "UNAVAILABLE"
    assert f"{switch.host}:{switch.port}" in error.value.message
    own_switch.restart()
    recovered = client.execute(conn(switch), ["show version"])
    assert recovered.ok and not recovered.meta.session_reused
    assert tetherd.counters()["connections_opened"] == 2


def test_keepalive_notices_a_dead_device(tetherd_factory: Any, own_switch: Any) -> None:
    daemon = tetherd_factory()
    client = daemon.client()
    switch = own_switch.switches[0]
    assert client.execute(conn(switch, keepalive_seconds=1), ["show version"]).ok
    wait_until(lambda: daemon.counters().get("keepalive_probes", 0) >= 2, 10, what="keepalive probes")
    assert client.list_sessions()[0].keepalive_failures == 0
    own_switch.kill()
    wait_until(lambda: daemon.counters().get("keepalive_failures", 0) >= 1, 15, what="a failed keepalive")
    assert client.list_sessions() == []


def test_idle_timeout_closes_sessions(tetherd_factory: Any, switches: Any) -> None:
    daemon = tetherd_factory("--idle-timeout", "1")
    client = daemon.client()
    client.execute(conn(switches.switches[10]), ["show version"])
    assert len(client.list_sessions()) == 1
    wait_until(lambda: not client.list_sessions(), 10, what="the idle session to close")
    assert daemon.counters()["sessions_closed_idle"] == 1


def test_lru_cap_evicts_the_least_recently_used_idle_session(tetherd_factory: Any, switches: Any) -> None:
    daemon = tetherd_factory("--max-sessions", "2")
    client = daemon.client()
    a, b, c = switches.switches[0:3]
    client.execute(conn(a), ["show version"])
    client.execute(conn(b), ["show version"])
    client.execute(conn(a), ["show version"])  # a is now more recent than b
    client.execute(conn(c), ["show version"])
    assert {(s.host, s.port) for s in client.list_sessions()} == {(a.host, a.port), (c.host, c.port)}
    assert daemon.counters()["sessions_closed_lru"] == 1


def test_no_secret_in_logs_results_or_job_records(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[11]
    secrets = [switch.password, switch.enable_password, "wrong-pass-7731"]
    client.execute(conn(switch, secret=switch.enable_password), ["show version", "show running-config"])
    with pytest.raises(TetherError):
        client.execute(conn(switch, password="wrong-pass-7731"), ["show version"])
    client.execute(
        conn(switch, secret=switch.enable_password),
        ["show running-config"],
        config=[f"username backup password 0 {switch.password}"],
    )
    jobs = client.list_jobs(include_results=True)
    dumped = [tetherd.log(), str(jobs)]
    dumped.append((tetherd.state_dir / "jobs.db").read_bytes().decode("latin-1"))
    dumped.extend(p.read_bytes().decode("latin-1") for p in tetherd.state_dir.glob("jobs.db-*"))
    for text in dumped:
        for secret in secrets:
            assert secret not in text
    assert "********" in str(jobs)  # the password echoed by the device was masked


def test_oneshot_mode(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    for _ in range(2):
        response = client.execute(conn(switches.switches[6]), ["show version"], mode="oneshot")
        assert response.ok and not response.meta.session_reused
    assert client.list_sessions() == []
    assert tetherd.counters()["connections_opened"] == 2


def test_session_listing_and_closing(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    for switch in switches.switches[:3]:
        client.execute(conn(switch), ["show version"])
    sessions = client.list_sessions()
    assert len(sessions) == 3
    assert all(s.state == pb.SESSION_STATE_IDLE and s.use_count == 1 and s.created <= s.last_used for s in sessions)
    assert client.close_sessions(session_id=sessions[0].id) == 1
    assert client.close_sessions(everything=True) == 2
    assert client.list_sessions() == []


def test_device_errors_fail_the_command_and_the_config(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[7]
    response = client.execute(conn(switch), ["frobnicate now", "show version"])
    assert not response.ok
    bad, good = response.results
    assert bad.status == pb.RESULT_STATUS_FAILED and "rejected 'frobnicate now'" in bad.error
    assert "% Invalid input" in bad.output
    assert good.status == pb.RESULT_STATUS_OK  # stop_on_error is off by default
    config = client.execute(conn(switch), ["show version"], config=["interface FastEthernet0/2", " bogus setting"])
    assert not config.ok
    assert (
        config.results[0].status == pb.RESULT_STATUS_FAILED and "rejected the configuration" in config.results[0].error
    )
    # The session left configuration mode and still answers at the exec prompt.
    after = client.execute(conn(switch), ["show version"])
    assert after.ok and after.meta.session_reused and "Cisco" in after.results[0].output
    assert client.get_job(config.job_id).state == pb.JOB_STATE_FAILED


SHOW_COMMANDS = ["show version", "show running-config", "show vlan brief", "show ip interface brief", "show privilege"]


def test_fast_read_returns_what_netmiko_itself_returns(tetherd: Tetherd, switches: Any) -> None:
    """The channel-woken read (default) and netmiko's own send_command give the same text."""
    import netmiko

    switch = switches.switches[2]
    client = tetherd.client()
    fast = client.execute(conn(switch), SHOW_COMMANDS)
    netmiko_path = client.execute(conn(switch, options={"fast_cli": False}), SHOW_COMMANDS)
    with netmiko.ConnectHandler(**switch.netmiko_params()) as direct:
        reference = [str(direct.send_command(c)).removeprefix("\n") for c in SHOW_COMMANDS]
    assert len(client.list_sessions(host=switch.host)) == 2  # fast_cli shapes the session
    assert [r.output for r in fast.results] == reference
    assert [r.output for r in netmiko_path.results] == reference
    # What "the same" means: no echo of the command in front, no prompt at the end.
    assert not reference[0].startswith("show version") and "hostname" in reference[1]
    assert not any(r.rstrip().endswith(f"{switch.name}#") for r in reference)


def test_enable_with_the_secret_from_a_privilege_one_login(tetherd: Tetherd, switches: Any) -> None:
    """The become/enable path: log in at privilege 1, enter enable mode with the secret, stay there."""
    switch = switches.switches[3]
    user, password = switch.exec_credentials
    client = tetherd.client()
    plain = client.execute(conn(switch, username=user, password=password), ["show privilege"])
    assert "level is 1" in plain.results[0].output, plain.results[0].output
    enabled = conn(switch, username=user, password=password, secret=switch.enable_password)
    first = client.execute(enabled, ["show privilege", "show running-config"])
    assert first.ok and "level is 15" in first.results[0].output, first.results[0].output
    assert f"hostname {switch.name}" in first.results[1].output
    again = client.execute(enabled, ["show privilege"])
    assert again.meta.session_reused and "level is 15" in again.results[0].output
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch, username=user, password=password, secret="not-the-enable-secret"), ["show clock"])
    assert error.value.code == "PERMISSION_DENIED", error.value
    assert "refused enable mode; check the enable secret" in error.value.message
    assert "not-the-enable-secret" not in error.value.message and "ConnectHandler" not in error.value.message
