"""The interceptors on a real tetherd: activity tracking feeds the idle exit; auth refuses duplicates."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from tests.harness import Tetherd, free_port
from tests.tls import make_cert
from tether.v1 import messages as pb
from tether.v1.devices_pb2_grpc import DevicesStub
from tether.v1.tether_pb2_grpc import TetherStub

NULL = pb.Connection(host="null.example", username="u", password="pw")


@pytest.mark.slow  # ~12 s: calls for 7 s, then the idle exit
def test_device_calls_on_either_route_keep_an_idle_service_alive_and_polling_does_not(tetherd_factory: Any) -> None:
    daemon = tetherd_factory("--exit-when-idle", "3")
    request = pb.ExecuteRequest(driver="null", connection=NULL, operation=pb.Operation(commands=["x"]))
    request.mode = pb.MODE_ONESHOT  # no session stays open: only the calls themselves say "busy"
    with grpc.insecure_channel(daemon.endpoint) as channel:
        routes = (DevicesStub(channel).Execute, TetherStub(channel).Execute)
        until = time.monotonic() + 7
        calls = 0
        while time.monotonic() < until:
            assert routes[calls % 2](request, timeout=30).ok
            calls += 1
            time.sleep(0.3)
        assert daemon.process is not None and daemon.process.poll() is None  # 7 s > 3 s idle: kept alive
        # Only polling from now on: the service still exits once the device calls stop.
        started = time.monotonic()
        while daemon.process.poll() is None and time.monotonic() - started < 30:
            try:
                TetherStub(channel).GetServiceInfo(pb.GetServiceInfoRequest(), timeout=5)
            except grpc.RpcError:
                break
            time.sleep(0.3)
    assert daemon.process.wait(30) == 0
    assert '"exiting: idle with no sessions"' in daemon.log()


def test_a_duplicate_authorization_header_is_refused(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("right-token\n")
    token_file.chmod(0o600)
    args = ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)]
    daemon = Tetherd(tmp_path / "tls", args, listen=f"127.0.0.1:{free_port()}").start()
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        with grpc.secure_channel(daemon.endpoint, credentials) as channel:
            info = TetherStub(channel).GetServiceInfo
            good = ("authorization", "Bearer right-token")
            assert info(pb.GetServiceInfoRequest(), timeout=30, metadata=(good,)).version
            with pytest.raises(grpc.RpcError) as error:
                info(pb.GetServiceInfoRequest(), timeout=30, metadata=(good, good))
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    finally:
        daemon.stop()
