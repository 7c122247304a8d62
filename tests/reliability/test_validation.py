"""Issue 7, defects 4 and 10: every number, enum, size and user regex is validated.

Hostile input is refused with INVALID_ARGUMENT naming the field, in a short message,
and never costs a healthy session; user regexes run in linear time, so a
catastrophically backtracking prompt or error pattern stalls nobody.
"""

from __future__ import annotations

import concurrent.futures
import math
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct

from tests.harness import Tetherd
from tests.service.test_switches import conn as switch_conn
from tether.v1 import messages as pb
from tether.v1.tether_pb2_grpc import TetherStub

NULL = pb.Connection(host="null.example", username="u", password="pw")
SHORT_MESSAGE = 400  # an error message quotes a bounded prefix of the input, whatever its size
EVIL = "(a+)+b"
AAAA = "a" * 27  # against EVIL, Python's re backtracks 2**27 times: seconds, holding the GIL


@pytest.fixture
def stub(tetherd: Tetherd) -> Iterator[TetherStub]:
    channel = grpc.insecure_channel(tetherd.endpoint, options=[("grpc.max_receive_message_length", 64 << 20)])
    yield TetherStub(channel)
    channel.close()


def refused(call: Any, request: Any, code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT) -> str:
    """Make the call, expect ``code``, return the message."""
    with pytest.raises(grpc.RpcError) as error:
        result = call(request, timeout=30)
        if hasattr(result, "__next__"):
            list(result)  # a stream: the status comes when it is read
    assert error.value.code() == code, error.value.details()
    details = error.value.details() or ""
    assert len(details) < SHORT_MESSAGE, details
    return details


def execute(connection: pb.Connection = NULL, commands: tuple[str, ...] = ("x",), **fields: Any) -> pb.ExecuteRequest:
    operation = fields.pop("operation", None) or pb.Operation(commands=list(commands))
    return pb.ExecuteRequest(driver=fields.pop("driver", "null"), connection=connection, operation=operation, **fields)


def with_options(connection: pb.Connection, **options: Any) -> pb.Connection:
    copy = pb.Connection()
    copy.CopyFrom(connection)
    struct = Struct()
    struct.update(options)
    copy.options.CopyFrom(struct)
    return copy


BAD_SECONDS = [math.nan, math.inf, -math.inf, -1.0, -1e-9, 1e308]


@pytest.mark.parametrize("value", BAD_SECONDS, ids=repr)
def test_every_timeout_must_be_finite_non_negative_and_bounded(stub: TetherStub, value: float) -> None:
    connection = pb.Connection()
    connection.CopyFrom(NULL)
    connection.connect_timeout = value
    assert "connect_timeout" in refused(stub.Execute, execute(connection))
    operation = pb.Operation(commands=["x"], read_timeout=value)
    assert "read_timeout" in refused(stub.Execute, execute(operation=operation))
    assert "timeout" in refused(stub.Execute, execute(timeout=value))
    bulk = pb.BulkRequest(driver="null", defaults=NULL, targets=[pb.Target(name="t")], operation=operation)
    assert "read_timeout" in refused(stub.Bulk, bulk)
    bulk = pb.BulkRequest(
        driver="null",
        defaults=NULL,
        targets=[pb.Target(name="t")],
        operation=pb.Operation(commands=["x"]),
        timeout=value,
    )
    assert "timeout" in refused(stub.Bulk, bulk)
    assert "timeout" in refused(stub.Exec, pb.ExecRequest(driver="null", connection=NULL, command="id", timeout=value))


def test_a_negative_timeout_is_refused_and_the_warm_session_stays(tetherd: Tetherd, stub: TetherStub) -> None:
    warm = stub.Execute(execute(), timeout=30)
    refused(stub.Execute, execute(timeout=-1.0))
    again = stub.Execute(execute(), timeout=30)
    assert again.meta.session_reused and again.meta.session_id == warm.meta.session_id
    assert tetherd.counters().get("sessions_closed_hung", 0) == 0


