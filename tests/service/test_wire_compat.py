"""Wire compatibility of the split API with clients generated before it.

A client generated from the single-file tether.proto of commit a3b5eba (before the
split by domain) runs against a new tetherd, in a process that imports ONLY those old
stubs (a temp ``tether/v1`` package first on sys.path; this repo's ``tether`` is not
importable there). Also: reflection lists the domain services and the legacy one,
health answers for each, and this repo's client keeps working with an OLD tetherd
(the tree of a3b5eba) by falling back to the legacy service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.harness import Tetherd
from tests.service.test_switches import conn
from tether.client import TetherError
from tether.v1 import messages as pb

ROOT = Path(__file__).resolve().parents[2]
OLD_API_COMMIT = "a3b5eba"  # the last commit with the single-file tether.proto
GRPC_TOOLS_VERSION = os.environ.get("GRPC_TOOLS_VERSION", "1.66.2")
# Read at import: the suite's autouse fixture clears TETHER_* variables for each test.
PROTOC_VENV = Path(os.environ.get("TETHER_PROTOC_VENV", ROOT / "build" / f"protoc-venv-{GRPC_TOOLS_VERSION}"))
NULL = {"host": "null.example", "username": "u", "password": "pw"}
DOMAIN_SERVICES = ("tether.v1.Devices", "tether.v1.Jobs", "tether.v1.Sessions", "tether.v1.Service")

# Runs in a process that sees only the old generated stubs; prints what it found as JSON.
OLD_CLIENT = r"""
import json, sys
out, endpoint, switch = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, out)
import grpc
import tether
from tether.v1 import tether_pb2 as pb, tether_pb2_grpc
assert tether.__file__.startswith(out), tether.__file__
assert "driver_info" not in pb.ServiceInfo.DESCRIPTOR.fields_by_name  # really the old messages
channel = grpc.insecure_channel(endpoint)
stub = tether_pb2_grpc.TetherStub(channel)
null = pb.Connection(host="null.example", username="u", password="pw")
found = {}
first = stub.Execute(pb.ExecuteRequest(driver="null", connection=null,
    operation=pb.Operation(commands=["show a", "show b"])), timeout=60)
again = stub.Execute(pb.ExecuteRequest(driver="null", connection=null,
    operation=pb.Operation(commands=["show c"])), timeout=60)
found["null"] = {
    "ok": first.ok, "job_id": first.job_id,
    "commands": [r.command for r in first.results], "outputs": [r.output for r in first.results],
    "statuses": [pb.ResultStatus.Name(r.status) for r in first.results],
    "reused": [first.meta.session_reused, again.meta.session_reused],
    "session_id": first.meta.session_id,
}
device = pb.Connection(host=switch["host"], port=switch["port"], platform=switch["platform"],
    username=switch["username"], password=switch["password"])
shown = stub.Execute(pb.ExecuteRequest(connection=device,
    operation=pb.Operation(commands=["show version"])), timeout=120)
found["switch"] = {"ok": shown.ok, "output": shown.results[0].output, "connect_ms": shown.meta.connect_ms}
events = list(stub.Bulk(pb.BulkRequest(driver="null", defaults=pb.Connection(username="u", password="pw"),
    targets=[pb.Target(name=f"t{i}", connection=pb.Connection(host=f"h{i}.example")) for i in range(3)],
    operation=pb.Operation(commands=["show x"])), timeout=60))
summary = events[-1].summary
found["bulk"] = {
    "kinds": sorted({e.WhichOneof("event") for e in events}),
    "accepted_total": events[0].accepted.total, "succeeded": summary.succeeded, "job_id": summary.job_id,
    "finished": sorted(e.finished.target for e in events if e.WhichOneof("event") == "finished"),
    "outputs": sorted(e.finished.results[0].output for e in events if e.WhichOneof("event") == "finished"),
}
job = stub.GetJob(pb.GetJobRequest(job_id=first.job_id), timeout=30)
found["job"] = {"id": job.id, "state": pb.JobState.Name(job.state), "kind": pb.JobKind.Name(job.kind),
    "driver": job.driver, "targets": list(job.targets), "commands": list(job.commands),
    "outputs": [r.output for t in job.results for r in t.results]}
sessions = stub.ListSessions(pb.ListSessionsRequest(driver="null"), timeout=30).sessions
found["sessions"] = sorted((s.host, s.driver, s.username, pb.SessionState.Name(s.state)) for s in sessions)
info = stub.GetServiceInfo(pb.GetServiceInfoRequest(), timeout=30)
found["info"] = {"version": info.version, "drivers": list(info.drivers), "pid": info.pid,
    "jobs_execute": info.counters["jobs_execute"], "sessions_open": info.sessions_open}
