"""One request/response exchange on an `AsyncHTTP2Connection`.

`h2_exchange()` opens the request's stream (HEADERS, and an in-memory body as far as flow
control allows, queued for the connection's next coalesced write), sends what is left of the
body, waits for the response head and returns a `Response` whose stream is the request's
`AsyncHTTP2Stream`. The caller holds a stream reserved in the multiplexing index; on any
failure, cancellation included, the stream is reset (or its reservation given back) before the
exception leaves, and the connection serves on.

`Unprocessed` leaves when the server did not process the request (GOAWAY above its stream id,
REFUSED_STREAM): the transport decides whether to send it again elsewhere.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from .._h2_common import http2_extensions, request_body, request_head
from .._headers import Headers
from .._response import Response
from .._streams import AsyncByteStream
from .http2_connection import AsyncHTTP2Stream

if TYPE_CHECKING:
    from .._request import Request
    from .http2_connection import AsyncHTTP2Connection

__all__ = ["h2_exchange"]

# What is left to send after the stream was opened: the unsent part of an in-memory body,
# and a body stream.
_Pending = tuple[memoryview | None, AsyncByteStream | None]


def h2_exchange(
    connection: AsyncHTTP2Connection,
    request: Request,
    timeouts: dict[str, Any],
    timing: dict[str, float],
) -> Coroutine[Any, Any, Response]:
    """Start `request` on a stream of `connection` (reserved for it in the index); await the
    result for its response, body unread.

    A plain function that starts the exchange and returns the coroutine completing it: one
    coroutine frame fewer to resume on every wake-up of the request's task.
    """
    stream = AsyncHTTP2Stream(connection, timeouts.get("read"), timeouts.get("deadline"))
    try:
        pending = _start(connection, request, stream)
    except BaseException:
        stream.abort()
        raise
    return _complete(connection, stream, pending, timeouts, timing)


def _start(
    connection: AsyncHTTP2Connection, request: Request, stream: AsyncHTTP2Stream
) -> _Pending | None:
    # Never waits: HEADERS (and a small body) are queued with the core, and go out with
    # whatever else this loop iteration queues.
    method, scheme, authority, path, headers = request_head(request)
    content, body = request_body(request)
    if body is not None and not isinstance(body, AsyncByteStream):
        raise RuntimeError(
            "Attempted to send a sync request body over HTTP/2 with an async transport: use "
            "a Client, or give the request an async stream."
        )
    protocol = connection.protocol
    complete = body is None and not content
    stream_id = protocol.send_request(method, scheme, authority, path, headers, end_stream=complete)
    connection.open_stream(stream, stream_id, not complete)
    connection.schedule_flush()
    if complete:
        return None
    rest: memoryview | None = None
    if content:
        accepted = protocol.send_data(stream_id, content, end_stream=body is None)
        if accepted < len(content):
            rest = memoryview(content)[accepted:]
        elif body is None:
            stream.sending = False
            return None
    return rest, body


async def _complete(
    connection: AsyncHTTP2Connection,
    stream: AsyncHTTP2Stream,
    pending: _Pending | None,
    timeouts: dict[str, Any],
    timing: dict[str, float],
) -> Response:
    try:
        if pending is not None:
            await _send(connection, stream, pending, timeouts.get("write"))
        while stream.head is None:
            error = stream.error
            if error is not None:
                raise error
            await stream.wait()
        head = stream.head
        return Response(
            head.status_code,
            headers=Headers._from_raw(head.headers),
            stream=stream,
            extensions=http2_extensions(timing),
        )
    except BaseException:
        stream.abort()
        raise


async def _send(
    connection: AsyncHTTP2Connection,
    stream: AsyncHTTP2Stream,
    pending: _Pending,
    write_timeout: float | None,
) -> None:
    # Stops early, quietly, if the server ends or resets the stream meanwhile: its answer
    # (or its error) is then what the request gets.
    rest, body = pending
    if rest is not None and not await connection.send_body(stream, rest, write_timeout):
        return
    if body is not None:
        async for chunk in body:
            if chunk and not await connection.send_body(stream, chunk, write_timeout):
                return
    connection.end_body(stream)
