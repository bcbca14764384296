"""`MockTransport`: answer requests with a function, for tests (HTTPX's MockTransport API)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from .._request import Request
from .._response import Response
from .base import AsyncBaseTransport, BaseTransport

__all__ = ["MockTransport"]

SyncHandler = Callable[[Request], Response]
AsyncHandler = Callable[[Request], Awaitable[Response]]


class MockTransport(AsyncBaseTransport, BaseTransport):
    """A transport that calls `handler(request)` instead of touching the network.

        def handler(request):
            return zephyr.Response(200, json={"url": str(request.url)})

        client = zephyr.Client(transport=zephyr.MockTransport(handler))

    The sync side needs a sync handler. The async side takes either kind: the handler's result
    is awaited when it is awaitable. The request body is read first, so that the handler can
    look at `request.content`.
    """

    def __init__(self, handler: SyncHandler | AsyncHandler) -> None:
        self.handler = handler

    def handle_request(self, request: Request) -> Response:
        request.read()
        response = self.handler(request)
        if not isinstance(response, Response):  # an async handler gave us a coroutine
            if inspect.isawaitable(response):
                if inspect.iscoroutine(response):
                    response.close()  # no "coroutine was never awaited" warning on top
                raise TypeError(
                    "MockTransport's handler returned an awaitable: an async handler can only "
                    "be used with an async client (handle_async_request)."
                )
            raise TypeError(f"MockTransport's handler must return a Response, not {response!r}.")
        return response

    async def handle_async_request(self, request: Request) -> Response:
        await request.aread()
        response = self.handler(request)
        if inspect.isawaitable(response):
            response = await response
        if not isinstance(response, Response):
            raise TypeError(f"MockTransport's handler must return a Response, not {response!r}.")
        return response
