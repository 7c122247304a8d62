"""The event stream (WatchEvents, ``tether events``) against real tetherd processes.

Null driver for exact job and session sequences, the switch simulator for device status.
Streams are read by real gRPC clients; drops are real closed channels and cut sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest

from tests.harness import Tetherd, wait_until
from tether.client import TetherError
from tether.core.events import EventBus, event_filter, safe_reason
from tether.v1 import messages as pb
from tether.v1.events_pb2_grpc import EventsStub

SECRET = "pw-events-Secret-42"
NULL = {"host": "null.example", "username": "u", "password": SECRET}
START_KEY = "tether-event-seq"
TETHER = [sys.executable, "-c", "import sys; from tether.cli.tether import main; sys.exit(main())"]


class Watcher:
    """A WatchEvents stream read on its own thread into ``events``."""

    def __init__(self, endpoint: str, read: bool = True, **request: Any) -> None:
        self.channel = grpc.insecure_channel(endpoint)
        self.call = EventsStub(self.channel).WatchEvents(pb.WatchEventsRequest(**request))
        self.start = int(dict(self.call.initial_metadata())[START_KEY])  # subscribed once this arrives
        self.events: list[pb.Event] = []
        self.error: grpc.RpcError | None = None
        self.ended = threading.Event()
        if read:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self.call:
                self.events.append(event)
        except grpc.RpcError as error:
            self.error = error
        finally:
            self.ended.set()

    def wait_for(self, predicate: Callable[[list[pb.Event]], bool], what: str, timeout: float = 30.0) -> None:
        wait_until(lambda: predicate(list(self.events)), timeout, what=what)

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def kinds(events: Iterable[pb.Event]) -> list[str]:
    return [pb.EventKind.Name(e.kind).removeprefix("EVENT_KIND_") for e in events]


def finished_jobs(events: Iterable[pb.Event]) -> int:
    return sum(e.kind == pb.EVENT_KIND_JOB_FINISHED for e in events)


def consecutive(events: list[pb.Event]) -> bool:
    seqs = [e.seq for e in events]
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True


def bulk_request(hosts: list[str], **options: Any) -> pb.BulkRequest:
    request = pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password=SECRET),
        targets=[pb.Target(name=host, connection=pb.Connection(host=host)) for host in hosts],
        operation=pb.Operation(commands=["show clock"]),
    )
    if options:
        request.defaults.options.update(options)
    return request


def test_execute_and_bulk_events_in_order(tetherd: Tetherd) -> None:
    client = tetherd.client()
    before = client.info().event_seq
    watcher = Watcher(tetherd.endpoint, after_seq=before)
    assert watcher.start == before
    done = client.execute(NULL, ["show clock"], driver="null")
    events = list(client.bulk(bulk_request(["b1", "b2", "b3"])))
    bulk_id = events[0].accepted.job_id
    watcher.wait_for(lambda got: finished_jobs(got) == 2, "both jobs finished")
    got = watcher.events
    assert got[0].seq == before + 1 and consecutive(got)
    assert client.info().event_seq == got[-1].seq

    execute = [e for e in got if e.WhichOneof("payload") == "job" and e.job.job_id == done.job_id]
    assert kinds(execute) == ["JOB_STARTED", "JOB_TARGET_FINISHED", "JOB_FINISHED"]
    assert execute[0].job.target == "null.example:22" and execute[0].job.job_kind == pb.JOB_KIND_EXECUTE
    assert execute[-1].job.state == pb.JOB_STATE_SUCCEEDED and execute[-1].job.done == 1
    first_session = kinds(got[:3])
    assert first_session == ["JOB_STARTED", "SESSION_OPENED", "DEVICE_STATUS"]
    assert got[2].device.state == pb.DEVICE_STATE_ONLINE and got[2].device.target == "null.example:22"

    bulk = [e for e in got if e.WhichOneof("payload") == "job" and e.job.job_id == bulk_id]
    assert kinds(bulk) == ["JOB_STARTED"] + ["JOB_TARGET_FINISHED", "JOB_PROGRESS"] * 3 + ["JOB_FINISHED"]
    assert [e.job.done for e in bulk if e.kind == pb.EVENT_KIND_JOB_PROGRESS] == [1, 2, 3]
    assert {e.job.target for e in bulk if e.kind == pb.EVENT_KIND_JOB_TARGET_FINISHED} == {"b1", "b2", "b3"}
    assert bulk[-1].job.total == 3 and bulk[-1].job.state == pb.JOB_STATE_SUCCEEDED
    sessions = [e for e in got if e.kind == pb.EVENT_KIND_SESSION_OPENED]
    assert sorted(e.session.host for e in sessions) == ["b1", "b2", "b3", "null.example"]
    assert all(SECRET.encode() not in e.SerializeToString() for e in got)
    watcher.close()


def test_filters_by_kind_job_and_target(tetherd: Tetherd) -> None:
    client = tetherd.client()
    before = client.info().event_seq
    done = client.execute({**NULL, "host": "f1"}, ["a"], driver="null")
    client.execute({**NULL, "host": "f2"}, ["b"], driver="null")
    with pytest.raises(TetherError):
        client.execute({**NULL, "host": "f3", "options": {"fail_open": True}}, ["c"], driver="null")
    # Everything after ``before`` is still retained: each filtered watcher replays it.
    devices = Watcher(tetherd.endpoint, after_seq=before, kinds=[pb.EVENT_KIND_DEVICE_STATUS])
    job = Watcher(tetherd.endpoint, after_seq=before, job_id=done.job_id)
    target = Watcher(tetherd.endpoint, after_seq=before, target="f3:22")
    host = Watcher(tetherd.endpoint, after_seq=before, target="f2")
    devices.wait_for(lambda got: len(got) == 3, "three device events")
    assert [(e.device.target, e.device.state) for e in devices.events] == [
        ("f1:22", pb.DEVICE_STATE_ONLINE),
        ("f2:22", pb.DEVICE_STATE_ONLINE),
        ("f3:22", pb.DEVICE_STATE_OFFLINE),
    ]
    job.wait_for(lambda got: len(got) == 3, "the job's three events")
    assert kinds(job.events) == ["JOB_STARTED", "JOB_TARGET_FINISHED", "JOB_FINISHED"]
    target.wait_for(lambda got: finished_jobs(got) == 1, "f3's job")
    f3_job = ["JOB_STARTED", "SESSION_FAILED", "DEVICE_STATUS", "JOB_TARGET_FINISHED", "JOB_FINISHED"]
    assert kinds(target.events) == f3_job
    failed = next(e for e in target.events if e.kind == pb.EVENT_KIND_SESSION_FAILED)
    assert "fail_open" in failed.session.reason
    host.wait_for(lambda got: finished_jobs(got) == 1, "f2's job")
    assert {e.WhichOneof("payload") for e in host.events} == {"job", "session", "device"}
    # Live events reach the watchers they match, and only those (f3 is offline already: no device event).
    seen = {name: len(w.events) for name, w in [("devices", devices), ("job", job), ("host", host)]}
    with pytest.raises(TetherError):
        client.execute({**NULL, "host": "f3", "options": {"fail_open": True}}, ["c"], driver="null")
    target.wait_for(lambda got: finished_jobs(got) == 2, "f3's second job")
    assert kinds(target.events[5:]) == [k for k in f3_job if k != "DEVICE_STATUS"]
    time.sleep(0.3)
    assert {name: len(w.events) for name, w in [("devices", devices), ("job", job), ("host", host)]} == seen
    for watcher in (devices, job, target, host):
        watcher.close()


def test_bad_watch_requests_are_refused(tetherd: Tetherd) -> None:
    channel = grpc.insecure_channel(tetherd.endpoint)
    stub = EventsStub(channel)
    for request, field in [
        (pb.WatchEventsRequest(kinds=[99]), "kinds"),  # type: ignore[list-item]
        (pb.WatchEventsRequest(job_id="x" * 100), "job_id"),
        (pb.WatchEventsRequest(target="a\nb"), "target"),
        (pb.WatchEventsRequest(after_seq=2**63), "after_seq"),
    ]:
        with pytest.raises(grpc.RpcError) as error:
            next(iter(stub.WatchEvents(request, timeout=10)))
        code = error.value.code()  # type: ignore[attr-defined]
        assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE), field
        assert field in error.value.details()  # type: ignore[attr-defined]
    truncated = channel.unary_stream("/tether.v1.Events/WatchEvents")(b"\x08", timeout=10)
    with pytest.raises(grpc.RpcError) as error:
        next(iter(truncated))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert "Traceback" not in tetherd.log()
    channel.close()


def test_events_service_is_listed_and_healthy(tetherd: Tetherd) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel = grpc.insecure_channel(tetherd.endpoint)
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="tether.v1.Events"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    listing = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    assert "tether.v1.Events" in {s.name for s in next(listing).list_services_response.service}
    channel.close()


def test_reasons_lose_secrets_and_stay_short() -> None:
    reason = safe_reason(f"login failed for admin/{SECRET}\n  username x secret 5 $1$abc\n" + "x" * 1000, (SECRET,))
    assert SECRET not in reason and "$1$abc" not in reason and "\n" not in reason
    assert len(reason) <= 303


def test_dropped_stream_resumes_without_gap_or_duplicate(tetherd: Tetherd) -> None:
    client = tetherd.client()
    before = client.info().event_seq
    reference = Watcher(tetherd.endpoint, after_seq=before)
    first = Watcher(tetherd.endpoint, after_seq=before)
    stop = threading.Event()

    def work() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            client.execute({**NULL, "host": f"r{number % 4}"}, [f"c{number}"], driver="null")

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    first.wait_for(lambda got: len(got) >= 40, "40 events on the first stream")
    first.channel.close()  # the connection drops mid-stream
    first.ended.wait(10)
    assert first.error is not None  # it did not end cleanly: it was cut
    last = first.events[-1].seq
    resumed = Watcher(tetherd.endpoint, after_seq=last)
    time.sleep(0.5)
    stop.set()
    worker.join(30)
    newest = client.info().event_seq
    reference.wait_for(lambda got: got and got[-1].seq == newest, "the reference watcher to catch up")
    resumed.wait_for(lambda got: got and got[-1].seq == newest, "the resumed watcher to catch up")
    joined = [e.seq for e in first.events] + [e.seq for e in resumed.events]
    assert joined == [e.seq for e in reference.events]
    assert len(set(joined)) == len(joined) and consecutive(reference.events)
    assert not any(e.kind == pb.EVENT_KIND_GAP for e in resumed.events)
    reference.close()
    resumed.close()


def test_gap_when_asking_beyond_retention(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory(env={"TETHER_EVENT_RETENTION": "10"})
    client = daemon.client()
    before = client.info().event_seq
    for number in range(5):
        client.execute({**NULL, "host": f"g{number}"}, ["x"], driver="null")
    newest = client.info().event_seq
    assert newest - before > 10
    watcher = Watcher(daemon.endpoint, after_seq=before)
    watcher.wait_for(lambda got: got and got[-1].seq == newest, "the retained events")
    gap, *rest = watcher.events
    assert gap.kind == pb.EVENT_KIND_GAP and gap.seq == newest - 9  # the oldest retained
    assert [e.seq for e in rest] == list(range(newest - 9, newest + 1))
    # A client resuming inside the window gets no GAP.
    inside = Watcher(daemon.endpoint, after_seq=newest - 3)
    inside.wait_for(lambda got: len(got) == 3, "three events")
    assert [e.seq for e in inside.events] == [newest - 2, newest - 1, newest]
    watcher.close()
    inside.close()


def test_events_age_out(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory(env={"TETHER_EVENT_RETENTION_SECONDS": "1"})
    client = daemon.client()
    before = client.info().event_seq
    client.execute(NULL, ["x"], driver="null")
    time.sleep(1.5)
    client.execute({**NULL, "host": "later"}, ["y"], driver="null")
    watcher = Watcher(daemon.endpoint, after_seq=before)
    watcher.wait_for(lambda got: finished_jobs(got) == 1, "the later job")
    assert watcher.events[0].kind == pb.EVENT_KIND_GAP
    assert all(e.job.target != "null.example:22" for e in watcher.events[1:])
    watcher.close()


def switch_connection(switch: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "host": switch.host,
        "port": switch.port,
        "platform": switch.platform,
        "username": switch.username,
        "password": switch.password,
        **overrides,
    }


def test_device_status_follows_the_switch(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    target = f"{switch.host}:{switch.port}"
    watcher = Watcher(tetherd.endpoint, after_seq=client.info().event_seq, kinds=[pb.EVENT_KIND_DEVICE_STATUS])

    def states() -> list[int]:
        return [e.device.state for e in watcher.events if e.device.target == target]

    assert client.execute(switch_connection(switch), ["show version"]).ok
    watcher.wait_for(lambda _: states() == [pb.DEVICE_STATE_ONLINE], "online")
    own_switch.kill()
    with pytest.raises(TetherError):
        client.execute(switch_connection(switch), ["show version"], timeout=30)
    watcher.wait_for(lambda _: states()[-1:] == [pb.DEVICE_STATE_OFFLINE], "offline")
    offline = watcher.events[-1].device
    assert offline.driver == "netmiko" and offline.reason
    own_switch.restart()
    assert client.execute(switch_connection(switch), ["show version"]).ok
    watcher.wait_for(lambda _: states()[-1:] == [pb.DEVICE_STATE_ONLINE], "online again")
    wrong = "Wrong-pw-9876"
    with pytest.raises(TetherError) as error:
        client.execute(switch_connection(switch, password=wrong), ["show version"], timeout=30)
    assert error.value.code == "PERMISSION_DENIED"
    watcher.wait_for(lambda _: states()[-1:] == [pb.DEVICE_STATE_ERROR], "error on a wrong password")
    assert client.execute(switch_connection(switch), ["show clock"]).ok  # the warm session answers
    watcher.wait_for(lambda _: states()[-1:] == [pb.DEVICE_STATE_ONLINE], "online after a good call")
    online, offline, error = pb.DEVICE_STATE_ONLINE, pb.DEVICE_STATE_OFFLINE, pb.DEVICE_STATE_ERROR
    assert states() == [online, offline, online, error, online]
    assert all(wrong.encode() not in e.SerializeToString() for e in watcher.events)
    watcher.close()


def test_keepalive_failure_events(tetherd: Tetherd, own_switch: Any) -> None:
    client = tetherd.client()
    switch = own_switch.switches[0]
    target = f"{switch.host}:{switch.port}"
    watcher = Watcher(tetherd.endpoint, after_seq=client.info().event_seq, target=target)
    assert client.execute(switch_connection(switch, keepalive_seconds=1), ["show version"]).ok
    own_switch.kill()
    watcher.wait_for(lambda got: any(e.kind == pb.EVENT_KIND_SESSION_CLOSED for e in got), "the session closed")
    got = [e for e in watcher.events if e.WhichOneof("payload") != "job"]
    assert kinds(got) == ["SESSION_OPENED", "DEVICE_STATUS", "KEEPALIVE_FAILED", "DEVICE_STATUS", "SESSION_CLOSED"]
    assert got[3].device.state == pb.DEVICE_STATE_OFFLINE and "keepalive" in got[3].device.reason
    assert got[4].session.reason.startswith("keepalive") and got[4].session.session_id == got[0].session.session_id
    assert all(switch.password.encode() not in e.SerializeToString() for e in watcher.events)
    watcher.close()


def rss(daemon: Tetherd) -> int:
    assert daemon.process is not None
    return int(psutil.Process(daemon.process.pid).memory_info().rss)


@pytest.mark.slow
def test_a_watcher_that_never_reads_stays_bounded(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory(env={"TETHER_EVENT_RETENTION": "5000"})
    client = daemon.client()
    hosts = [f"t{n}" for n in range(10_000)]
    request = bulk_request(hosts)
    for target in request.targets:  # one connection for all: one session, no thread per target
        target.connection.host = "flood.example"
    for _ in range(2):  # warm up: the job store, the session, gRPC's and the allocator's buffers
        for _ in client.bulk(request):
            pass
    stalled = Watcher(daemon.endpoint, read=False, after_seq=client.info().event_seq)
    baseline = rss(daemon)
    before = client.info().event_seq
    for _ in range(3):
        for _ in client.bulk(request):
            pass
    published = client.info().event_seq - before
    grown = rss(daemon) - baseline
    print(f"\n{published} events past a watcher that never reads; tetherd RSS grew {grown / 2**20:.1f} MB")
    assert published >= 60_000
    # The same flood with no watcher grows RSS by ~5 to 11 MB here (allocator noise); queued for
    # one watcher as messages, 60,000 events would add ~55 MB more. A cursor adds nothing.
    assert grown < 30 * 2**20
    # When it reads at last, it is told what it missed.
    seen: list[pb.Event] = []
    for event in stalled.call:
        seen.append(event)
        if event.kind == pb.EVENT_KIND_GAP or len(seen) > 20_000:
            break
    assert seen[-1].kind == pb.EVENT_KIND_GAP and seen[-1].seq > seen[0].seq
    stalled.close()


def test_stream_ends_cleanly_on_shutdown(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory()
    watcher = Watcher(daemon.endpoint)
    started = time.monotonic()
    daemon.stop()
    assert watcher.ended.wait(15)
    assert watcher.error is None  # ended with OK, not cancelled at the drain's end
    assert time.monotonic() - started < 10  # not held for drain_seconds (10 s): generous on a loaded machine


class SocketCutter:
    """A unix-socket forwarder in front of tetherd whose live connections can be cut."""

    def __init__(self, path: Path, upstream: Path) -> None:
        self.path = path
        self.upstream = upstream
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(16)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(str(self.upstream))
            with self._lock:
                self._open += [downstream, upstream]
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65_536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            victims, self._open = self._open, []
        for connection in victims:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def close(self) -> None:
        self._server.close()
        self.cut()


def test_cli_prints_events_and_resumes_after_a_cut(tetherd: Tetherd, tmp_path: Path) -> None:
    client = tetherd.client()
    before = client.info().event_seq
    reference = Watcher(tetherd.endpoint, after_seq=before)
    cutter = SocketCutter(tmp_path / "cut.sock", tetherd.socket)
    env = {"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
    follower = subprocess.Popen(
        [*TETHER, "--endpoint", f"unix:{cutter.path}", "events", "--after", str(before), "--retries", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []

    def read() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        for number in range(3):
            client.execute({**NULL, "host": f"c{number}"}, ["x"], driver="null")
        wait_until(lambda: sum(" job_finished " in line for line in lines) == 3, 30, what="three jobs printed")
        cutter.cut()
        for number in range(3, 6):
            client.execute({**NULL, "host": f"c{number}"}, ["x"], driver="null")
        wait_until(lambda: sum(" job_finished " in line for line in lines) == 6, 30, what="six jobs printed")
    finally:
        follower.terminate()
        _, stderr = follower.communicate(timeout=10)
        cutter.close()
    newest = client.info().event_seq
    reference.wait_for(lambda got: got and got[-1].seq == newest, "the reference watcher")
    assert [int(line.split()[0]) for line in lines] == [e.seq for e in reference.events]
    assert "resuming after seq" in stderr
    started = next(line for line in lines if " job_started " in line)
    assert "job " in started and "c0:22" in started and "queued 0/1" in started
    device = next(line for line in lines if " device_status " in line)
    assert device.split()[3] == "c0:22" and "online (null)" in device
    reference.close()


def test_cli_json_and_count(tetherd: Tetherd) -> None:
    client = tetherd.client()
    before = client.info().event_seq
    client.execute(NULL, ["x"], driver="null")
    done = subprocess.run(
        [*TETHER, "--endpoint", tetherd.endpoint, "--json", "events", "--after", str(before), "--count", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}},
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["kind"] == "EVENT_KIND_JOB_STARTED" and int(first["seq"]) == before + 1
    assert int(second["seq"]) == before + 2


def test_publishers_on_many_threads_reach_a_reader_in_order() -> None:
    """Worker threads publish while the loop reads: every seq once, in order, none lost."""
    threads, each = 8, 3_000
    bus = EventBus(retention=threads * each)

    async def scenario() -> list[int]:
        subscription = bus.subscribe(0)
        start = subscription.cursor
        record = pb.Job(id="j", kind=pb.JOB_KIND_BULK)

        def publish() -> None:
            for _ in range(each):
                bus.job(pb.EVENT_KIND_JOB_PROGRESS, record)

        workers = [threading.Thread(target=publish) for _ in range(threads)]
        for worker in workers:
            worker.start()
        seen = []
        async for data in subscription.follow(event_filter(set(), "", "")):
            seen.append(pb.Event.FromString(data).seq)
            if len(seen) == threads * each:
                break
        for worker in workers:
            worker.join()
        subscription.close()
        assert seen[0] == start + 1
        return seen

    seen = asyncio.run(scenario())
    assert seen == list(range(seen[0], seen[0] + threads * each))
