"""Every failure through the one status table: code, reason and rich details (google.rpc.Status),
against real tetherd processes (null driver, the switch simulator)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
from pathlib import Path
from typing import Any

import google.rpc.error_details_pb2 as error_details_pb2
import grpc
import pytest
from grpc_status import rpc_status

from tests.harness import Tetherd, free_port, wait_until
from tests.service.test_switches import conn
from tests.tls import make_cert
from tether.api import status
from tether.client import TetherError
from tether.core.pool import PoolExhausted
from tether.drivers.contract import AuthFailed, InvalidRequest, MissingCapability
from tether.v1 import devices_pb2_grpc
from tether.v1 import messages as pb

NULL = {"host": "null.example", "username": "u", "password": "pw"}


def rich(error: grpc.RpcError) -> dict[str, Any]:
    """The details of a raw call's rich status, by type."""
    found = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert found is not None, "no google.rpc.Status in the trailers"
    details: dict[str, Any] = {}
    for kind in (
        error_details_pb2.ErrorInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.PreconditionFailure,
        error_details_pb2.RetryInfo,
    ):
        for detail in found.details:
            message = kind()
            if detail.Unpack(message):
                details[kind.__name__] = message
    return details


def test_invalid_field_names_the_field_with_a_bad_request_detail(tetherd: Tetherd) -> None:
    client = tetherd.client()
    with pytest.raises(TetherError) as error:
        client.execute({**NULL, "port": 70000}, ["x"], driver="null")
    assert error.value.code == "INVALID_ARGUMENT"
    assert error.value.reason == "INVALID_FIELD"
    assert error.value.field == "connection.port"
    assert "70000" in error.value.message  # the existing message stays
    with grpc.insecure_channel(tetherd.endpoint) as channel, pytest.raises(grpc.RpcError) as raw:
        request = pb.ExecuteRequest(
            driver="null", connection=pb.Connection(host="h", port=70000), operation=pb.Operation(commands=["x"])
        )
        devices_pb2_grpc.DevicesStub(channel).Execute(request, timeout=30)
    details = rich(raw.value)
    assert details["ErrorInfo"].domain == "tether.v1"
    assert details["ErrorInfo"].reason == "INVALID_FIELD"
    (violation,) = details["BadRequest"].field_violations
    assert violation.field == "connection.port"


def test_a_bulk_target_field_is_named_with_its_index(tetherd: Tetherd) -> None:
    request = pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="pw"),
        operation=pb.Operation(commands=["x"]),
        targets=[
            pb.Target(connection=pb.Connection(host="a.example")),
            pb.Target(connection=pb.Connection(host="b.example", keepalive_seconds=10**9)),
        ],
    )
    with pytest.raises(TetherError) as error:
        list(tetherd.client().bulk(request))
    assert error.value.code == "INVALID_ARGUMENT"
    assert error.value.field == "targets[1].connection.keepalive_seconds"


def test_a_request_without_a_field_path_is_invalid_request(tetherd: Tetherd) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().execute({**NULL, "options": {"bogus": 1}}, ["x"], driver="null")
    assert (error.value.code, error.value.reason, error.value.field) == ("INVALID_ARGUMENT", "INVALID_REQUEST", "")


def test_missing_capability_is_a_precondition_failure_naming_it(tetherd: Tetherd) -> None:
    client = tetherd.client()
    with pytest.raises(TetherError) as error:
        client.exec_command(NULL, "uptime", driver="null")
    assert error.value.code == "FAILED_PRECONDITION"
    assert error.value.reason == "MISSING_CAPABILITY"
    assert error.value.metadata["capability"] == "exec"
    assert error.value.metadata["driver"] == "null"
    with grpc.insecure_channel(tetherd.endpoint) as channel, pytest.raises(grpc.RpcError) as raw:
        request = pb.FetchFileRequest(driver="null", connection=pb.Connection(host="h"), remote_path="/etc/motd")
        devices_pb2_grpc.DevicesStub(channel).FetchFile(request, timeout=30)
    (violation,) = rich(raw.value)["PreconditionFailure"].violations
    assert (violation.type, violation.subject) == ("CAPABILITY", "null")
    assert "file_transfer" in violation.description


def test_device_failures_carry_reason_driver_and_target(tetherd: Tetherd, switches: Any, unused_port: int) -> None:
    client = tetherd.client()
    switch = switches.switches[5]
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch, password="wrong-pass-4411"), ["show version"])
    assert (error.value.code, error.value.reason) == ("PERMISSION_DENIED", "AUTH_FAILED")
    assert error.value.metadata == {"driver": "netmiko", "target": f"{switch.host}:{switch.port}"}
    assert "wrong-pass-4411" not in str(error.value) + str(error.value.metadata)
    with pytest.raises(TetherError) as error:
        client.execute(conn(switch, port=unused_port), ["show version"])
    assert (error.value.code, error.value.reason) == ("UNAVAILABLE", "CONNECT_FAILED")
    assert error.value.metadata["target"] == f"{switch.host}:{unused_port}"


