"""One HTTP/2 connection on an asyncio event loop: an `asyncio.Protocol` around the h2 core.

As for HTTP/1.1 (`connection.py`), there is no StreamReader and no task per connection: the
event loop calls `data_received`, which feeds the sans-I/O core and files each event with its
stream (an `AsyncHTTP2Stream`: the head, the body chunks, the end or the error, and the
Future its request's task waits on). Many streams share the connection; each request's own
task does its waiting, nothing else runs per request.

Writes are coalesced: what the core queues while the loop runs callbacks (requests, credit,
RST_STREAM) goes out in one `transport.write` per loop iteration (`schedule_flush`), and what
a `data_received` produces goes out at its end, once. Uploads write at once, slice by slice.

Flow control: body bytes are acknowledged to the core as the *consumer* takes them from the
stream (`AsyncHTTP2Stream.__aiter__`), so a slow reader holds the server back through the
windows, and nothing here pauses reading. An upload takes what the peer's window allows and
waits for `WindowUpdated` (or for the transport's buffer to drain) for the rest, under the
write timeout.

Timeouts cost no timer per wait, as in `connection.py`: one `TimerHandle` per connection is
armed at the earliest deadline and only ever moved earlier; a wait that starts later records
its deadline, and when the timer fires it fails the waits that are due (found among the
streams in flight, at most the server's MAX_CONCURRENT_STREAMS) and re-arms for the rest.

Cancellation (RELIABILITY.md 25): a stream given up for any reason (a cancelled task, a
timeout, the consumer leaving early) is reset (RST_STREAM CANCEL) and leaves the connection
at once; its credit goes back to the connection; nothing else is disturbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import (
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)
from .._h2_common import (
    Unprocessed,
    connection_lost_error,
    goaway_mid_response_error,
    goaway_progress,
    goaway_reason,
    stream_reset_error,
)
from .._io_common import StaleConnection, describe_os_error
from .._protocol.events import (
    ConnectionTerminated,
    SettingsChanged,
    StreamDataReceived,
    StreamEnded,
    StreamReset,
    StreamResponseReceived,
    WindowUpdated,
)
from .._protocol.http2 import CANCEL, REFUSED_STREAM, HTTP2Connection
from .._streams import AsyncByteStream
from .connection import (
    TIMER_SLACK,
    WRITE_SLICE,
    read_timeout_error,
    write_error,
    write_timeout_error,
)

if TYPE_CHECKING:
    from .._deadline import Deadline

__all__ = ["AsyncHTTP2Connection", "AsyncHTTP2Stream", "HTTP2Owner", "NegotiatingProtocol"]


class HTTP2Owner(Protocol):
    """Who is told of the connection's changes: the transport, its pool and its index."""

    def connection_closing(self, connection: Any) -> None:
        """We closed it: its transport will report `connection_lost` soon."""

    def connection_gone(self, connection: Any) -> None:
        """Its transport is gone (`connection_lost`)."""

    def release_stream(self, connection: AsyncHTTP2Connection) -> None:
        """One of its streams left: the next request waiting for a stream may have it."""

    def set_capacity(self, connection: AsyncHTTP2Connection, capacity: int) -> None:
        """The server changed SETTINGS_MAX_CONCURRENT_STREAMS."""

    def http2_draining(self, connection: AsyncHTTP2Connection) -> None:
        """GOAWAY: it takes no new streams; those in flight go on."""

    def http2_closed(self, connection: AsyncHTTP2Connection) -> None:
        """It serves nothing more: it leaves the index and gives its pool slot back."""


