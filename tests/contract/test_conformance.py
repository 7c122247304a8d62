"""The driver conformance suite: every driver the service publishes, against its real peer.

One suite, parametrised by (driver, target) from ``peers.PEERS`` (as NAPALM's shared getter
tests are by driver), against a real tetherd. For each target it reads what the service
publishes for that platform (GetServiceInfo ``driver_info``): every published capability must
work and answer results of the shape ``models`` defines; every capability NOT published must
be refused with FAILED_PRECONDITION naming it before any I/O (the service opens nothing and
no TCP connection reaches the target's address).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from google.protobuf import json_format

from tests.contract import models
from tests.contract.calls import NEEDING_CALL, NEEDING_OPERATION, candidate, execute, needing
from tests.contract.listener import AcceptCounter, established_to
from tests.contract.models import problems
from tests.contract.peers import PEERS, Peers, Target
from tests.harness import Tetherd, wait_until
from tether.client import TetherClient, TetherError
from tether.drivers.contract import Capability
from tether.v1 import messages as pb

TYPED_RESULTS = (Capability.STRUCTURED_OUTPUT, Capability.GETTERS, Capability.API_CALLS, Capability.CONFIG_CANDIDATE)
# Counters that move as soon as the service starts a session or a connection attempt.
EVERY_LINE = "Value LINE (.+)\n\nStart\n  ^${LINE} -> Record\n"  # a TextFSM template: one row per line
IO_COUNTERS = ("connections_opened", "connections_failed", "sessions_created")

# Defects in the service this suite found and has not seen fixed: each test fails today and is
# marked strict, so it turns red (XPASS) the day the fix lands and the mark must go.
REFUSAL_GAPS: Mapping[Capability, str] = {
    capability: (
        "service gap: OperationSpec.required (tether/requests.py) derives only commands, config, "
        "running_config and save_config; operation_spec ignores Operation.encoding and refuses an "
        "operation of only getters, api_calls or candidate with INVALID_ARGUMENT ('operation needs "
        f"commands or config lines'), so a request needing {capability} is never refused as "
        "FAILED_PRECONDITION (with encoding json it even runs on the device)"
    )
    for capability in ()
}
_NO_CANDIDATE_STORE = (
    "peer gap: the Cisco simulator has no file system, SCP or candidate store, so napalm ios cannot load a "
    "candidate there (config lines go through one); these run against napalm's own mock driver in "
    "tests/service/test_napalm.py (merge, replace, compare, commit, revert timer, confirm, rollback)"
)
WORKING_GAPS: Mapping[tuple[str, str, Capability], str] = {
    ("napalm", "ios", Capability.CONFIG): _NO_CANDIDATE_STORE,
    ("napalm", "ios", Capability.CONFIG_CANDIDATE): _NO_CANDIDATE_STORE,
    ("napalm", "ios", Capability.COMMIT_CONFIRM): _NO_CANDIDATE_STORE,
}


def _published_in_process() -> dict[str, pb.DriverInfo]:
    """What tetherd will publish, computed with its own code, to shape the parameters at collection.
    Every test checks it against what the real tetherd publishes (GetServiceInfo)."""
    from tether.api.service import driver_info
    from tether.drivers.registry import DriverRegistry

    loaded, _ = DriverRegistry().load_all()
    return {name: driver_info(driver) for name, driver in loaded.items()}


def capabilities_for(info: pb.DriverInfo | None, platform: str) -> frozenset[Capability]:
    if info is None:
        return frozenset()
    if platform in info.platform_capabilities:
        return frozenset(Capability(c) for c in info.platform_capabilities[platform].capabilities)
    return frozenset(Capability(c) for c in info.capabilities)


EXPECTED = _published_in_process()
TARGETS = [(driver, name) for driver, entries in PEERS.items() for name in entries]
TARGET_IDS = [f"{driver}-{name}" for driver, name in TARGETS]


def _capability_cases(published: bool) -> list[Any]:
    cases = []
    for driver, name in TARGETS:
        have = capabilities_for(EXPECTED.get(driver), PEERS[driver][name].platform)
        for capability in Capability:
            if (capability in have) is not published:
                continue
            gap = WORKING_GAPS.get((driver, name, capability)) if published else REFUSAL_GAPS.get(capability)
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            cases.append(pytest.param(driver, name, capability, marks=marks, id=f"{driver}-{name}-{capability}"))
    return cases


@pytest.fixture
def client(tetherd: Tetherd) -> TetherClient:
    return tetherd.client()


def make_target(request: pytest.FixtureRequest, driver: str, name: str) -> Target:
    return PEERS[driver][name].make(Peers(request))


class Counters:
    """The service's counters, as deltas from when this was made (the daemon is shared)."""

    def __init__(self, tetherd: Tetherd) -> None:
        self._tetherd = tetherd
        self._start = tetherd.counters()

    def moved(self, name: str) -> int:
        return self._tetherd.counters().get(name, 0) - self._start.get(name, 0)


