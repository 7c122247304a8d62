"""A shared tetherd is no confused deputy: a client gets no key, agent or host trust the operator did not give.

Against a TCP (TLS + token) tetherd and the OpenSSH peer: key files only from
``key_dirs`` (no symlink or ``..`` escape), no ``use_keys``/``allow_agent``,
host keys checked against known_hosts (strict and accept-new), a token file
open to others refused at start, two ``authorization`` headers refused, and a
paramiko traceback logged as one record.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import paramiko
import pytest

from tests.harness import Tetherd, free_port
from tests.tls import make_cert
from tether import config
from tether.client import TetherClient, TetherError
from tether.v1 import messages as pb
from tether.v1.tether_pb2_grpc import TetherStub

TOKEN = "deputy-token-0123456789"


def _linux(sshd: Any, **overrides: Any) -> dict[str, Any]:
    values = {"host": sshd.host, "port": sshd.port, "platform": "linux", "username": sshd.username}
    values.update(overrides)
    return values


class TcpService:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.cert, key = make_cert(directory)
        token_file = directory / "token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        args = ["--tls-cert", str(self.cert), "--tls-key", str(key), "--token-file", str(token_file)]
        self.daemon = Tetherd(directory / "tetherd", args, env, listen=f"127.0.0.1:{free_port()}").start()

    def client(self) -> TetherClient:
        return self.daemon.client(tls_ca=str(self.cert), token=TOKEN)


@pytest.fixture
def key_dirs(tmp_path: Path, sshd: Any) -> dict[str, Path]:
    """keys/ (the operator's key_dirs) with the sshd client key; outside/ with another copy; two escapes."""
    keys, outside = tmp_path / "keys", tmp_path / "outside"
    keys.mkdir()
    outside.mkdir()
    for directory in (keys, outside):
        shutil.copy(sshd.key_path, directory / "id_ed25519")
        (directory / "id_ed25519").chmod(0o600)
    (keys / "escape").symlink_to(outside / "id_ed25519")
    return {
        "dir": keys,
        "inside": keys / "id_ed25519",
        "outside": outside / "id_ed25519",
        "symlink": keys / "escape",
        "dotdot": keys / ".." / "outside" / "id_ed25519",
    }


@pytest.fixture
def tcp_service(tmp_path: Path, key_dirs: dict[str, Path]) -> Iterator[TcpService]:
    service = TcpService(tmp_path / "tcp", {"TETHER_KEY_DIRS": str(key_dirs["dir"])})
    yield service
    service.daemon.stop()


def test_key_files_come_only_from_key_dirs(tcp_service: TcpService, key_dirs: dict[str, Path], sshd: Any) -> None:
    client = tcp_service.client()
    inside = client.execute(_linux(sshd, private_key_file=str(key_dirs["inside"])), ["echo from-key-dir"])
    assert inside.ok and inside.results[0].output.strip() == "from-key-dir"
    for escape in ("outside", "symlink", "dotdot"):
        with pytest.raises(TetherError) as refused:
            client.execute(_linux(sshd, private_key_file=str(key_dirs[escape])), ["echo never"])
        assert refused.value.code == "PERMISSION_DENIED", escape
        assert "key_dirs" in refused.value.message and "private_key_file" in refused.value.message


@pytest.mark.parametrize("option", ["allow_agent", "use_keys"])
def test_service_keys_and_agent_options_are_refused(tcp_service: TcpService, sshd: Any, option: str) -> None:
    client = tcp_service.client()
    connection = _linux(sshd, private_key=sshd.private_key, options={option: True})
    with pytest.raises(TetherError) as refused:
        client.execute(connection, ["echo never"])
    assert refused.value.code == "PERMISSION_DENIED" and option in refused.value.message
    assert "allow_service_keys" in refused.value.message


def test_a_tcp_service_without_key_dirs_takes_no_key_file(tmp_path: Path, sshd: Any) -> None:
    service = TcpService(tmp_path / "tcp", {})
    try:
        with pytest.raises(TetherError) as refused:
            service.client().execute(_linux(sshd, private_key_file=str(sshd.key_path)), ["echo never"])
        assert refused.value.code == "PERMISSION_DENIED" and "none set" in refused.value.message
        # Key text is the client's own: it works.
        assert service.client().execute(_linux(sshd, private_key=sshd.private_key), ["echo own-key"]).ok
    finally:
        service.daemon.stop()


def _host_key(sshd: Any) -> paramiko.PKey:
    return paramiko.Ed25519Key(filename=str(sshd.host_key_path))


def _known_hosts_line(sshd: Any, key: paramiko.PKey) -> str:
    return f"[{sshd.host}]:{sshd.port} {key.get_name()} {key.get_base64()}\n"


def test_strict_host_keys(tetherd_factory: Callable[..., Tetherd], tmp_path: Path, sshd: Any) -> None:
    right = _host_key(sshd)
    wrong = paramiko.Ed25519Key(filename=str(sshd.key_path))  # a real ed25519 key, not the host's
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(_known_hosts_line(sshd, wrong))
    env = {"TETHER_HOST_KEY_POLICY": "strict", "TETHER_KNOWN_HOSTS": str(known_hosts)}
    connection = _linux(sshd, private_key=sshd.private_key)

    mismatch = tetherd_factory(env=env, name="mismatch").client()
    with pytest.raises(TetherError) as refused:
        mismatch.execute(connection, ["echo never"])
    assert refused.value.code == "PERMISSION_DENIED"
    assert "mismatch" in refused.value.message and right.fingerprint in refused.value.message
    assert f"{sshd.host}:{sshd.port}" in refused.value.message

    known_hosts.write_text("")
    with pytest.raises(TetherError) as unknown:
        tetherd_factory(env=env, name="unknown").client().execute(connection, ["echo never"])
    assert unknown.value.code == "PERMISSION_DENIED" and "not in" in unknown.value.message
    assert right.fingerprint in unknown.value.message

    known_hosts.write_text(_known_hosts_line(sshd, right))
    trusted = tetherd_factory(env=env, name="trusted").client()
    assert trusted.execute(connection, ["echo trusted"]).results[0].output.strip() == "trusted"
    assert known_hosts.read_text() == _known_hosts_line(sshd, right)


def test_accept_new_records_a_new_key_and_refuses_a_changed_one(
    tetherd_factory: Callable[..., Tetherd], tmp_path: Path, sshd: Any
) -> None:
    connection = _linux(sshd, private_key=sshd.private_key)
    daemon = tetherd_factory(env={"TETHER_HOST_KEY_POLICY": "accept-new"})
    assert daemon.client().execute(connection, ["echo first"]).ok
    known_hosts = daemon.state_dir / "known_hosts"
    assert known_hosts.read_text() == _known_hosts_line(sshd, _host_key(sshd))
    assert oct(known_hosts.stat().st_mode & 0o777) == "0o600"

    changed = tmp_path / "changed_known_hosts"
    changed.write_text(_known_hosts_line(sshd, paramiko.Ed25519Key(filename=str(sshd.key_path))))
    env = {"TETHER_HOST_KEY_POLICY": "accept-new", "TETHER_KNOWN_HOSTS": str(changed)}
    with pytest.raises(TetherError) as refused:
        tetherd_factory(env=env, name="changed").client().execute(connection, ["echo never"])
    assert refused.value.code == "PERMISSION_DENIED" and "mismatch" in refused.value.message


def test_a_token_file_open_to_others_refuses_to_start(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o644)
    args = ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)]
    daemon = Tetherd(tmp_path / "open-token", args, listen=f"127.0.0.1:{free_port()}")
    with pytest.raises(RuntimeError) as refused:
        daemon.start()
    assert "open to other users" in str(refused.value) and "chmod 600" in str(refused.value)
    assert TOKEN not in daemon.log()