class AsyncHTTP2Stream(AsyncByteStream):
    """One request's stream: the record the connection files its events in, and the body of
    its response.

    `done` is set once the stream has left the connection (ended, reset, failed, abandoned):
    from then on the connection files nothing more here. `released` is set once the consumer
    is done with it (read to the end, or aborted): nothing is left to hand back.
    """

    __slots__ = (
        "_connection",
        "chunks",
        "done",
        "ended",
        "error",
        "head",
        "read_deadline",
        "read_timeout",
        "read_total",
        "released",
        "sending",
        "stream_id",
        "total",
        "unacknowledged",
        "waiter",
        "write_deadline",
        "write_timeout",
        "write_total",
        "write_waiter",
    )

    def __init__(
        self,
        connection: AsyncHTTP2Connection,
        read_timeout: float | None,
        total: Deadline | None = None,
    ) -> None:
        self._connection = connection
        self.stream_id = 0
        self.read_timeout = read_timeout
        # The request's total deadline (`Timeout(total=)`), which bounds every wait of the
        # stream; `read_total`/`write_total`: set while it is the bound of the wait.
        self.total = total
        self.read_total: Deadline | None = None
        self.write_total: Deadline | None = None
        self.head: StreamResponseReceived | None = None
        self.chunks: list[bytes] = []
        self.unacknowledged = 0  # flow-controlled bytes in `chunks`
        self.ended = False
        self.done = False
        self.released = False
        self.sending = False  # the request body is still going out
        # `Unprocessed` when the server did not process the request (GOAWAY above its id,
        # REFUSED_STREAM): the transport may send it again elsewhere (RFC 9113 §8.7).
        self.error: Exception | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.read_deadline = 0.0
        self.write_waiter: asyncio.Future[None] | None = None
        self.write_deadline = 0.0
        self.write_timeout: float | None = None

    async def wait(self) -> None:
        """Wait for news of this stream (head, data, end, error), or ReadTimeout."""
        connection = self._connection
        loop = connection._loop
        waiter = loop.create_future()
        self.waiter = waiter
        timeout = self.read_timeout
        total = self.total
        if total is not None:
            wait, by_deadline = total.cap(timeout)
            self.read_total = total if by_deadline else None
            deadline = loop.time() + wait
            self.read_deadline = deadline
            connection._arm(deadline)
        elif timeout is not None:
            deadline = loop.time() + timeout
            self.read_deadline = deadline
            connection._arm(deadline)
        try:
            await waiter
        finally:
            if self.waiter is waiter:
                self.waiter = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            while True:
                chunks = self.chunks
                if chunks:
                    self.chunks = []
                    consumed = self.unacknowledged
                    if consumed:
                        self.unacknowledged = 0
                        connection.acknowledge(self.stream_id, consumed)
                    for chunk in chunks:
                        yield chunk
                    continue
                if self.error is not None:
                    raise self.error
                if self.ended:
                    self.released = True
                    return
                await self.wait()
        except BaseException:
            # An error, a timeout, a cancellation, or the consumer walked away (GeneratorExit):
            # the stream is reset unless it had ended; the connection goes on either way.
            self.abort()
            raise

    def abort(self) -> None:
        """Give up on the stream: RST_STREAM CANCEL if it is still in flight; the credit of
        its unread body goes back to the connection. Idempotent; other streams go on."""
        if self.released:
            return
        self.released = True
        unread = self.unacknowledged
        self.chunks = []
        self.unacknowledged = 0
        self._connection.abandon(self, unread)

    async def aclose(self) -> None:
        self.abort()


