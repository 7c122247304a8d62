"""tetherd's pyeapi driver against simulated Arista switches serving eAPI (fake-switches, tests/peers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Value

from tests.harness import Tetherd
from tests.peers.tls_front import TlsFront
from tether.client import TetherError, connection_message, operation_message
from tether.v1 import messages as pb


def eapi(switch: Any, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "host": switch.host,
        "port": switch.eapi_port,
        "username": switch.username,
        "password": switch.password,
        "options": {"transport": "http"},
    }
    values.update(overrides)
    return values


def request(
    connection: dict[str, Any],
    commands: list[str] = (),  # type: ignore[assignment]
    *,
    driver: str = "pyeapi",
    encoding: str = "",
    api_calls: list[Any] = (),  # type: ignore[assignment]
    **operation: Any,
) -> pb.ExecuteRequest:
    extra = {key: operation.pop(key) for key in ("diff", "config_mode") if key in operation}
    op = operation_message(commands, **operation)
    op.encoding = encoding
    for key, value in extra.items():
        setattr(op, key, value)
    for call in api_calls:
        op.api_calls.append(json_format.ParseDict(call, Value()))
    return pb.ExecuteRequest(driver=driver, connection=connection_message(connection), operation=op)


def data(result: pb.CommandResult) -> Any:
    return json_format.MessageToDict(result.data)


def test_show_commands_answer_data_unless_text_is_asked(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[0]
    structured = client.run(request(eapi(switch), ["show version", "show vlan"]))
    assert structured.ok, structured
    version, vlans = structured.results
    assert data(version)["modelName"] == "vEOS" and data(version)["version"] == "4.23.0F"
    assert data(vlans)["vlans"]["1"]["name"] == "default"
    assert json.loads(version.output)["modelName"] == "vEOS"  # the text form of the data
    explicit = client.run(request(eapi(switch), ["show version"], encoding="json"))
    assert data(explicit.results[0]) == {**data(version), "uptime": data(explicit.results[0])["uptime"]}

    text = client.run(request(eapi(switch), ["show version", "show vlan"], encoding="text"))
    assert text.ok
    assert text.results[0].output.startswith("Arista vEOS") and not text.results[0].HasField("data")
    assert text.results[1].output.startswith("VLAN  Name")


def test_config_lines_running_config_and_save(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[1]
    response = client.run(
        request(eapi(switch), ["show vlan 77"], config=["vlan 77", "name by-tetherd"], save=True, diff=True)
    )
    assert response.ok, response
    assert response.config.changed and response.config.saved
    assert "vlan 77" not in response.config.before and "vlan 77\n   name by-tetherd" in response.config.after
    assert data(response.results[-1])["vlans"]["77"]["name"] == "by-tetherd"
    # merge: a line already there is not sent again
    again = client.run(request(eapi(switch), [], config=["vlan 77"], config_mode=pb.CONFIG_MODE_MERGE))
    assert again.ok and not again.config.changed
    rejected = client.run(request(eapi(switch), [], config=["vlan 78", "bogus line"]))
    assert not rejected.ok
    assert rejected.results[0].status == pb.RESULT_STATUS_FAILED
    assert "'bogus line' failed: invalid command" in rejected.results[0].error


def test_warm_session_reused_one_connection(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[2]
    responses = [client.run(request(eapi(switch), ["show vlan"])) for _ in range(25)]
    assert all(r.ok for r in responses)
    assert [r.meta.session_reused for r in responses] == [False] + [True] * 24
    counters = tetherd.counters()
    assert counters["connections_opened"] == 1
    (session,) = client.list_sessions(host=switch.host)
    assert session.driver == "pyeapi" and session.use_count == 25


def test_service_info_publishes_the_driver(tetherd: Tetherd) -> None:
    (info,) = [d for d in tetherd.client().info().driver_info if d.name == "pyeapi"]
    assert not info.load_error and info.default_port == 443
    assert set(info.capabilities) == {
        "commands", "structured_output", "config", "running_config", "save_config", "api_calls"
    }  # fmt: skip


def test_wrong_password_is_permission_denied_and_never_shown(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[3]
    with pytest.raises(TetherError) as error:
        client.run(request(eapi(switch, password="not-the-password-xyz"), ["show version"]))
    assert error.value.code == "PERMISSION_DENIED"
    assert f"{switch.username}@{switch.host}:{switch.eapi_port}: eAPI refused the credentials" in error.value.message
    assert "not-the-password-xyz" not in error.value.message
    assert "not-the-password-xyz" not in tetherd.log()


def test_unreachable_port_is_unavailable(tetherd: Tetherd, unused_port: int, eapi_switches: Any) -> None:
    switch = eapi_switches.switches[0]
    with pytest.raises(TetherError) as error:
        tetherd.client().run(request(eapi(switch, port=unused_port), ["show version"]))
    assert error.value.code == "UNAVAILABLE"
    assert "eAPI unreachable: ConnectionRefusedError" in error.value.message


def test_api_calls_answer_data_per_call(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[0]
    calls = ["configure", "vlan 91", "name via-api", "exit", {"cmd": "show vlan 91"}, "show version"]
    response = client.run(request(eapi(switch), api_calls=calls))
    assert response.ok, response
    assert [r.command for r in response.results] == [c if isinstance(c, str) else c["cmd"] for c in calls]
    assert data(response.results[4])["vlans"]["91"]["name"] == "via-api"
    assert data(response.results[5])["modelName"] == "vEOS"
    text = client.run(request(eapi(switch), api_calls=["show vlan 91"], encoding="text"))
    assert "via-api" in text.results[0].output
    failed = client.run(request(eapi(switch), api_calls=["show vlan", "show nonsense"]))
    assert not failed.ok
    assert all(r.status == pb.RESULT_STATUS_FAILED for r in failed.results)
    assert "CLI command 2 of 2 'show nonsense' failed" in failed.results[0].error
    job = client.get_job(failed.job_id)
    assert list(job.commands) == ["show vlan", "show nonsense"]


def test_structured_answers_are_redacted(tetherd: Tetherd, eapi_switches: Any) -> None:
    """A connection secret inside a device's JSON answer never reaches the result (data or text)."""
    client = tetherd.client()
    switch = eapi_switches.switches[3]
    calls = ["configure", "vlan 93", f"name {switch.password}", "exit", "show vlan 93"]
    response = client.run(request(eapi(switch), ["show vlan 93"], api_calls=calls))
    assert response.ok, response
    for result in (response.results[4], response.results[5]):
        assert data(result)["vlans"]["93"]["name"] == "********"
        assert switch.password not in result.output and switch.password not in str(result.data)


