"""tetherd's netmiko driver against a real OpenSSH server: key auth, linux platform, SFTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.harness import Tetherd
from tests.service.test_switches import conn as switch_conn
from tether.client import TetherError


def linux(sshd: Any, **overrides: Any) -> dict[str, Any]:
    values = {"host": sshd.host, "port": sshd.port, "platform": "linux", "username": sshd.username}
    values.update(overrides)
    return values


def test_commands_with_a_private_key_text_and_a_key_file(tetherd: Tetherd, sshd: Any) -> None:
    client = tetherd.client()
    by_text = client.execute(linux(sshd, private_key=sshd.private_key), ["echo tether-$((6*7))", "uname -s"])
    assert by_text.ok
    assert [r.output.strip() for r in by_text.results] == ["tether-42", "Linux"]
    by_file = client.execute(linux(sshd, private_key_file=str(sshd.key_path)), ["echo again"])
    assert by_file.results[0].output.strip() == "again"
    again = client.execute(linux(sshd, private_key=sshd.private_key), ["echo warm"])
    assert again.meta.session_reused and again.results[0].output.strip() == "warm"
    # The key text and the key file are different credentials: two sessions.
    assert len(client.list_sessions(host=sshd.host)) == 2


def test_put_and_fetch_file_over_sftp(tetherd: Tetherd, sshd: Any, tmp_path: Any) -> None:
    client = tetherd.client()
    remote = tmp_path / "pushed.bin"
    payload = bytes(range(256)) * 64
    connection = linux(sshd, private_key=sshd.private_key)
    put = client.put_file(connection, str(remote), payload, file_mode=0o640)
    assert put.size == len(payload) and remote.read_bytes() == payload
    assert oct(remote.stat().st_mode & 0o777) == "0o640"
    assert client.fetch_file(connection, str(remote)) == payload
    with pytest.raises(TetherError) as error:
        client.fetch_file(connection, str(tmp_path / "missing"))
    assert "cannot read" in error.value.message and "missing" in error.value.message


def test_file_transfer_to_a_switch_without_sftp_is_a_clear_error(tetherd: Tetherd, switches: Any) -> None:
    client = tetherd.client()
    with pytest.raises(TetherError) as error:
        client.put_file(switch_conn(switches.switches[0]), "flash:x.txt", b"x")
    # Refused from the driver's published capabilities, before any I/O: a switch CLI has no file transfer.
    assert error.value.code == "FAILED_PRECONDITION"
    assert "lacks the capability file_transfer" in error.value.message
    # The session survives the refused transfer.
    assert client.execute(switch_conn(switches.switches[0]), ["show version"]).ok


def test_a_bare_dollar_prompt_is_recognised(tetherd: Tetherd) -> None:
    from tests.peers.sshd import start_sshd

    server = start_sshd(simple_shell=True)
    try:
        response = tetherd.client().execute(
            linux(server, private_key=server.private_key, connect_timeout=10), ["echo bare"]
        )
        assert response.results[0].output.strip() == "bare"
    finally:
        server.stop()


def test_exec_channel_gives_exit_status_stdin_and_stderr(tetherd: Tetherd, sshd: Any) -> None:
    client = tetherd.client()
    connection = linux(sshd, private_key=sshd.private_key)
    done = client.exec_command(connection, "read line; echo out:$line; echo err >&2; exit 7", stdin=b"given\n")
    assert (done.exit_status, done.stdout, done.stderr) == (7, b"out:given\n", b"err\n")
    big = client.exec_command(connection, "head -c 300000 /dev/zero | tr '\\\\0' x; head -c 200000 /dev/zero >&2")
    assert (len(big.stdout), len(big.stderr), big.exit_status) == (300000, 200000, 0)
    # exec channels ride the same warm transport as the CLI session: no new connection.
    shell = client.execute(connection, ["echo still-here"])
    assert shell.meta.session_reused and shell.results[0].output.strip() == "still-here"
    assert tetherd.counters()["connections_opened"] == 1
    with pytest.raises(TetherError) as error:
        client.exec_command(connection, "sleep 5", timeout=0.5)
    assert "did not finish within 0.5s" in error.value.message


def test_exec_on_a_switch_without_exec_channels_is_a_clear_error(tetherd: Tetherd, switches: Any) -> None:
    with pytest.raises(TetherError) as error:
        tetherd.client().exec_command(switch_conn(switches.switches[0]), "show version")
    assert error.value.code in ("FAILED_PRECONDITION", "INVALID_ARGUMENT")
    assert "exec" in error.value.message


def test_fast_read_matches_netmiko_on_a_linux_shell(tetherd: Tetherd, sshd: Any) -> None:
    import netmiko

    commands = ["echo one; echo two", "printf 'no newline'", "seq 1 2000", "uname -a"]
    result = tetherd.client().execute(linux(sshd, private_key_file=str(sshd.key_path)), commands)
    params = {"device_type": "linux", "host": sshd.host, "port": sshd.port, "username": sshd.username}
    with netmiko.ConnectHandler(**params, key_file=str(sshd.key_path), use_keys=True, allow_agent=False) as direct:
        reference = [str(direct.send_command(c)).removeprefix("\n") for c in commands]
    assert [r.output for r in result.results] == reference
    assert reference[2].splitlines()[-1] == "2000"


def test_read_timeout_holds_while_output_keeps_streaming(tetherd: Tetherd, sshd: Any) -> None:
    """A command that prints without end fails at its read_timeout; the host stays usable."""
    client = tetherd.client()
    target = linux(sshd, private_key_file=str(sshd.key_path), options={"probe_timeout": 1.0})
    started = time.monotonic()
    # A shell loop, not `yes`: slow enough that the read timeout, not max_output_bytes, ends it.
    streaming = client.execute(target, ["while :; do echo tether-stream; done"], read_timeout=1.5, timeout=60)
    elapsed = time.monotonic() - started
    error = streaming.results[0].error
    assert not streaming.ok and "no prompt after 1.5s" in error and "is closed" in error, error
    assert elapsed < 8, elapsed  # 1.5 s to give up on the command, 1 s to give up on the prompt
    after = client.execute(target, ["echo still-here"])
    assert after.ok and after.results[0].output.strip() == "still-here"
    assert not after.meta.session_reused  # the caller sees nothing else of the retired session
    assert tetherd.counters()["sessions_closed_retired"] == 1