def test_two_authorization_headers_are_unauthenticated(tcp_service: TcpService) -> None:
    credentials = grpc.ssl_channel_credentials(tcp_service.cert.read_bytes())
    with grpc.secure_channel(tcp_service.daemon.endpoint, credentials) as channel:
        stub = TetherStub(channel)
        good = ("authorization", f"Bearer {TOKEN}")
        assert stub.GetServiceInfo(pb.GetServiceInfoRequest(), timeout=10, metadata=(good,)).version
        for pair in [(good, good), (good, ("authorization", "Bearer other")), (("authorization", "x"), good)]:
            with pytest.raises(grpc.RpcError) as refused:
                stub.GetServiceInfo(pb.GetServiceInfoRequest(), timeout=10, metadata=pair)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


@contextlib.contextmanager
def _not_ssh_server() -> Iterator[int]:
    """A TCP server that answers every connection with lines that are not an SSH banner."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                peer, _ = listener.accept()
            except OSError:
                continue
            accepted.append(peer)
            with contextlib.suppress(OSError):
                peer.sendall(b"SSH-1.0-not-ssh-2\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for peer in accepted:
            peer.close()


def test_a_paramiko_traceback_is_one_log_record(tetherd: Tetherd) -> None:
    with _not_ssh_server() as port:
        connection = {
            "host": "127.0.0.1",
            "port": port,
            "platform": "cisco_ios",
            "username": "u",
            "password": "p-not-used",
            "connect_timeout": 5,
        }
        with pytest.raises(TetherError):
            tetherd.client().execute(connection, ["show version"])
    records = [json.loads(line) for line in tetherd.log().splitlines() if line.startswith("{")]
    paramiko_records = [r for r in records if r["logger"].startswith("paramiko")]
    tracebacks = [r for r in paramiko_records if "Traceback (most recent call last)" in r["msg"]]
    assert len(tracebacks) == 1, paramiko_records
    assert "File " in tracebacks[0]["msg"] and tracebacks[0]["msg"].count("\n") >= 3
    assert not [r for r in paramiko_records if r["msg"].lstrip().startswith("File ")]


def test_security_settings_load_from_toml_and_environment(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    settings = config.load(environ={"TETHER_KEY_DIRS": f"{first}:{second}", "TETHER_STATE_DIR": str(tmp_path)})
    assert settings.key_dirs == [str(first), str(second)]
    assert settings.known_hosts_path == tmp_path / "known_hosts" and settings.host_key_policy == "accept-new"
    toml = tmp_path / "tetherd.toml"
    toml.write_text(f'[tetherd]\nkey_dirs = ["{first}"]\nallow_service_keys = true\nkeep_config_secrets = true\n')
    from_file = config.load(str(toml), environ={})
    assert from_file.key_dirs == [str(first)] and from_file.allow_service_keys and from_file.keep_config_secrets
    for environ, message in [
        ({"TETHER_KEY_DIRS": str(tmp_path / "missing")}, "not a directory"),
        ({"TETHER_HOST_KEY_POLICY": "trust-me"}, "host_key_policy must be one of"),
        ({"TETHER_HOST_KEY_POLICY": "strict", "TETHER_KNOWN_HOSTS": str(tmp_path / "none")}, "needs a known_hosts"),
    ]:
        with pytest.raises(config.ConfigError, match=message):
            config.load(environ=environ)
    toml.write_text("[tetherd]\nkey_dirs = 7\n")
    with pytest.raises(config.ConfigError, match="key_dirs"):
        config.load(str(toml), environ={})
