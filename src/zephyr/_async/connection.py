"""One HTTP/1.1 connection on an asyncio event loop: an `asyncio.Protocol` around the core.

No StreamReader and no task per connection: the event loop calls `data_received`, which feeds
the bytes straight to the sans-I/O parser and files the events in the response in progress
(an `AsyncHTTP11ResponseStream`). The request's own task waits on a Future that the protocol
resolves when there is something for it (a head, body data, the end, an error).

Invariants that make cancellation and reuse safe (RELIABILITY.md 25):
- Bytes are only ever filed in the response in progress, `_exchange`; once a response has
  ended it is detached from the connection, so no later byte can reach it, and bytes that
  arrive while no response is expected poison the connection, which is closed at once.
- A response in progress that stops early for any reason (an error, a timeout, the consumer
  leaving, a cancellation) closes its connection: only a response read completely and cleanly
  lets its connection go back to the pool, and it goes back the moment the response ends,
  from `data_received` itself.

Timeouts cost no timer per read. One `TimerHandle` per connection is armed at the earliest
pending deadline and only ever moved earlier; a wait that starts later just records its own
deadline, and when the timer fires it fails the waits that are due and re-arms itself for
the rest. At steady state a request sets a float and schedules nothing. A request with a
total deadline (`Timeout(total=...)`) waits until the earlier of its own timeout and the
deadline, and names the deadline in its error when that was the bound (`_deadline.py`).

Backpressure: once more than `READ_HIGH_WATER` bytes of body wait for a slow consumer, reading
pauses (`transport.pause_reading()`), and it resumes as soon as the consumer takes them.
Writes wait for the transport's buffer to drain (`pause_writing`/`resume_writing`), with the
write timeout as deadline; large bodies go out in slices so that the buffer stays bounded.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import (
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)
from .._io_common import describe_os_error
from .._protocol.events import (
    ConnectionUpgraded,
    DataReceived,
    ResponseEnded,
    ResponseReceived,
)
from .._protocol.http11 import HTTP11Connection
from .network_stream import AsyncNetworkStream

if TYPE_CHECKING:
    from .._deadline import Deadline
    from .exchange import AsyncHTTP11ResponseStream

__all__ = [
    "READ_HIGH_WATER",
    "TIMER_SLACK",
    "WRITE_SLICE",
    "AsyncHTTP11Connection",
    "ConnectionOwner",
    "read_timeout_error",
    "write_error",
    "write_timeout_error",
]

# Body bytes buffered for a consumer before reading pauses. The loop reads up to 256 KiB at a
# time, so at most this plus one read is held per response.
READ_HIGH_WATER = 1024 * 1024
# Large request bodies are handed to the transport this much at a time: its buffer copies
# whatever the kernel does not take at once, so this bounds the copy and the memory.
WRITE_SLICE = 1024 * 1024

# asyncio may run a timer up to its clock's resolution early, uvloop up to a millisecond: a
# deadline this close is treated as reached rather than re-armed for a sliver.
TIMER_SLACK = 0.001

_perf_counter = time.perf_counter


def read_timeout_error(timeout: float | None, what: str = "reading the response") -> ReadTimeout:
    return ReadTimeout(f"Timed out {what} after {timeout} s.")


def write_timeout_error(timeout: float | None) -> WriteTimeout:
    return WriteTimeout(f"Timed out writing the request after {timeout} s.")


def write_error(lost_exc: BaseException | None) -> WriteError:
    """The error of a write to a connection that is gone (`lost_exc`: why, if known)."""
    if lost_exc is None:
        return WriteError("Could not write the request: the connection is closed.")
    error = WriteError(f"Could not write the request: {describe_os_error(lost_exc)}")
    error.__cause__ = lost_exc
    return error


class ConnectionOwner(Protocol):
    """Who gets the connection back: the transport and its pool."""

    def release_connection(self, connection: AsyncHTTP11Connection, reusable: bool) -> None: ...

    def detach_connection(self, connection: AsyncHTTP11Connection) -> None: ...

    def connection_closing(self, connection: AsyncHTTP11Connection) -> None:
        """We closed it: its transport will report `connection_lost` soon."""

    def connection_gone(self, connection: AsyncHTTP11Connection) -> None:
        """Its transport is gone (`connection_lost`); if it was idle in the pool, it leaves."""

    def idle_connection_died(self, connection: AsyncHTTP11Connection) -> None:
        """An idle connection was poisoned (stray bytes) and closed: it leaves the pool."""


class AsyncHTTP11Connection(asyncio.Protocol):
    """A transport and its HTTP/1.1 state. Serves one request at a time (the pool sees to it).

    States: idle (no `_exchange`, reading, an EOF or any byte kills it); serving a response
    (`_exchange` set); upgraded (`_raw` set: the bytes belong to the caller's network stream);
    closed.
    """

    __slots__ = (
        "_exchange",
        "_loop",
        "_lost_exc",
        "_owner",
        "_raw",
        "_raw_eof",
        "_read_deadline",
        "_read_timeout",
        "_read_total",
        "_read_waiter",
        "_read_what",
        "_reading_paused",
        "_timer",
        "_write_deadline",
        "_write_timeout",
        "_write_total",
        "_write_waiter",
        "closed",
        "key",
        "lost",
        "network_stream",
        "protocol",
        "tls",
        "transport",
        "used",
        "writing_paused",
    )

    def __init__(
        self,
        key: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        owner: ConnectionOwner,
        *,
        tls: bool,
        core_options: dict[str, int] | None = None,
    ) -> None:
        self.key = key
        self.tls = tls
        # core_options: the header limits of `Limits`, when they are not the core's defaults.
        self.protocol = (
            HTTP11Connection() if core_options is None else HTTP11Connection(**core_options)
        )
        self.transport: asyncio.Transport | None = None
        self.used = False  # has served a request: a failure may be a stale keep-alive
        self.closed = False  # closed by us, or lost
        self.lost = False  # connection_lost was called
        self._loop = loop
        self._owner = owner
        self._exchange: AsyncHTTP11ResponseStream | None = None
        self._raw: bytearray | None = None
        self._raw_eof = False
        self._lost_exc: BaseException | None = None
        self._reading_paused = False
        self.writing_paused = False
        self._read_waiter: asyncio.Future[None] | None = None
        self._read_deadline = 0.0
        self._read_timeout: float | None = None
        self._read_what = "reading the response"
        self._read_total: Deadline | None = None  # the deadline bounds the read wait
        self._write_waiter: asyncio.Future[None] | None = None
        self._write_deadline = 0.0
        self._write_timeout: float | None = None
        self._write_total: Deadline | None = None
        self._timer: asyncio.TimerHandle | None = None
        # The `network_stream` extension of this connection's responses: one object serves
        # them all, as it only refers to the connection (a 101 response gets it too).
        self.network_stream = AsyncNetworkStream(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving" if self._exchange else "open"
        return f"<AsyncHTTP11Connection {self.key!r} {state}>"

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without deriving from it.
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        stream = self._exchange
        if stream is None:
            self._data_while_not_serving(data)
            return
        if not stream.received:
            stream.first_byte_at = _perf_counter()
        stream.received += len(data)
        try:
            events = self.protocol.receive_data(data)
        except RemoteProtocolError as exc:
            self.fail(stream, exc)
            return
        for event in events:
            kind = type(event)
            if kind is DataReceived:
                body: bytes = event.data  # type: ignore[union-attr]
                stream.chunks.append(body)
                stream.buffered += len(body)
            elif kind is ResponseReceived:
                stream.head = event  # type: ignore[assignment]
            elif kind is ResponseEnded:
                self._response_ended(stream)
            elif kind is ConnectionUpgraded:
                self._upgraded(stream, event)  # type: ignore[arg-type]
            # InformationalResponseReceived: 1xx responses are skipped, as HTTPX does.
        if self._exchange is stream:
            if stream.buffered > READ_HIGH_WATER:
                self._pause_reading()
            self._wake_reader()
        # Otherwise the response ended, failed or upgraded, and its reader was woken then: the
        # waiter now may already be the next request's, on this connection again.

    def eof_received(self) -> bool | None:
        return None  # let the transport close: connection_lost does the work

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        closed_by_us = self.closed
        self.closed = True
        self._lost_exc = exc
        timer = self._timer
        if timer is not None:
            timer.cancel()
            self._timer = None
        self._owner.connection_gone(self)
        stream = self._exchange
        if stream is not None:
            if closed_by_us:
                # close() already failed the response in progress (if it had not ended).
                self._exchange = None
            else:
                self._lost_while_serving(stream, exc)
        self._raw_eof = True
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_writer()

    # -- the response in progress -------------------------------------------------------------

    def start_exchange(self, stream: AsyncHTTP11ResponseStream) -> None:
        """`stream` receives the response to the request about to be written."""
        self._exchange = stream
        if self.closed:  # never so when picked from the pool; but then nothing would wake it
            stream.error = ReadError("The connection is closed.")

    def _response_ended(self, stream: AsyncHTTP11ResponseStream) -> None:
        # The response is complete: it leaves the connection (its data stays with it), and the
        # connection goes back to the pool now, whether or not anyone has read the body yet.
        self._exchange = None
        stream.ended = True
        # Wake this response's reader first: releasing may hand the connection to a queued
        # request at once, which then waits here with a waiter of its own.
        self._wake_reader()
        if stream.released:
            return
        stream.released = True
        protocol = self.protocol
        reusable = protocol.is_reusable  # False too if the request was not fully sent
        if reusable:
            protocol.start_next_cycle()
        else:
            self.close()
        self._owner.release_connection(self, reusable)

    def _upgraded(self, stream: AsyncHTTP11ResponseStream, event: ConnectionUpgraded) -> None:
        # 101 Switching Protocols, or a tunnel: from here on the bytes are the caller's. The
        # exchange detaches the connection from the pool when it hands the response out.
        stream.head = event
        self._exchange = None
        self._raw = bytearray(event.trailing_data)
        self._wake_reader()

    def fail(self, stream: AsyncHTTP11ResponseStream, error: Exception) -> None:
        """The response in progress failed: it gets `error`, the connection is closed and its
        slot released."""
        if stream.error is None:
            stream.error = error
        if self._exchange is stream:
            self._exchange = None
        self.close()
        if not stream.released:
            stream.released = True
            self._owner.release_connection(self, False)
        self._wake_reader()

    def _lost_while_serving(self, stream: AsyncHTTP11ResponseStream, exc: Exception | None) -> None:
        error: Exception
        if exc is None:
            try:
                events = self.protocol.receive_eof()
            except RemoteProtocolError as eof_error:
                error = eof_error
            else:
                if events:  # a body delimited by the close: it ended well
                    self._response_ended(stream)
                    return
                error = RemoteProtocolError("Server disconnected without sending a response.")
        else:
            error = ReadError(f"Could not read the response: {describe_os_error(exc)}")
            error.__cause__ = exc
        # Nothing at all came back on a reused connection: the server had closed it before our
        # request reached it (RELIABILITY.md 21); the exchange decides on a retry.
        stream.stale = (
            self.used and not stream.received and (exc is None or isinstance(exc, ConnectionError))
        )
        self.fail(stream, error)

    def _data_while_not_serving(self, data: bytes) -> None:
        raw = self._raw
        if raw is not None:
            raw += data
            if len(raw) > READ_HIGH_WATER:
                self._pause_reading()
            self._wake_reader()
            return
        # Idle: no request is waiting for these bytes. CR/LF between messages is harmless
        # (RFC 9112 §2.2); anything else is a stray response or garbage, and poisons it.
        self.protocol.receive_data(data)
        if not self.protocol.is_reusable:
            self.close()
            self._owner.idle_connection_died(self)

    # -- reading ------------------------------------------------------------------------------

    def wait_readable(
        self, timeout: float | None, what: str, deadline: Deadline | None = None
    ) -> asyncio.Future[None]:
        """A future to await until `data_received` or `connection_lost` has news; it raises
        ReadTimeout after `timeout` s ("Timed out {what} after ...") or at `deadline`,
        whichever comes first.

        A plain function, not a coroutine: the caller awaits the future itself, one coroutine
        frame fewer per request waiting (memory) and per wake-up (time). Whoever resolves the
        future clears `_read_waiter` first; only a cancelled wait leaves it behind, done, and a
        done waiter does not count as a reader.
        """
        current = self._read_waiter
        if current is not None and not current.done():
            raise RuntimeError("Another task is already reading from this connection.")
        waiter = self._loop.create_future()
        self._read_waiter = waiter
        if deadline is not None:
            self._arm_with_deadline(timeout, deadline, True, what)
        elif timeout is not None:
            self._read_timeout = timeout
            self._read_total = None
            self._arm(self._loop.time() + timeout, True, what)
        return waiter

    def wake_on_news(
        self, waiter: asyncio.Future[Any], timeout: float | None, deadline: Deadline | None = None
    ) -> None:
        """Resolve `waiter` as `wait_readable` would, for a task already waiting on it."""
        stream = self._exchange
        if stream is None or stream.error is not None or stream.head is not None:
            waiter.set_result(None)
            return
        self._read_waiter = waiter
        if deadline is not None:
            self._arm_with_deadline(timeout, deadline, True, "reading the response")
        elif timeout is not None:
            self._read_timeout = timeout
            self._read_total = None
            self._arm(self._loop.time() + timeout, True, "reading the response")

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None:
            self._read_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def consumed(self, stream: AsyncHTTP11ResponseStream) -> None:
        """The consumer took the body data buffered in `stream`: read on if paused."""
        if self._reading_paused and self._exchange is stream:
            self._resume_reading()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    # -- writing ------------------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> None:
        """Hand `data` to the transport; WriteError if the connection is gone."""
        if self.closed:
            raise self._write_error()
        assert self.transport is not None
        self.transport.write(data)

    async def write_all(
        self, data: bytes | memoryview, timeout: float | None, deadline: Deadline | None = None
    ) -> None:
        """Write `data` in slices, each once the transport's buffer has room again."""
        size = len(data)
        if size <= WRITE_SLICE:
            self.write(data)
            if self.writing_paused:
                await self.drain(timeout, deadline)
            return
        view = memoryview(data)
        for offset in range(0, size, WRITE_SLICE):
            self.write(view[offset : offset + WRITE_SLICE])
            if self.writing_paused:
                await self.drain(timeout, deadline)

    async def drain(self, timeout: float | None, deadline: Deadline | None = None) -> None:
        """Wait until the transport's buffer is below its high-water mark again."""
        while self.writing_paused:
            if self.closed:
                raise self._write_error()
            waiter = self._loop.create_future()
            self._write_waiter = waiter
            if deadline is not None:
                self._arm_with_deadline(timeout, deadline, False, "")
            elif timeout is not None:
                self._write_timeout = timeout
                self._write_total = None
                self._arm(self._loop.time() + timeout, False, "")
            try:
                await waiter
            finally:
                if self._write_waiter is waiter:
                    self._write_waiter = None
        if self.closed:
            raise self._write_error()

    def _wake_writer(self) -> None:
        waiter = self._write_waiter
        if waiter is not None:
            self._write_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _write_error(self) -> WriteError:
        return write_error(self._lost_exc)

    # -- the deadline timer -------------------------------------------------------------------

    def _arm_with_deadline(
        self, timeout: float | None, deadline: Deadline, reading: bool, what: str
    ) -> None:
        """`_arm` for a wait bounded by its own timeout and by a total deadline."""
        wait, by_deadline = deadline.cap(timeout)
        total = deadline if by_deadline else None
        if reading:
            self._read_timeout = timeout
            self._read_total = total
        else:
            self._write_timeout = timeout
            self._write_total = total
        self._arm(self._loop.time() + wait, reading, what)

    def _arm(self, deadline: float, reading: bool, what: str) -> None:
        if reading:
            self._read_deadline = deadline
            self._read_what = what
        else:
            self._write_deadline = deadline
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
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            if now >= self._read_deadline:
                self._read_waiter = None
                total = self._read_total
                if total is not None:
                    waiter.set_exception(total.error(ReadTimeout, self._read_what))
                else:
                    waiter.set_exception(read_timeout_error(self._read_timeout, self._read_what))
            else:
                next_deadline = self._read_deadline
        waiter = self._write_waiter
        if waiter is not None and not waiter.done():
            if now >= self._write_deadline:
                self._write_waiter = None
                total = self._write_total
                if total is not None:
                    waiter.set_exception(total.error(WriteTimeout, "writing the request"))
                else:
                    waiter.set_exception(write_timeout_error(self._write_timeout))
            elif next_deadline is None or self._write_deadline < next_deadline:
                next_deadline = self._write_deadline
        if next_deadline is not None:
            self._timer = self._loop.call_at(next_deadline, self._deadline_reached)

    # -- after an upgrade -----------------------------------------------------------------------

    async def read_raw(self, max_bytes: int, timeout: float | None) -> bytes:
        """Bytes past HTTP (after 101 Switching Protocols); b"" once the peer has closed."""
        raw = self._raw
        if raw is None:
            raise RuntimeError("The connection has not been upgraded: it still speaks HTTP/1.1.")
        while not raw:
            if self._raw_eof or self.closed:
                return b""
            await self.wait_readable(timeout, "reading")
        data = bytes(raw[:max_bytes])
        del raw[:max_bytes]
        if self._reading_paused and len(raw) <= READ_HIGH_WATER // 4:
            self._resume_reading()
        return data

    # -- state --------------------------------------------------------------------------------

    def is_idle_alive(self) -> bool:
        """False if the server closed this idle connection or sent anything while it was idle.

        No system call: the event loop has told us (`connection_lost`, `data_received`). A
        close it has not noticed yet shows as a stale connection (RELIABILITY.md 21).
        """
        return not self.closed

    def is_readable(self) -> bool:
        """True if a read would not wait: EOF, or upgraded bytes buffered."""
        return self.closed or bool(self._raw)

    def get_extra_info(self, name: str) -> Any:
        transport = self.transport
        return None if transport is None else transport.get_extra_info(name)

    def close(self) -> None:
        """Close at once (nothing buffered is flushed); fail whatever waits. Safe to repeat."""
        if self.closed:
            return
        self.closed = True
        transport = self.transport
        if transport is not None and not self.lost:
            self._owner.connection_closing(self)
            transport.abort()
        stream = self._exchange
        if stream is not None:
            self._exchange = None
            if stream.error is None and not stream.ended:
                stream.error = ReadError("The connection was closed during the response.")
        self._wake_reader()
        self._wake_writer()
