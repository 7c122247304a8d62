"""A bounded, seeded fuzz of every tether.v1 RPC against a real tetherd (issue 7).

Hostile strings (huge, NUL, control characters, invalid UTF-8 on the wire), sizes,
numbers (NaN, +-inf, negative, huge), unknown enum values, hostile regexes, options
of every type, garbage protobuf bytes, and raw bytes on the socket. Drivers: ``null``
mostly, ``netmiko`` against a loopback port nothing listens on (no device, no
traffic beyond loopback).

Accepted answers: OK and the client-error class (INVALID_ARGUMENT, FAILED_PRECONDITION,
NOT_FOUND, OUT_OF_RANGE); UNAVAILABLE only where the request asks for a connection
that cannot open (the netmiko target, the null driver's ``fail_open``); DEADLINE_EXCEEDED
only for a valid but tiny timeout (5e-324 s) that passes before the work runs; and the one
answer grpc gives itself, documented in docs/reliability.md: RESOURCE_EXHAUSTED for a
message over the service's max_message_bytes. Never UNKNOWN or INTERNAL. Afterwards
the service still answers a good request and its RSS stays bounded (printed).

Seed: TETHER_FUZZ_SEED (printed); bounds: CASES requests or TIME_BUDGET seconds.
"""

from __future__ import annotations

import math
import os
import random
import socket
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import psutil
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct, Value

from tests.harness import Tetherd
from tether.v1 import messages as pb

SEED = int(os.environ.get("TETHER_FUZZ_SEED", "20261127"))
CASES = 2500
TIME_BUDGET = 45.0
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # tetherd's default max_message_bytes
RSS_GROWTH_LIMIT = 300 * 1024 * 1024
CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
}
STREAMING = {"Bulk", "WatchEvents"}
PATHS = {"WatchEvents": "/tether.v1.Events/WatchEvents"}  # the others: /tether.v1.Tether/<method>
WATCH_SECONDS = 0.2  # a valid watch follows forever: read this long, then the deadline ends it
SEQS = [0, 1, 2**32, 2**53, 2**63, 2**64 - 1]

NUMBERS = [0.0, -0.0, 1.0, 30.0, -1.0, -1e-9, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 86_401.0, 2.0**63]
UINTS = [0, 1, 22, 500, 501, 65_535, 65_536, 2**31 - 1, 2**32 - 1]
ENUMS = [0, 1, 2, 3, 5, 6, -1, 7, 99, 2**31 - 1, -(2**31)]
REGEXES = [
    "",
    "(a+)+b",
    "(a|aa)+$",
    r"(\w+\s?)+$",
    "a{99999999999}",
    "a{1001}",
    "(?:(?:a{30}){30}){30}",
    r"(a)\1",
    "(?=x)",
    "(?<!x)y",
    "(?>a)",
    "a*+",
    "([",
    "(?P<n>a)(?P=n)",
    r"\Z",
    "x" * 5000,
    r"sw\d+#\s*$",
    "[",
    "\\",
    "\0",
]


def hostile_string(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.25:
        return rng.choice(["", "x", "null.example", "127.0.0.1", "cisco_ios", "netmiko", "null", " ", "a" * 27])
    if pick < 0.55:
        return rng.choice(
            [
                "\0",
                "x\0y",
                "\x01\x02\x1b[31m\x7f",
                "\r\n",
                "line\nbreak",
                "\u202eevil",
                "\U0001f600" * 300,
                "%s%n{0}${x}",
                "../../../etc/passwd",
                "' OR 1=1 --",
                "\ufeff\u200b",
                "\t" * 100,
            ]
        )
    if pick < 0.9:
        alphabet = [chr(c) for c in (*range(0, 32), *range(32, 127), 0x85, 0xA0, 0x2028, 0x1F4A9, 0x10FFFF)]
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 8, 64, 300])))
    # Sizes past every bound; rarely past the message limit itself.
    return "z" * rng.choice([256, 4_097, 65_537, 1 << 20, 1 << 20, 5 << 20])


