"""Requests whose bytes do not parse as their message: INVALID_ARGUMENT, not UNKNOWN.

grpc's Python server deserializes a request before the servicer sees it; when
protobuf refuses the bytes (corrupt wire format, a string field that is not
UTF-8), grpc answers UNKNOWN ("Unexpected DecodeError") and logs a traceback at
error level. This interceptor gives every method a deserializer that hands such
bytes on as :class:`Unparsable`, and answers them with INVALID_ARGUMENT naming
the message type, before the servicer runs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from .limits import quote


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
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request to {method} is not a valid message: {quote(request.reason, 200)}",
    )


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
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        details: grpc.HandlerCallDetails,
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