def test_bulk_over_eapi_answers_data_per_target(tetherd: Tetherd, eapi_switches: Any) -> None:
    switches = eapi_switches.switches[:3]
    bulk = pb.BulkRequest(
        driver="pyeapi",
        defaults=connection_message({"username": "admin", "password": "admin-pw", "options": {"transport": "http"}}),
        operation=pb.Operation(commands=["show version"], encoding="json"),
    )
    for switch in switches:
        bulk.targets.add(name=switch.name, connection=pb.Connection(host=switch.host, port=switch.eapi_port))
    events = list(tetherd.client().bulk(bulk))
    finished = [e.finished for e in events if e.WhichOneof("event") == "finished"]
    assert sorted(f.target for f in finished) == sorted(s.name for s in switches)
    assert all(f.ok and data(f.results[0])["modelName"] == "vEOS" for f in finished)


def test_unix_socket_transport(tetherd: Tetherd, eapi_switches: Any) -> None:
    switch = eapi_switches.switches[1]
    connection = {"host": "localhost", "options": {"transport": "socket", "path": switch.eapi_socket}}
    response = tetherd.client().run(request(connection, ["show version"]))
    assert response.ok and data(response.results[0])["modelName"] == "vEOS"


def test_encoding_json_is_refused_for_netmiko_before_any_io(tetherd: Tetherd, unused_port: int) -> None:
    connection = {"host": "127.0.0.1", "port": unused_port, "platform": "cisco_ios", "username": "u", "password": "p"}
    with pytest.raises(TetherError) as error:
        tetherd.client().run(request(connection, ["show version"], driver="netmiko", encoding="json"))
    assert error.value.code == "FAILED_PRECONDITION"
    assert "lacks the capability structured_output" in error.value.message
    with pytest.raises(TetherError) as error:
        tetherd.client().run(request(connection, driver="netmiko", api_calls=["show version"]))
    assert error.value.code == "FAILED_PRECONDITION" and "api_calls" in error.value.message
    assert tetherd.counters().get("connections_opened", 0) == 0


