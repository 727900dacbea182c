"""Server interceptors for the cross-cutting concerns: error mapping and authentication.

A grpc.aio interceptor returns a method handler; these wrap the handler's behaviour so that the
code runs inside the RPC (and so inside its trace span and context variables).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc_status import rpc_status

from service_runtime.auth import OPEN_SERVICES, Authenticator, current_principal
from service_runtime.errors import DomainError, Unimplemented, internal_status, to_rpc_status

log = logging.getLogger(__name__)

Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]
Guard = Callable[[grpc.aio.ServicerContext[Any, Any]], Awaitable[None]]


def _wrap(
    handler: grpc.RpcMethodHandler, before: Guard | None, method: str
) -> grpc.RpcMethodHandler:
    async def fail(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> None:
        if isinstance(exc, NotImplementedError):
            # The generated base servicer's answer for an RPC nobody overrode.
            exc = Unimplemented("NOT_IMPLEMENTED", f"{method} is not implemented yet")
        if isinstance(exc, DomainError):
            await context.abort_with_status(rpc_status.to_status(to_rpc_status(exc)))
        log.exception("unhandled error in %s", method, exc_info=exc)
        await context.abort_with_status(rpc_status.to_status(internal_status()))

    def unary(behaviour: Behaviour) -> Behaviour:
        async def run(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                if before is not None:
                    await before(context)
                return await behaviour(request, context)
            except Exception as exc:
                if _is_abort(exc):
                    raise
                await fail(context, exc)

        return run

    def streaming(behaviour: Behaviour) -> Behaviour:
        async def run(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            try:
                if before is not None:
                    await before(context)
                result = behaviour(request, context)
                if hasattr(result, "__aiter__"):
                    async for item in result:
                        yield item
                else:
                    await result
            except Exception as exc:
                if _is_abort(exc):
                    raise
                await fail(context, exc)

        return run

    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(unary(handler.unary_unary), **kwargs)
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(streaming(handler.unary_stream), **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary(handler.stream_unary), **kwargs)
    return grpc.stream_stream_rpc_method_handler(streaming(handler.stream_stream), **kwargs)


def _is_abort(exc: BaseException) -> bool:
    # context.abort raises grpc's own AbortError; it must pass through untouched.
    return isinstance(exc, grpc.aio.AbortError)


class ServiceInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates the caller (except on open services) and maps errors to statuses."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None:
            return handler
        service = method.lstrip("/").split("/", 1)[0]
        if service in OPEN_SERVICES:
            return handler

        async def authenticate(context: grpc.aio.ServicerContext[Any, Any]) -> None:
            metadata = {
                k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)
            }
            principal = await self.authenticator.authenticate(method, metadata)
            current_principal.set(principal)

        return _wrap(handler, authenticate, method)
