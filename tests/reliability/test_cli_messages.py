"""What a user reads when something is wrong: typos, peers that are not SSH servers, no
service running, ``--help``, the session listing, and the exact output text.

Every peer is real: loopback TCP listeners this test starts (one closes at once, one never
speaks, one speaks another protocol, one an old SSH), real tetherd processes, the switch
simulator and netmiko itself for the output comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Tetherd, free_port, wait_until
from tether.client import TetherError
from tether.config import default_socket
from tether.embedded import local_socket_answers

TETHER = [sys.executable, "-c", "import sys; from tether.cli.tether import main; sys.exit(main())"]
BANNED_NETMIKO_WORDS = ("conn_timeout", "device_type", "Common causes", "ConnectHandler")


def device(port: int, **overrides: Any) -> dict[str, Any]:
    values = {
        "host": "127.0.0.1",
        "port": port,
        "platform": "cisco_ios",
        "username": "admin",
        "password": "never-sent-pw",
        "connect_timeout": 5.0,
    }
    values.update(overrides)
    return values


# -- typos ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "best"),
    [("cisco_iso", "cisco_ios"), ("dell_os10x", "dell_os10"), ("Cisco-IOS", "cisco_ios"), ("junos", "juniper_junos")],
)
def test_a_platform_typo_suggests_the_closest_platform_first(tetherd: Tetherd, platform: str, best: str) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().execute(device(free_port(), platform=platform), ["show version"])
    assert error.value.code == "INVALID_ARGUMENT"
    assert f"did you mean {best}" in error.value.message, error.value.message
    assert error.value.message.count(",") <= 3, "a few suggestions only, not the whole list"


def test_unknown_driver_and_options_name_the_closest_known_one(tetherd: Tetherd) -> None:
    client = tetherd.client()
    with pytest.raises(TetherError) as error:
        client.execute(device(free_port()), ["show version"], driver="netmko")
    assert error.value.code == "INVALID_ARGUMENT" and "did you mean netmiko?" in error.value.message
    with pytest.raises(TetherError) as error:
        client.execute(device(free_port(), options={"fast-cli": False}), ["show version"])
    assert "unknown netmiko option 'fast-cli'; did you mean fast_cli" in error.value.message
    with pytest.raises(TetherError) as error:
        client.execute(device(free_port(), options={"conn_timeout": 5}), ["show version"])
    assert "conn_timeout is connection.connect_timeout in tether" in error.value.message


def test_a_huge_unknown_name_is_quoted_by_a_bounded_prefix(tetherd: Tetherd) -> None:
    client = tetherd.client()
    huge = "x" * 1_000_000
    for kwargs in ({"driver": huge}, {}):
        connection = device(free_port(), platform=huge if not kwargs else "cisco_ios")
        with pytest.raises(TetherError) as error:
            client.execute(connection, ["show version"], **kwargs)
        assert error.value.code == "INVALID_ARGUMENT", error.value.code
        assert len(error.value.message) < 1000 and "1000000 characters" in error.value.message


# -- peers that are not (working) SSH servers ----------------------------------------------------


class Listener:
    """A loopback TCP server that does one thing with every connection it accepts."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._behave = behave
        self._held: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                peer, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(peer)
            self._behave(peer)

    def close(self) -> None:
        self._server.close()
        for peer in self._held:
            peer.close()
        self._thread.join(5)


def close_at_once(peer: socket.socket) -> None:
    peer.close()


def never_speak(peer: socket.socket) -> None:
    pass  # held open by the listener until the test ends


def speak_http(peer: socket.socket) -> None:
    peer.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def speak_ssh_one(peer: socket.socket) -> None:
    peer.sendall(b"SSH-1.5-OldServer\r\n")


@pytest.fixture
def listener() -> Iterator[Callable[[Callable[[socket.socket], None]], Listener]]:
    started: list[Listener] = []

    def start(behave: Callable[[socket.socket], None]) -> Listener:
        started.append(Listener(behave))
        return started[-1]

    yield start
    for server in started:
        server.close()


def connect_error(tetherd: Tetherd, port: int, **overrides: Any) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(TetherError) as error:
        tetherd.client().execute(device(port, **overrides), ["show version"])
    elapsed = time.monotonic() - started
    assert error.value.code == "UNAVAILABLE", error.value
    message = error.value.message
    assert not any(word in message for word in BANNED_NETMIKO_WORDS), message
    assert "no SSH session within" not in message, message
    return message, elapsed


def test_a_peer_that_closes_at_once_is_not_called_a_timeout(tetherd: Tetherd, listener: Any) -> None:
    peer = listener(close_at_once)
    message, elapsed = connect_error(tetherd, peer.port, connect_timeout=15.0)
    assert "closed the connection during the SSH handshake" in message, message
    assert "a second connection was closed at once too" in message, message
    assert elapsed < 10, elapsed  # far from the 15 s connect_timeout the old message claimed