@pytest.mark.parametrize(
    "options",
    [
        {"delay": math.nan},
        {"delay": math.inf},
        {"hang": -1},
        {"delay": 1e308},
        {"delay": "1"},
        {"delay": True},
        {"fail_open": "yes"},
        {"fail_open": 1},
        {"hang": {"nested": [1, 2]}},
    ],
    ids=repr,
)
def test_null_driver_options_of_the_wrong_type_or_range(stub: TetherStub, options: dict[str, Any]) -> None:
    assert "option" in refused(stub.Execute, execute(with_options(NULL, **options)))


@pytest.mark.parametrize(
    "options",
    [
        {"auth_timeout": math.nan},
        {"banner_timeout": math.inf},
        {"global_delay_factor": -1},
        {"probe_timeout": 1e308},
        {"disabled_algorithms": {"ciphers": [math.nan]}},
        {"disabled_algorithms": {"nonsense": ["x"]}},
    ],
    ids=repr,
)
def test_netmiko_options_must_be_finite_and_in_range(stub: TetherStub, options: dict[str, Any]) -> None:
    connection = pb.Connection(host="127.0.0.1", port=1, platform="cisco_ios", username="u", password="p")
    refused(stub.Execute, execute(with_options(connection, **options), driver="netmiko"))


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("a{99999999999}", "more than 1000 times"),
        ("a{1001}", "more than 1000 times"),
        (r"(a)\1", "backreference"),
        ("(?=a)b", "lookahead or lookbehind"),
        ("(?<!a)b", "lookahead or lookbehind"),
        ("(?>a)", "atomic group"),
        ("([", "not a valid regular expression"),
        ("x" * 2_000_000, "at most 1024"),
        ("(?:(?:a{30}){30}){30}", "too large"),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_hostile_regexes_are_refused_by_name(stub: TetherStub, pattern: str, words: str) -> None:
    message = refused(stub.Execute, execute(operation=pb.Operation(commands=["x"], expect_prompt=pattern)))
    assert "operation.expect_prompt" in message and words in message
    connection = pb.Connection(host="127.0.0.1", port=1, platform="cisco_ios", username="u", password="p")
    message = refused(stub.Execute, execute(with_options(connection, error_pattern=pattern), driver="netmiko"))
    if len(pattern) > 16_384:  # refused as options too large before the pattern is looked at
        assert "connection.options is" in message
    else:
        assert "error_pattern" in message and words in message


def test_unknown_enum_values_are_refused(stub: TetherStub) -> None:
    assert "mode" in refused(stub.Execute, execute(mode=7))  # type: ignore[arg-type]
    operation = pb.Operation(commands=["x"], config_mode=9)  # type: ignore[arg-type]
    assert "config_mode" in refused(stub.Execute, execute(operation=operation))
    operation = pb.Operation(commands=["x"], parse=pb.Parse(kind=5))  # type: ignore[arg-type]
    assert "parse.kind" in refused(stub.Execute, execute(operation=operation))
    for call, request, field in [
        (stub.Exec, pb.ExecRequest(driver="null", connection=NULL, command="id", mode=3), "mode"),
        (stub.PutFile, pb.PutFileRequest(driver="null", connection=NULL, remote_path="/x", mode=3), "mode"),
        (stub.FetchFile, pb.FetchFileRequest(driver="null", connection=NULL, remote_path="/x", mode=-1), "mode"),
        (stub.ListJobs, pb.ListJobsRequest(states=[pb.JOB_STATE_FAILED, 42]), "states"),
        (stub.ListJobs, pb.ListJobsRequest(kind=9), "kind"),
    ]:
        assert field in refused(call, request)
    bulk = pb.BulkRequest(
        driver="null", defaults=NULL, targets=[pb.Target(name="t")], operation=pb.Operation(commands=["x"]), mode=5
    )  # type: ignore[arg-type]
    assert "mode" in refused(stub.Bulk, bulk)


MEGABYTE = "d" * (1 << 20)