BAD_REQUESTS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"options": {"transport": "ftp"}}, {}, "'transport' must be one of https, http, socket: 'ftp'"),
    ({"options": {"transport": "http", "verify": False}}, {}, "'verify' is for transport 'https' only"),
    ({"options": {"transport": "http", "timeout": 3}}, {}, "unknown pyeapi option 'timeout'"),
    ({"options": {"transport": "http", "ca_cert": "x"}}, {}, "'ca_cert' is for transport 'https' only"),
    ({"options": {"transport": "http", "path": "/x"}}, {}, "'path' is for transport 'socket' only"),
    ({}, {"encoding": "xml"}, "operation.encoding must be empty, 'text' or 'json': 'xml'"),
    ({}, {"api_calls": [{"cmd": "show version", "extra": "1"}]}, "operation.api_calls[0] has an unknown key"),
    ({}, {"api_calls": [{"input": "x"}]}, "operation.api_calls[0] needs a cmd"),
    ({}, {"api_calls": [3]}, "operation.api_calls[0] must be a command string or {cmd, input}"),
    ({}, {"api_calls": ["show\nversion"]}, "operation.api_calls[0] contains a line break"),
    ({}, {"api_calls": [{"cmd": "x", "input": "y" * 70_000}]}, "operation.api_calls[0].input is 70000"),
    ({}, {"encoding": "json", "parse": "textfsm"}, "operation.parse needs text output"),
]


def test_bad_requests_are_invalid_argument(tetherd: Tetherd, eapi_switches: Any) -> None:
    client = tetherd.client()
    switch = eapi_switches.switches[0]
    for connection, operation, expected in BAD_REQUESTS:
        options = {"commands": ["show version"], **operation}
        with pytest.raises(TetherError) as error:
            client.run(request(eapi(switch, **connection), **options))
        assert error.value.code == "INVALID_ARGUMENT", (operation, error.value)
        assert expected in error.value.message
    assert tetherd.counters().get("connections_opened", 0) == 0


@pytest.fixture
def https_front(eapi_switches: Any, tmp_path: Path) -> Iterator[TlsFront]:
    switch = eapi_switches.switches[2]
    front = TlsFront((switch.host, switch.eapi_port), tmp_path)
    yield front
    front.stop()


def test_https_verifies_the_certificate(tetherd: Tetherd, eapi_switches: Any, https_front: TlsFront) -> None:
    """A self-signed device certificate is refused unless the client gives it as ca_cert for this connection."""
    client = tetherd.client()
    switch = eapi_switches.switches[2]
    https = eapi(switch, port=https_front.port, options={"transport": "https"})
    with pytest.raises(TetherError) as error:
        client.run(request(https, ["show version"]))
    assert error.value.code == "UNAVAILABLE" and "CERTIFICATE_VERIFY_FAILED" in error.value.message
    pinned = eapi(switch, port=https_front.port, options={"transport": "https", "ca_cert": https_front.cert_pem})
    responses = [client.run(request(pinned, ["show version"])) for _ in range(3)]
    assert all(r.ok for r in responses) and data(responses[0].results[0])["modelName"] == "vEOS"
    assert [r.meta.session_reused for r in responses] == [False, True, True]


def _driver(switch: Any, **spec: Any) -> Any:
    from tether.drivers.contract import ConnectionSpec, Secret
    from tether.drivers.pyeapi_driver import PyeapiDriver

    values: dict[str, Any] = {
        "host": switch.host,
        "port": switch.eapi_port,
        "username": switch.username,
        "password": Secret(switch.password),
        "options": {"transport": "http"},
    }
    values.update(spec)
    connection = ConnectionSpec(**values)
    PyeapiDriver.validate(connection)
    driver = PyeapiDriver(connection)
    driver.open()
    return driver