def test_a_silent_peer_says_the_handshake_timed_out_with_the_time_spent(tetherd: Tetherd, listener: Any) -> None:
    peer = listener(never_speak)
    message, elapsed = connect_error(tetherd, peer.port, connect_timeout=1.5)
    assert "the SSH handshake did not complete within connection.connect_timeout=1.5s" in message, message
    waited = float(message.split("gave up after ")[1].split("s)")[0])
    assert 1.4 <= waited <= elapsed, (waited, elapsed)
    assert "got nothing within 1s either" in message and "raise connection.connect_timeout" in message


def test_a_peer_speaking_another_protocol_is_a_protocol_mismatch(tetherd: Tetherd, listener: Any) -> None:
    peer = listener(speak_http)
    message, _ = connect_error(tetherd, peer.port, connect_timeout=3.0)
    assert "protocol mismatch" in message and "'HTTP/1.1 400 Bad Request'" in message, message
    assert f"is {peer.port} the device's SSH port? connection.port" in message


def test_an_ssh_one_server_is_a_protocol_mismatch(tetherd: Tetherd, listener: Any) -> None:
    peer = listener(speak_ssh_one)
    message, _ = connect_error(tetherd, peer.port)
    assert "SSH protocol mismatch" in message and "1.5 instead of 2.0" in message, message
    assert peer.accepted == 1  # the version says it all: no second look