def sessions_to(client: TetherClient, target: Target) -> list[pb.Session]:
    port = target.connection.get("port")
    return [s for s in client.list_sessions(host=target.connection["host"]) if port in (None, s.port)]


def close_sessions_to(client: TetherClient, target: Target) -> None:
    for session in sessions_to(client, target):
        client.close_sessions(session_id=session.id)


def published_info(client: TetherClient, driver: str) -> pb.DriverInfo:
    found = [info for info in client.info().driver_info if info.name == driver]
    assert found, f"the service does not publish driver {driver}"
    return found[0]


def published_capabilities(client: TetherClient, driver: str, name: str) -> frozenset[Capability]:
    published = capabilities_for(published_info(client, driver), PEERS[driver][name].platform)
    expected = capabilities_for(EXPECTED.get(driver), PEERS[driver][name].platform)
    assert published == expected, f"tetherd publishes {sorted(published)}, its registry in-process {sorted(expected)}"
    return published


# ---------------------------------------------------------------- what the service publishes


def unpeered_drivers(info: pb.ServiceInfo) -> list[str]:
    """Drivers the service publishes that have no entry in the peer table (so no proof)."""
    return sorted({driver.name for driver in info.driver_info} - set(PEERS))


def test_every_published_driver_has_a_peer_and_every_peer_a_driver(client: TetherClient) -> None:
    info = client.info()
    published = {driver.name for driver in info.driver_info}
    assert published == set(info.drivers)
    unpeered = unpeered_drivers(info)
    assert not unpeered, (
        f"tetherd publishes driver(s) {unpeered} with no entry in tests/contract/peers.py PEERS: "
        "every driver must pass the conformance suite against its real peer (see that file's top to add one)"
    )
    assert not set(PEERS) - published, f"PEERS names drivers tetherd does not publish: {sorted(set(PEERS) - published)}"


@pytest.mark.parametrize("driver", sorted(PEERS))
def test_published_driver_data_is_consistent(client: TetherClient, driver: str) -> None:
    info = published_info(client, driver)
    assert not problems(models.DriverInfoModel, info)
    assert info == EXPECTED.get(driver), "tetherd publishes this driver differently from its registry in-process"
    for name, entry in PEERS[driver].items():
        assert capabilities_for(info, entry.platform), f"target {name}: no capability for platform {entry.platform!r}"


# ---------------------------------------------------------------- lifecycle


@pytest.mark.parametrize(("driver", "name"), TARGETS, ids=TARGET_IDS)
def test_open_reuse_keepalive_and_close(
    request: pytest.FixtureRequest, tetherd: Tetherd, client: TetherClient, driver: str, name: str
) -> None:
    target = make_target(request, driver, name)
    connection = target.with_connection(keepalive_seconds=1)
    close_sessions_to(client, target)
    counters = Counters(tetherd)

    def run(reused: bool) -> pb.ExecuteResponse:
        response = execute(client, driver, connection, commands=[target.command], encoding=target.text_encoding)
        assert response.ok and not problems(models.MetaModel, response.meta, reused=reused)
        assert not problems(
            models.CommandText, response.results[0], command=target.command, contains=target.output_contains
        )
        return response

    first = run(reused=False)
    assert first.meta.connect_ms > 0 and counters.moved("connections_opened") == 1
    assert run(reused=True).meta.session_id == first.meta.session_id
    # probe: the keepalive runs the driver's probe on the idle session, which stays warm.
    wait_until(lambda: counters.moved("keepalive_probes") >= 2, 20, what="two keepalive probes")
    (session,) = sessions_to(client, target)
    assert session.id == first.meta.session_id and session.keepalive_failures == 0
    assert counters.moved("keepalive_failures") == 0
    assert run(reused=True).meta.session_id == first.meta.session_id
    port = int(target.connection.get("port", 0))
    connected = established_to(port) if PEERS[driver][name].tcp else 0
    assert client.close_sessions(session_id=session.id) == 1
    assert sessions_to(client, target) == []
    if PEERS[driver][name].tcp:  # the driver's own connection to the peer is gone, not only the record
        assert connected >= 1
        wait_until(lambda: established_to(port) < connected, 10, what="the closed session's TCP connection to end")
    assert run(reused=False).meta.session_id != first.meta.session_id
    assert counters.moved("connections_opened") == 2