def option_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 6 else 4)
    if kind == 0:
        return rng.choice(NUMBERS)
    if kind == 1:
        return hostile_string(rng)[:5000]
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return [option_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {hostile_string(rng)[:200]: option_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def options(rng: random.Random, driver: str) -> Struct:
    struct = Struct()
    known = {
        "null": ["delay", "hang", "fail_open"],
        "netmiko": ["fast_cli", "global_delay_factor", "auth_timeout", "probe_timeout", "error_pattern", "cmd_verify"],
        "napalm": ["transport", "global_delay_factor", "path", "ssh_config_file", "key_file", "fast_cli"],
        "pyeapi": ["transport", "path", "ca_cert", "probe_command"],
    }.get(driver, [])
    for _ in range(rng.choice([0, 0, 1, 2, 3, 40])):
        name = rng.choice(known) if known and rng.random() < 0.7 else hostile_string(rng)[:300]
        if name in ("delay", "hang"):  # a valid delay stays tiny: the fuzz is not about slow devices
            value = rng.choice([0, 0.001, math.nan, math.inf, -1, 1e308, "1", True, None, [1], {"a": 1}])
        elif name == "error_pattern":
            value = rng.choice(REGEXES)
        else:
            value = option_value(rng)
        struct.update({name: value})
    return struct


@dataclass
class Case:
    method: str
    payload: bytes
    may_be_unavailable: bool = False
    what: str = ""
    may_expire: bool = False  # a valid but tiny timeout (5e-324 s) may pass before the work runs


def connection(rng: random.Random, driver: str, dead_port: int) -> tuple[pb.Connection, bool]:
    if driver == "netmiko":
        message = pb.Connection(host="127.0.0.1", port=dead_port, platform="cisco_ios", username="u", password="p")
    elif driver == "napalm":
        platform = rng.choice(["ios", "mock", "eos", "junos", "cisco_ios"])
        message = pb.Connection(host="127.0.0.1", port=dead_port, platform=platform, username="u", password="p")
    elif driver == "pyeapi":
        message = pb.Connection(host="127.0.0.1", port=dead_port, username="u", password="p")
    else:
        message = pb.Connection(host="null.example", username="u", password="p")
    for name in ("host", "platform", "username", "password", "secret", "private_key", "private_key_file"):
        if rng.random() < 0.12:
            setattr(message, name, hostile_string(rng))
    if rng.random() < 0.15:
        message.port = rng.choice(UINTS)
    if rng.random() < 0.15:
        message.keepalive_seconds = rng.choice(UINTS)
    if rng.random() < 0.2:
        message.connect_timeout = rng.choice(NUMBERS)
    if rng.random() < 0.4:
        message.options.CopyFrom(options(rng, driver))
    fail_open = message.options.fields["fail_open"].bool_value if "fail_open" in message.options.fields else False
    return message, driver in ("netmiko", "napalm", "pyeapi") or fail_open


def api_call(rng: random.Random) -> Value:
    """An eAPI request as Operation.api_calls carries it: mostly well-formed, often not."""
    shape = rng.randrange(5)
    if shape == 0:
        return Value(string_value=hostile_string(rng))
    if shape == 1:
        return json_format.ParseDict({"cmd": hostile_string(rng), "input": hostile_string(rng)}, Value())
    if shape == 2:
        return json_format.ParseDict({hostile_string(rng)[:100]: option_value(rng)}, Value())
    return json_format.ParseDict(option_value(rng), Value())


def operation(rng: random.Random) -> pb.Operation:
    message = pb.Operation(commands=[hostile_string(rng) for _ in range(rng.choice([0, 1, 1, 2, 4]))])
    if rng.random() < 0.03:
        message.commands.extend(["x"] * 1001)
    if rng.random() < 0.2:
        message.config.extend(hostile_string(rng) for _ in range(rng.choice([1, 2])))
        message.config_mode = rng.choice(ENUMS)  # type: ignore[assignment]
    if rng.random() < 0.3:
        message.read_timeout = rng.choice(NUMBERS)
    if rng.random() < 0.35:
        message.expect_prompt = rng.choice(REGEXES)
    if rng.random() < 0.15:
        message.parse.kind = rng.choice(ENUMS)  # type: ignore[assignment]
        # TTP templates stay small and plain: evaluating Python in them is another test's matter.
        message.parse.template = rng.choice(["", "{{ x }}", "Value X (\\S+)\n\nStart\n  ^${X} -> Record\n", "(["])
    message.save = rng.random() < 0.05
    message.stop_on_error = rng.random() < 0.3
    message.diff = rng.random() < 0.1
    if rng.random() < 0.15:
        getter_calls(rng, message)
    if rng.random() < 0.15:
        candidate(rng, message.candidate)
    if rng.random() < 0.2:
        message.encoding = rng.choice(["", "text", "json", "xml", hostile_string(rng)])
    if rng.random() < 0.15:
        message.api_calls.extend(api_call(rng) for _ in range(rng.choice([1, 2, 1001])))
    return message


GETTER_NAMES = ["get_facts", "get_config", "get_route_to", "get_factz", "", "__class__", "../x"]
# Small templates only: a render bomb costs a worker's whole timeout (another test's matter).
TEMPLATES = [
    "",
    "{{ x }}",
    "{% if %}",
    "{{ ''.__class__ }}",
    "{{ 'a' * 99999999 }}",
    "{% for i in v %}{{i}}{% endfor %}",
]


def getter_calls(rng: random.Random, message: pb.Operation) -> None:
    for _ in range(rng.choice([1, 2, 65])):
        call = message.getters.add(name=rng.choice([*GETTER_NAMES, hostile_string(rng)[:300]]))
        if rng.random() < 0.5:
            name = rng.choice(["retrieve", "full", "destination", "longer", hostile_string(rng)[:200]])
            call.arguments.update({name: option_value(rng)})


def candidate(rng: random.Random, message: pb.ConfigCandidate) -> None:
    message.action = rng.choice([*ENUMS, 1, 2, 3, 4, 5])  # type: ignore[assignment]
    if rng.random() < 0.6:
        message.config = hostile_string(rng)
    if rng.random() < 0.3:
        message.template = rng.choice([*TEMPLATES, hostile_string(rng)])
    if rng.random() < 0.3:
        message.variables.update({hostile_string(rng)[:100]: option_value(rng) for _ in range(rng.randrange(3))})
    message.replace = rng.random() < 0.3
    if rng.random() < 0.3:
        message.revert_in = rng.choice(NUMBERS)
    if rng.random() < 0.2:
        message.message = hostile_string(rng)


def labels(rng: random.Random) -> dict[str, str]:
    return {hostile_string(rng)[:200]: hostile_string(rng)[:3000] for _ in range(rng.choice([0, 0, 1, 3, 70]))}


def pick_driver(rng: random.Random) -> str:
    return rng.choice(["null"] * 7 + ["netmiko", "napalm", "pyeapi", "", hostile_string(rng)])


def execute_case(rng: random.Random, dead_port: int) -> Case:
    driver = pick_driver(rng)
    conn, unavailable = connection(rng, driver or "netmiko", dead_port)
    request = pb.ExecuteRequest(driver=driver, connection=conn, operation=operation(rng), labels=labels(rng))
    if rng.random() < 0.3:
        request.mode = rng.choice(ENUMS)  # type: ignore[assignment]
    if rng.random() < 0.3:
        request.timeout = rng.choice(NUMBERS)
    tiny = 0 < request.timeout < 1
    return Case("Execute", request.SerializeToString(), unavailable or not driver, may_expire=tiny)


def bulk_case(rng: random.Random, dead_port: int) -> Case:
    driver = pick_driver(rng)
    defaults, unavailable = connection(rng, driver or "netmiko", dead_port)
    request = pb.BulkRequest(driver=driver, defaults=defaults, operation=operation(rng), labels=labels(rng))
    for index in range(rng.choice([0, 1, 1, 3])):
        target = request.targets.add(name=hostile_string(rng)[:300] if rng.random() < 0.3 else f"t{index}")
        if rng.random() < 0.3:
            target.connection.CopyFrom(connection(rng, driver or "netmiko", dead_port)[0])
    if rng.random() < 0.02:
        request.targets.extend(pb.Target(name=f"n{i}") for i in range(10_001))
    request.concurrency = rng.choice(UINTS)
    if rng.random() < 0.3:
        request.timeout = rng.choice(NUMBERS)
    if rng.random() < 0.2:
        request.mode = rng.choice(ENUMS)  # type: ignore[assignment]
    return Case("Bulk", request.SerializeToString(), unavailable or not driver)


def transfer_case(rng: random.Random, dead_port: int) -> Case:
    driver = pick_driver(rng)
    conn, unavailable = connection(rng, driver or "netmiko", dead_port)
    mode = rng.choice(ENUMS) if rng.random() < 0.2 else 0
    kind = rng.choice(["Exec", "PutFile", "FetchFile"])
    request: Message
    if kind == "Exec":
        request = pb.ExecRequest(
            driver=driver,
            connection=conn,
            mode=mode,  # type: ignore[arg-type]
            command=hostile_string(rng),
            stdin=rng.randbytes(rng.choice([0, 10, 70_000])),
            timeout=rng.choice(NUMBERS),
        )
    elif kind == "PutFile":
        request = pb.PutFileRequest(
            driver=driver,
            connection=conn,
            mode=mode,  # type: ignore[arg-type]
            remote_path=hostile_string(rng),
            data=rng.randbytes(rng.choice([0, 100, 100_000])),
            file_mode=rng.choice([0, 0o644, 0o777, 0o4755, 0o7777, 0xFFFFFFFF]),
        )
    else:
        request = pb.FetchFileRequest(driver=driver, connection=conn, mode=mode, remote_path=hostile_string(rng))  # type: ignore[arg-type]
    tiny = isinstance(request, pb.ExecRequest) and 0 < request.timeout < 1
    return Case(kind, request.SerializeToString(), unavailable or not driver, may_expire=tiny)


def small_rpc_case(rng: random.Random, dead_port: int) -> Case:
    kind = rng.choice(["GetJob", "ListJobs", "CancelJob", "ListSessions", "CloseSession", "GetServiceInfo"])
    request: Message
    if kind in ("GetJob", "CancelJob"):
        job_id = hostile_string(rng)
        request = pb.GetJobRequest(job_id=job_id) if kind == "GetJob" else pb.CancelJobRequest(job_id=job_id)
    elif kind == "ListJobs":
        request = pb.ListJobsRequest(
            states=[rng.choice(ENUMS) for _ in range(rng.choice([0, 1, 3, 20]))],
            kind=rng.choice(ENUMS),  # type: ignore[arg-type]
            target=hostile_string(rng) if rng.random() < 0.3 else "",
            since=rng.choice(NUMBERS),
            page_size=rng.choice(UINTS),
            page_token=hostile_string(rng) if rng.random() < 0.3 else "",
            include_results=rng.random() < 0.5,
        )
    elif kind == "ListSessions":
        request = pb.ListSessionsRequest(host=hostile_string(rng), driver=hostile_string(rng))
    elif kind == "CloseSession":
        request = pb.CloseSessionRequest(
            session_id=hostile_string(rng), host=hostile_string(rng) if rng.random() < 0.5 else ""
        )
    else:
        request = pb.GetServiceInfoRequest()
    return Case(kind, request.SerializeToString())


def watch_case(rng: random.Random, dead_port: int) -> Case:
    """WatchEvents: hostile filters and sequence numbers; a valid watch is followed briefly."""
    request = pb.WatchEventsRequest(
        after_seq=rng.choice(SEQS),
        kinds=[rng.choice([*ENUMS, *range(11)]) for _ in range(rng.choice([0, 1, 3, 70]))],  # type: ignore[misc]
        job_id=hostile_string(rng) if rng.random() < 0.4 else "",
        target=hostile_string(rng) if rng.random() < 0.4 else "",
    )
    return Case("WatchEvents", request.SerializeToString(), may_expire=True)


def garbage_case(rng: random.Random, dead_port: int) -> Case:
    """Bytes that are not the method's message: invalid UTF-8 in a string field, or noise."""
    method = rng.choice(["Execute", "Bulk", "Exec", "PutFile", "FetchFile", "GetJob", "CancelJob", "ListSessions"])
    if rng.random() < 0.5:
        bad = rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"a\x80b"])
        payload = b"\x0a" + bytes([len(bad)]) + bad  # field 1 (a string in each of these) with invalid UTF-8
    else:
        payload = rng.randbytes(rng.choice([1, 7, 64, 4096]))
    return Case(method, payload, may_be_unavailable=True, what="garbage")