print(json.dumps(found))
"""


def _git(*args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"commit {OLD_API_COMMIT} is not in this clone (git {args[0]}: {done.stderr.decode()[:200]})")
    return done.stdout


def _protoc_python(tmp: Path) -> Path:
    """The python of proto/generate.sh's venv (grpcio-tools of the oldest supported version), built if missing."""
    venv = PROTOC_VENV
    if not (venv / "bin" / "protoc-gen-mypy").exists():
        # generate.sh builds the venv as it always does; its output goes to a scratch dir, not the tree.
        tmp.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "TETHER_PROTOC_VENV": str(venv)}
        subprocess.run(["bash", str(ROOT / "proto" / "generate.sh"), str(tmp)], check=True, timeout=600, env=env)
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def old_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python stubs generated from the pre-split tether.proto, as a real ``tether.v1`` package."""
    base = tmp_path_factory.mktemp("old-api")
    proto = base / "proto" / "tether" / "v1" / "tether.proto"
    proto.parent.mkdir(parents=True)
    proto.write_bytes(_git("show", f"{OLD_API_COMMIT}:proto/tether/v1/tether.proto"))
    out = base / "out"
    (out / "tether" / "v1").mkdir(parents=True)
    python = _protoc_python(base / "scratch")
    subprocess.run(
        [str(python), "-m", "grpc_tools.protoc", "-I", str(base / "proto"),
         f"--python_out={out}", f"--grpc_python_out={out}", str(proto)],
        check=True, timeout=300,
    )  # fmt: skip
    (out / "tether" / "__init__.py").write_text("")
    (out / "tether" / "v1" / "__init__.py").write_text("")
    assert (out / "tether" / "v1" / "tether_pb2_grpc.py").exists()
    return out


@pytest.mark.slow  # building generate.sh's venv, when missing, takes a minute or more
def test_a_client_generated_from_the_old_proto_works_against_a_new_tetherd(
    old_stubs: Path, tetherd: Tetherd, switches: Any
) -> None:
    switch = switches.switches[7]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", OLD_CLIENT, str(old_stubs), tetherd.endpoint, json.dumps(conn(switch))],
        capture_output=True, text=True, timeout=300, env=env, cwd=old_stubs,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout)
    null = found["null"]
    assert null["ok"] and null["job_id"] and null["session_id"]
    assert null["commands"] == ["show a", "show b"]
    assert null["outputs"] == ["show a", "show b"]  # the null driver echoes
    assert null["statuses"] == ["RESULT_STATUS_OK", "RESULT_STATUS_OK"]
    assert null["reused"] == [False, True]
    assert found["switch"]["ok"] and "Cisco IOS" in found["switch"]["output"]
    bulk = found["bulk"]
    assert bulk["kinds"] == ["accepted", "finished", "progress", "started", "summary"]
    assert (bulk["accepted_total"], bulk["succeeded"]) == (3, 3) and bulk["job_id"]
    assert bulk["finished"] == ["t0", "t1", "t2"] and bulk["outputs"] == ["show x"] * 3
    job = found["job"]
    assert (job["id"], job["state"], job["kind"], job["driver"]) == (
        null["job_id"], "JOB_STATE_SUCCEEDED", "JOB_KIND_EXECUTE", "null"
    )  # fmt: skip
    assert job["targets"] == ["null.example:22"] and job["commands"] == ["show a", "show b"]
    assert job["outputs"] == ["show a", "show b"]
    assert ["null.example", "null", "u", "SESSION_STATE_IDLE"] in found["sessions"]
    info = found["info"]
    assert info["version"] and info["pid"] and "null" in info["drivers"] and "netmiko" in info["drivers"]
    assert info["jobs_execute"] == 3 and info["sessions_open"] >= 1


def _service_names(channel: grpc.Channel) -> list[str]:
    return list(ProtoReflectionDescriptorDatabase(channel).get_services())


def test_reflection_lists_every_service_and_health_answers_for_each(tetherd: Tetherd) -> None:
    with grpc.insecure_channel(tetherd.endpoint) as channel:
        names = _service_names(channel)
        for name in (*DOMAIN_SERVICES, "tether.v1.Tether"):
            assert name in names
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=name), timeout=30)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, name


@pytest.fixture
def old_tetherd(tmp_path: Path) -> Iterator[Tetherd]:
    """A tetherd from before the split: the service tree of the old commit, run as it was."""
    tree = tmp_path / "old-tree"
    tree.mkdir()
    archive = _git("archive", OLD_API_COMMIT, "service/tether")
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True, timeout=60)
    daemon = Tetherd(tmp_path / "old", env={"PYTHONPATH": str(tree / "service")}).start()
    yield daemon
    daemon.stop()


def test_the_client_falls_back_to_the_legacy_service_of_an_older_tetherd(old_tetherd: Tetherd) -> None:
    client = old_tetherd.client()
    with grpc.insecure_channel(old_tetherd.endpoint) as channel:
        assert "tether.v1.Devices" not in _service_names(channel)  # really the old service
    response = client.execute(NULL, ["show a"], driver="null")
    assert response.ok and response.results[0].output == "show a"
    assert client.uses_legacy_service
    assert client.get_job(response.job_id).driver == "null"
    assert [s.host for s in client.list_sessions()] == ["null.example"]
    assert "null" in client.info().drivers
    with pytest.raises(TetherError) as error:  # its errors still arrive, without rich details
        client.execute({**NULL, "options": {"bogus": 1}}, ["x"], driver="null")
    assert error.value.code == "INVALID_ARGUMENT" and error.value.reason == ""


def test_a_new_client_stays_on_the_domain_services_of_a_new_tetherd(tetherd: Tetherd) -> None:
    client = tetherd.client()
    assert client.execute(NULL, ["show a"], driver="null").ok
    events = list(client.bulk(_bulk_request()))
    assert events[-1].summary.succeeded == 1
    assert not client.uses_legacy_service


def test_bulk_falls_back_too(old_tetherd: Tetherd) -> None:
    client = old_tetherd.client()
    events = list(client.bulk(_bulk_request()))
    assert events[-1].summary.succeeded == 1 and client.uses_legacy_service


def _bulk_request() -> pb.BulkRequest:
    return pb.BulkRequest(
        driver="null",
        defaults=pb.Connection(username="u", password="pw"),
        targets=[pb.Target(connection=pb.Connection(host="b.example"))],
        operation=pb.Operation(commands=["x"]),
    )