class AsyncHTTP2Connection(asyncio.Protocol):
    """A transport and its HTTP/2 state, shared by every stream in flight on it."""

    __slots__ = (
        "_flush_pending",
        "_loop",
        "_lost_exc",
        "_owner",
        "_reading_paused",
        "_settings_waiter",
        "_timer",
        "_write_waiting",
        "close_error",
        "closed",
        "key",
        "lost",
        "protocol",
        "settings_received",
        "streams",
        "tls",
        "transport",
        "writing_paused",
    )

    def __init__(
        self,
        key: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        owner: HTTP2Owner,
        *,
        tls: bool,
        core_options: dict[str, int] | None = None,
    ) -> None:
        self.key = key
        self.tls = tls
        # core_options: the header limits of `Limits`, when they are not the core's defaults.
        self.protocol = (
            HTTP2Connection() if core_options is None else HTTP2Connection(**core_options)
        )
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, AsyncHTTP2Stream] = {}
        self.closed = False  # closed by us, or lost
        self.close_error: Exception | None = None  # what the streams in flight got
        self.lost = False  # connection_lost was called
        self.writing_paused = False
        self._reading_paused = False  # by pause_writing: see there
        self.settings_received = False  # the server's first SETTINGS arrived
        self._loop = loop
        self._owner = owner
        self._lost_exc: BaseException | None = None
        self._flush_pending = False
        self._write_waiting: set[AsyncHTTP2Stream] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._settings_waiter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self.streams)} stream(s)"
        return f"<AsyncHTTP2Connection {self.key!r} {state}>"

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without deriving from it.
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.protocol.initiate())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        try:
            events = protocol.receive_data(data)
        except RemoteProtocolError as exc:
            self._failed(exc)
            return
        streams = self.streams
        for event in events:
            kind = type(event)
            if kind is StreamDataReceived:
                stream = streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.chunks.append(event.data)  # type: ignore[union-attr]
                    stream.unacknowledged += event.flow_controlled_length  # type: ignore[union-attr]
                    _wake(stream)
            elif kind is StreamResponseReceived:
                stream = streams.get(event.stream_id)  # type: ignore[union-attr]
                if stream is not None:
                    stream.head = event  # type: ignore[assignment]
                    _wake(stream)
            elif kind is StreamEnded:
                stream = streams.pop(event.stream_id, None)  # type: ignore[union-attr]
                if stream is not None:
                    stream.ended = True
                    if stream.sending:
                        # RFC 9113 §8.1: the server answered before the request was complete;
                        # the rest of the body is not wanted (and the stream must not stay
                        # open on our side, holding a slot).
                        stream.sending = False
                        protocol.reset_stream(stream.stream_id, CANCEL)
                    self._stream_left(stream)
            elif kind is StreamReset:
                stream = streams.pop(event.stream_id, None)  # type: ignore[union-attr]
                if stream is not None:
                    self._reset_by_server(stream, event)  # type: ignore[arg-type]
            elif kind is WindowUpdated:
                self._window_updated(event.stream_id)  # type: ignore[union-attr]
            elif kind is SettingsChanged:
                self._settings_changed(event.max_concurrent_streams)  # type: ignore[union-attr]
            elif kind is ConnectionTerminated:
                self._goaway(event)  # type: ignore[arg-type]
            # 1xx responses, trailers and PING acks need nothing from us.
        if self.closed:
            return
        data = protocol.data_to_send()
        if data:
            self.transport.write(data)  # type: ignore[union-attr]
        if protocol.is_closed:
            self.close()

    def eof_received(self) -> bool | None:
        return None  # let the transport close: connection_lost does the work

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._lost_exc = exc
        error: Exception
        if exc is None:
            error = connection_lost_error()
        else:
            error = ReadError(f"Could not read the response: {describe_os_error(exc)}")
            error.__cause__ = exc
        self.protocol.receive_eof()
        self._close(error, lost=True)
        self._owner.connection_gone(self)

    def pause_writing(self) -> None:
        self.writing_paused = True
        # What we write unasked (PING and SETTINGS acknowledgements, resets of streams the
        # server writes to after they closed) piles up in the transport's buffer while the
        # server does not read it: a PING flood would grow it without end (CVE-2019-9512).
        # So reading stops until the server has taken what we wrote, unless a request body
        # is going out: its writer needs the server's WINDOW_UPDATEs to go on.
        transport = self.transport
        if transport is not None and not self.closed and not self._uploading():
            self._reading_paused = True
            transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self._reading_paused:
            self._reading_paused = False
            transport = self.transport
            if transport is not None and not self.closed:
                transport.resume_reading()
        for stream in list(self._write_waiting):
            _wake_writer(stream)

    def _uploading(self) -> bool:
        return any(stream.sending for stream in self.streams.values())

    # -- streams --------------------------------------------------------------------------------

    def open_stream(self, stream: AsyncHTTP2Stream, stream_id: int, sending: bool) -> None:
        """`stream` is in flight as `stream_id` (just opened with the core by the caller)."""
        stream.stream_id = stream_id
        stream.sending = sending
        self.streams[stream_id] = stream

    def acknowledge(self, stream_id: int, nbytes: int) -> None:
        """The consumer took `nbytes` of flow-controlled body: the server may send more."""
        if not self.closed:
            self.protocol.acknowledge_received_data(stream_id, nbytes)
            self.schedule_flush()

    def abandon(self, stream: AsyncHTTP2Stream, unread: int) -> None:
        """`stream` is given up (see `AsyncHTTP2Stream.abort`); `unread`: flow-controlled
        bytes received for it that nobody will consume."""
        if self.closed:
            stream.done = True
            return
        stream_id = stream.stream_id
        if not stream.done:
            if not stream_id:
                # Never opened: the stream reserved for it goes back.
                stream.done = True
                self._owner.release_stream(self)
                return
            del self.streams[stream_id]
            if stream.error is None:
                stream.error = ReadError("The response was closed before its end.")
            self.protocol.reset_stream(stream_id, CANCEL)
            self._stream_left(stream)
            if self.protocol.is_closed:
                # Draining after a GOAWAY, and that was its last stream: the connection is
                # over (as `data_received` would find after a stream ending from the server's
                # side), and a server waiting for us to close must not hold its slot forever.
                self.flush()
                self._close(ReadError("The connection was closed."), graceful=True)
                return
            self.schedule_flush()
        elif unread:
            # Over, but part of its body was never read: that credit goes back to the
            # connection (no RST_STREAM: the stream is closed already).
            self.protocol.reset_stream(stream_id, CANCEL)
            self.schedule_flush()

    def _stream_left(self, stream: AsyncHTTP2Stream) -> None:
        # The stream is over on the connection: its reader and writer are told, and its slot
        # goes to whoever waits for one.
        stream.done = True
        _wake(stream)
        if stream.write_waiter is not None:
            _wake_writer(stream)
        self._owner.release_stream(self)

    def _reset_by_server(self, stream: AsyncHTTP2Stream, event: StreamReset) -> None:
        if stream.error is None:
            if event.remote and event.error_code == REFUSED_STREAM and stream.head is None:
                stream.error = Unprocessed(event.reason, goaway=False)
            else:
                stream.error = stream_reset_error(event.reason)
        stream.sending = False
        self._stream_left(stream)

    def _goaway(self, event: ConnectionTerminated) -> None:
        # RFC 9113 §6.8: no new streams here; those above the last id were not processed and
        # may go elsewhere. The connection closes once the rest are done.
        self._owner.http2_draining(self)
        unprocessed = event.unprocessed_stream_ids
        if not unprocessed:
            return
        reason = goaway_reason(event.error_code, event.last_stream_id, event.additional_data)
        progress = goaway_progress(event.error_code, event.last_stream_id)
        streams = self.streams
        for stream_id in unprocessed:
            stream = streams.pop(stream_id, None)
            if stream is not None:
                if stream.error is None:
                    if stream.head is None:
                        stream.error = Unprocessed(reason, goaway=True, progress=progress)
                    else:  # its response had begun: not a request to send again
                        stream.error = goaway_mid_response_error(reason)
                stream.sending = False
                self._stream_left(stream)

    def _settings_changed(self, max_concurrent_streams: int) -> None:
        if not self.settings_received:
            self.settings_received = True
            waiter = self._settings_waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._owner.set_capacity(self, max_concurrent_streams)

    async def wait_for_settings(self, timeout: float | None) -> None:
        """Wait for the server's first SETTINGS (its stream limit), within `timeout`."""
        if self.settings_received or self.closed:
            return
        waiter = self._loop.create_future()
        self._settings_waiter = waiter
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._settings_waiter = None

    def _window_updated(self, stream_id: int) -> None:
        waiting = self._write_waiting
        if not waiting:
            return
        if stream_id:
            stream = self.streams.get(stream_id)
            if stream is not None and stream.write_waiter is not None:
                _wake_writer(stream)
        else:
            for stream in list(waiting):
                _wake_writer(stream)

    # -- writing ------------------------------------------------------------------------------

    def schedule_flush(self) -> None:
        """Write what the core queued once this loop iteration's callbacks have run: every
        request started meanwhile goes out in the same write."""
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_pending = False
        if not self.closed:
            data = self.protocol.data_to_send()
            if data:
                self.transport.write(data)  # type: ignore[union-attr]

    def flush(self) -> None:
        if not self.closed:
            data = self.protocol.data_to_send()
            if data:
                self.transport.write(data)  # type: ignore[union-attr]

    async def send_body(
        self, stream: AsyncHTTP2Stream, data: bytes | memoryview, timeout: float | None
    ) -> bool:
        """Send `data` on `stream` as flow control allows, waiting for credit and for the
        transport's buffer under the write timeout. False if the stream is over already (the
        server answered or reset it early): the rest is not sent."""
        size = len(data)
        view = memoryview(data)
        offset = 0
        protocol = self.protocol
        stream_id = stream.stream_id
        while True:
            if stream.done:
                return False
            if self.closed:
                raise self._write_error()
            accepted = 0
            if offset < size:
                if offset or size > WRITE_SLICE:
                    piece = view[offset : offset + WRITE_SLICE]
                    accepted = protocol.send_data(stream_id, piece, end_stream=False)
                else:
                    accepted = protocol.send_data(stream_id, data, end_stream=False)
                offset += accepted
                if accepted:
                    self.flush()
            if self.writing_paused or (offset < size and not accepted):
                # The transport's buffer is full, or we are out of credit: wait for it to
                # drain, or for WINDOW_UPDATE.
                await self._wait_writable(stream, timeout)
            elif offset >= size:
                return True

    def end_body(self, stream: AsyncHTTP2Stream) -> None:
        """END_STREAM: the request is complete."""
        if stream.done:
            return
        if self.closed:
            raise self._write_error()
        stream.sending = False
        self.protocol.end_stream(stream.stream_id)
        self.schedule_flush()

    async def _wait_writable(self, stream: AsyncHTTP2Stream, timeout: float | None) -> None:
        waiter = self._loop.create_future()
        stream.write_waiter = waiter
        self._write_waiting.add(stream)
        total = stream.total
        if total is not None:
            wait, by_deadline = total.cap(timeout)
            stream.write_timeout = timeout
            stream.write_total = total if by_deadline else None
            deadline = self._loop.time() + wait
            stream.write_deadline = deadline
            self._arm(deadline)
        elif timeout is not None:
            stream.write_timeout = timeout
            deadline = self._loop.time() + timeout
            stream.write_deadline = deadline
            self._arm(deadline)
        try:
            await waiter
        finally:
            if stream.write_waiter is waiter:
                stream.write_waiter = None
            self._write_waiting.discard(stream)

    def _write_error(self) -> WriteError:
        return write_error(self._lost_exc)

    # -- the deadline timer -------------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        timer = self._timer
        if timer is None:
            self._timer = self._loop.call_at(deadline, self._deadline_reached)
        elif timer.when() > deadline:
            timer.cancel()
            self._timer = self._loop.call_at(deadline, self._deadline_reached)
        # Otherwise the timer fires first and re-arms itself for this deadline.

    def _deadline_reached(self) -> None:
        self._timer = None
        now = self._loop.time() + TIMER_SLACK
        next_deadline: float | None = None
        for stream in list(self.streams.values()):
            waiter = stream.waiter
            if waiter is not None and not waiter.done():
                if now >= stream.read_deadline:
                    stream.waiter = None
                    if stream.read_total is not None:
                        error = stream.read_total.error(ReadTimeout, "reading the response")
                        waiter.set_exception(error)
                    else:
                        waiter.set_exception(read_timeout_error(stream.read_timeout))
                elif next_deadline is None or stream.read_deadline < next_deadline:
                    next_deadline = stream.read_deadline
        for stream in list(self._write_waiting):
            waiter = stream.write_waiter
            if waiter is not None and not waiter.done():
                if now >= stream.write_deadline:
                    stream.write_waiter = None
                    if stream.write_total is not None:
                        late = stream.write_total.error(WriteTimeout, "writing the request")
                        waiter.set_exception(late)
                    else:
                        waiter.set_exception(write_timeout_error(stream.write_timeout))
                elif next_deadline is None or stream.write_deadline < next_deadline:
                    next_deadline = stream.write_deadline
        if next_deadline is not None:
            self._timer = self._loop.call_at(next_deadline, self._deadline_reached)

    # -- state --------------------------------------------------------------------------------

    def get_extra_info(self, name: str) -> Any:
        transport = self.transport
        return None if transport is None else transport.get_extra_info(name)

    def _failed(self, error: Exception) -> None:
        # A connection error: the core queued a GOAWAY saying why; it goes out before the
        # close (`transport.close()` flushes, `abort()` would not).
        data = self.protocol.data_to_send()
        transport = self.transport
        if data and transport is not None and not self.lost:
            transport.write(data)
            self._close(error, graceful=True)
        else:
            self._close(error)

    def close(self) -> None:
        """Close at once; every stream in flight fails. Safe to repeat."""
        self._close(ReadError("The connection was closed during the response."))

    def _close(self, error: Exception, *, graceful: bool = False, lost: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_error = error
        self.protocol.close()
        transport = self.transport
        if transport is not None and not self.lost:
            self._owner.connection_closing(self)
            if graceful:
                transport.close()
            else:
                transport.abort()
        streams = self.streams
        self.streams = {}
        for stream in streams.values():
            stream.done = True
            stream.sending = False
            if stream.error is None:
                # Lost before any answer on the stream (a server restarting, or closing after
                # GOAWAY without finishing): the transport may send it again, once, if that is
                # safe, as for a stale HTTP/1.1 keep-alive connection (RELIABILITY.md 21).
                stream.error = StaleConnection(error) if lost and stream.head is None else error
            _wake(stream)
            if stream.write_waiter is not None:
                _wake_writer(stream)
        self._write_waiting.clear()
        timer = self._timer
        if timer is not None:
            timer.cancel()
            self._timer = None
        waiter = self._settings_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._owner.http2_closed(self)


def _wake(stream: AsyncHTTP2Stream) -> None:
    waiter = stream.waiter
    if waiter is not None:
        stream.waiter = None
        if not waiter.done():
            waiter.set_result(None)


def _wake_writer(stream: AsyncHTTP2Stream) -> None:
    waiter = stream.write_waiter
    if waiter is not None:
        stream.write_waiter = None
        if not waiter.done():
            waiter.set_result(None)


class NegotiatingProtocol(asyncio.Protocol):
    """Stands in while TLS negotiates which protocol the connection speaks.

    asyncio wants the protocol object before the handshake, but ALPN's answer comes with it:
    this one holds whatever arrives meanwhile (the server's SETTINGS may come in the same
    read as the end of the handshake) and hands it to the real one in `hand_over`.
    """

    __slots__ = ("_buffered", "_lost", "_lost_exc", "_writing_paused", "transport")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffered: list[bytes] = []
        self._lost = False
        self._lost_exc: Exception | None = None
        self._writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffered.append(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._lost_exc = exc

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False

    def selected_alpn_protocol(self) -> str | None:
        transport = self.transport
        ssl_object = None if transport is None else transport.get_extra_info("ssl_object")
        return None if ssl_object is None else ssl_object.selected_alpn_protocol()

    def hand_over(self, protocol: asyncio.Protocol) -> None:
        """From now on `protocol` is the transport's, as if it had been from the start."""
        transport = self.transport
        assert transport is not None
        if not self._lost:
            transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._writing_paused:
            protocol.pause_writing()
        buffered = self._buffered
        self._buffered = []
        for data in buffered:
            protocol.data_received(data)
        if self._lost:
            protocol.connection_lost(self._lost_exc)
