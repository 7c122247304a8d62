"""The test peers themselves, driven by netmiko directly: simulated Cisco IOS switches and a real sshd."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
from netmiko import BaseConnection, ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException

from tests.peers import fakeswitch_server
from tests.peers.sshd import SshdServer, start_sshd
from tests.peers.switches import SERVER, SwitchFarm, SwitchPeer, start_switches


@pytest.fixture(scope="module")
def farm() -> Iterator[SwitchFarm]:
    farm = start_switches(3)
    yield farm
    farm.stop()


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdServer]:
    server = start_sshd()
    yield server
    server.stop()


def run(conn: BaseConnection, command: str, **kwargs: Any) -> str:
    """``send_command`` for plain text output (netmiko types it as str | list | dict)."""
    output = conn.send_command(command, **kwargs)
    assert isinstance(output, str)
    return output


def ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


# --- simulated switches -------------------------------------------------------------------------


def test_ready_file_lists_every_switch(farm: SwitchFarm) -> None:
    names = [s.name for s in farm.switches]
    assert names == ["sw01", "sw02", "sw03"]
    assert len(set(farm.ports)) == 3 and all(p > 0 for p in farm.ports)
    assert all(s.host == "127.0.0.1" and s.platform == "cisco_ios" for s in farm.switches)
    assert farm.patches == list(fakeswitch_server.PATCHES)
    sw = farm.switches[0]
    assert (sw.username, sw.password, sw.other_credentials) == ("admin", "admin-pw", ("ops", "ops-pw"))
    assert sw.exec_credentials == ("viewer", "viewer-pw")
    assert ("viewer", "viewer-pw", 1) in sw.users
    raw = json.loads(farm.ready_file.read_text())
    assert raw["pid"] == farm.pid
    assert {"name", "host", "port", "username", "password", "enable_password", "platform"} <= set(raw["switches"][0])


def test_cisco_ios_user_exec_enable_and_config(farm: SwitchFarm) -> None:
    sw = farm.switches[0]
    username, password = sw.exec_credentials
    started = time.perf_counter()
    conn = ConnectHandler(**sw.netmiko_params(username=username, password=password))
    connect_ms = ms(started)
    try:
        assert conn.find_prompt() == "sw01>"
        version = conn.send_command("show version")
        assert "Cisco IOS Software" in version and "sw01 uptime is" in version
        brief = run(conn, "show ip interface brief")
        assert brief.splitlines()[0].split() == ["Interface", "IP-Address", "OK?", "Method", "Status", "Protocol"]
        assert "FastEthernet0/1        unassigned      YES unset  down" in brief
        assert conn.send_command("show privilege") == "Current privilege level is 1"
        assert "Invalid input" in conn.send_command("show running-config")  # needs privilege 15, as on IOS

        conn.enable()
        assert conn.find_prompt() == "sw01#"
        assert conn.send_command("show privilege") == "Current privilege level is 15"
        output = conn.send_config_set(["interface FastEthernet0/1", "description set-by-test"])
        assert "sw01(config)#interface FastEthernet0/1" in output
        assert "sw01(config-if)#description set-by-test" in output
        assert output.rstrip().endswith("sw01#")  # netmiko left config mode with "end"
        assert not conn.check_config_mode()
        running = conn.send_command("show running-config interface FastEthernet0/1")
        assert " description set-by-test" in running
        assert "hostname sw01" in conn.send_command("show running-config")

        timings = []
        for _ in range(5):
            started = time.perf_counter()
            conn.send_command("show version")
            timings.append(ms(started))
        fast = []
        for _ in range(5):
            started = time.perf_counter()
            out = conn.send_command("show privilege", expect_string=r"sw01#", cmd_verify=False)
            fast.append(ms(started))
            assert "Current privilege level is 15" in out
    finally:
        conn.disconnect()
    print(f"\ncisco_ios connect {connect_ms} ms; warm show version {min(timings)} ms; fast path {min(fast)} ms")


def test_privilege_15_users_land_in_enable_mode(farm: SwitchFarm) -> None:
    sw = farm.switches[1]
    with ConnectHandler(**sw.netmiko_params()) as conn:
        assert conn.find_prompt() == "sw02#"
        assert conn.send_command("show privilege") == "Current privilege level is 15"
        conn.enable()  # a no-op there, as on IOS
        assert conn.find_prompt() == "sw02#"


def test_two_credential_sets_give_two_sessions_on_one_switch(farm: SwitchFarm) -> None:
    sw = farm.switches[1]
    other_user, other_password = sw.other_credentials
    admin = ConnectHandler(**sw.netmiko_params())
    ops = ConnectHandler(**sw.netmiko_params(username=other_user, password=other_password))
    try:
        assert admin.find_prompt() == ops.find_prompt() == "sw02#"
        assert "Cisco IOS" in admin.send_command("show version")
        assert "Cisco IOS" in ops.send_command("show version")
        admin.send_config_set(["interface FastEthernet0/2", "description by-admin"])
        assert "description by-admin" in ops.send_command("show running-config interface FastEthernet0/2")
    finally:
        admin.disconnect()
        ops.disconnect()


@pytest.mark.parametrize("user", ["admin", "nobody"])
def test_wrong_credentials_are_rejected(farm: SwitchFarm, user: str) -> None:
    sw = farm.switches[2]
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(**sw.netmiko_params(username=user, password="not-the-password", conn_timeout=5))


def test_wrong_enable_secret_is_refused(farm: SwitchFarm) -> None:
    sw = farm.switches[2]
    username, password = sw.exec_credentials
    with ConnectHandler(**sw.netmiko_params(username=username, password=password, secret="wrong")) as conn:
        with pytest.raises(ValueError, match="enable mode"):
            conn.enable()
        assert conn.find_prompt() == "sw03>"


def test_simulator_errors_do_not_drop_the_session(farm: SwitchFarm) -> None:
    sw = farm.switches[2]
    with ConnectHandler(**sw.netmiko_params()) as conn:
        assert "Invalid input" in conn.send_command("show")  # IndexError upstream
        output = conn.send_config_set(["interface NoDigits"])  # AttributeError upstream
        assert "Invalid input" in output and output.rstrip().endswith("sw03#")
        assert "Cisco IOS" in conn.send_command("show version")


def test_each_patch_can_be_switched_off() -> None:
    """With every patch off, each upstream bug shows again: the patches are what the tests rely on."""
    farm = start_switches(1, disable_patches=list(fakeswitch_server.PATCHES))
    try:
        assert farm.patches == []
        sw = farm.switches[0]
        username, password = sw.exec_credentials
        with ConnectHandler(**sw.netmiko_params(username=username, password=password)) as conn:
            assert run(conn, "show privilege").startswith("No such command")  # show-privilege
            assert run(conn, "show version").startswith("No such command")  # user-exec
            # enable-bytes: the right secret is compared with bytes and refused
            assert conn.send_command("enable", expect_string="Password", cmd_verify=False) == "Password: "
            refusal = conn.send_command(sw.enable_password, expect_string=r"[>#]", cmd_verify=False)
            assert "% Access denied" in refusal and conn.find_prompt() == "sw01>"
        with ConnectHandler(**sw.netmiko_params()) as conn:
            conn.config_mode()  # config-end: "end" is unknown and config mode stays
            assert conn.send_command("end", expect_string=r"#", cmd_verify=False) == "No such command : end"
            assert conn.find_prompt() == "sw01(config)#"
        with ConnectHandler(**sw.netmiko_params()) as conn:
            conn.write_channel("show ip interface brief\n")  # ip-int-brief: the simulator drops the session
            assert isinstance(conn.remote_conn, paramiko.Channel)
            transport = conn.remote_conn.get_transport()
            deadline = time.monotonic() + 5
            while transport.is_active() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not conn.is_alive()
    finally:
        farm.stop()


def test_kill_and_restart_on_the_same_ports() -> None:
    farm = start_switches(2)
    try:
        ports = farm.ports
        sw = farm.switches[0]
        survivor = ConnectHandler(**sw.netmiko_params())  # stays open across the crash
        survivor.send_config_set(["interface FastEthernet0/1", "description before-crash"])
        farm.kill()
        assert farm.process is not None and farm.process.returncode == -9
        assert all(refused(s.host, s.port) for s in farm.switches)
        # The client notices the dead peer once paramiko's reader sees the reset: wait, bounded.
        deadline = time.monotonic() + 5
        while survivor.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not survivor.is_alive()
        survivor.disconnect()
        started = time.perf_counter()
        farm.restart()
        print(f"\nrestart of 2 switches {ms(started)} ms")
        assert farm.ports == ports
        with ConnectHandler(**farm.switches[0].netmiko_params()) as conn:
            assert "before-crash" not in conn.send_command("show running-config")  # fresh state
    finally:
        farm.stop()
    assert farm.process.returncode == 0  # SIGTERM: a clean exit
    assert not farm.workdir.exists()


def test_ten_switches_start_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    farm = start_switches(10, workdir=tmp_path)
    elapsed = ms(started)
    try:
        assert len({s.port for s in farm.switches}) == 10
        assert farm.switches[-1].name == "sw10"
        with ConnectHandler(**farm.switches[-1].netmiko_params()) as conn:
            assert conn.find_prompt() == "sw10#"
    finally:
        farm.stop()
    print(f"\n10 switches ready in {elapsed} ms")
    assert elapsed < 20_000
    assert "10 switch(es) ready" in (tmp_path / "fakeswitch.log").read_text()


def test_server_exits_when_its_parent_dies(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    launcher = (
        "import subprocess, sys, os\n"
        f"p = subprocess.Popen([sys.executable, {str(SERVER)!r}, '--count', '1', '--ready-file', {str(ready)!r},"
        " '--parent-pid', str(os.getpid())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid)\n"
    )
    result = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, timeout=30, check=True)
    pid = int(result.stdout)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return  # gone and reaped
        if state == "Z":
            return  # gone, not reaped yet by whoever adopted it
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("fakeswitch_server outlived its parent")


def test_bad_start_fails_with_the_log_tail(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match="exited with") as error:
            start_switches(1, ports=[port], workdir=tmp_path)
    assert "Address already in use" in str(error.value) or "CannotListen" in str(error.value)


def test_peer_record_feeds_netmiko() -> None:
    peer = SwitchPeer("x", "127.0.0.1", 1, "u", "p", "e", "cisco_ios", "o", "op", None, None)
    assert peer.netmiko_params(port=2)["port"] == 2
    with pytest.raises(LookupError):
        _ = peer.exec_credentials


# --- OpenSSH -------------------------------------------------------------------------------------


def test_linux_netmiko_with_key_auth(sshd: SshdServer) -> None:
    started = time.perf_counter()
    conn = ConnectHandler(**sshd.netmiko_params())
    connect_ms = ms(started)
    try:
        assert run(conn, "echo hi").strip() == "hi"
        started = time.perf_counter()
        assert run(conn, "echo hi").strip() == "hi"
        warm = ms(started)
        started = time.perf_counter()
        assert run(conn, "echo fast", expect_string=r"[#$]", cmd_verify=False).strip() == "fast"
        fast = ms(started)
        assert run(conn, "whoami").strip() == sshd.username
    finally:
        conn.disconnect()
    print(f"\nlinux connect {connect_ms} ms; warm echo {warm} ms; fast path {fast} ms")


def test_sshd_private_key_text_and_sftp(sshd: SshdServer) -> None:
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(sshd.private_key))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(sshd.host, sshd.port, sshd.username, pkey=key, allow_agent=False, look_for_keys=False, timeout=10)
    try:
        _, stdout, _ = client.exec_command("echo exec-ok", timeout=10)
        assert stdout.read().strip() == b"exec-ok"
        with client.open_sftp() as sftp:
            assert sftp.stat(str(sshd.workdir)).st_size is not None
    finally:
        client.close()


def test_sshd_refuses_passwords_and_unknown_keys(sshd: SshdServer, tmp_path: Path) -> None:
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(
            device_type="linux",
            host=sshd.host,
            port=sshd.port,
            username=sshd.username,
            password="guess",
            use_keys=False,
            allow_agent=False,
            conn_timeout=5,
        )
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=30)
    with pytest.raises(NetmikoAuthenticationException):
        ConnectHandler(**sshd.netmiko_params(key_file=str(other), conn_timeout=5))


def test_sshd_simple_shell_and_stop() -> None:
    server = start_sshd(simple_shell=True)
    try:
        conn = ConnectHandler(**server.netmiko_params())
        assert conn.find_prompt() == "$"
        assert run(conn, "echo hi").strip() == "hi"
        assert server.running()
    finally:
        server.stop()
    assert not server.running()
    deadline = time.monotonic() + 5
    while conn.is_alive() and time.monotonic() < deadline:  # stop() also ends open sessions
        time.sleep(0.05)
    assert not conn.is_alive()
    conn.disconnect()
    assert refused(server.host, server.port)
    assert not server.workdir.exists()


# --- Arista eAPI (pyeapi) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def eapi_farm() -> Iterator[SwitchFarm]:
    farm = start_switches(2, eapi=True)
    yield farm
    farm.stop()


def _eapi_node(sw: SwitchPeer, **overrides: Any) -> Any:
    import pyeapi

    return pyeapi.connect(**sw.pyeapi_params(**overrides), return_node=True)


def test_eapi_peer_serves_pyeapi(eapi_farm: SwitchFarm) -> None:
    import pyeapi
    from pyeapi.eapilib import SocketEapiConnection

    sw = eapi_farm.switches[1]
    assert sw.platform == "arista_eos" and sw.name == "sw02" and sw.eapi_port and sw.eapi_port != sw.port
    node = _eapi_node(sw)
    version = node.enable(["show version"])[0]["result"]
    assert (version["modelName"], version["version"]) == ("vEOS", "4.23.0F")
    text = node.run_commands(["show version"], encoding="text")[0]["output"]
    assert text.startswith("Arista vEOS\n") and "Software image version: 4.23.0F" in text
    assert node.enable(["show hostname"])[0]["result"] == {"hostname": "sw02", "fqdn": "sw02", "sourceDetail": ""}
    assert node.enable(["show vlan"])[0]["result"]["vlans"]["1"]["name"] == "default"
    node.config(["vlan 42", "name from-pyeapi"])
    assert "vlan 42\n   name from-pyeapi" in node.running_config
    plain = node.run_commands(["show running-config"], encoding="text")[0]["output"]
    assert plain.startswith("! Command: show running-config") and "vlan 42" in plain
    assert node.api("vlans").get(42)["name"] == "from-pyeapi"
    with pytest.raises(pyeapi.eapilib.CommandError) as error:
        node.enable(["show bogus"])
    assert error.value.error_code == 1002
    # EOS' local unix socket: no password
    local = pyeapi.client.Node(SocketEapiConnection(path=sw.eapi_socket, timeout=10))
    assert local.enable(["show version"])[0]["result"]["modelName"] == "vEOS"


def test_eapi_peer_asks_for_a_password(eapi_farm: SwitchFarm) -> None:
    import pyeapi

    sw = eapi_farm.switches[0]
    for overrides in ({"password": "wrong"}, {"username": "nobody"}):
        with pytest.raises(pyeapi.eapilib.ConnectionError, match="Unauthorized"):
            _eapi_node(sw, **overrides).enable(["show version"])
    ops, ops_password = sw.other_credentials
    assert _eapi_node(sw, username=ops, password=ops_password).enable(["show version"])


def test_eapi_patches_can_be_switched_off() -> None:
    """Upstream: no ``show version`` (HTTP 500, pyeapi "unable to connect"), unknown commands answer {}."""
    import pyeapi

    patches = ["eapi-show-version", "eapi-show-hostname", "eapi-show-running-config", "eapi-errors"]
    farm = start_switches(1, eapi=True, disable_patches=patches)
    try:
        assert not set(patches) & set(farm.patches)
        node = _eapi_node(farm.switches[0])
        for command in ("show version", "show hostname", "show running-config"):
            with pytest.raises(pyeapi.eapilib.ConnectionError, match="unable to connect to eAPI"):
                node.run_commands([command], encoding="text")
        assert node.enable(["bogus"])[0]["result"] == {"sourceDetail": ""}
        assert node.enable(["show vlan"])[0]["result"]["vlans"]  # the rest still works
    finally:
        farm.stop()


def test_eapi_restart_keeps_the_eapi_ports() -> None:
    farm = start_switches(1, eapi=True)
    try:
        before = farm.eapi_ports
        farm.restart()
        assert farm.eapi_ports == before
        assert _eapi_node(farm.switches[0]).enable(["show version"])
    finally:
        farm.stop()
