"""Service machinery through the null driver: isolation, deadlines, cancellation,
job persistence, listener security. No device needed, so each case is exact."""

from __future__ import annotations

import concurrent.futures
import stat
import threading
import time
from pathlib import Path

import grpc
import pytest

from tests.harness import Tetherd, free_port
from tests.tls import make_cert
from tether.client import TetherError
from tether.v1 import messages as pb
from tether.v1.tether_pb2_grpc import TetherStub

NULL = {"host": "null.example", "username": "u", "password": "pw"}


def test_socket_and_runtime_dir_are_private(tetherd: Tetherd) -> None:
    assert stat.S_IMODE(tetherd.socket.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(tetherd.socket.stat().st_mode) == 0o600


def test_hung_session_does_not_harm_another(tetherd: Tetherd) -> None:
    client = tetherd.client()
    hung = {**NULL, "host": "hung.example", "options": {"hang": 30}}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        stuck = pool.submit(client.execute, hung, ["x"], driver="null", timeout=1.0)
        time.sleep(0.1)
        started = time.monotonic()
        healthy = client.execute(NULL, ["still fine"], driver="null")
        assert healthy.ok and time.monotonic() - started < 0.5
        with pytest.raises(TetherError) as error:
            stuck.result(10)
    assert error.value.code == "DEADLINE_EXCEEDED"
    assert "session was closed" in error.value.message
    # The hung session is gone; the healthy one is still there.
    assert [s.host for s in client.list_sessions()] == ["null.example"]
    assert tetherd.counters()["sessions_closed_hung"] == 1


def test_oneshot_opens_and_closes_every_time(tetherd: Tetherd) -> None:
    client = tetherd.client()
    for _ in range(3):
        response = client.execute(NULL, ["x"], driver="null", mode="oneshot")
        assert response.ok and not response.meta.session_reused
    assert tetherd.counters()["connections_opened"] == 3
    assert client.list_sessions() == []


def test_cancel_drops_queued_targets(tetherd: Tetherd) -> None:
    client = tetherd.client()
    request = pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="pw"),
        targets=[pb.Target(connection=pb.Connection(host=f"h{i}")) for i in range(6)],
        operation=pb.Operation(commands=["a", "b"]),
        concurrency=1,
    )
    request.defaults.options.update({"delay": 0.2})
    events = client.bulk(request)
    accepted = next(events)
    job_id = accepted.accepted.job_id
    next(events)  # the first target started
    cancelled = client.cancel_job(job_id)
    assert cancelled.id == job_id
    summary = next(e for e in events if e.WhichOneof("event") == "summary").summary
    assert summary.cancelled >= 4
    assert client.get_job(job_id).state == pb.JOB_STATE_CANCELLED