def test_dropped_syns_say_no_tcp_connection_within_connect_timeout(tetherd: Tetherd) -> None:
    """A listener whose accept queue is full drops new SYNs, as a firewall does."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = int(full.getsockname()[1])
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.2)  # the queue fills; later SYNs get no answer
            message, _ = connect_error(tetherd, port, connect_timeout=1.5)
        finally:
            for filler in fillers:
                filler.close()
    assert "no TCP connection within connection.connect_timeout=1.5s" in message, message


def test_a_refused_port_says_nothing_listens(tetherd: Tetherd) -> None:
    port = free_port()
    message, _ = connect_error(tetherd, port)
    assert f"connection refused: nothing listens on port {port} (connection.port)" in message, message


# -- the CLI -------------------------------------------------------------------------------------


def _all_parsers(root: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield root.prog, root
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub)
                assert name in {choice.dest for choice in action._choices_actions}, f"{name} has no help line"


@pytest.mark.parametrize("module", ["tether.cli.tether", "tether.cli.tetherd"])
def test_every_argument_and_option_has_help(module: str) -> None:
    import importlib

    root = importlib.import_module(module).parser()
    missing = []
    for prog, parser in _all_parsers(root):
        for action in parser._actions:
            choices = action._choices_actions if isinstance(action, argparse._SubParsersAction) else []
            for item in [action, *choices]:
                if not item.help or item.help == argparse.SUPPRESS:
                    missing.append(f"{prog}: {'/'.join(item.option_strings) or item.dest}")
    assert not missing, missing


def test_exec_help_names_units_defaults_and_an_example() -> None:
    done = subprocess.run([*TETHER, "exec", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for phrase in ("--read-timeout SECONDS", "default: 0, the service's default, 30 s", "device address or name"):
        assert phrase in text, phrase
    assert 'example: tether exec 10.0.0.1 -p cisco_ios -u admin --password-env PW "show version"' in done.stdout


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The tether CLI as a user runs it: this test's environment (private XDG dirs, no TETHER_*)."""
    return subprocess.run(
        [*TETHER, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


@pytest.fixture
def embedded_cleanup() -> Iterator[None]:
    """Stop whatever embedded tetherd a test made the CLI start."""
    yield
    path = default_socket()
    if local_socket_answers(path):
        os.kill(embedded_pid(), signal.SIGTERM)
        wait_until(lambda: not local_socket_answers(path), 20, what="the embedded tetherd to stop")


NULL_DEVICE = ["--driver", "null", "-u", "ops", "--password-env", "DEVICE_PW"]


def embedded_pid() -> int:
    return int(json.loads(cli("--json", "info").stdout)["pid"])


@pytest.mark.usefixtures("embedded_cleanup")
def test_looking_commands_say_how_to_start_and_working_ones_start_the_embedded_default() -> None:
    socket_path = default_socket()
    for command in (["sessions"], ["info"]):
        done = cli(*command)
        assert done.returncode == 2, done
        assert f"no tetherd is running at unix:{socket_path} (the embedded default)" in done.stderr, done.stderr
        assert "tetherd serve" in done.stderr and "tether exec, bulk and jobs start it" in done.stderr
        assert "StatusCode" not in done.stderr and "failed to connect to all addresses" not in done.stderr
    assert not local_socket_answers(socket_path), "a look must not start a service"
    refused = cli("--no-start", "exec", "edge1", "show clock", *NULL_DEVICE, env={"DEVICE_PW": "pw"})
    assert refused.returncode == 2 and "--no-start" in refused.stderr
    assert not local_socket_answers(socket_path)

    ran = cli("exec", "edge1", "show clock", *NULL_DEVICE, env={"DEVICE_PW": "pw"})
    assert ran.returncode == 0, ran.stderr
    assert f"tether: started tetherd on unix:{socket_path}" in ran.stderr and "### show clock" in ran.stdout
    again = cli("exec", "edge1", "show clock", *NULL_DEVICE, env={"DEVICE_PW": "pw"})
    assert again.returncode == 0 and "started" not in again.stderr and "(reused)" in again.stderr

    # The service goes away; its jobs do not, and looking them up brings it back.
    os.kill(embedded_pid(), signal.SIGTERM)
    wait_until(lambda: not local_socket_answers(socket_path), 20, what="the embedded tetherd to stop")
    jobs = cli("jobs")
    assert jobs.returncode == 0, jobs.stderr
    assert "started tetherd" in jobs.stderr and jobs.stdout.count("succeeded") == 2, jobs.stdout


def test_a_configured_endpoint_that_does_not_answer_says_how_to_serve_there(tmp_path: Path) -> None:
    local = f"unix:{tmp_path}/none.sock"
    done = cli("--endpoint", local, "exec", "edge1", "show clock", *NULL_DEVICE, env={"DEVICE_PW": "pw"})
    assert done.returncode == 2
    assert (
        f"no tetherd answers at {local} (set by --endpoint); start one there with: tetherd serve --listen {local}"
        in (done.stderr)
    ), done.stderr
    assert not Path(f"{tmp_path}/none.sock").exists(), "a configured endpoint is never started by the CLI"
    remote = f"127.0.0.1:{free_port()}"
    done = cli("info", env={"TETHER_ENDPOINT": remote})
    assert done.returncode == 2
    assert f"cannot reach tetherd at {remote} (set by TETHER_ENDPOINT; gRPC: failed to connect" in done.stderr
    assert "--tls-cert CERT --tls-key KEY --token-file TOKEN" in done.stderr


def test_bad_command_line_values_are_one_line_not_a_traceback(tetherd: Tetherd, tmp_path: Path) -> None:
    base = ["--endpoint", tetherd.endpoint, "exec", "edge1", "show clock", "--driver", "null", "-u", "ops"]
    cases = {
        ("--password-env", "PW", "--options", "{fast_cli: false}"): "--options is not valid JSON",
        ("--password-env", "PW", "--options", "[1]"): "--options must be a JSON object",
        ("--password-file", str(tmp_path / "missing")): f"cannot read {tmp_path / 'missing'}: No such file",
        ("--password-env", "PW", "--parse", "ttp", "--template", "/no/such.ttp"): "cannot read /no/such.ttp",
        ("--password-env", "NOT_SET_ANYWHERE"): "environment variable NOT_SET_ANYWHERE is not set",
    }
    for extra, said in cases.items():
        done = cli(*base, *extra, env={"PW": "pw"})
        assert done.returncode == 2 and said in done.stderr, (extra, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_sessions_show_the_platform_that_tells_two_sessions_to_one_host_apart(tetherd: Tetherd) -> None:
    for platform in ("alpha_os", "beta_os"):
        done = cli("--endpoint", tetherd.endpoint, "exec", "edge1", "show clock", "-p", platform, *NULL_DEVICE,
                   env={"DEVICE_PW": "pw"})  # fmt: skip
        assert done.returncode == 0, done.stderr
    listing = cli("--endpoint", tetherd.endpoint, "sessions").stdout.splitlines()
    header, *rows = listing
    assert header.split()[:4] == ["ID", "DRIVER", "PLATFORM", "TARGET"], header
    assert sorted(row.split()[2] for row in rows) == ["alpha_os", "beta_os"], listing
    assert len({row.split()[3] for row in rows}) == 1  # same driver, user, host and port: only the platform differs


# -- output text ---------------------------------------------------------------------------------


def test_output_is_netmikos_with_only_the_leading_blank_line_dropped(tetherd: Tetherd, switches: Any) -> None:
    """docs/architecture.md: netmiko's text, except one leading newline (IOS starts ``show vlan``
    with a blank line; ios_command, which cli_command stands in for, returns the table first)."""
    import netmiko

    switch = switches.switches[5]
    commands = ["show vlan", "show version", "show vlan brief"]
    response = tetherd.client().execute(
        {
            "host": switch.host,
            "port": switch.port,
            "platform": switch.platform,
            "username": switch.username,
            "password": switch.password,
        },
        commands,
    )
    with netmiko.ConnectHandler(**switch.netmiko_params()) as direct:
        raw = [str(direct.send_command(command)) for command in commands]
    vlan, version, vlan_brief = (result.output for result in response.results)
    assert raw[0].startswith("\nVLAN Name") and vlan == raw[0][1:] and len(vlan) == len(raw[0]) - 1
    assert version == raw[1] and not raw[1].startswith("\n")  # nothing else is ever touched
    assert vlan_brief == raw[2].removeprefix("\n")
    assert vlan.splitlines()[0].startswith("VLAN Name")


def test_netmiko_advice_is_reworded_in_tethers_parameter_names() -> None:
    from tether.drivers._connect_errors import in_tether_words

    advice = "Paramiko: 'No existing session' error: try increasing 'conn_timeout'\n to 15 seconds; check the host"
    assert in_tether_words(advice) == (
        "Paramiko: 'No existing session' error: try increasing 'connection.connect_timeout' to 15 seconds; "
        "check the host"  # plain English words stay as they are
    )
    assert "connection.platform" in in_tether_words("Unsupported 'device_type' currently supported platforms are:")