def test_deadline_and_job_not_found(tetherd: Tetherd) -> None:
    client = tetherd.client()
    with pytest.raises(TetherError) as error:
        client.execute({**NULL, "options": {"hang": 30}}, ["x"], driver="null", timeout=0.5)
    assert (error.value.code, error.value.reason) == ("DEADLINE_EXCEEDED", "DEADLINE")
    with pytest.raises(TetherError) as error:
        client.get_job("no-such-job")
    assert (error.value.code, error.value.reason) == ("NOT_FOUND", "JOB_NOT_FOUND")


def test_pool_exhausted_says_when_to_retry(tetherd_factory: Any) -> None:
    daemon = tetherd_factory("--max-sessions", "1")
    client, watcher = daemon.client(), daemon.client()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        busy = pool.submit(client.execute, {**NULL, "options": {"delay": 5}}, ["x"], driver="null")
        # The one slot must be taken and busy (not evictable) before the second call comes.
        wait_until(
            lambda: [s.state for s in watcher.list_sessions()] == [pb.SESSION_STATE_BUSY],
            timeout=30,
            what="the delayed session to be busy",
        )
        with pytest.raises(TetherError) as error:
            watcher.execute({**NULL, "host": "other.example"}, ["x"], driver="null")
        assert busy.result(30).ok
    assert (error.value.code, error.value.reason) == ("RESOURCE_EXHAUSTED", "POOL_EXHAUSTED")
    assert error.value.retry_after == status.POOL_RETRY_SECONDS


def test_malformed_bytes_and_a_wrong_token_get_their_reasons(tetherd: Tetherd, tmp_path: Path) -> None:
    with grpc.insecure_channel(tetherd.endpoint) as channel, pytest.raises(grpc.RpcError) as raw:
        channel.unary_unary("/tether.v1.Devices/Execute")(b"\xff\xff\xff", timeout=30)
    assert raw.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert rich(raw.value)["ErrorInfo"].reason == "MALFORMED_REQUEST"
    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("t0ken-value\n")
    token_file.chmod(0o600)
    args = ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)]
    daemon = Tetherd(tmp_path / "tls", args, listen=f"127.0.0.1:{free_port()}").start()
    try:
        with pytest.raises(TetherError) as error:
            daemon.client(tls_ca=str(cert), token="wrong").info()
        assert (error.value.code, error.value.reason) == ("UNAUTHENTICATED", "TOKEN_REJECTED")
    finally:
        daemon.stop()


def test_cli_shows_the_details(tetherd: Tetherd) -> None:
    main = "import sys; from tether.cli.tether import main; sys.exit(main())"
    command = [sys.executable, "-c", main, "--endpoint", tetherd.endpoint, "exec"]
    done = subprocess.run(
        [*command, "--driver", "null", "--port", "70000", "null.example", "show x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "reason INVALID_FIELD (field connection.port)" in done.stderr


def test_the_table_classifies_with_context_and_bounds() -> None:
    failure = status.classify(AuthFailed("denied"), driver="netmiko", target="h:22")
    assert (failure.code, failure.reason) == ("PERMISSION_DENIED", "AUTH_FAILED")
    assert dict(failure.metadata) == {"driver": "netmiko", "target": "h:22"}
    missing = status.classify(MissingCapability("null", "", frozenset({"exec"})))  # type: ignore[arg-type]
    assert (missing.reason, missing.capabilities) == ("MISSING_CAPABILITY", ("exec",))
    # Only real field paths become a BadRequest; descriptions of a value do not.
    assert status.classify(InvalidRequest("x", "targets[3].connection.port")).field == "targets[3].connection.port"
    assert status.classify(InvalidRequest("x", "a label name")).field == ""
    assert status.classify(PoolExhausted("busy")).retry_after > 0
    long = status.rich_status(status.classify(InvalidRequest("y" * 100_000, "command")))
    assert len(long.message) < status.MAX_STATUS_MESSAGE + 100
    assert status.classify(ValueError("boom")).code == "INTERNAL"


@pytest.mark.parametrize("character", ["a", "\u00e9", "\u754c", "\x01"])
def test_a_long_message_of_any_characters_keeps_its_status_and_details(character: str) -> None:
    """The trailers stay under the client's cap: the message twice (plain, rich) and a field violation."""
    text = character * 5_000

    async def handler(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        await status.abort(context, InvalidRequest(text, "connection.host"), driver="netmiko", target="h:22")
        return b""

    async def serve_and_call() -> TetherError:
        server = grpc.aio.server()
        methods = {"M": grpc.unary_unary_rpc_method_handler(handler)}
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("t.T", methods),))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()

        def call() -> TetherError:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                try:
                    channel.unary_unary("/t.T/M")(b"", timeout=30)
                except grpc.RpcError as error:
                    return TetherError.from_rpc(error)
            raise AssertionError("the call succeeded")

        try:
            return await asyncio.to_thread(call)
        finally:
            await server.stop(0)

    error = asyncio.run(serve_and_call())
    assert (error.code, error.reason, error.field) == ("INVALID_ARGUMENT", "INVALID_FIELD", "connection.host")
    assert len(error.message.encode()) <= status.MAX_STATUS_MESSAGE + 40
    assert error.message.endswith("(5000 characters)")