GENERATORS: list[tuple[Callable[[random.Random, int], Case], int]] = [
    (execute_case, 40),
    (bulk_case, 12),
    (transfer_case, 15),
    (small_rpc_case, 20),
    (watch_case, 3),
    (garbage_case, 13),
]


def cases(rng: random.Random, dead_port: int) -> Iterator[Case]:
    makers = [maker for maker, weight in GENERATORS for _ in range(weight)]
    while True:
        yield rng.choice(makers)(rng, dead_port)


def send(channel: grpc.Channel, case: Case) -> tuple[grpc.StatusCode, str]:
    path = PATHS.get(case.method, f"/tether.v1.Tether/{case.method}")
    try:
        if case.method in STREAMING:
            timeout = WATCH_SECONDS if case.method == "WatchEvents" else 30
            for _ in channel.unary_stream(path)(case.payload, timeout=timeout):
                pass
        else:
            channel.unary_unary(path)(case.payload, timeout=30)
    except grpc.RpcError as error:
        return error.code(), error.details() or ""  # type: ignore[attr-defined]
    return grpc.StatusCode.OK, ""


def acceptable(case: Case, code: grpc.StatusCode, details: str) -> bool:
    if code == grpc.StatusCode.OK or code in CLIENT_ERRORS:
        return len(details) <= 2_000
    if code == grpc.StatusCode.UNAVAILABLE:
        return case.may_be_unavailable
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return case.may_expire
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return len(case.payload) > MAX_MESSAGE_BYTES  # grpc's own answer, before tetherd sees it
    return False


