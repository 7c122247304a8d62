"""One request per capability: what the suite sends to prove a capability works or is refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.json_format import ParseDict
from google.protobuf.struct_pb2 import Struct, Value

from tether.client import TetherClient, connection_message
from tether.drivers.contract import Capability
from tether.v1 import messages as pb

Send = Callable[[TetherClient, str, Mapping[str, Any]], Any]


def execute(client: TetherClient, driver: str, connection: Mapping[str, Any], **operation: Any) -> pb.ExecuteResponse:
    """An Execute with any Operation field (the typed client has no arguments for the newest ones)."""
    request = pb.ExecuteRequest(driver=driver, connection=connection_message(connection))
    getters = operation.pop("getters", ())
    api_calls = operation.pop("api_calls", ())
    candidate = operation.pop("candidate", None)
    request.operation.CopyFrom(pb.Operation(**operation))
    for name, arguments in getters:
        call = request.operation.getters.add(name=name)
        if arguments:
            call.arguments.CopyFrom(ParseDict(dict(arguments), Struct()))
    for api_call in api_calls:
        ParseDict(api_call, request.operation.api_calls.add())
    if candidate is not None:
        request.operation.candidate.CopyFrom(candidate)
    return client.run(request)


def value(data: Any) -> Value:
    return ParseDict(data, Value())


# Requests that need exactly the capability they are keyed by (plus, at most, the one it refines:
# structured output needs commands, running config needs config, commit_confirm a candidate).
NEEDING: Mapping[Capability, tuple[Send, ...]] = {
    Capability.COMMANDS: (lambda c, d, conn: execute(c, d, conn, commands=["show version"]),),
    Capability.STRUCTURED_OUTPUT: (lambda c, d, conn: execute(c, d, conn, commands=["show version"], encoding="json"),),
    Capability.CONFIG: (lambda c, d, conn: execute(c, d, conn, config=["hostname tether-refused"]),),
    Capability.RUNNING_CONFIG: (
        lambda c, d, conn: execute(
            c, d, conn, config=["hostname tether-refused"], config_mode=pb.CONFIG_MODE_CHECK, diff=True
        ),
    ),
    Capability.SAVE_CONFIG: (lambda c, d, conn: execute(c, d, conn, save=True),),
    Capability.CONFIG_CANDIDATE: (
        lambda c, d, conn: execute(c, d, conn, candidate=candidate(pb.CANDIDATE_ACTION_COMPARE)),
    ),
    Capability.COMMIT_CONFIRM: (
        lambda c, d, conn: execute(c, d, conn, candidate=candidate(pb.CANDIDATE_ACTION_COMMIT, revert_in=60)),
    ),
    Capability.GETTERS: (lambda c, d, conn: execute(c, d, conn, getters=[("get_facts", {})]),),
    Capability.API_CALLS: (lambda c, d, conn: execute(c, d, conn, api_calls=["show version"]),),
    Capability.EXEC: (lambda c, d, conn: c.exec_command(conn, "true", driver=d),),
    Capability.FILE_TRANSFER: (
        lambda c, d, conn: c.put_file(conn, "/tmp/tether-conformance-refused", b"x", driver=d),
        lambda c, d, conn: c.fetch_file(conn, "/etc/hostname", driver=d),
    ),
}


def candidate(action: pb.CandidateAction.ValueType, config: str = "hostname tether-refused", **fields: Any) -> Any:
    return pb.ConfigCandidate(action=action, config=config, **fields)
