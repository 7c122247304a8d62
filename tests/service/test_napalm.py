"""The napalm driver through real tetherd processes.

Getters and ``cli()`` against the simulated Cisco switches (napalm ``ios``); the
configuration-candidate workflows against napalm's own ``mock`` driver (a folder of
``<method>.<n>`` JSON answers this test writes), since the simulator has no
candidate store. What the simulator's ``ios`` getters give: get_facts, get_vlans,
get_config, get_arp_table, get_users, get_snmp_information, ... answer (get_interfaces
answers an empty model: the simulator has no ``show interfaces``); get_environment
fails inside napalm (UnboundLocalError on the simulator's ``show processes memory``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from tests.harness import Tetherd, wait_until
from tether.client import TetherError
from tether.v1 import messages as pb


def ios(switch: Any) -> pb.Connection:
    return pb.Connection(
        host=switch.host,
        port=switch.port,
        platform="ios",
        username=switch.username,
        password=switch.password,
        secret=switch.enable_password,
    )


def socket_answers(switch: Any) -> bool:
    try:
        socket.create_connection((switch.host, switch.port), timeout=0.5).close()
    except OSError:
        return False
    return True


def request(connection: pb.Connection, driver: str = "napalm", **operation: Any) -> pb.ExecuteRequest:
    return pb.ExecuteRequest(driver=driver, connection=connection, operation=pb.Operation(**operation))


def getter(name: str, **arguments: Any) -> pb.GetterCall:
    call = pb.GetterCall(name=name)
    call.arguments.update(arguments)
    return call


def data(result: pb.GetterResult) -> Any:
    return json_format.MessageToDict(result.data)


class MockDevice:
    """A folder of napalm mock answers: ``<method>.<call number>`` JSON files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def answer(self, method: str, count: int, value: Any) -> None:
        (self.folder / f"{method}.{count}").write_text(json.dumps(value))

    def fail(self, method: str, count: int, exception: str, message: str) -> None:
        self.answer(method, count, {"exception": exception, "args": [message]})

    def connection(self, **options: Any) -> pb.Connection:
        connection = pb.Connection(host="mock.invalid", platform="mock", username="u", password="mock-pw")
        connection.options.update({"path": str(self.folder), **options})
        return connection


@pytest.fixture
def mock_tetherd(tetherd_factory: Callable[..., Tetherd], tmp_path: Path) -> Tetherd:
    allowed = tmp_path / "napalm-mock"
    allowed.mkdir()
    return tetherd_factory(env={"TETHER_NAPALM_MOCK_DIRS": str(allowed)})


@pytest.fixture
def mock(tmp_path: Path) -> MockDevice:
    return MockDevice(tmp_path / "napalm-mock" / "device")