def rss(daemon: Tetherd) -> int:
    assert daemon.process is not None
    return int(psutil.Process(daemon.process.pid).memory_info().rss)


def answers_a_good_request(channel: grpc.Channel) -> bool:
    request = pb.ExecuteRequest(
        driver="null", connection=pb.Connection(host="good.example"), operation=pb.Operation(commands=["fine"])
    )
    response = pb.ExecuteResponse.FromString(
        channel.unary_unary("/tether.v1.Tether/Execute")(request.SerializeToString(), timeout=30)
    )
    return response.ok and response.results[0].output == "fine"


@pytest.mark.slow
def test_fuzz_every_rpc(tetherd: Tetherd, unused_port: int) -> None:
    rng = random.Random(SEED)
    channel = grpc.insecure_channel(tetherd.endpoint, options=[("grpc.max_receive_message_length", 64 << 20)])
    assert answers_a_good_request(channel)
    rss_before = rss(tetherd)
    violations: list[str] = []
    counts: dict[str, int] = {}
    started = time.monotonic()
    sent = 0
    for case in cases(rng, unused_port):
        if sent >= CASES or time.monotonic() - started > TIME_BUDGET:
            break
        sent += 1
        code, details = send(channel, case)
        counts[code.name] = counts.get(code.name, 0) + 1
        if not acceptable(case, code, details):
            violations.append(f"{case.method} {case.what} ({len(case.payload)} bytes): {code.name}: {details[:300]}")
    elapsed = time.monotonic() - started
    rss_after = rss(tetherd)
    print(
        f"\nfuzz seed={SEED}: {sent} requests in {elapsed:.1f}s, statuses {dict(sorted(counts.items()))}; "
        f"tetherd RSS {rss_before / 2**20:.0f} MB before, {rss_after / 2**20:.0f} MB after"
    )
    assert not violations, f"{len(violations)} unacceptable answers (seed {SEED}):\n" + "\n".join(violations[:15])
    assert answers_a_good_request(channel)
    assert rss_after - rss_before < RSS_GROWTH_LIMIT
    assert "Traceback" not in tetherd.log()
    channel.close()


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind: int, flags: int, stream: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def raw_payloads(rng: random.Random) -> list[bytes]:
    settings = h2_frame(4, 0, 0, b"")
    return [
        rng.randbytes(65_536),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        H2_PREFACE[:10],
        H2_PREFACE + rng.randbytes(4096),
        H2_PREFACE + h2_frame(4, 0, 0, b"", length=0xFFFFFF),  # a SETTINGS frame claiming 16 MB
        H2_PREFACE + settings + h2_frame(1, 0x4 | 0x1, 1, rng.randbytes(200)),  # HEADERS of garbage HPACK
        H2_PREFACE + settings + h2_frame(0, 0, 1, b"\x00\xff\xff\xff\xff"),  # DATA on a stream never opened
        H2_PREFACE + settings + h2_frame(8, 0, 0, b"\x7f\xff\xff\xff"),  # WINDOW_UPDATE to the max
        H2_PREFACE + settings + b"".join(h2_frame(6, 0, 0, b"\0" * 8) for _ in range(2000)),  # a PING flood
    ]