@pytest.mark.parametrize(("driver", "name"), TARGETS, ids=TARGET_IDS)
def test_wrong_credentials_are_refused_clearly(
    request: pytest.FixtureRequest, tetherd: Tetherd, client: TetherClient, driver: str, name: str
) -> None:
    target = make_target(request, driver, name)
    if target.wrong_credentials is None:
        pytest.skip(target.no_login_reason or "the peer table gives no wrong credentials")
    counters = Counters(tetherd)
    with pytest.raises(TetherError) as error:
        execute(client, driver, target.with_connection(**target.wrong_credentials), commands=[target.command])
    assert error.value.code in ("PERMISSION_DENIED", "UNAVAILABLE"), error.value
    assert (counters.moved("connections_failed"), counters.moved("connections_opened")) == (1, 0)
    for secret in target.wrong_credentials.values():
        assert str(secret)[:40] not in error.value.message


@pytest.mark.parametrize(("driver", "name"), TARGETS, ids=TARGET_IDS)
def test_an_unreachable_target_is_unavailable(
    request: pytest.FixtureRequest, tetherd: Tetherd, client: TetherClient, driver: str, name: str
) -> None:
    target = make_target(request, driver, name)
    assert target.unreachable is not None, "the peer table must say how this target is made unreachable"
    counters = Counters(tetherd)
    with pytest.raises(TetherError) as error:
        execute(client, driver, target.with_connection(**target.unreachable), commands=[target.command])
    assert error.value.code == "UNAVAILABLE", error.value
    assert (counters.moved("connections_failed"), counters.moved("connections_opened")) == (1, 0)


# ---------------------------------------------------------------- published capabilities work


