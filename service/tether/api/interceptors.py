"""Server interceptors: token auth, activity tracking, malformed requests.

Install them in this order (:func:`chain`): auth first, so nothing else runs for a
caller without the token; activity next, so only authenticated calls keep an idle
service alive; malformed requests last, as it wraps the handler found for the method.

Malformed requests: grpc's Python server deserializes a request before the servicer
sees it; when protobuf refuses the bytes (corrupt wire format, a string field that is
not UTF-8), grpc answers UNKNOWN ("Unexpected DecodeError") and logs a traceback at
error level. :class:`MalformedRequests` gives every method a deserializer that hands
such bytes on as :class:`Unparsable`, and answers them with INVALID_ARGUMENT naming
the message type, before the servicer runs.
"""

from __future__ import annotations

import hmac
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from google.protobuf.message import DecodeError

from ..security.limits import quote
from .status import MalformedRequest, Unauthenticated, abort

if TYPE_CHECKING:  # grpc's classes are generic only in their stubs
    Continuation: TypeAlias = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]]


class TokenAuth(grpc.aio.ServerInterceptor):
    """Requires ``authorization: Bearer <token>`` on every call (health checks included)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        async def deny(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await abort(context, Unauthenticated("missing or wrong bearer token"))

        self._deny: grpc.RpcMethodHandler[Any, Any] = grpc.unary_unary_rpc_method_handler(deny)

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        # Exactly one: with two, which one a proxy checked and which one we read could differ.
        supplied = [value for key, value in details.invocation_metadata or () if key == "authorization"]
        if len(supplied) != 1:
            return self._deny
        supplied_bytes = supplied[0].encode() if isinstance(supplied[0], str) else supplied[0]
        if hmac.compare_digest(supplied_bytes, self._expected):
            return await continuation(details)
        return self._deny


class ActivityTracker(grpc.aio.ServerInterceptor):
    """Remembers when the last call that does work on devices arrived (``last_call``, monotonic).

    Only those count: a monitor polling GetServiceInfo or ListSessions must not keep an
    idle embedded service alive (``--exit-when-idle``); a call under way keeps it alive
    through its running job or open session instead.
    """

    def __init__(self, methods: Collection[str]) -> None:
        self._methods = frozenset(methods)  # method names without the service: Execute, Bulk, ...
        self.last_call = time.monotonic()

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if details.method.rpartition("/")[2] in self._methods:
            self.last_call = time.monotonic()
        return await continuation(details)

    def quiet_seconds(self) -> float:
        return time.monotonic() - self.last_call


class Unparsable:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def lenient(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except DecodeError as exc:
            return Unparsable(str(exc))

    return lenient


async def _refuse(method: str, request: Unparsable, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    refused = MalformedRequest(f"the request to {method} is not a valid message: {quote(request.reason, 200)}")
    await abort(context, refused, method=method)


def _wrap(method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    if handler.request_streaming or handler.request_deserializer is None:
        return handler
    lenient = _lenient(handler.request_deserializer)
    if handler.unary_unary is not None:
        unary: Any = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if isinstance(request, Unparsable):
                await _refuse(method, request, context)
            return await unary(request, context)

        return handler._replace(request_deserializer=lenient, unary_unary=unary_unary)  # type: ignore[attr-defined,no-any-return]
    if handler.unary_stream is not None:
        stream: Any = handler.unary_stream
        if not inspect.isasyncgenfunction(stream):  # a coroutine that writes with context.write()

            async def unary_stream_writer(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                if isinstance(request, Unparsable):
                    await _refuse(method, request, context)
                return await stream(request, context)

            return handler._replace(request_deserializer=lenient, unary_stream=unary_stream_writer)  # type: ignore[attr-defined,no-any-return]

        async def unary_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            if isinstance(request, Unparsable):
                await _refuse(method, request, context)
            async for item in stream(request, context):
                yield item

        return handler._replace(request_deserializer=lenient, unary_stream=unary_stream)  # type: ignore[attr-defined,no-any-return]
    return handler


class MalformedRequests(grpc.aio.ServerInterceptor):
    """Install last: it wraps the handler the server found for each method (cached per method)."""

    def __init__(self) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self, continuation: Continuation, details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = details.method
        cached = self._handlers.get(method)
        if cached is not None:
            return cached
        handler = await continuation(details)
        if handler is None:  # an unknown method: grpc answers UNIMPLEMENTED; nothing is cached for it
            return None
        wrapped = _wrap(method, handler)
        self._handlers[method] = wrapped
        return wrapped


def chain(token: str, activity: ActivityTracker) -> list[grpc.aio.ServerInterceptor]:
    """The interceptors in the order they must run (see the module's docstring)."""
    auth: list[grpc.aio.ServerInterceptor] = [TokenAuth(token)] if token else []
    return [*auth, activity, MalformedRequests()]