def test_ios_getters_and_cli_through_one_warm_napalm_session(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    switch = switches.switches[3]
    first = client.run(
        request(
            ios(switch),
            getters=[getter("get_facts"), getter("get_vlans"), getter("get_config", retrieve="running")],
            commands=["show version"],
        )
    )
    assert first.ok, first
    facts, vlans, config = (data(g) for g in first.getters)
    assert facts["vendor"] == "Cisco" and facts["hostname"].startswith("sw")
    assert "12.2" in facts["os_version"]
    assert "1" in vlans and vlans["1"]["name"] == "default"
    assert "hostname" in config["running"]
    assert "Cisco IOS Software" in first.results[0].output
    again = [client.run(request(ios(switch), getters=[getter("get_facts")])) for _ in range(3)]
    assert [r.meta.session_reused for r in again] == [True, True, True]
    assert data(again[-1].getters[0])["vendor"] == "Cisco"
    assert tetherd.counters()["connections_opened"] == 1


def test_a_getter_napalm_fails_on_is_a_failed_result_not_an_internal_error(tetherd: Tetherd, switches: Any) -> None:
    response = tetherd.client().run(request(ios(switches.switches[3]), getters=[getter("get_environment")]))
    (result,) = response.getters
    assert not response.ok and result.status == pb.RESULT_STATUS_FAILED
    assert "napalm get_environment" in result.error


def test_getters_are_checked_before_any_io(tetherd: Tetherd, unused_port: int) -> None:
    client = tetherd.client()
    nowhere = pb.Connection(host="127.0.0.1", port=unused_port, platform="ios", username="u", password="p")
    cases = {
        "get_factz": (getter("get_factz"), "did you mean get_facts"),
        "argument": (getter("get_config", colour="red"), "takes no argument 'colour'"),
        "type": (getter("get_config", retrieve=3), "'retrieve' must be str"),
    }
    for call, expected in cases.values():
        with pytest.raises(TetherError) as caught:
            client.run(request(nowhere, getters=[call]))
        assert caught.value.code == "INVALID_ARGUMENT" and expected in caught.value.message
    assert tetherd.counters().get("connections_opened", 0) == 0


def test_a_driver_lacking_getters_or_candidates_is_refused_naming_the_capability(tetherd: Tetherd) -> None:
    client = tetherd.client()
    connection = pb.Connection(host="x", platform="cisco_ios")
    for operation, missing in (
        ({"getters": [getter("get_facts")]}, "getters"),
        ({"candidate": pb.ConfigCandidate(config="hostname a")}, "config_candidate"),
    ):
        with pytest.raises(TetherError) as caught:
            client.run(request(connection, driver="null", **operation))
        assert caught.value.code == "FAILED_PRECONDITION" and missing in caught.value.message
    # nxos_ssh has candidates but napalm has no revert timer for it.
    with pytest.raises(TetherError) as caught:
        client.run(
            request(
                pb.Connection(host="x", platform="nxos_ssh"),
                candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT, config="a", revert_in=60),
            )
        )
    assert caught.value.code == "FAILED_PRECONDITION" and "commit_confirm" in caught.value.message


def test_options_that_reach_the_service_files_are_refused(tetherd: Tetherd, tmp_path: Path) -> None:
    client = tetherd.client()
    for options, expected in (
        ({"ssh_config_file": "/etc/ssh/ssh_config"}, "not allowed"),
        ({"key_file": "/root/.ssh/id_rsa"}, "private_key_file"),
        ({"use_keys": True}, "not allowed"),
        ({"bogus": 1}, "unknown napalm option"),
        ({"global_delay_factor": 1e9}, "at most 100"),
        ({"path": str(tmp_path)}, "applies to platform mock"),
    ):
        connection = pb.Connection(host="x", platform="ios")
        connection.options.update(options)
        with pytest.raises(TetherError) as caught:
            client.run(request(connection, commands=["show version"]))
        assert caught.value.code == "INVALID_ARGUMENT" and expected in caught.value.message, options
    # The mock platform reads files: only from the operator's napalm_mock_dirs (none set here).
    connection = pb.Connection(host="x", platform="mock")
    connection.options.update({"path": str(tmp_path)})
    with pytest.raises(TetherError) as caught:
        client.run(request(connection, getters=[getter("get_facts")]))
    assert "napalm_mock_dirs" in caught.value.message


def test_compare_loads_compares_and_discards(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+hostname new"})
    mock.answer("discard_config", 1, {})
    response = mock_tetherd.client().run(
        request(mock.connection(), candidate=pb.ConfigCandidate(config="hostname new"))
    )
    candidate = response.candidate
    assert response.ok and candidate.action == pb.CANDIDATE_ACTION_COMPARE
    assert candidate.diff == "+hostname new" and candidate.changed and candidate.discarded and not candidate.committed


def test_commit_replace_then_rollback_and_an_empty_diff_commits_nothing(
    mock_tetherd: Tetherd, mock: MockDevice
) -> None:
    client = mock_tetherd.client()
    mock.answer("load_replace_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "-hostname old\n+hostname new"})
    mock.answer("commit_config", 1, {})
    commit = pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT, config="hostname new", replace=True, message="m")
    response = client.run(request(mock.connection(), candidate=commit))
    assert response.candidate.committed and response.candidate.changed and not response.candidate.pending_confirm
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 2, {"diff": ""})
    mock.answer("discard_config", 1, {})
    unchanged = client.run(
        request(
            mock.connection(),
            candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT, config="hostname new"),
        )
    )
    assert unchanged.meta.session_reused
    assert not unchanged.candidate.changed and not unchanged.candidate.committed and unchanged.candidate.discarded
    assert not (mock.folder / "commit_config.2").exists()  # commit_config was never called a second time
    rolled = client.run(request(mock.connection(), candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_ROLLBACK)))
    assert rolled.candidate.rolled_back
    mock.answer("discard_config", 2, {})
    discarded = client.run(request(mock.connection(), candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_DISCARD)))
    assert discarded.candidate.discarded