def check_commands(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    text = target.text_encoding
    response = execute(client, target.driver, target.connection, commands=[target.command], encoding=text)
    assert response.ok
    assert not problems(
        models.CommandText, response.results[0], command=target.command, contains=target.output_contains
    )
    # Parsed text is typed data too: a protobuf Value, never JSON text (parsed_json only mirrors it).
    parsed = execute(
        client,
        target.driver,
        target.connection,
        commands=[target.command],
        encoding=text,
        parse=pb.Parse(kind=pb.Parse.KIND_TEXTFSM, template=EVERY_LINE),
    )
    assert parsed.ok and not problems(models.CommandStructured, parsed.results[0], command=target.command)
    assert any(target.output_contains in row["LINE"] for row in json_format.MessageToDict(parsed.results[0].data))
    failing = target.failing
    assert failing is not None, "the peer table must give a command this target rejects"
    connection = target.with_connection(**failing.connection)
    rejected = execute(
        client,
        target.driver,
        connection,
        commands=[failing.command],
        expect_prompt=failing.expect_prompt,
        encoding=text,
    )  # the call answers: only that command's result fails
    assert not rejected.ok and not problems(models.CommandFailure, rejected.results[0], command=failing.command)
    after = execute(client, target.driver, connection, commands=[target.command], encoding=text)
    assert after.ok and after.meta.session_reused, "the session outlives a failed command"


def check_config(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    assert target.config_lines and target.config_marker, "the peer table must give config_lines and config_marker"
    diff = Capability.RUNNING_CONFIG in have
    response = execute(client, target.driver, target.connection, config=list(target.config_lines), diff=diff)
    assert response.ok and not problems(models.ConfigApplied, response.config, lines=target.config_lines)
    if diff:
        assert target.config_marker in response.config.after
    elif target.config_probe:
        probe = execute(client, target.driver, target.connection, commands=[target.config_probe])
        assert target.config_marker in probe.results[0].output
    else:  # no way to read it back: the configuration step's own output shows the lines went
        assert target.config_marker in response.results[0].output


def check_running_config(
    client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]
) -> None:
    assert target.config_lines and target.config_marker, "the peer table must give config_lines and config_marker"
    lines = list(target.config_lines)
    check = execute(client, target.driver, target.connection, config=lines, config_mode=pb.CONFIG_MODE_CHECK, diff=True)
    assert check.ok and check.config.before.strip() and target.config_marker in check.config.after
    again = execute(client, target.driver, target.connection, config=lines, config_mode=pb.CONFIG_MODE_CHECK, diff=True)
    assert again.config.before == check.config.before, "a check changed the running configuration"


def check_save_config(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    response = execute(client, target.driver, target.connection, save=True)
    assert response.ok and [(r.command, r.status) for r in response.results] == [("save", pb.RESULT_STATUS_OK)]


def check_exec(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    assert target.exec_command, "the peer table must give exec_command"
    response = client.exec_command(target.connection, target.exec_command, driver=target.driver)
    assert not problems(models.ExecOutcome, response, stdout=target.exec_stdout)


def check_file_transfer(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    assert target.file_dir, "the peer table must give file_dir"
    path, payload = f"{target.file_dir}/conformance.bin", bytes(range(256)) * 8
    put = client.put_file(target.connection, path, payload, driver=target.driver)
    assert put.size == len(payload) and put.job_id
    assert client.fetch_file(target.connection, path, driver=target.driver) == payload


def check_structured_output(
    client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]
) -> None:
    assert target.structured_command, "the peer table must give structured_command"
    command = target.structured_command
    response = execute(client, target.driver, target.connection, commands=[command], encoding="json")
    assert response.ok and not problems(models.CommandStructured, response.results[0], command=command)


def check_getters(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    name, arguments = target.getter or (sorted(info.getters)[0], {})
    assert name in info.getters, f"getter {name} is not published ({list(info.getters)})"
    response = execute(client, target.driver, target.connection, getters=[(name, arguments)])
    assert response.ok and len(response.getters) == 1
    assert not problems(models.GetterData, response.getters[0], name=name)


def check_api_calls(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    assert target.api_call is not None, "the peer table must give api_call"
    response = execute(client, target.driver, target.connection, api_calls=[target.api_call])
    assert response.ok and len(response.results) == 1
    assert not problems(models.ApiData, response.results[0])


def check_config_candidate(
    client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]
) -> None:
    assert target.candidate, "the peer table must give candidate"
    compare = candidate(pb.CANDIDATE_ACTION_COMPARE, config=target.candidate)
    response = execute(client, target.driver, target.connection, candidate=compare)
    assert response.ok and not problems(models.CandidateCompared, response.candidate)


def check_commit_confirm(
    client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]
) -> None:
    assert target.candidate, "the peer table must give candidate"
    commit = candidate(pb.CANDIDATE_ACTION_COMMIT, config=target.candidate, revert_in=120)
    response = execute(client, target.driver, target.connection, candidate=commit)
    assert response.ok and not problems(models.CandidatePendingConfirm, response.candidate)
    confirm = execute(client, target.driver, target.connection, candidate=candidate(pb.CANDIDATE_ACTION_CONFIRM))
    assert confirm.ok and not confirm.candidate.pending_confirm


def check_channel_lease(client: TetherClient, target: Target, info: pb.DriverInfo, have: frozenset[Capability]) -> None:
    """The raw channel moves bytes both ways; released, the session serves the next call as before."""
    from tether.lease_client import ChannelLeaseClient

    assert target.lease_newline, "the peer table must give lease_newline for a target with channel_lease"
    leased = ChannelLeaseClient(client, target.connection, driver=target.driver, wait_timeout=30)
    try:
        leased.wait_opened(60)
        leased.write(target.command.encode() + target.lease_newline)
        seen = b""
        deadline = time.monotonic() + 20
        while target.output_contains.encode() not in seen and time.monotonic() < deadline:
            seen += leased.read(1.0)
        assert target.output_contains.encode() in seen, seen[-500:]
    finally:
        leased.release()
    after = execute(client, target.driver, target.connection, commands=[target.command], encoding=target.text_encoding)
    assert after.ok and target.output_contains in after.results[0].output


Check = Callable[[TetherClient, Target, pb.DriverInfo, frozenset[Capability]], None]
CHECKS: Mapping[Capability, Check] = {
    Capability.COMMANDS: check_commands,
    Capability.STRUCTURED_OUTPUT: check_structured_output,
    Capability.CONFIG: check_config,
    Capability.RUNNING_CONFIG: check_running_config,
    Capability.SAVE_CONFIG: check_save_config,
    Capability.CONFIG_CANDIDATE: check_config_candidate,
    Capability.COMMIT_CONFIRM: check_commit_confirm,
    Capability.GETTERS: check_getters,
    Capability.API_CALLS: check_api_calls,
    Capability.EXEC: check_exec,
    Capability.FILE_TRANSFER: check_file_transfer,
    Capability.CHANNEL_LEASE: check_channel_lease,
}


def test_every_capability_has_a_check_and_a_refusal() -> None:
    assert set(CHECKS) == set(NEEDING_CALL) | set(NEEDING_OPERATION) == set(Capability)


def test_every_known_gap_still_names_a_published_capability() -> None:
    """A gap fixed by no longer publishing the capability leaves no stale xfail behind."""
    working = {case.id for case in _capability_cases(published=True)}
    stale = [key for key in WORKING_GAPS if "-".join(key) not in working]
    assert not stale, f"WORKING_GAPS entries for capabilities no longer published (remove them): {stale}"


@pytest.mark.parametrize(("driver", "name", "capability"), _capability_cases(published=True))
def test_published_capability_works(
    request: pytest.FixtureRequest, client: TetherClient, driver: str, name: str, capability: Capability
) -> None:
    target = make_target(request, driver, name)
    have = published_capabilities(client, driver, name)
    assert capability in have
    CHECKS[capability](client, target, published_info(client, driver), have)


@pytest.mark.parametrize("capability", TYPED_RESULTS)
def test_typed_results_are_exercised(capability: Capability) -> None:
    """Typed results (protobuf Values, not JSON text) are checked for every driver that publishes them."""
    publishers = [
        f"{driver}-{name}-{capability}"
        for driver, name in TARGETS
        if capability in capabilities_for(EXPECTED.get(driver), PEERS[driver][name].platform)
    ]
    if not publishers:
        pytest.skip(f"no driver publishes {capability} yet: test_published_capability_works checks it once one does")
    assert set(publishers) <= {case.id for case in _capability_cases(published=True)}


# ---------------------------------------------------------------- missing capabilities are refused before I/O


@pytest.mark.parametrize(("driver", "name", "capability"), _capability_cases(published=False))
def test_missing_capability_is_refused_before_any_io(
    request: pytest.FixtureRequest,
    tetherd: Tetherd,
    client: TetherClient,
    driver: str,
    name: str,
    capability: Capability,
) -> None:
    target = make_target(request, driver, name)
    assert capability not in published_capabilities(client, driver, name)
    with AcceptCounter() as listener:
        # A target with a network peer is pointed at a listener of ours: any I/O would reach it.
        # A connection the service has never seen (a fresh port, or host name) goes through full
        # validation first; sent again, it takes the service's cached fast path: both must refuse.
        fresh_host = f"no-io-{uuid.uuid4().hex[:12]}"
        aimed = target.at(listener.host, listener.port) if PEERS[driver][name].tcp else target.at(fresh_host)
        counters, sessions = Counters(tetherd), {s.id for s in client.list_sessions()}
        for send in needing(capability):
            for _fresh_then_cached in range(2):
                with pytest.raises(TetherError) as error:
                    send(client, driver, aimed.connection)
                assert not problems(models.Refusal, error.value, capability=capability)
        assert listener.settled_accepts() == 0, "a refused request connected to the target"
    assert {name: counters.moved(name) for name in IO_COUNTERS} == dict.fromkeys(IO_COUNTERS, 0)
    assert {s.id for s in client.list_sessions()} <= sessions, "a refused request made a session"


@pytest.mark.parametrize(
    ("driver", "name"),
    [case for case in TARGETS if PEERS[case[0]][case[1]].tcp],
    ids=[f"{d}-{n}" for d, n in TARGETS if PEERS[d][n].tcp],
)
def test_the_no_io_listener_sees_a_request_that_is_not_refused(
    request: pytest.FixtureRequest, tetherd: Tetherd, client: TetherClient, driver: str, name: str
) -> None:
    """The control for the test above: the same listener does see a request the target can take."""
    target = make_target(request, driver, name)
    counters = Counters(tetherd)
    with AcceptCounter() as listener:
        aimed = target.at(listener.host, listener.port).with_connection(connect_timeout=5)
        with pytest.raises(TetherError) as error:
            execute(client, driver, aimed, commands=[target.command])
        assert error.value.code == "UNAVAILABLE", error.value
        assert listener.settled_accepts() >= 1
    assert counters.moved("connections_failed") == 1