def test_finished_jobs_survive_a_restart(tetherd_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tetherd_factory()
    client = daemon.client()
    done = client.execute(NULL, ["show clock"], driver="null")
    with pytest.raises(TetherError):
        client.execute({**NULL, "options": {"fail_open": True}}, ["x"], driver="null")
    daemon.stop()
    daemon.start()
    client = daemon.client()
    job = client.get_job(done.job_id)
    assert job.state == pb.JOB_STATE_SUCCEEDED
    assert job.results[0].results[0].output == "show clock"
    listed = client.list_jobs(include_results=True).jobs
    assert [j.state for j in listed] == [pb.JOB_STATE_FAILED, pb.JOB_STATE_SUCCEEDED]
    assert "refused" in listed[0].results[0].error


def test_list_jobs_pages_and_filters(tetherd: Tetherd) -> None:
    client = tetherd.client()
    for i in range(7):
        client.execute({**NULL, "host": f"h{i % 2}"}, [f"cmd {i}"], driver="null")
    seen, token = [], ""
    while True:
        page = client.list_jobs(page_size=3, page_token=token)
        seen.extend(j.id for j in page.jobs)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    assert len(client.list_jobs(target="h1:22").jobs) == 3
    with pytest.raises(TetherError, match="INVALID_ARGUMENT.*page_token"):
        client.list_jobs(page_token="garbage!")
    with pytest.raises(TetherError, match="NOT_FOUND"):
        client.get_job("no-such-job")


def test_bad_input_gets_a_status_naming_the_problem(tetherd_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tetherd_factory(env={"TETHER_MAX_MESSAGE_BYTES": "65536"})
    client = daemon.client()
    cases = [
        (lambda: client.execute(NULL, ["x"], driver="nosuch"), "INVALID_ARGUMENT", "unknown driver 'nosuch'"),
        (lambda: client.execute({**NULL, "host": ""}, ["x"], driver="null"), "INVALID_ARGUMENT", "host is required"),
        (lambda: client.execute(NULL, [], driver="null"), "INVALID_ARGUMENT", "needs commands or config"),
        (lambda: client.execute(NULL, ["x" * 1000] * 100, driver="null"), "RESOURCE_EXHAUSTED", "larger than max"),
        (lambda: client.execute(NULL, ["x"], driver="null", parse="ttp"), "INVALID_ARGUMENT", "template is required"),
    ]
    for call, code, text in cases:
        with pytest.raises(TetherError) as error:
            call()
        assert error.value.code == code, error.value
        assert text in error.value.message
    # The service is still up and serving after all of that.
    assert client.execute(NULL, ["x"], driver="null").ok


def test_graceful_shutdown_drains_running_work(tetherd: Tetherd) -> None:
    client = tetherd.client()
    results: list[object] = []
    worker = threading.Thread(
        target=lambda: results.append(client.execute({**NULL, "options": {"delay": 1.0}}, ["slow"], driver="null"))
    )
    worker.start()
    time.sleep(0.3)
    assert tetherd.process is not None
    tetherd.process.terminate()
    worker.join(10)
    assert results and results[0].ok  # type: ignore[attr-defined]
    assert tetherd.process.wait(10) == 0
    assert not tetherd.socket.exists()


def test_tcp_requires_tls_and_token(tmp_path: Path) -> None:
    refused = Tetherd(tmp_path / "plain", listen=f"127.0.0.1:{free_port()}")
    with pytest.raises(RuntimeError, match="requires TLS"):
        refused.start()
    cert, key = make_cert(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    token_file.chmod(0o600)
    args = ["--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file)]
    daemon = Tetherd(tmp_path / "tls", args, listen=f"127.0.0.1:{free_port()}").start()
    try:
        with pytest.raises(TetherError) as error:
            daemon.client(tls_ca=str(cert)).info()
        assert error.value.code == "UNAUTHENTICATED"
        with pytest.raises(TetherError) as error:
            daemon.client(tls_ca=str(cert), token="wrong").info()
        assert error.value.code == "UNAUTHENTICATED"
        assert daemon.client(tls_ca=str(cert), token="s3cret-token").info().version
        # A plaintext client cannot talk to it at all.
        with grpc.insecure_channel(daemon.endpoint) as channel, pytest.raises(grpc.RpcError):
            TetherStub(channel).GetServiceInfo(
                pb.GetServiceInfoRequest(), timeout=2, metadata=(("authorization", "Bearer s3cret-token"),)
            )
        assert "s3cret-token" not in daemon.log()
    finally:
        daemon.stop()


def test_embedded_service_exits_by_itself_once_idle_with_no_sessions(tetherd_factory) -> None:  # type: ignore[no-untyped-def]
    daemon = tetherd_factory("--exit-when-idle", "1", "--idle-timeout", "1")
    client = daemon.client()
    assert client.execute(NULL, ["x"], driver="null").ok
    assert daemon.process is not None
    started = time.monotonic()
    # It must outlive its session (idle timeout 1 s), then exit cleanly a second later.
    assert daemon.process.wait(15) == 0
    assert time.monotonic() - started >= 1.5
    assert not daemon.socket.exists()
    assert '"exiting: idle with no sessions"' in daemon.log()


def test_config_lines_apply_without_the_running_config_capability(tetherd: Tetherd) -> None:
    """Applying lines needs only the config capability: the null driver has no running config."""
    response = tetherd.client().execute(NULL, config=["vlan 10"], driver="null")
    assert response.ok and list(response.config.lines) == ["vlan 10"]