def test_commit_with_revert_timer_then_confirm(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    client = mock_tetherd.client()
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+ntp server 10.0.0.1"})
    mock.answer("commit_config", 1, {})
    mock.answer("confirm_commit", 1, {})
    commit = pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT, config="ntp server 10.0.0.1", revert_in=120)
    response = client.run(request(mock.connection(), candidate=commit))
    assert response.candidate.committed and response.candidate.pending_confirm
    confirmed = client.run(request(mock.connection(), candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_CONFIRM)))
    assert confirmed.candidate.committed and confirmed.meta.session_reused
    with pytest.raises(TetherError) as caught:  # nothing is pending any more
        client.run(request(mock.connection(), candidate=pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_CONFIRM)))
    assert caught.value.code == "FAILED_PRECONDITION" and "no commit is waiting" in caught.value.message


@pytest.mark.parametrize(
    ("method", "exception", "action"),
    [
        ("load_merge_candidate", "napalm.base.exceptions.MergeConfigException", pb.CANDIDATE_ACTION_COMPARE),
        ("commit_config", "napalm.base.exceptions.CommitError", pb.CANDIDATE_ACTION_COMMIT),
    ],
)
def test_injected_napalm_exceptions_are_clear_errors_and_the_candidate_is_discarded(
    mock_tetherd: Tetherd, mock: MockDevice, method: str, exception: str, action: int
) -> None:
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+x"})
    mock.answer("discard_config", 1, {})
    mock.fail(method, 1, exception, "the device said no (mock-pw)")
    with pytest.raises(TetherError) as caught:
        mock_tetherd.client().run(request(mock.connection(), candidate=pb.ConfigCandidate(action=action, config="x")))
    name = exception.rsplit(".", 1)[1]
    assert caught.value.code == "FAILED_PRECONDITION", caught.value
    assert f"napalm {method}: {name}: the device said no" in caught.value.message
    assert "mock-pw" not in caught.value.message  # the connection's password is redacted
    job = mock_tetherd.client().list_jobs().jobs[0]
    assert job.state == pb.JOB_STATE_FAILED


def test_a_failed_open_is_unavailable(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    with pytest.raises(TetherError) as caught:
        mock_tetherd.client().run(request(mock.connection(fail_on_open=True), getters=[getter("get_facts")]))
    assert caught.value.code == "UNAVAILABLE" and "ConnectionException" in caught.value.message


def test_mock_getters_keep_napalm_models_and_are_redacted(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    facts = {"hostname": "r1", "uptime": 12.5, "interface_list": ["Gi1"], "serial_number": "mock-pw"}
    mock.answer("get_facts", 1, facts)
    response = mock_tetherd.client().run(request(mock.connection(), getters=[getter("get_facts")]))
    got = data(response.getters[0])
    assert got["hostname"] == "r1" and got["uptime"] == 12.5 and got["interface_list"] == ["Gi1"]
    assert got["serial_number"] != "mock-pw"


def test_template_renders_in_the_sandbox(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+vlan 10"})
    mock.answer("discard_config", 1, {})
    candidate = pb.ConfigCandidate(template="{% for v in vlans %}vlan {{ v }}\n{% endfor %}")
    candidate.variables.update({"vlans": [10, 20]})
    response = mock_tetherd.client().run(request(mock.connection(), candidate=candidate))
    assert response.candidate.changed
    job = mock_tetherd.client().get_job(response.job_id)
    assert "candidate compare (merge, 3 lines)" in list(job.commands)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ x.__class__ }}", "unsafe"),
        ("{{ missing }}", "'missing' is undefined"),
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "render"),
        ("{{ 'x' * 100000000 }}", "repetition"),
        ("{% for a in range(100000) %}{{ 'y' * 100 }}{% endfor %}", "exceeds"),
        ("{% if %}", "TemplateSyntaxError"),
    ],
)
def test_hostile_templates_are_refused_before_any_io(
    mock_tetherd: Tetherd, mock: MockDevice, template: str, expected: str
) -> None:
    candidate = pb.ConfigCandidate(template=template)
    candidate.variables.update({"x": "a"})
    with pytest.raises(TetherError) as caught:
        mock_tetherd.client().run(request(mock.connection(), candidate=candidate))
    assert caught.value.code == "INVALID_ARGUMENT" and expected in caught.value.message, caught.value.message
    assert mock_tetherd.counters().get("connections_opened", 0) == 0