def test_raw_bytes_on_the_socket_leave_the_service_answering(tetherd: Tetherd) -> None:
    rng = random.Random(SEED)
    channel = grpc.insecure_channel(tetherd.endpoint)
    for payload in raw_payloads(rng):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.settimeout(2.0)
            raw.connect(str(tetherd.socket))
            try:
                raw.sendall(payload)
                raw.recv(65_536)
            except OSError:
                pass  # the service may close on us: that is the point
        assert answers_a_good_request(channel), payload[:40]
    assert "Traceback" not in tetherd.log()
    channel.close()


def test_unparsable_bytes_are_invalid_argument_on_every_service(tetherd: Tetherd) -> None:
    """tether's own RPCs, health (Check, and Watch, a streaming writer) and reflection keep working."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel = grpc.insecure_channel(tetherd.endpoint)
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == health_pb2.HealthCheckResponse.SERVING
    watch = health.Watch(health_pb2.HealthCheckRequest(), timeout=10)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    listing = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    assert "tether.v1.Tether" in {s.name for s in next(listing).list_services_response.service}
    not_utf8 = b"\x0a\x02\xff\xfe"
    for path, streaming in [
        ("/tether.v1.Tether/Execute", False),
        ("/tether.v1.Tether/Bulk", True),
        ("/grpc.health.v1.Health/Check", False),
        ("/grpc.health.v1.Health/Watch", True),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            if streaming:
                list(channel.unary_stream(path)(not_utf8, timeout=10))
            else:
                channel.unary_unary(path)(not_utf8, timeout=10)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path  # type: ignore[attr-defined]
        assert "not a valid message" in error.value.details()  # type: ignore[attr-defined]
    assert "Traceback" not in tetherd.log()
    channel.close()
