"""One request per capability: what the suite sends to prove a capability works or is refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf.json_format import ParseDict
from google.protobuf.struct_pb2 import Struct

from tether.client import TetherClient, connection_message
from tether.drivers.contract import Capability
from tether.v1 import messages as pb

Send = Callable[[TetherClient, str, Mapping[str, Any]], Any]


def operation(**fields: Any) -> pb.Operation:
    """An Operation with any field, getters as (name, arguments) and api_calls as plain data."""
    getters = fields.pop("getters", ())
    api_calls = fields.pop("api_calls", ())
    message = pb.Operation(**fields)
    for name, arguments in getters:
        call = message.getters.add(name=name)
        if arguments:
            call.arguments.CopyFrom(ParseDict(dict(arguments), Struct()))
    for api_call in api_calls:
        ParseDict(api_call, message.api_calls.add())
    return message


def execute(client: TetherClient, driver: str, connection: Mapping[str, Any], **fields: Any) -> pb.ExecuteResponse:
    """An Execute with any Operation field (the typed client has no arguments for the newest ones)."""
    request = pb.ExecuteRequest(driver=driver, connection=connection_message(connection))
    request.operation.CopyFrom(operation(**fields))
    return client.run(request)


def bulk(client: TetherClient, driver: str, connection: Mapping[str, Any], **fields: Any) -> list[pb.BulkEvent]:
    """A Bulk of one target: refused as a whole, or its events."""
    request = pb.BulkRequest(driver=driver, defaults=connection_message(connection))
    request.targets.add(name="conformance")
    request.operation.CopyFrom(operation(**fields))
    return list(client.bulk(request))


def candidate(action: pb.CandidateAction.ValueType, config: str = "hostname tether-refused", **fields: Any) -> Any:
    return pb.ConfigCandidate(action=action, config=config, **fields)


# Operations that need exactly the capability they are keyed by (plus, at most, the one it refines:
# structured output needs commands, running config needs config, commit_confirm a candidate).
NEEDING_OPERATION: Mapping[Capability, Mapping[str, Any]] = {
    Capability.COMMANDS: {"commands": ["show version"]},
    Capability.STRUCTURED_OUTPUT: {"commands": ["show version"], "encoding": "json"},
    Capability.CONFIG: {"config": ["hostname tether-refused"]},
    Capability.RUNNING_CONFIG: {
        "config": ["hostname tether-refused"],
        "config_mode": pb.CONFIG_MODE_CHECK,
        "diff": True,
    },
    Capability.SAVE_CONFIG: {"save": True},
    Capability.CONFIG_CANDIDATE: {"candidate": candidate(pb.CANDIDATE_ACTION_COMPARE)},
    Capability.COMMIT_CONFIRM: {"candidate": candidate(pb.CANDIDATE_ACTION_COMMIT, revert_in=60)},
    Capability.GETTERS: {"getters": [("get_facts", {})]},
    Capability.API_CALLS: {"api_calls": ["show version"]},
}


def lease(client: TetherClient, driver: str, connection: Mapping[str, Any]) -> pb.ChannelOpened:
    """Open a channel lease and release it at once (LeaseEnded, a TetherError, when refused)."""
    from tether.lease_client import ChannelLeaseClient

    leased = ChannelLeaseClient(client, connection, driver=driver, wait_timeout=30)
    try:
        return leased.wait_opened(60)
    finally:
        leased.release()


NEEDING_CALL: Mapping[Capability, tuple[Send, ...]] = {
    Capability.CHANNEL_LEASE: (lease,),
    Capability.EXEC: (lambda c, d, conn: c.exec_command(conn, "true", driver=d),),
    Capability.FILE_TRANSFER: (
        lambda c, d, conn: c.put_file(conn, "/tmp/tether-conformance-refused", b"x", driver=d),
        lambda c, d, conn: c.fetch_file(conn, "/etc/hostname", driver=d),
    ),
}


def needing(capability: Capability) -> tuple[Send, ...]:
    """Every request that needs ``capability``: an operation both as Execute and as Bulk."""
    if capability in NEEDING_CALL:
        return NEEDING_CALL[capability]
    fields = NEEDING_OPERATION[capability]
    return (
        lambda c, d, conn: execute(c, d, conn, **dict(fields)),
        lambda c, d, conn: bulk(c, d, conn, **dict(fields)),
    )