def test_candidate_fields_are_checked_against_the_action(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    client = mock_tetherd.client()
    for candidate, expected in (
        (pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT), "needs config or template"),
        (pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_DISCARD, config="x"), "takes no config"),
        (pb.ConfigCandidate(config="x", template="y"), "not both"),
        (pb.ConfigCandidate(config="x", revert_in=60), "go with action commit"),
        (pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_COMMIT, config="x", revert_in=1e9), "at most"),
        (pb.ConfigCandidate(action=99, config="x"), "action"),
        (pb.ConfigCandidate(config="x" * 2_000_000), "at most"),
    ):
        with pytest.raises(TetherError) as caught:
            client.run(request(mock.connection(), candidate=candidate))
        assert caught.value.code == "INVALID_ARGUMENT" and expected in caught.value.message, caught.value.message


def test_bulk_runs_getters_and_candidates_per_target(mock_tetherd: Tetherd, tmp_path: Path) -> None:
    devices = [MockDevice(tmp_path / "napalm-mock" / name) for name in ("r1", "r2")]
    for index, device in enumerate(devices):
        device.answer("get_facts", 1, {"hostname": f"r{index + 1}"})
        device.answer("load_merge_candidate", 1, {})
        device.answer("compare_config", 1, {"diff": f"+hostname r{index + 1}"})
        device.answer("discard_config", 1, {})
    request = pb.BulkRequest(
        driver="napalm",
        defaults=pb.Connection(platform="mock", username="u", password="p"),
        operation=pb.Operation(getters=[getter("get_facts")], candidate=pb.ConfigCandidate(config="x")),
    )
    for index, device in enumerate(devices):
        target = request.targets.add(name=f"r{index + 1}", connection=pb.Connection(host=f"r{index + 1}.invalid"))
        target.connection.options.update({"path": str(device.folder)})
    finished = [e.finished for e in mock_tetherd.client().bulk(request) if e.HasField("finished")]
    by_name = {result.target: result for result in finished}
    assert sorted(by_name) == ["r1", "r2"] and all(r.ok for r in finished), finished
    for name, result in by_name.items():
        assert data(result.getters[0])["hostname"] == name
        assert result.candidate.diff == f"+hostname {name}" and result.candidate.discarded


def test_a_template_loop_bomb_costs_one_worker_and_the_next_render_works(
    mock_tetherd: Tetherd, mock: MockDevice
) -> None:
    client = mock_tetherd.client()
    bomb = pb.ConfigCandidate(template="{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}")
    with pytest.raises(TetherError) as caught:
        client.run(request(mock.connection(), candidate=bomb))
    assert caught.value.code == "INVALID_ARGUMENT" and "its worker was stopped" in caught.value.message
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+hostname ok"})
    mock.answer("discard_config", 1, {})
    fine = pb.ConfigCandidate(template="hostname {{ name }}")
    fine.variables.update({"name": "ok"})
    assert client.run(request(mock.connection(), candidate=fine)).candidate.diff == "+hostname ok"


