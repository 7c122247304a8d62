"""The expected shape of every result kind, defined once (as NAPALM's ``models.py`` is).

Each model checks one protobuf message the service answers and returns what is wrong with
it (an empty list when it conforms), so a failure names every broken field at once::

    assert not problems(CommandText, result, command="show version", contains="Cisco")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Value

from tether.drivers.contract import CONTRACT_VERSION, Capability
from tether.v1 import messages as pb

Model = Callable[..., Iterable[str]]
KNOWN_CAPABILITIES = frozenset(c.value for c in Capability)


def problems(model: Model, message: Any, **expected: Any) -> list[str]:
    return [f"{model.__name__}: {problem}" for problem in model(message, **expected)]


def _structured(value: Value, where: str) -> Iterable[str]:
    """Typed data travels as a protobuf Struct or list, never as JSON text inside a string."""
    kind = value.WhichOneof("kind")
    if kind not in ("struct_value", "list_value"):
        yield f"{where} is {kind or 'unset'}, not structured data (a Struct or a list)"
    elif kind == "struct_value" and not value.struct_value.fields:
        yield f"{where} is an empty Struct"
    if kind == "string_value":
        try:
            json.loads(value.string_value)
        except ValueError:
            return
        yield f"{where} carries JSON text inside a string"


def DriverInfoModel(info: pb.DriverInfo, contract: int = CONTRACT_VERSION) -> Iterable[str]:  # noqa: N802 (a model)
    if info.load_error:
        yield f"driver {info.name} did not load: {info.load_error}"
        return
    if not info.name or not info.version:
        yield "name and version are required"
    if not info.contract_min <= contract <= info.contract_max:
        yield f"contract range {info.contract_min}..{info.contract_max} does not contain {contract}"
    sets = {"": list(info.capabilities)} | {p: list(s.capabilities) for p, s in info.platform_capabilities.items()}
    for platform, capabilities in sets.items():
        where = f"platform {platform!r}" if platform else "capabilities"
        unknown = set(capabilities) - KNOWN_CAPABILITIES
        if unknown:
            yield f"{where} lists unknown capabilities {sorted(unknown)}"
        if len(set(capabilities)) != len(capabilities):
            yield f"{where} lists a capability twice"
        if Capability.COMMIT_CONFIRM in capabilities and Capability.CONFIG_CANDIDATE not in capabilities:
            yield f"{where}: commit_confirm without config_candidate"
        if Capability.STRUCTURED_OUTPUT in capabilities and Capability.COMMANDS not in capabilities:
            yield f"{where}: structured_output without commands"
    for platform, capabilities in sets.items():
        if platform and set(capabilities) == set(info.capabilities):
            yield f"platform {platform!r} is listed with the driver's own capabilities (list only those that differ)"
    has_getters = any(Capability.GETTERS in capabilities for capabilities in sets.values())
    if has_getters != bool(info.getters):
        yield f"getter names ({list(info.getters)}) are listed iff some platform has the getters capability"
    if not 0 < info.default_port <= 65535:
        yield f"default_port {info.default_port} is out of range"


def MetaModel(meta: pb.ExecutionMeta, reused: bool) -> Iterable[str]:  # noqa: N802
    if not meta.session_id:
        yield "session_id is empty"
    if meta.session_reused is not reused:
        yield f"session_reused is {meta.session_reused}, expected {reused}"
    if reused and meta.connect_ms != 0:
        yield f"connect_ms is {meta.connect_ms} on a reused session"
    if min(meta.connect_ms, meta.run_ms, meta.queued_ms) < 0:
        yield "a negative duration"


def CommandText(result: pb.CommandResult, command: str, contains: str) -> Iterable[str]:  # noqa: N802
    if result.status != pb.RESULT_STATUS_OK or result.error:
        yield f"status {pb.ResultStatus.Name(result.status)}, error {result.error!r}"
    if result.command != command:
        yield f"command is {result.command!r}, expected {command!r}"
    if contains not in result.output:
        yield f"output {result.output[:200]!r} lacks {contains!r}"
    if result.HasField("data") or result.parsed_json:
        yield "a text answer carries data"
    if result.duration_ms < 0:
        yield "negative duration_ms"


def CommandFailure(result: pb.CommandResult, command: str) -> Iterable[str]:  # noqa: N802
    if result.status != pb.RESULT_STATUS_FAILED:
        yield f"status {pb.ResultStatus.Name(result.status)}, expected RESULT_STATUS_FAILED"
    if result.command != command:
        yield f"command is {result.command!r}, expected {command!r}"
    if not result.error:
        yield "a failed command says nothing in error"


def CommandStructured(result: pb.CommandResult, command: str) -> Iterable[str]:  # noqa: N802
    if result.status != pb.RESULT_STATUS_OK or result.error:
        yield f"status {pb.ResultStatus.Name(result.status)}, error {result.error!r}"
    if result.command != command:
        yield f"command is {result.command!r}, expected {command!r}"
    if not result.HasField("data"):
        yield "data is unset"
    else:
        yield from _structured(result.data, "data")
        if result.parsed_json and json.loads(result.parsed_json) != MessageToDict(result.data):
            yield "parsed_json (kept for old clients) differs from data"


def GetterData(result: pb.GetterResult, name: str) -> Iterable[str]:  # noqa: N802
    if result.status != pb.RESULT_STATUS_OK or result.error:
        yield f"status {pb.ResultStatus.Name(result.status)}, error {result.error!r}"
    if result.name != name:
        yield f"name is {result.name!r}, expected {name!r}"
    if not result.HasField("data"):
        yield "data is unset"
    else:
        yield from _structured(result.data, "data")


def ApiData(result: pb.CommandResult) -> Iterable[str]:  # noqa: N802
    if result.status != pb.RESULT_STATUS_OK or result.error:
        yield f"status {pb.ResultStatus.Name(result.status)}, error {result.error!r}"
    if not result.HasField("data"):
        yield "data is unset"
    else:
        yield from _structured(result.data, "data")


def CandidateCompared(candidate: pb.CandidateResult) -> Iterable[str]:  # noqa: N802
    if candidate.action not in (pb.CANDIDATE_ACTION_COMPARE, pb.CANDIDATE_ACTION_UNSPECIFIED):
        yield f"action is {pb.CandidateAction.Name(candidate.action)}, expected COMPARE"
    if not candidate.changed or not candidate.diff:
        yield f"a differing candidate compares unchanged (changed={candidate.changed}, diff={candidate.diff!r})"
    if candidate.committed or candidate.pending_confirm:
        yield "a compare committed"


def CandidatePendingConfirm(candidate: pb.CandidateResult) -> Iterable[str]:  # noqa: N802
    if candidate.action != pb.CANDIDATE_ACTION_COMMIT:
        yield f"action is {pb.CandidateAction.Name(candidate.action)}, expected COMMIT"
    if not (candidate.committed and candidate.pending_confirm):
        yield f"committed={candidate.committed} pending_confirm={candidate.pending_confirm}, expected both"


def ConfigApplied(change: pb.ConfigChange, lines: Iterable[str]) -> Iterable[str]:  # noqa: N802
    if not change.changed:
        yield "changed is false"
    if list(change.lines) != list(lines):
        yield f"lines are {list(change.lines)}, expected {list(lines)}"


def ExecOutcome(response: pb.ExecResponse, stdout: bytes) -> Iterable[str]:  # noqa: N802
    if (response.exit_status, response.stdout, response.stderr) != (0, stdout, b""):
        yield f"exit {response.exit_status}, stdout {response.stdout[:100]!r}, stderr {response.stderr[:100]!r}"
    if not response.job_id:
        yield "job_id is empty"


def Refusal(error: Any, capability: str) -> Iterable[str]:  # noqa: N802
    """A request needing a capability the target lacks: FAILED_PRECONDITION naming it."""
    if error.code != "FAILED_PRECONDITION":
        yield f"code {error.code} ({error.message[:200]}), expected FAILED_PRECONDITION"
    elif "lacks the capability" not in error.message or capability not in error.message:
        yield f"message {error.message[:200]!r} does not name the missing capability {capability}"