def test_keep_alive_carries_every_request_on_one_tcp_connection(eapi_switches: Any) -> None:
    from tether.drivers.contract import CommandOptions

    driver = _driver(eapi_switches.switches[3])
    try:
        for _ in range(30):
            driver.run_command("show vlan", CommandOptions())
        driver.probe()
        assert driver.connects == 1
    finally:
        driver.close()
    assert not driver.usable()


def test_output_cap_and_a_fresh_connection_after_it(eapi_switches: Any) -> None:
    from tether.drivers.contract import CommandOptions, OutputLimitExceeded

    options = {"transport": "http", "probe_command": "show vlan 1"}
    driver = _driver(eapi_switches.switches[3], max_output_bytes=600, options=options)  # show version: ~700 bytes
    try:
        with pytest.raises(OutputLimitExceeded, match="eAPI response exceeded max_output_bytes"):
            driver.run_command("show version", CommandOptions())
        assert driver.run_command("show vlan 1", CommandOptions()).data["vlans"]["1"]["name"] == "default"
        assert driver.connects == 2  # the cut-off response's connection was closed, a new one opened
    finally:
        driver.close()


def test_restarted_device_is_reconnected_before_sending(own_eapi_switch: Any) -> None:
    from tether.drivers.contract import CommandOptions

    driver = _driver(own_eapi_switch.switches[0])
    try:
        own_eapi_switch.restart()  # the device closes the idle keep-alive connection
        assert driver.run_command("show vlan", CommandOptions()).data["vlans"]
        assert driver.connects == 2
    finally:
        driver.close()


def test_no_answer_in_read_timeout_then_a_fresh_connection(own_eapi_switch: Any) -> None:
    import os
    import signal

    from tether.drivers.contract import CommandOptions, CommandTimeout

    driver = _driver(own_eapi_switch.switches[0])
    assert own_eapi_switch.pid is not None
    try:
        os.kill(own_eapi_switch.pid, signal.SIGSTOP)  # the device hangs with our request in its socket
        try:
            with pytest.raises(CommandTimeout, match="no eAPI answer within 0.5s"):
                driver.run_command("show vlan", CommandOptions(read_timeout=0.5))
        finally:
            os.kill(own_eapi_switch.pid, signal.SIGCONT)
        assert driver.usable()
        assert driver.run_command("show vlan", CommandOptions()).data["vlans"]  # never the late answer
        assert driver.connects == 2
    finally:
        driver.close()


def test_an_http_error_page_is_a_command_failure(tmp_path: Path) -> None:
    """Without the simulator's eapi-errors patch, `show bogus` answers HTTP 500 with an HTML page."""
    from tests.peers.switches import start_switches
    from tether.drivers.contract import CommandFailed, CommandOptions

    farm = start_switches(1, eapi=True, disable_patches=["eapi-errors"], workdir=tmp_path / "farm")
    driver = _driver(farm.switches[0])
    try:
        with pytest.raises(CommandFailed, match="eAPI answered HTTP 500 Internal Server Error without a JSON-RPC"):
            driver.run_command("show bogus", CommandOptions())
        assert driver.run_command("show vlan", CommandOptions()).data["vlans"]
    finally:
        driver.close()
        farm.stop()


def test_socket_path_follows_the_key_file_rule(eapi_switches: Any) -> None:
    """A socket path is a local file the service opens: on a shared service only inside key_dirs."""
    from tether.drivers import _ssh_policy
    from tether.drivers.contract import ConnectionSpec

    switch = eapi_switches.switches[0]
    spec = ConnectionSpec(host="", port=0, options={"transport": "socket", "path": switch.eapi_socket})
    saved = _ssh_policy.current()
    try:
        _ssh_policy.configure(_ssh_policy.SshPolicy(restrict_key_files=True, key_dirs=("/nonexistent",)))
        with pytest.raises(_ssh_policy.KeyPolicyRefused, match="pyeapi option 'path' .* is not inside"):
            _driver(switch, **{"host": spec.host, "port": 0, "options": spec.options})
        socket_dir = str(Path(switch.eapi_socket).resolve().parent)
        _ssh_policy.configure(_ssh_policy.SshPolicy(restrict_key_files=True, key_dirs=(socket_dir,)))
        driver = _driver(switch, **{"host": spec.host, "port": 0, "options": spec.options})
        driver.close()
    finally:
        _ssh_policy.configure(saved)


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog) and never answers."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    yield int(listener.getsockname()[1])
    listener.close()


