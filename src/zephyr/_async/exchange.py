"""One request/response exchange on an `AsyncHTTP11Connection`, and the response's body stream.

`exchange()` writes the request, waits for the final response head (1xx are skipped) and
returns a `Response` whose stream yields the body. The body is filed in the stream by the
connection's `data_received` as it arrives, and the connection goes back to the pool the moment
the response ends: usually before `exchange()` returns at all, since a small response arrives
in the same read as its head. A response closed (or cancelled) before its end closes its
connection: draining an unknown amount would cost more than a new connection.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any

from .._exceptions import ReadError, WriteError
from .._headers import Headers
from .._io_common import HTTP_VERSIONS, StaleConnection, join_small, request_writes
from .._protocol.events import ConnectionUpgraded, ResponseReceived
from .._response import Response
from .._streams import AsyncByteStream, ByteStream
from .connection import WRITE_SLICE

if TYPE_CHECKING:
    from .._deadline import Deadline
    from .._request import Request
    from .connection import AsyncHTTP11Connection, ConnectionOwner

__all__ = ["AsyncHTTP11ResponseStream", "complete_exchange", "exchange", "start_exchange"]

_perf_counter = time.perf_counter


def exchange(
    connection: AsyncHTTP11Connection,
    request: Request,
    timeouts: dict[str, Any],
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Coroutine[Any, Any, Response]:
    """Send `request`; await the result for its response, body unread. On any failure,
    cancellation included, the connection is closed and its slot released before the exception
    leaves (unless the response had already ended cleanly: then the connection is back in the
    pool). StaleConnection: see RELIABILITY.md 21.

    A plain function that starts the exchange and returns the coroutine completing it: one
    coroutine frame fewer to resume on every wake-up of the request's task.
    """
    stream = AsyncHTTP11ResponseStream(connection, timeouts.get("read"), timeouts.get("deadline"))
    try:
        pending = start_exchange(connection, request, stream)
    except BaseException:
        stream.abort()
        raise
    return complete_exchange(connection, stream, pending, timeouts, owner, timing)


def start_exchange(
    connection: AsyncHTTP11Connection, request: Request, stream: AsyncHTTP11ResponseStream
) -> tuple[list[bytes | memoryview], AsyncByteStream | None] | None:
    """The part of an exchange that never waits: `stream` becomes the connection's response
    in progress and, in the usual case of a request that fits one write, the request is handed
    to the transport. Returns what is left to send (None: nothing), for `complete_exchange`.

    Raises (before anything is written, the stream not yet attached) LocalProtocolError for a
    request that must not be sent, RuntimeError for a sync body. A write that fails is noted in
    `stream.write_error`, for `complete_exchange` to weigh against what the server answered.
    """
    stream.started_at = _perf_counter()
    writes, body = request_writes(connection.protocol, request)
    if body is not None and not isinstance(body, AsyncByteStream):
        raise RuntimeError(
            "Attempted to send a sync request body with an async transport: use a Client, "
            "or give the request an async stream."
        )
    connection.start_exchange(stream)
    if body is not None or len(writes) > 1 or len(writes[0]) > WRITE_SLICE:
        return writes, body
    try:
        connection.write(writes[0])
    except WriteError as exc:
        stream.write_error = exc
    stream.sent_at = _perf_counter()
    return None


async def complete_exchange(
    connection: AsyncHTTP11Connection,
    stream: AsyncHTTP11ResponseStream,
    pending: tuple[list[bytes | memoryview], AsyncByteStream | None] | None,
    timeouts: dict[str, Any],
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    """Send what `start_exchange` left, wait for the response head, and return the response.
    On any failure (cancellation included) the stream is aborted before the exception leaves."""
    try:
        if pending is not None or connection.writing_paused:
            try:
                if pending is not None:
                    await _send(
                        connection, pending[0], pending[1], timeouts.get("write"), stream.deadline
                    )
                else:
                    await connection.drain(timeouts.get("write"), stream.deadline)
            except WriteError as exc:
                # The server may have answered early (a 413, a 401) and closed while the body
                # was still going out: its response is worth more than our write error.
                stream.write_error = exc
            stream.sent_at = _perf_counter()
        sent = stream.sent_at
        timing["request_sent"] = sent - stream.started_at
        read_timeout = stream.read_timeout
        while stream.head is None:
            if stream.error is not None:
                _raise_for_no_response(stream)
            await connection.wait_readable(read_timeout, "reading the response", stream.deadline)
        timing["first_byte"] = max(stream.first_byte_at - sent, 0.0)
        head = stream.head
        if type(head) is ConnectionUpgraded:
            return _upgraded(head, stream, connection, owner, timing)
        assert type(head) is ResponseReceived
        return Response._from_transport(
            head.status_code,
            Headers._from_raw(head.headers),
            stream,
            {
                "http_version": HTTP_VERSIONS.get(head.http_version) or head.http_version.encode(),
                "reason_phrase": head.reason_phrase,
                "network_stream": connection.network_stream,
                "timing": timing,
            },
        )
    except BaseException:
        stream.abort()
        raise


async def _send(
    connection: AsyncHTTP11Connection,
    writes: list[bytes | memoryview],
    body: AsyncByteStream | Any,
    write_timeout: float | None,
    deadline: Deadline | None,
) -> None:
    for data in writes:
        await connection.write_all(data, write_timeout, deadline)
    if body is None:
        return
    protocol = connection.protocol
    async for chunk in body:
        for data in join_small(protocol.send_body(chunk)):
            await connection.write_all(data, write_timeout, deadline)
    end = protocol.end_request()
    if end:
        await connection.write_all(end, write_timeout, deadline)


def _raise_for_no_response(stream: AsyncHTTP11ResponseStream) -> None:
    error = stream.error
    write_error = stream.write_error
    assert error is not None
    if stream.stale:
        # A reused connection that yielded nothing at all (EOF, a reset) was closed by the
        # server while idle, just before our request reached it: not its answer to it.
        raise StaleConnection(write_error or error)
    if write_error is not None and not stream.received:
        raise write_error from write_error.__cause__
    raise error


def _upgraded(
    event: ConnectionUpgraded,
    stream: AsyncHTTP11ResponseStream,
    connection: AsyncHTTP11Connection,
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    # The connection now speaks another protocol: it leaves the pool, and the caller owns it.
    stream.released = True
    owner.detach_connection(connection)
    return Response(
        event.status_code,
        headers=Headers._from_raw(event.headers),
        stream=ByteStream(b""),
        extensions={
            "http_version": b"HTTP/1.1",
            "reason_phrase": event.reason_phrase,
            "network_stream": connection.network_stream,
            "timing": timing,
        },
    )


class AsyncHTTP11ResponseStream(AsyncByteStream):
    """The body of one response, filed here by the connection as it arrives.

    Also the record of the exchange in progress: the connection writes `head`, `chunks`,
    `ended`, `error` and the counters; the request's task and then the body's consumer read
    them. `released` is set once the connection has left this response's hands (back to the
    pool, closed, or upgraded): from then on nothing here touches the connection again.
    `aclose()` before the end closes the connection.
    """

    __slots__ = (
        "_connection",
        "buffered",
        "chunks",
        "deadline",
        "ended",
        "error",
        "first_byte_at",
        "head",
        "read_timeout",
        "received",
        "released",
        "sent_at",
        "stale",
        "started_at",
        "write_error",
    )

    def __init__(
        self,
        connection: AsyncHTTP11Connection,
        read_timeout: float | None,
        deadline: Deadline | None = None,
    ) -> None:
        self._connection = connection
        self.read_timeout = read_timeout
        # The request's total deadline, which bounds reading the body too.
        self.deadline = deadline
        self.head: ResponseReceived | ConnectionUpgraded | None = None
        self.chunks: list[bytes] = []
        self.buffered = 0  # bytes in `chunks`
        self.received = 0  # bytes received for this response, head and framing included
        self.first_byte_at = 0.0
        self.ended = False
        self.released = False
        self.stale = False
        self.error: Exception | None = None
        self.write_error: WriteError | None = None
        self.started_at = 0.0  # perf_counter() at the start of the exchange
        self.sent_at = 0.0  # ... and once the request was handed to the transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            while True:
                chunks = self.chunks
                if chunks:
                    self.chunks = []
                    self.buffered = 0
                    connection.consumed(self)
                    for chunk in chunks:
                        yield chunk
                    continue
                if self.error is not None:
                    raise self.error
                if self.ended:
                    return
                await connection.wait_readable(
                    self.read_timeout, "reading the response", self.deadline
                )
        except BaseException:
            # An error, a timeout, a cancellation, or the consumer walked away (GeneratorExit):
            # unless the response had ended, the rest is still on the wire.
            self.abort()
            raise

    def _complete_body(self) -> bytes | None:
        # The response has ended and its connection is back in the pool (or closed): what is
        # buffered is the whole body, taken at once (see AsyncByteStream._complete_body).
        if self.ended and self.error is None:
            chunks = self.chunks
            self.chunks = []
            self.buffered = 0
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return None

    def abort(self) -> None:
        """Give up on the response: its connection is closed unless the response had ended."""
        self.chunks = []
        if not self.released:
            self._connection.fail(self, ReadError("The response was closed before its end."))

    async def aclose(self) -> None:
        self.abort()
