"""The test server's ASGI 3 application: httpbin's endpoints, written for zephyr's tests.

`app` can be served by any ASGI server; `TestServer` runs it under hypercorn. Each request's
body is read in full (up to `max_body_size`, else 413) before the router picks a handler,
because httpbin echoes bodies back and digest `auth-int` hashes them.
"""

from __future__ import annotations

import logging

from ._asgi import HTTPException, Receive, Request, Scope, Send, text_response
from ._endpoints_auth import routes as auth_routes
from ._endpoints_content import routes as content_routes
from ._endpoints_http import routes as http_routes
from ._endpoints_redirects import routes as redirect_routes
from ._endpoints_streams import routes as stream_routes
from ._routing import AnyResponse, Router

__all__ = ["DEFAULT_MAX_BODY_SIZE", "TestApp", "app"]

DEFAULT_MAX_BODY_SIZE = 64 * 1024 * 1024

logger = logging.getLogger("zephyr.testing")


class _ClientGone(Exception):
    """The client disconnected before its request body was complete: nobody to answer."""


class TestApp:
    """An httpbin-compatible ASGI application (plus `/echo-id/{id}`)."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self.max_body_size = max_body_size
        self.router = Router(
            http_routes, auth_routes, redirect_routes, content_routes, stream_routes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._handle_http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._handle_lifespan(receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000})

    async def _handle_lifespan(self, receive: Receive, send: Send) -> None:
        # Nothing to set up or tear down; answering lifespan keeps hypercorn from logging
        # that the application does not support it.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._read_body(scope, receive)
        except _ClientGone:
            return
        except HTTPException as error:
            await error_response(error).send_to(send)
            return
        request = Request(scope, body)
        try:
            response: AnyResponse = await self.router.dispatch(request)
        except HTTPException as error:
            response = error_response(error)
        except Exception:
            # Keep serving: a test server that dies on one bad request hides the next failure.
            logger.exception("unhandled error in %s %s", request.method, request.target)
            response = text_response("Internal Server Error\n", status=500)
        await response.send_to(send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_size:
            raise HTTPException(413, "Request body too large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                raise HTTPException(413, "Request body too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def error_response(error: HTTPException) -> AnyResponse:
    return text_response(error.reason + "\n", status=error.status, headers=error.headers)


app = TestApp()