def test_a_silent_device_times_out_and_abort_unblocks(eapi_switches: Any, silent_listener: int) -> None:
    import threading
    import time

    from tether.drivers.contract import ConnectFailed, ConnectionSpec, DriverError, Secret, SessionLost
    from tether.drivers.pyeapi_driver import PyeapiDriver

    switch = eapi_switches.switches[0]
    started = time.monotonic()
    with pytest.raises(ConnectFailed, match="eAPI unreachable: TimeoutError"):
        _driver(switch, port=silent_listener, connect_timeout=0.5)
    assert time.monotonic() - started < 10

    spec = ConnectionSpec(
        host=switch.host,
        port=silent_listener,
        username=switch.username,
        password=Secret(switch.password),
        options={"transport": "http"},
        connect_timeout=60,
    )
    driver = PyeapiDriver(spec)
    errors: list[DriverError] = []

    def open_it() -> None:
        try:
            driver.open()
        except DriverError as exc:
            errors.append(exc)

    opener = threading.Thread(target=open_it)
    opener.start()
    time.sleep(0.3)
    started = time.monotonic()
    driver.abort()
    opener.join(10)
    assert not opener.is_alive() and time.monotonic() - started < 5
    assert len(errors) == 1 and isinstance(errors[0], SessionLost), errors


@pytest.fixture
def own_eapi_switch() -> Iterator[Any]:
    from tests.peers.switches import start_switches

    farm = start_switches(1, eapi=True)
    yield farm
    farm.stop()


def test_unverified_tls_only_where_the_operator_allows_it(
    tetherd_factory: Any, eapi_switches: Any, https_front: TlsFront
) -> None:
    switch = eapi_switches.switches[2]
    unverified = eapi(switch, port=https_front.port, options={"transport": "https", "verify": False})
    shared = tetherd_factory()
    with pytest.raises(TetherError) as error:
        shared.client().run(request(unverified, ["show version"]))
    assert error.value.code == "PERMISSION_DENIED" and "allow_unverified_tls" in error.value.message
    assert shared.counters().get("connections_opened", 0) == 0
    assert https_front.handshakes_failed == 0  # refused before connecting

    lenient = tetherd_factory(env={"TETHER_ALLOW_UNVERIFIED_TLS": "true"}, name="lenient")
    response = lenient.client().run(request(unverified, ["show version"]))
    assert response.ok and data(response.results[0])["modelName"] == "vEOS"


def test_client_certificate_over_https(tetherd: Tetherd, eapi_switches: Any, tmp_path: Path) -> None:
    from tests.tls import make_cert

    (tmp_path / "client").mkdir()
    client_cert, client_key = make_cert(tmp_path / "client")
    switch = eapi_switches.switches[1]
    front = TlsFront((switch.host, switch.eapi_port), tmp_path, client_ca=client_cert)
    try:
        pinned = {"transport": "https", "ca_cert": front.cert_pem}
        client = tetherd.client()
        with pytest.raises(TetherError) as error:
            client.run(request(eapi(switch, port=front.port, options=pinned), ["show version"]))
        assert error.value.code == "UNAVAILABLE"
        key = client_key.read_text()
        with_cert = eapi(
            switch, port=front.port, options=pinned, tls_client_cert=client_cert.read_text(), tls_client_key=key
        )
        responses = [client.run(request(with_cert, ["show version"])) for _ in range(2)]
        assert all(r.ok for r in responses) and responses[1].meta.session_reused
        half = eapi(switch, port=front.port, options=pinned, tls_client_cert=client_cert.read_text())
        with pytest.raises(TetherError, match="tls_client_cert and tls_client_key go together"):
            client.run(request(half, ["show version"]))
        key_line = key.splitlines()[1]
        assert key_line not in tetherd.log()
    finally:
        front.stop()
