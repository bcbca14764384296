"""One request/response exchange on a `SyncHTTP11Connection`, and the response's body stream.

`exchange()` writes the request, reads until the final response head (1xx are skipped) and
returns a `Response` whose stream reads the rest of the body. The connection goes back to its
owner (the transport's pool) as soon as the response has ended cleanly: often that is inside
`exchange()` itself, since a small response arrives in the same read as its head. A response
closed before its end closes its connection: draining an unknown amount would cost more than
a new connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import ReadError, RemoteProtocolError, WriteError
from .._headers import Headers
from .._io_common import HTTP_VERSIONS, StaleConnection
from .._protocol.events import (
    ConnectionUpgraded,
    DataReceived,
    Event,
    InformationalResponseReceived,
    ResponseEnded,
    ResponseReceived,
)
from .._response import Response
from .._streams import ByteStream, SyncByteStream
from .network_stream import SyncNetworkStream

if TYPE_CHECKING:
    from .._request import Request
    from .connection import SyncHTTP11Connection

__all__ = ["ConnectionOwner", "HTTP11ResponseStream", "StaleConnection", "exchange"]

_perf_counter = time.perf_counter


class ConnectionOwner(Protocol):
    """Who gets the connection back: the transport, which puts it in its pool or closes it."""

    def release_connection(self, connection: SyncHTTP11Connection, reusable: bool) -> None: ...

    def detach_connection(self, connection: SyncHTTP11Connection) -> None: ...


def exchange(
    connection: SyncHTTP11Connection,
    request: Request,
    timeouts: dict[str, Any],
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    """Send `request` and return its response, body unread. On any failure the connection is
    closed and released before the exception leaves."""
    try:
        return _exchange(connection, request, timeouts, owner, timing)
    except BaseException:
        connection.close()
        owner.release_connection(connection, False)
        raise


def _exchange(
    connection: SyncHTTP11Connection,
    request: Request,
    timeouts: dict[str, Any],
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    started = _perf_counter()
    read_timeout = timeouts.get("read")
    write_error: WriteError | None = None
    try:
        connection.send_request(request, timeouts.get("write"))
    except WriteError as exc:
        # The server may have answered early (a 413, a 401) and closed while the body was
        # still going out: its response is worth more than our write error.
        write_error = exc
    sent = _perf_counter()
    timing["request_sent"] = sent - started
    protocol = connection.protocol
    data = _first_read(connection, read_timeout, write_error)
    timing["first_byte"] = _perf_counter() - sent
    while True:
        events = protocol.receive_data(data) if data else protocol.receive_eof()
        for index, event in enumerate(events):
            if isinstance(event, ResponseReceived):
                return _response(event, events, index, connection, read_timeout, owner, timing)
            if isinstance(event, ConnectionUpgraded):
                return _upgraded(event, connection, owner, timing)
            assert isinstance(event, InformationalResponseReceived)  # 1xx: skipped, as HTTPX
        data = connection.recv(read_timeout)


def _first_read(
    connection: SyncHTTP11Connection, read_timeout: float | None, write_error: WriteError | None
) -> bytes:
    # A reused connection that yields nothing at all (EOF, a reset) was closed by the server
    # while idle, just before our request reached it: not the server's answer to it.
    try:
        data = connection.recv(read_timeout)
    except ReadError as exc:
        if connection.used and isinstance(exc.__cause__, ConnectionError):
            raise StaleConnection(write_error or exc) from exc
        if write_error is not None:
            raise write_error from write_error.__cause__
        raise
    if not data:
        if connection.used:
            raise StaleConnection(
                write_error
                or RemoteProtocolError("Server disconnected without sending a response.")
            )
        if write_error is not None:
            raise write_error
    return data


def _response(
    event: ResponseReceived,
    events: list[Event],
    index: int,
    connection: SyncHTTP11Connection,
    read_timeout: float | None,
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    pending: list[bytes] = []
    ended = False
    for later in events[index + 1 :]:
        if type(later) is DataReceived:
            pending.append(later.data)
        elif type(later) is ResponseEnded:
            ended = True
    stream = HTTP11ResponseStream(connection, owner, read_timeout, pending)
    response = Response(
        event.status_code,
        headers=Headers._from_raw(event.headers),
        stream=stream,
        extensions={
            "http_version": HTTP_VERSIONS.get(event.http_version) or event.http_version.encode(),
            "reason_phrase": event.reason_phrase,
            "network_stream": SyncNetworkStream(connection, b""),
            "timing": timing,
        },
    )
    if ended:
        stream._finish()  # the whole response came with its head: the connection is free now
    return response


def _upgraded(
    event: ConnectionUpgraded,
    connection: SyncHTTP11Connection,
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    # The socket now speaks another protocol: it leaves the pool, and the caller owns it.
    owner.detach_connection(connection)
    return Response(
        event.status_code,
        headers=Headers._from_raw(event.headers),
        stream=ByteStream(b""),
        extensions={
            "http_version": b"HTTP/1.1",
            "reason_phrase": event.reason_phrase,
            "network_stream": SyncNetworkStream(connection, event.trailing_data),
            "timing": timing,
        },
    )


class HTTP11ResponseStream(SyncByteStream):
    """The body of one response, read from its connection as it is iterated.

    `close()` before the end closes the connection; after the end it does nothing (the
    connection went back to the pool the moment the response ended).
    """

    __slots__ = ("_connection", "_done", "_owner", "_pending", "_read_timeout")

    def __init__(
        self,
        connection: SyncHTTP11Connection,
        owner: ConnectionOwner,
        read_timeout: float | None,
        pending: list[bytes],
    ) -> None:
        self._connection = connection
        self._owner = owner
        self._read_timeout = read_timeout
        self._pending = pending
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        pending = self._pending
        if pending:
            self._pending = []
            yield from pending
        if self._done:
            return
        connection = self._connection
        protocol = connection.protocol
        read_timeout = self._read_timeout
        try:
            while True:
                data = connection.recv(read_timeout)
                events = protocol.receive_data(data) if data else protocol.receive_eof()
                for event in events:
                    if type(event) is DataReceived:
                        yield event.data
                    elif type(event) is ResponseEnded:
                        self._finish()
                        return
        except BaseException:
            # An error, or the consumer walked away (GeneratorExit): the rest of the body is
            # still on the wire, so the connection cannot be reused.
            self.close()
            raise

    def _finish(self) -> None:
        self._done = True
        connection = self._connection
        reusable = connection.protocol.is_reusable
        if reusable:
            connection.start_next_cycle()
        else:
            connection.close()
        self._owner.release_connection(connection, reusable)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._pending = []
        self._connection.close()
        self._owner.release_connection(self._connection, False)