def test_napalm_ssh_sessions_follow_the_host_key_policy(
    tetherd_factory: Callable[..., Tetherd], switches: Any, tmp_path: Path
) -> None:
    switch = switches.switches[7]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    strict = tetherd_factory(
        env={"TETHER_HOST_KEY_POLICY": "strict", "TETHER_KNOWN_HOSTS": str(known_hosts)}, name="strict"
    )
    with pytest.raises(TetherError) as caught:
        strict.client().run(request(ios(switch), getters=[getter("get_facts")]))
    assert caught.value.code == "PERMISSION_DENIED" and "host_key_policy strict" in caught.value.message
    accepting = tetherd_factory(name="accept-new")  # the default policy: an unknown key is recorded
    assert accepting.client().run(request(ios(switch), getters=[getter("get_facts")])).ok
    recorded = (accepting.state_dir / "known_hosts").read_text()
    assert f"[{switch.host}]:{switch.port}" in recorded or switch.host in recorded


def test_a_warm_napalm_session_whose_device_restarted_is_replaced_unnoticed(tetherd: Tetherd, own_switch: Any) -> None:
    switch = own_switch.switches[0]
    client = tetherd.client()
    assert client.run(request(ios(switch), getters=[getter("get_facts")])).ok
    own_switch.restart()
    wait_until(lambda: socket_answers(switch), timeout=30, what="the restarted switch")
    time.sleep(0.5)  # the old session's transport notices the closed socket
    again = client.run(request(ios(switch), getters=[getter("get_facts")]))
    assert again.ok and data(again.getters[0])["vendor"] == "Cisco"
    assert tetherd.counters()["connections_opened"] == 2


def test_napalm_is_published_with_its_getters_and_per_platform_capabilities(tetherd: Tetherd) -> None:
    info = tetherd.client().info()
    assert "napalm" in info.drivers
    (napalm,) = [d for d in info.driver_info if d.name == "napalm"]
    assert not napalm.load_error
    assert {"commands", "getters", "running_config", "config_candidate"} <= set(napalm.capabilities)
    assert "commit_confirm" not in napalm.capabilities
    assert {"get_facts", "get_vlans", "get_config", "get_route_to"} <= set(napalm.getters)
    assert "commit_confirm" in napalm.platform_capabilities["ios"].capabilities
    assert "nxos_ssh" not in napalm.platform_capabilities


def test_napalm_platform_names_pick_their_config_secret_family() -> None:
    from tether.drivers.contract import ConnectionSpec
    from tether.security.redaction import Redactor

    junos = Redactor.for_specs([ConnectionSpec(host="r", port=830, platform="junos")])
    masked = junos('set system root-authentication encrypted-password "$6$salt$hash"')
    assert "$6$salt$hash" not in masked
    ios_masked = Redactor.for_specs([ConnectionSpec(host="s", port=22, platform="ios")])("enable secret 5 $1$abc")
    assert "$1$abc" not in ios_masked


def test_config_lines_through_napalm_merge_and_commit_as_one_candidate(mock_tetherd: Tetherd, mock: MockDevice) -> None:
    client = mock_tetherd.client()
    mock.answer("load_merge_candidate", 1, {})
    mock.answer("compare_config", 1, {"diff": "+ntp server 10.0.0.1"})
    mock.answer("commit_config", 1, {})
    response = client.run(request(mock.connection(), config=["ntp server 10.0.0.1"]))
    assert response.ok and response.config.changed
    assert response.results[0].output == "+ntp server 10.0.0.1"
    mock.answer("load_merge_candidate", 2, {})
    mock.fail("compare_config", 2, "napalm.base.exceptions.MergeConfigException", "bad line")
    failed = client.run(request(mock.connection(), config=["bogus"]))
    assert not failed.ok and "MergeConfigException: bad line" in failed.results[0].error
    # The failed merge discarded its candidate (discard_config call 1, whose answer is missing):
    # the next discard is napalm's second call.
    mock.answer("discard_config", 2, {})
    discard = pb.ConfigCandidate(action=pb.CANDIDATE_ACTION_DISCARD)
    assert client.run(request(mock.connection(), candidate=discard)).candidate.discarded
