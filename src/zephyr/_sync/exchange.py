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
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from .._exceptions import LocalProtocolError, ReadError, RemoteProtocolError, WriteError
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
    from .._deadline import Deadline
    from .._request import Request
    from .connection import SyncHTTP11Connection

__all__ = ["ConnectionOwner", "HTTP11ResponseStream", "StaleConnection", "exchange"]

_perf_counter = time.perf_counter
_from_raw = Headers._from_raw


class ConnectionOwner(Protocol):
    """Who gets the connection back: the transport, which puts it in its pool or closes it."""

    def release_connection(self, connection: SyncHTTP11Connection, reusable: bool) -> None: ...

    def detach_connection(self, connection: SyncHTTP11Connection) -> None: ...

    def release_abandoned(self, connection: SyncHTTP11Connection) -> None:
        """`release_connection(connection, False)` for a response given up in a generator's
        finaliser, which must never block on a lock its own thread may hold."""


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
        started = _perf_counter()
        read_timeout = timeouts.get("read")
        deadline: Deadline | None = timeouts.get("deadline")
        write_error: WriteError | None = None
        try:
            if deadline is None:
                connection.send_request(request, timeouts.get("write"))
            else:
                connection.send_request_by(request, timeouts.get("write"), deadline)
        except WriteError as exc:
            # The server may have answered early (a 413, a 401) and closed while the body was
            # still going out: its response is worth more than our write error.
            write_error = exc
        sent = _perf_counter()
        timing["request_sent"] = sent - started
        try:
            if deadline is None:
                data = connection.recv_data(read_timeout)
            else:
                data = connection.recv_data_by(read_timeout, deadline)
        except ReadError as exc:
            _first_read_failed(connection, exc, write_error)
        if not data or write_error is not None:
            _check_first_read(connection, data, write_error)
        timing["first_byte"] = _perf_counter() - sent
        protocol = connection.protocol
        while True:
            events = protocol.receive_data(data) if data else protocol.receive_eof()
            for index, event in enumerate(events):
                if type(event) is ResponseReceived:
                    return _response(
                        event, events, index, connection, read_timeout, deadline, owner, timing
                    )
                if type(event) is ConnectionUpgraded:
                    return _upgraded(event, connection, owner, timing)
                assert type(event) is InformationalResponseReceived  # 1xx: skipped, as HTTPX
            if deadline is None:
                data = connection.recv_data(read_timeout)
            else:
                data = connection.recv_data_by(read_timeout, deadline)
    except BaseException:
        connection.close()
        owner.release_connection(connection, False)
        raise


# A reused connection that yields nothing at all (EOF, a reset) was closed by the server while
# idle, just before our request reached it: not the server's answer to it.


def _first_read_failed(
    connection: SyncHTTP11Connection, exc: ReadError, write_error: WriteError | None
) -> NoReturn:
    if connection.used and isinstance(exc.__cause__, ConnectionError):
        raise StaleConnection(write_error or exc) from exc
    if write_error is not None:
        raise write_error from write_error.__cause__
    raise exc


def _check_first_read(
    connection: SyncHTTP11Connection, data: bytes | memoryview, write_error: WriteError | None
) -> None:
    if not data:
        if connection.used:
            raise StaleConnection(
                write_error
                or RemoteProtocolError("Server disconnected without sending a response.")
            )
        if write_error is not None:
            raise write_error
    # Bytes arrived despite the write error: the server's early answer, parsed as usual.


def _response(
    event: ResponseReceived,
    events: list[Event],
    index: int,
    connection: SyncHTTP11Connection,
    read_timeout: float | None,
    deadline: Deadline | None,
    owner: ConnectionOwner,
    timing: dict[str, float],
) -> Response:
    pending: list[bytes] = []
    ended = False
    if (
        len(events) == index + 3
        and type(body := events[index + 1]) is DataReceived
        and type(events[-1]) is ResponseEnded
    ):
        # The usual small response, whole in one read: head, body, end.
        pending.append(body.data)
        ended = True
    else:
        for later in events[index + 1 :]:
            if type(later) is DataReceived:
                pending.append(later.data)
            elif type(later) is ResponseEnded:
                ended = True
    stream = HTTP11ResponseStream(connection, owner, read_timeout, pending, deadline)
    network_stream = connection.network_stream
    if network_stream is None:
        # One per connection, made on its first response: past a 101 (see `_upgraded`) it is
        # only for `get_extra_info`, which answers the same for every response it carries.
        network_stream = connection.network_stream = SyncNetworkStream(connection, b"")
    http_version = event.http_version
    response = Response(
        event.status_code,
        headers=_from_raw(event.headers),
        stream=stream,
        extensions={
            "http_version": HTTP_VERSIONS.get(http_version) or http_version.encode(),
            "reason_phrase": event.reason_phrase,
            "network_stream": network_stream,
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

    __slots__ = ("_connection", "_deadline", "_done", "_owner", "_pending", "_read_timeout")

    def __init__(
        self,
        connection: SyncHTTP11Connection,
        owner: ConnectionOwner,
        read_timeout: float | None,
        pending: list[bytes],
        deadline: Deadline | None = None,
    ) -> None:
        self._connection = connection
        # The request's total deadline (`Timeout(total=)`): it bounds reading the body too.
        self._deadline = deadline
        self._owner = owner
        self._read_timeout = read_timeout
        self._pending = pending
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            # Inside the `try`: a consumer that walks away during the bytes that came with the
            # head must close the connection too (else its pool slot is lost for good).
            pending = self._pending
            if pending:
                self._pending = []
                yield from pending
            if self._done:
                return
            connection = self._connection
            protocol = connection.protocol
            read_timeout = self._read_timeout
            deadline = self._deadline
            while True:
                if deadline is None:
                    data = connection.recv_data(read_timeout)
                else:
                    data = connection.recv_data_by(read_timeout, deadline)
                events = protocol.receive_data(data) if data else protocol.receive_eof()
                for event in events:
                    if type(event) is DataReceived:
                        yield event.data
                    elif type(event) is ResponseEnded:
                        self._finish()
                        return
        except GeneratorExit:
            # The consumer walked away: the rest of the body is still on the wire, so the
            # connection cannot be reused. This may run in the garbage collector, in the middle
            # of this thread's own pool operation (`ConnectionOwner.release_abandoned`).
            self._abandon()
            raise
        except BaseException:
            # An error: the connection cannot be reused.
            self.close()
            raise

    def _complete_body(self) -> bytes | None:
        """The whole body when it came with the head (the response has ended, the connection
        is back in the pool) and nothing has been iterated yet; else None."""
        if not self._done:
            return None
        pending = self._pending
        if not pending:
            return b""
        self._pending = []
        return pending[0] if len(pending) == 1 else b"".join(pending)

    def _finish(self) -> None:
        self._done = True
        connection = self._connection
        try:
            # Refuses (LocalProtocolError) unless the connection can carry another request:
            # one test of `is_reusable` where asking first would make two.
            connection.protocol.start_next_cycle()
        except LocalProtocolError:
            connection.close()
            self._owner.release_connection(connection, False)
        else:
            self._owner.release_connection(connection, True)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._pending = []
        self._connection.close()
        self._owner.release_connection(self._connection, False)

    def _abandon(self) -> None:
        if self._done:
            return
        self._done = True
        self._pending = []
        self._connection.close()
        self._owner.release_abandoned(self._connection)