@pytest.mark.parametrize(
    ("call", "request_", "field"),
    [
        ("Execute", execute(driver=MEGABYTE), "driver"),
        ("Execute", execute(pb.Connection(host=MEGABYTE, username="u")), "connection.host"),
        ("Execute", execute(pb.Connection(host="h", username=MEGABYTE)), "connection.username"),
        ("Execute", execute(pb.Connection(host="h", platform=MEGABYTE)), "connection.platform"),
        ("Execute", execute(pb.Connection(host="h", private_key_file=MEGABYTE)), "private_key_file"),
        ("Execute", execute(commands=("x",) * 1001), "1001 lines"),
        ("Execute", execute(commands=("y" * 20_000,)), "characters long"),
        ("Execute", execute(commands=("a\0b",)), "NUL"),
        ("Execute", execute(labels={f"k{i}": "v" for i in range(65)}), "labels"),
        ("Execute", execute(labels={"k": "v" * 2000}), "label"),
        ("Execute", execute(with_options(NULL, **{f"o{i}": 1 for i in range(33)})), "options"),
        ("Execute", execute(with_options(NULL, delay="z" * 20_000)), "options"),
        ("Exec", pb.ExecRequest(driver="null", connection=NULL, command="c" * 70_000), "command"),
        ("FetchFile", pb.FetchFileRequest(driver="null", connection=NULL, remote_path=MEGABYTE), "remote_path"),
        ("PutFile", pb.PutFileRequest(driver="null", connection=NULL, remote_path="/x\0y"), "remote_path"),
        ("GetJob", pb.GetJobRequest(job_id=MEGABYTE), "job_id"),
        ("CancelJob", pb.CancelJobRequest(job_id="j" * 65), "job_id"),
        ("ListJobs", pb.ListJobsRequest(since=math.nan), "since"),
        ("ListJobs", pb.ListJobsRequest(target=MEGABYTE), "target"),
        ("ListJobs", pb.ListJobsRequest(page_token=MEGABYTE), "page_token"),
        ("ListSessions", pb.ListSessionsRequest(host=MEGABYTE), "host"),
        ("CloseSession", pb.CloseSessionRequest(session_id=MEGABYTE), "session_id"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "",
)
def test_every_size_is_bounded_with_a_short_message(stub: TetherStub, call: str, request_: Any, field: str) -> None:
    assert field in refused(getattr(stub, call), request_)


def test_bulk_sizes(stub: TetherStub) -> None:
    operation = pb.Operation(commands=["x"])
    targets = [pb.Target(name=f"t{i}") for i in range(10_001)]
    assert "10001 targets" in refused(
        stub.Bulk, pb.BulkRequest(driver="null", defaults=NULL, targets=targets, operation=operation)
    )
    request = pb.BulkRequest(driver="null", defaults=NULL, targets=[pb.Target(name="n" * 300)], operation=operation)
    assert "targets[0].name" in refused(stub.Bulk, request)
    request = pb.BulkRequest(
        driver="null", defaults=NULL, targets=[pb.Target()], operation=operation, concurrency=1 << 30
    )
    assert "concurrency" in refused(stub.Bulk, request)


def test_setuid_file_modes_are_refused_unless_the_operator_allows_them(
    tetherd_factory: Any, sshd: Any, tmp_path: Any
) -> None:
    connection = pb.Connection(
        host=sshd.host, port=sshd.port, platform="linux", username=sshd.username, private_key=sshd.private_key
    )
    target = tmp_path / "pushed"
    default = tetherd_factory()
    channel = grpc.insecure_channel(default.endpoint)
    stub = TetherStub(channel)
    request = pb.PutFileRequest(connection=connection, remote_path=str(target), data=b"x", file_mode=0xFFFFFFFF)
    assert "file_mode" in refused(stub.PutFile, request)
    request.file_mode = 0o4755
    assert "allow_special_file_modes" in refused(stub.PutFile, request)
    assert not target.exists()
    request.file_mode = 0o640
    stub.PutFile(request, timeout=30)
    assert oct(target.stat().st_mode & 0o7777) == "0o640"
    channel.close()

    allowing = tetherd_factory(env={"TETHER_ALLOW_SPECIAL_FILE_MODES": "true"}, name="allowing")
    channel = grpc.insecure_channel(allowing.endpoint)
    request.file_mode = 0o2750
    TetherStub(channel).PutFile(request, timeout=30)
    assert oct(target.stat().st_mode & 0o7777) == "0o2750"
    request.file_mode = 0xFFFFFFFF
    refused(TetherStub(channel).PutFile, request)
    channel.close()


def _timed_calls(stub: TetherStub, seconds: float) -> list[float]:
    """Another client's calls while the hostile one runs: each one's latency."""
    latencies = []
    end = time.monotonic() + seconds
    request = execute(pb.Connection(host="bystander", username="u", password="p"), ("still here",))
    while time.monotonic() < end:
        started = time.monotonic()
        assert stub.Execute(request, timeout=30).ok
        latencies.append(time.monotonic() - started)
    return latencies


def test_a_backtracking_prompt_on_the_null_driver_answers_at_once(stub: TetherStub) -> None:
    operation = pb.Operation(commands=[AAAA, AAAA + "b"], expect_prompt=EVIL)
    started = time.monotonic()
    response = stub.Execute(execute(operation=operation, timeout=3), timeout=30)
    assert time.monotonic() - started < 3
    no_match, match = response.results
    assert no_match.status == pb.RESULT_STATUS_FAILED and "not found" in no_match.error
    assert match.status == pb.RESULT_STATUS_OK


def test_a_backtracking_prompt_on_a_switch_keeps_its_deadline_and_stalls_nobody(
    tetherd: Tetherd, stub: TetherStub, switches: Any
) -> None:
    device = pb.Connection(**switch_conn(switches.switches[10]))
    stub.Execute(execute(device, ("show version",), driver="netmiko"), timeout=30)  # warm
    operation = pb.Operation(commands=[AAAA], expect_prompt=EVIL, read_timeout=2)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        bystander = pool.submit(_timed_calls, stub, 3.0)
        started = time.monotonic()
        response = stub.Execute(execute(device, driver="netmiko", operation=operation, timeout=3), timeout=30)
        elapsed = time.monotonic() - started
        latencies = bystander.result(30)
    assert elapsed < 3 + 1.5, elapsed  # the read times out at 2 s; old code: 5 to 9 s per search
    (result,) = response.results
    assert result.status == pb.RESULT_STATUS_FAILED and "no prompt after 2s" in result.error
    # The bystander's calls kept flowing (each is ~1 ms; a GIL-holding search stalls them for seconds).
    assert max(latencies) < 1.0, max(latencies)
    assert stub.Execute(execute(device, ("show version",), driver="netmiko"), timeout=30).ok


def test_a_backtracking_error_pattern_stalls_nobody(stub: TetherStub, own_switch: Any) -> None:
    device = with_options(pb.Connection(**switch_conn(own_switch.switches[0])), error_pattern=r"(a+)+b")
    run_of_a = "a" * 24  # old code: seconds per search (in each config line's echo, then in the output)
    operation = pb.Operation(
        config=["interface FastEthernet0/4", f"description {run_of_a}"],
        commands=["show running-config interface FastEthernet0/4"],
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        bystander = pool.submit(_timed_calls, stub, 2.0)
        response = stub.Execute(execute(device, driver="netmiko", operation=operation, timeout=20), timeout=30)
        latencies = bystander.result(30)
    assert response.ok  # no match: by the user's pattern, nothing failed
    assert f"description {run_of_a}" in response.results[-1].output
    assert max(latencies) < 1.0, max(latencies)


def test_a_user_pattern_never_reaches_netmikos_own_reads(stub: TetherStub, switches: Any) -> None:
    device = with_options(pb.Connection(**switch_conn(switches.switches[11])), fast_cli=False)
    operation = pb.Operation(commands=["show version"], expect_prompt=r"sw\d+#")
    message = refused(stub.Execute, execute(device, driver="netmiko", operation=operation))
    assert "expect_prompt" in message and "fast_cli is false" in message
    # Refused before configuration changes anything: the commands that would follow it cannot run.
    with_config = pb.Operation(
        commands=["show version"],
        expect_prompt=r"sw\d+#",
        config=["interface FastEthernet0/5", "description must-not-apply"],
    )
    refused(stub.Execute, execute(device, driver="netmiko", operation=with_config))
    plain = stub.Execute(execute(device, ("show running-config",), driver="netmiko"), timeout=30)
    assert "must-not-apply" not in plain.results[0].output
    # The same pattern works on a session that reads through tether's fast path.
    device = pb.Connection(**switch_conn(switches.switches[11]))
    response = stub.Execute(execute(device, driver="netmiko", operation=operation), timeout=30)
    assert response.ok and "Cisco" in response.results[0].output


def test_a_config_error_found_by_tether_stops_at_the_first_rejected_line(stub: TetherStub, own_switch: Any) -> None:
    device = with_options(pb.Connection(**switch_conn(own_switch.switches[0])), error_pattern=r"^% Invalid.*$")
    operation = pb.Operation(
        config=["interface FastEthernet0/3", "frobnicate", "description never-sent"], stop_on_error=True
    )
    response = stub.Execute(execute(device, driver="netmiko", operation=operation), timeout=30)
    (result,) = response.results
    assert result.status == pb.RESULT_STATUS_FAILED and "at command: frobnicate" in result.error
    running = stub.Execute(execute(device, ("show running-config",), driver="netmiko"), timeout=30)
    assert "never-sent" not in running.results[0].output
    operation = pb.Operation(config=["interface FastEthernet0/3", "description sent"])
    assert stub.Execute(execute(device, driver="netmiko", operation=operation), timeout=30).ok
    running = stub.Execute(execute(device, ("show running-config",), driver="netmiko"), timeout=30)
    assert "description sent" in running.results[0].output


def test_a_page_size_above_the_bound_is_clamped_as_documented(stub: TetherStub) -> None:
    stub.Execute(execute(), timeout=30)
    assert len(stub.ListJobs(pb.ListJobsRequest(page_size=2**32 - 1), timeout=30).jobs) == 1


@pytest.mark.parametrize(
    ("output", "pattern"),
    [
        ("show ver\x08\x08sw01#show version\nCisco IOS\nsw01#", r"sw01#"),
        ("show ver\x08\x08sw01#show version\nCisco IOS\nsw01#", r"sw\d+#\s*$"),
        ("plain echo\nbody\nsw01#", r"sw01#"),
        ("no match \x08 here\nsw01#", r"nothing"),
        ("\x08sw01#", r"sw01#"),
    ],
)
def test_the_fast_paths_repaint_filter_matches_netmikos(output: str, pattern: str) -> None:
    """A user's pattern never reaches netmiko's first-line filter (re): tether's (RE2) does the same."""
    from netmiko.base_connection import BaseConnection

    from tether.drivers import _netmiko_fastpath
    from tether.security import safe_regex

    class Channel:
        RETURN = "\n"

    expected, _ = BaseConnection._first_line_handler(Channel(), output, pattern)  # type: ignore[arg-type]
    compiled = safe_regex.compile(pattern, "operation.expect_prompt")
    assert _netmiko_fastpath._first_line_handler(Channel(), output, compiled) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["password", "secret", "private_key"])
def test_a_refused_secret_is_never_quoted_back(stub: TetherStub, field: str) -> None:
    marker = "Sekr1t-marker"
    connection = pb.Connection(host="null.example", username="u")
    setattr(connection, field, marker + ("\0" if field != "private_key" else "k" * 70_000))
    message = refused(stub.Execute, execute(connection))
    assert f"connection.{field}" in message and "Sekr1t" not in message
