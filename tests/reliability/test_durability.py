"""Jobs the service acknowledged survive kill -9: real tetherd processes, killed and restarted
on the same state directory (SQLite WAL, synchronous=NORMAL: a process kill, not a power cut).
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from google.protobuf.struct_pb2 import Struct

from tests.harness import Tetherd
from tether.client import ClientConfig, TetherClient, TetherError, pb

EXECUTE_JOBS = 200
CLIENTS = 8
BULK_TARGETS = 10
FINISHED_BEFORE_KILL = 4


class _KillAfter:
    """Sends SIGKILL from the thread that receives the N-th reply, before it does anything else."""

    def __init__(self, daemon: Tetherd, replies: int) -> None:
        assert daemon.process is not None
        self.pid = daemon.process.pid
        self.left = replies
        self.lock = threading.Lock()

    def replied(self) -> None:
        with self.lock:
            self.left -= 1
            if self.left == 0:
                os.kill(self.pid, signal.SIGKILL)


def _execute_many(daemon: Tetherd, client_index: int, count: int, kill: _KillAfter) -> list[str]:
    job_ids = []
    with TetherClient(ClientConfig(endpoint=daemon.endpoint, timeout=60)) as client:
        connection = {"host": f"durable{client_index}.null", "username": "u", "password": "p"}
        for n in range(count):
            job_ids.append(client.execute(connection, [f"show item {n}"], driver="null").job_id)
            kill.replied()
    return job_ids


def test_acknowledged_execute_jobs_survive_kill_9(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory()
    kill = _KillAfter(daemon, EXECUTE_JOBS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        batches = pool.map(lambda i: _execute_many(daemon, i, EXECUTE_JOBS // CLIENTS, kill), range(CLIENTS))
        job_ids = [job_id for batch in batches for job_id in batch]
    assert daemon.stop() == -signal.SIGKILL  # killed right after the last reply
    assert len(job_ids) == EXECUTE_JOBS

    daemon.start()
    client = daemon.client()
    missing = []
    for job_id in job_ids:
        try:
            job = client.get_job(job_id)
        except TetherError as error:
            assert error.code == "NOT_FOUND", error
            missing.append(job_id)
            continue
        assert job.state == pb.JOB_STATE_SUCCEEDED
        assert job.results[0].results[0].output.startswith("show item ")
    assert missing == [], f"{len(missing)} of {EXECUTE_JOBS} acknowledged jobs were lost"


def _slow_bulk() -> pb.BulkRequest:
    options = Struct()
    options.update({"delay": 1.0})  # seconds per target: the kill comes mid-run
    return pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="p", options=options),
        targets=[pb.Target(name=f"t{i}", connection=pb.Connection(host=f"t{i}.null")) for i in range(BULK_TARGETS)],
        operation=pb.Operation(commands=["show clock"]),
        concurrency=2,
    )


def test_bulk_cut_off_by_kill_9_keeps_its_results_and_names_the_rest(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory()
    client = daemon.client()
    job_id = ""
    received: list[pb.TargetResult] = []
    for event in client.bulk(_slow_bulk()):
        kind = event.WhichOneof("event")
        if kind == "accepted":
            job_id = event.accepted.job_id
        elif kind == "finished":
            received.append(event.finished)
            if len(received) == FINISHED_BEFORE_KILL:
                break
    # While it runs, the job answers GetJob and ListJobs with what has finished so far.
    running = client.get_job(job_id)
    assert running.state == pb.JOB_STATE_RUNNING and running.started > 0
    assert {r.target for r in received} <= {r.target for r in running.results}
    assert job_id in [j.id for j in client.list_jobs(states=[pb.JOB_STATE_RUNNING], include_results=True).jobs]
    daemon.stop(sig=signal.SIGKILL)

    daemon.start()
    job = daemon.client().get_job(job_id)
    assert job.state == pb.JOB_STATE_FAILED
    assert job.started == running.started  # stored when the job started, not at recovery
    by_target = {result.target: result for result in job.results}
    assert sorted(by_target) == sorted(f"t{i}" for i in range(BULK_TARGETS))  # every target accounted for
    for result in received:  # every result the caller saw is kept as it was
        assert by_target[result.target] == result
    finished = [r for r in job.results if r.ok]
    aborted = [r for r in job.results if not r.ok]
    assert len(finished) >= FINISHED_BEFORE_KILL and aborted
    assert all(r.error_code == "ABORTED" and r.error.startswith("tetherd stopped") for r in aborted)
    never_ran = [r for r in aborted if r.error == "tetherd stopped before this target ran"]
    cut_off = [r for r in aborted if r.error.startswith("tetherd stopped while this target ran")]
    assert never_ran and cut_off and len(never_ran) + len(cut_off) == len(aborted)
    counted = re.search(r"(\d+) of 10 targets never ran, (\d+) were cut off while running", job.error)
    assert counted and counted.groups() == (str(len(never_ran)), str(len(cut_off))), job.error


def test_cli_bulk_prints_the_job_id_before_the_first_result(tetherd: Tetherd) -> None:
    command = [sys.executable, "-c", "import sys; from tether.cli.tether import main; sys.exit(main())"]
    done = subprocess.run(
        [*command, "--endpoint", tetherd.endpoint, "bulk", "show clock", "--hosts", "a1", "a2", "--driver", "null",
         "-u", "u", "--password-env", "DEVICE_PW", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env={**os.environ, "DEVICE_PW": "pw", "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    first_result = next(i for i, line in enumerate(lines) if line.startswith("== "))
    announced = [i for i, line in enumerate(lines) if re.fullmatch(r"--- job \w+: 2 targets", line)]
    assert announced and announced[0] < first_result, done.stdout
    job_id = lines[announced[0]].split()[2].rstrip(":")
    assert tetherd.client().get_job(job_id).state == pb.JOB_STATE_SUCCEEDED


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_job_store_files_are_private(tmp_path: Path) -> None:
    daemon = Tetherd(tmp_path / "perm")
    daemon.state_dir.mkdir(parents=True, mode=0o755)
    daemon.state_dir.chmod(0o755)  # an existing, too open state dir is tightened
    try:
        daemon.start()
        daemon.client().execute({"host": "perm.null", "username": "u", "password": "p"}, ["x"], driver="null")
        files = {p.name: _mode(p) for p in daemon.state_dir.glob("jobs.db*")}
        assert set(files) >= {"jobs.db", "jobs.db-wal", "jobs.db-shm"}
        assert files == dict.fromkeys(files, 0o600), files
        assert _mode(daemon.state_dir) == 0o700
    finally:
        daemon.stop()


def test_finished_bulk_answers_with_every_result_from_the_store(tetherd_factory: Callable[..., Tetherd]) -> None:
    daemon = tetherd_factory()
    request = pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="p"),
        targets=[pb.Target(name=f"r{i}", connection=pb.Connection(host=f"r{i}.null")) for i in range(5)],
        operation=pb.Operation(commands=["show clock", "show users"]),
    )
    events = list(daemon.client().bulk(request))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds[0] == "accepted" and kinds[-1] == "summary"
    for target in (f"r{i}" for i in range(5)):  # each target's start is sent before its result
        started = next(i for i, e in enumerate(events) if kinds[i] == "started" and e.started.target == target)
        finished = next(i for i, e in enumerate(events) if kinds[i] == "finished" and e.finished.target == target)
        assert started < finished
    streamed = [e.finished for e, kind in zip(events, kinds, strict=True) if kind == "finished"]
    job_id = events[0].accepted.job_id
    for restart in (False, True):
        if restart:
            daemon.stop()
            daemon.start()
        client = daemon.client()
        assert list(client.get_job(job_id).results) == streamed
        (listed,) = [j for j in client.list_jobs(include_results=True).jobs if j.id == job_id]
        assert list(listed.results) == streamed and listed.state == pb.JOB_STATE_SUCCEEDED
        (bare,) = [j for j in client.list_jobs().jobs if j.id == job_id]
        assert not bare.results
