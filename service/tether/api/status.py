"""The one table from failures to gRPC statuses, with rich error details.

Every failure the service reports, whether a job records it (``TargetResult.error_code``)
or a call ends with it, is classified here: an exception type maps to a gRPC code and a
stable ``reason`` (``ErrorInfo.reason``, domain ``tether.v1``). A call that fails carries
a ``google.rpc.Status`` in its trailers (``grpc-status-details-bin``, through
grpcio-status) with:

- ``ErrorInfo``: the reason and metadata such as the driver, target and capability;
- ``BadRequest.FieldViolation``: for an invalid request that names its field;
- ``PreconditionFailure``: one violation per missing driver capability;
- ``RetryInfo``: where trying again later makes sense (every session slot busy).

Messages stay bounded (:data:`MAX_STATUS_MESSAGE`) and carry no secret: they are the
redacted, bounded words the validators and drivers already produce; metadata values are
names and addresses the request already gave, never a credential.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import google.rpc.error_details_pb2 as error_details_pb2
import google.rpc.status_pb2 as status_pb2
import grpc
from google.protobuf import any_pb2, duration_pb2
from grpc_status import rpc_status

from ..core.events import AfterSeqOutOfRange, BusClosed, TooManyWatchers
from ..core.jobs import BadPageToken, JobNotFound, JobStoreError
from ..core.pool import PoolExhausted
from ..drivers.contract import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    ConnectFailed,
    InvalidRequest,
    MissingCapability,
    OutputLimitExceeded,
    SessionLost,
    Unsupported,
)
from ..security.limits import quote

log = logging.getLogger("tether.api")
DOMAIN = "tether.v1"
# A status message travels twice in the trailers a client caps (8 KiB by default):
# percent-encoded in grpc-message (a non-ASCII byte takes 3) and inside the rich status
# (base64). Past the cap the answer turns into RESOURCE_EXHAUSTED, so the message is
# bounded in UTF-8 bytes: at most ~6 KiB of trailers whatever the characters.
MAX_STATUS_MESSAGE = 1_024
MAX_FIELD_PATH = 200
MAX_METADATA_VALUE = 200
MAX_VIOLATION_DESCRIPTION = 200
# How long a caller refused for want of a session slot should wait before trying again.
POOL_RETRY_SECONDS = 1.0
_FIELD_PATH = re.compile(r"[a-z_][a-z0-9_]*(\[\d*\])?(\.[A-Za-z0-9_-]+(\[\d*\])?)*")


class Cancelled(Exception):
    """A job was cancelled before (or while) its target ran."""


class Unauthenticated(Exception):
    """The call carried no bearer token, several, or the wrong one."""


class MalformedRequest(Exception):
    """The request's bytes do not parse as the method's message."""


@dataclass(frozen=True)
class Rule:
    code: grpc.StatusCode
    reason: str
    retry_after: float = 0.0


# Order matters: the first type an exception is an instance of decides (subclasses first).
TABLE: tuple[tuple[type[BaseException], Rule], ...] = (
    (MalformedRequest, Rule(grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")),
    (Unauthenticated, Rule(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REJECTED")),
    (JobNotFound, Rule(grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND")),
    (BadPageToken, Rule(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")),
    (InvalidRequest, Rule(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST")),
    (MissingCapability, Rule(grpc.StatusCode.FAILED_PRECONDITION, "MISSING_CAPABILITY")),
    (Unsupported, Rule(grpc.StatusCode.FAILED_PRECONDITION, "UNSUPPORTED")),
    (CommandTimeout, Rule(grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE")),
    (OutputLimitExceeded, Rule(grpc.StatusCode.RESOURCE_EXHAUSTED, "OUTPUT_LIMIT")),
    (CommandFailed, Rule(grpc.StatusCode.FAILED_PRECONDITION, "COMMAND_FAILED")),
    (AuthFailed, Rule(grpc.StatusCode.PERMISSION_DENIED, "AUTH_FAILED")),
    (ConnectFailed, Rule(grpc.StatusCode.UNAVAILABLE, "CONNECT_FAILED")),
    (SessionLost, Rule(grpc.StatusCode.UNAVAILABLE, "SESSION_LOST")),
    (PoolExhausted, Rule(grpc.StatusCode.RESOURCE_EXHAUSTED, "POOL_EXHAUSTED", POOL_RETRY_SECONDS)),
    (JobStoreError, Rule(grpc.StatusCode.UNAVAILABLE, "JOB_STORE_UNAVAILABLE", POOL_RETRY_SECONDS)),
    (AfterSeqOutOfRange, Rule(grpc.StatusCode.OUT_OF_RANGE, "AFTER_SEQ_OUT_OF_RANGE")),
    (TooManyWatchers, Rule(grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_WATCHERS", POOL_RETRY_SECONDS)),
    (BusClosed, Rule(grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", POOL_RETRY_SECONDS)),
    (TimeoutError, Rule(grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE")),
    (Cancelled, Rule(grpc.StatusCode.CANCELLED, "CANCELLED")),
    (asyncio.CancelledError, Rule(grpc.StatusCode.CANCELLED, "CANCELLED")),
)
_INTERNAL = Rule(grpc.StatusCode.INTERNAL, "INTERNAL")


@dataclass(frozen=True)
class Failure(Exception):
    """A classified failure: the gRPC code name (as job records store it) and its details."""

    code: str
    message: str
    reason: str = ""
    field: str = ""  # the request field at fault (BadRequest), when known
    metadata: tuple[tuple[str, str], ...] = ()  # ErrorInfo metadata: driver, target, capability, ...
    capabilities: tuple[str, ...] = ()  # missing driver capabilities (PreconditionFailure)
    retry_after: float = 0.0  # seconds (RetryInfo); 0: retrying the same request will not help

    def __str__(self) -> str:
        return self.message

    def with_message(self, message: str) -> Failure:
        return replace(self, message=message)


def field_path(text: str) -> str:
    """``text`` when it is a request field path (``targets[3].connection.port``), else ""."""
    return text if len(text) <= MAX_FIELD_PATH and _FIELD_PATH.fullmatch(text) else ""


def _rule(exc: BaseException) -> Rule | None:
    for kind, rule in TABLE:
        if isinstance(exc, kind):
            return rule
    return None


def _message(exc: BaseException, expected: bool) -> str:
    if isinstance(exc, JobNotFound):
        return f"no job with id {quote(exc.args[0] if exc.args else '')}"
    if not expected:  # a bug: its type says more than its words
        return f"{type(exc).__name__}: {exc}"
    return str(exc) or type(exc).__name__


def classify(exc: BaseException, **context: str) -> Failure:
    """The failure ``exc`` is, with ``context`` (driver, target, ...) as its metadata."""
    if isinstance(exc, Failure):
        if not context:
            return exc
        known = dict(exc.metadata)
        merged = {**{k: v for k, v in context.items() if v}, **known}
        return replace(exc, metadata=tuple(sorted(merged.items())))
    found = _rule(exc)
    if found is None:
        log.error("unexpected error in a driver call", exc_info=exc)
    rule = found or _INTERNAL
    metadata = {key: value for key, value in context.items() if value}
    reason = rule.reason
    path = ""
    capabilities: tuple[str, ...] = ()
    if isinstance(exc, InvalidRequest):
        path = field_path(getattr(exc, "field", ""))
        reason = "INVALID_FIELD" if path else reason
    elif isinstance(exc, BadPageToken):
        path = "page_token"
    elif isinstance(exc, MissingCapability):
        capabilities = tuple(sorted(exc.missing))
        metadata["capability"] = ",".join(capabilities)
        metadata.setdefault("driver", getattr(exc, "driver", ""))
        if getattr(exc, "platform", ""):
            metadata["platform"] = exc.platform
    if path:
        metadata["field"] = path
    bounded = {k: v[:MAX_METADATA_VALUE] for k, v in metadata.items() if v}
    return Failure(
        code=rule.code.name,
        message=_message(exc, expected=found is not None),
        reason=reason,
        field=path,
        metadata=tuple(sorted(bounded.items())),
        capabilities=capabilities,
        retry_after=rule.retry_after,
    )


def status_message(message: str) -> str:
    """``message``, cut to at most :data:`MAX_STATUS_MESSAGE` UTF-8 bytes (and a note of its length)."""
    encoded = message.encode()
    if len(encoded) <= MAX_STATUS_MESSAGE:
        return message
    kept = encoded[:MAX_STATUS_MESSAGE].decode(errors="ignore")  # never half a character
    return f"{kept}... ({len(message)} characters)"


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rich_status(failure: Failure) -> status_pb2.Status:
    """The ``google.rpc.Status`` a call that ends with ``failure`` carries."""
    message = status_message(failure.message)
    details = [
        _packed(error_details_pb2.ErrorInfo(reason=failure.reason, domain=DOMAIN, metadata=dict(failure.metadata)))
    ]
    if failure.field:
        # Only field and description: FieldViolation.reason is newer than the oldest supported protos.
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=failure.field, description=message[:MAX_VIOLATION_DESCRIPTION]
        )
        details.append(_packed(error_details_pb2.BadRequest(field_violations=[violation])))
    if failure.capabilities:
        subject = dict(failure.metadata).get("driver", "")
        violations = [
            error_details_pb2.PreconditionFailure.Violation(
                type="CAPABILITY", subject=subject, description=f"needs the capability {name}"
            )
            for name in failure.capabilities
        ]
        details.append(_packed(error_details_pb2.PreconditionFailure(violations=violations)))
    if failure.retry_after > 0:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(failure.retry_after * 1e9))
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    code = grpc.StatusCode[failure.code].value[0]
    return status_pb2.Status(code=code, message=message, details=details)


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException, **metadata: str) -> NoReturn:
    """End the call with the status ``exc`` maps to, rich details included."""
    await context.abort_with_status(rpc_status.to_status(rich_status(classify(exc, **metadata))))
    raise AssertionError("abort_with_status returned")  # it raises; this keeps the type checker honest
