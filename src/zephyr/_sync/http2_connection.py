"""One HTTP/2 connection over a socket, shared by every thread that has a stream on it.

The sans-I/O core (`_protocol.http2.HTTP2Connection`) is not thread-safe, so one lock guards
it and the per-stream buffers. Around it, two roles, each held by one thread at a time and
never while holding the lock across I/O:

- the *writer* sends what the core queued, in order (HPACK makes the order of header blocks
  matter). Bytes are queued in `_outbox` under the lock; a thread that finds another writing
  leaves its bytes to it. So a reader never blocks on a writer stuck behind a full socket.
  Nor does the writer block in a send (`http2_io`): when the socket takes no more, it waits
  for it to be writable *or readable*; readable with the reader role free, it takes the role
  for one read and does what the reader does (`_receive`, `_process`: events filed, threads
  woken, acknowledgements queued in the outbox, which it then sends). Else a server that
  answers before reading the request body, and stops reading while its writes are blocked,
  waits for us as we wait for it. Once its reads have queued 16 KiB (answers to a PING
  flood), it reads no more until that is written: the server meets back-pressure, as from a
  blocking write. If another thread reads, the writer waits for room in short slices, and
  takes the role if it comes free. The write timeout bounds each wait for room.
- the *reader*: a thread that needs events for its stream and finds nobody reading becomes
  the reader, reads the socket with its own timeout, feeds the core, files each event with
  the stream it names, wakes the threads whose streams got something, and gives the role up,
  waking one more waiting thread to take it. Threads that wait meanwhile sleep on their
  stream's Condition (made on first need: single-threaded use never makes one) with their own
  deadline. A waiter checks its buffer and the reader flag under the lock before it sleeps,
  and the reader files events under the same lock, so no wake-up is lost.

Single-threaded use is the common case: the thread that sends a request becomes the reader at
once, and the whole response usually comes in its first read.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import (
    ConnectTimeout,
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
    handshake_error,
    http2_extensions,
    request_body,
    request_head,
    stream_reset_error,
)
from .._headers import Headers
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
from .._response import Response
from .._streams import SyncByteStream
from .connection import WRITE_SLICE, SyncSocketConnection
from .http2_io import Readiness, recv_nonblocking, send_all, send_flags

if TYPE_CHECKING:
    from .._deadline import Deadline
    from .._request import Request

__all__ = ["HTTP2Owner", "NoStream", "SyncHTTP2Connection", "exchange_http2"]

_monotonic = time.monotonic
_perf_counter = time.perf_counter
_TCP_QUICKACK: int = getattr(socket, "TCP_QUICKACK", 0)
_HAS_QUICKACK = bool(_TCP_QUICKACK)
# Only a short read can be a response head waiting for its body: a bulk download, whose
# reads fill the buffer, needs no quick ACKs (each costs a syscall and a packet).
_QUICKACK_BELOW = 64 * 1024
# Reading what an idle connection received (a GOAWAY, a PING) takes one read of bytes that
# are already there; the bound only guards against a TLS record cut in half.
_IDLE_READ_TIMEOUT = 1.0
# What one turn of the reader gathers from a TLS socket, record by record (see `_receive`).
_GATHER_LIMIT = 256 * 1024
# A writer stalled while another thread reads waits for room this long at a time, then looks
# again whether the reader role is free (the reader may have given it up to nobody).
_SHARED_STALL_WAIT = 0.05
# A stalled writer reads until its reads have queued this much to send (module docstring).
_STALLED_QUEUE_LIMIT = 16 * 1024
# TLS writes go in smaller slices: the ssl module writes a slice whole or not at all (no
# partial writes), so the write timeout, which progress restarts, covers a whole slice.
_TLS_WRITE_SLICE = 64 * 1024
# How long a response's finaliser waits for a lock before it defers (`abandon_stream`): far
# longer than another thread holds one.
_ABANDON_LOCK_WAIT = 0.05


class NoStream(Exception):
    """The connection could not open the stream the index reserved (a GOAWAY or an error
    arrived in between): nothing was sent, the request goes to another connection."""


class HTTP2Owner(Protocol):
    """The transport, told what the index and the pool must know. Called without locks."""

    def release_stream(self, connection: SyncHTTP2Connection) -> None: ...

    def stop_sharing(self, connection: SyncHTTP2Connection) -> None: ...

    def capacity_changed(self, connection: SyncHTTP2Connection, capacity: int) -> None: ...

    def connection_closed(self, connection: SyncHTTP2Connection) -> None: ...

    def lock_available(self) -> bool:
        """Whether this thread can take the transport's lock (waiting a moment): False when
        it seems to hold it already (a finaliser run by the garbage collector inside it)."""


class _Stream:
    """A request's stream: the events filed for it, and how its thread waits for them."""

    __slots__ = ("cond", "credit", "error", "events", "id", "received", "stale_ok", "waiting")

    def __init__(self, stream_id: int, stale_ok: bool) -> None:
        self.id = stream_id
        self.events: deque[Any] = deque()
        self.error: BaseException | None = None
        self.cond: threading.Condition | None = None
        self.credit = False  # a WindowUpdated that concerns it arrived
        self.waiting = False  # its thread sleeps on `cond`
        self.received = False  # anything at all arrived for it
        # The connection had served requests before: if it dies before a byte of the answer,
        # the server most likely closed it as the request went out (RELIABILITY.md 21).
        self.stale_ok = stale_ok


class SyncHTTP2Connection(SyncSocketConnection):
    """A socket and its HTTP/2 state, shared by threads; see the module docstring."""

    __slots__ = (
        "_abandoned",
        "_dead",
        "_deferred",
        "_error",
        "_lock",
        "_outbox",
        "_owner",
        "_quickack",
        "_read_readiness",
        "_readiness",
        "_reading",
        "_send_flags",
        "_stall_queued",
        "_streams",
        "_tls_lock",
        "_waiting",
        "_writing",
        "capacity",
        "core",
    )

    def __init__(
        self,
        key: tuple[Any, ...],
        sock: socket.socket,
        *,
        timeout: float | None,
        tls: bool,
        owner: HTTP2Owner,
        core_options: dict[str, int] | None = None,
    ) -> None:
        super().__init__(key, sock, timeout=timeout, tls=tls)
        # core_options: the header limits of `Limits`, when they are not the core's defaults.
        self.core = HTTP2Connection() if core_options is None else HTTP2Connection(**core_options)
        self._owner = owner
        self._lock = threading.Lock()
        self._outbox: list[bytes] = []
        self._writing = False
        self._reading = False
        self._deferred: bytes | ReadError | ReadTimeout | None = None  # see `_receive`
        self._streams: dict[int, _Stream] = {}
        self._waiting: dict[_Stream, None] = {}  # streams whose thread sleeps, in order
        self._error: BaseException | None = None  # the connection failed: every stream fails
        self._dead = False  # the owner was told that the connection is over
        self.capacity = 100  # the server's MAX_CONCURRENT_STREAMS, once `handshake` knows it
        # Servers write a response's HEADERS and DATA frames apart, and one that leaves Nagle's
        # algorithm on (nginx over h2c) holds the DATA until our ACK, which the kernel delays
        # by 40 ms: quick ACKs after each read avoid that (Linux; TLS connections in nginx
        # have TCP_NODELAY, and the TLS socket's reads go through the ssl module).
        self._quickack = _HAS_QUICKACK and not tls
        # Sends never block (`http2_io`): plain sockets on Linux keep their kernel read
        # timeouts and send with MSG_DONTWAIT, the others become non-blocking sockets.
        blocking = self._kernel_timeouts
        if not blocking:
            with contextlib.suppress(OSError):
                sock.setblocking(False)
        self._send_flags = send_flags(blocking)
        self._readiness = Readiness(sock)  # the writer's
        self._read_readiness = Readiness(sock)  # the reader's, for non-blocking sockets
        self._stall_queued = 0  # bytes the stalled writer's reads queued (`_stalled`)
        # One thread at a time in the TLS object: `http2_io`'s docstring says why.
        self._tls_lock = threading.Lock() if tls else None
        # Streams given up in a finaliser that could not take the locks (`abandon_stream`).
        self._abandoned: deque[_Stream] = deque()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SyncHTTP2Connection {self.key!r} {state}>"

    # -- the connection ---------------------------------------------------------------------

    def handshake(self, timeout: float | None) -> int:
        """Send the preface; read until the server's first SETTINGS. Returns its
        MAX_CONCURRENT_STREAMS, so that no request is sent beyond it."""
        core = self.core
        host = self.key[1].decode("ascii", "replace")
        try:
            self._send(core.initiate(), timeout, may_read=False)
            while True:
                size = self._recv_into(self._view, timeout)
                if not size:
                    raise handshake_error(host, "the server closed the connection")
                for event in core.receive_data(self._view[:size]):
                    if type(event) is SettingsChanged:
                        # The SETTINGS acknowledgement.
                        self._send(core.data_to_send(), timeout, may_read=False)
                        return event.max_concurrent_streams
                pending = core.data_to_send()
                if pending:
                    self._send(pending, timeout, may_read=False)
        except (ReadTimeout, WriteTimeout) as exc:
            raise ConnectTimeout(
                f"Timed out waiting for the HTTP/2 SETTINGS of {host!r} after {timeout} s."
            ) from exc
        except (ReadError, WriteError, RemoteProtocolError) as exc:
            raise handshake_error(host, str(exc)) from exc

    def is_usable(self) -> bool:
        """Can this connection take a new stream? Called on the connection the index picked.
        An idle connection is read first if the server sent something (GOAWAY, PING, EOF)."""
        with self._lock:
            if self._error is not None or self.closed or self.core.available_streams <= 0:
                return False
            if self._streams or self._reading:
                return True  # busy: its reader will see what the server says
            self._reading = True
        try:
            if not self._readable_now():
                self._give_up_reading()
                return True
            data = self._receive(_IDLE_READ_TIMEOUT)
        except ReadTimeout:
            self._give_up_reading()
            return True
        except ReadError as exc:
            self._fail(exc)
            return False
        except BaseException:
            self._give_up_reading()
            raise
        self._process(data)
        with self._lock:
            return self._error is None and self.core.available_streams > 0

    def _ack_now(self) -> None:
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            self._quickack = False

    def _receive(self, timeout: float | None) -> bytes | memoryview:
        """The next bytes from the server (empty at EOF), as the reader reads them: a view of
        the connection's read buffer, valid until the next read.

        TLS hands over one record, at most 16 KiB, per read: the records that have already
        arrived are read too, up to the buffer's size, so that the core, the streams and the
        locks are visited once for them all (a 100 MiB download takes some 6,400 records). A
        read is made only when the socket is readable, so none waits for more than the rest of
        a record that has begun to arrive, as the first read would. Whatever ends the
        gathering is kept in `_deferred`: EOF or an error is acted on by `_process` right
        after the bytes before it; a timeout is raised by the next call."""
        deferred = self._deferred
        if deferred is not None:
            self._deferred = None
            if isinstance(deferred, BaseException):
                raise deferred
            return deferred
        view = self._view
        size = self._recv_into(view, timeout)
        if self.tls and size:
            limit = len(view)
            while size < limit and self._readable_now():
                try:
                    more = self._recv_into(view[size:], timeout)
                except ReadTimeout:
                    # The rest of a record is late: OpenSSL keeps what came, and the next read
                    # waits for it with its own timeout. (Deferred, this timeout would fail
                    # whichever thread reads next, at once: a stalled writer reads here with
                    # what is left of its write timeout.)
                    break
                except ReadError as exc:
                    self._deferred = exc
                    break
                if not more:
                    self._deferred = b""
                    break
                size += more
        return view[:size]

    def _recv_into(self, view: memoryview, timeout: float | None) -> int:
        # `recv`, without the copy: the bytes stay in the read buffer.
        if self._read_timeout != timeout:
            self._set_read_timeout(timeout)
        try:
            if self._kernel_timeouts:
                return self.sock.recv_into(view)
            return recv_nonblocking(self.sock, view, timeout, self._read_readiness, self._tls_lock)
        except OSError as exc:  # TimeoutError, BlockingIOError (SO_RCVTIMEO) too
            raise self._read_failed(exc) from exc

    def _set_read_timeout(self, timeout: float | None) -> None:
        if self._kernel_timeouts:
            super()._set_read_timeout(timeout)
        else:
            self._read_timeout = timeout  # the reads wait with poll, for this long

    def _set_write_timeout(self, timeout: float | None) -> None:
        self._write_timeout = timeout  # the sends never block: `_send` waits with poll

    def _readable_now(self) -> bool:
        if self._deferred is not None:
            return True
        if self._tls_pending():
            return True
        return self._read_readiness.wait(True, False, 0)[0]  # closed under us: True

    def _tls_pending(self) -> bool:
        """Whether the TLS object holds decrypted bytes not read yet (no syscall)."""
        tls_lock = self._tls_lock
        if tls_lock is None:
            return False
        with tls_lock:
            return bool(self.sock.pending())  # type: ignore[attr-defined]

    # -- streams ----------------------------------------------------------------------------

    def open_stream(self, request: Request, *, end_stream: bool) -> tuple[_Stream, bytes | None]:
        """Open a new stream with the request's HEADERS; return it and the bytes this thread
        must write (`write_out`), if any. NoStream if the connection can no longer take one;
        LocalProtocolError for a request that must not be sent."""
        method, scheme, authority, path, headers = request_head(request)
        if self._abandoned:
            self._finish_abandoned()
        with self._lock:
            core = self.core
            if self._error is not None or core.available_streams <= 0:
                raise NoStream()
            stream_id = core.send_request(
                method, scheme, authority, path, headers, end_stream=end_stream
            )
            stream = _Stream(stream_id, self.used)
            self._streams[stream_id] = stream
            data = self._queue_locked()
        self.used = True
        return stream, data

    def send_body(
        self, stream: _Stream, data: bytes | memoryview, end: bool, write_timeout: float | None
    ) -> None:
        """Send `data` on the stream as flow control allows, waiting for credit (and reading
        the socket meanwhile, if nobody else is) up to `write_timeout`."""
        view = memoryview(data) if len(data) else data
        deadline = None if write_timeout is None else _monotonic() + write_timeout
        while True:
            with self._lock:
                if stream.error is not None:
                    raise stream.error
                if self._error is not None:
                    raise self._error
                stream.credit = False
                accepted = self.core.send_data(stream.id, view, end_stream=end)
                out = self._queue_locked()
            if out is not None:
                self.write_out(out, write_timeout)
            if accepted == len(view):
                return
            view = view[accepted:]
            self._wait(stream, deadline, write_timeout, for_credit=True)

    def next_events(
        self, stream: _Stream, read_timeout: float | None, total: Deadline | None = None
    ) -> deque[Any]:
        """The events filed for the stream, waiting (or reading) for some up to
        `read_timeout` (and the request's total deadline, `total`). Raises the stream's error
        once its events are taken."""
        lock = self._lock
        with lock:
            events = stream.events
            if events:
                stream.events = deque()
                return events
        if total is None:
            deadline = None if read_timeout is None else _monotonic() + read_timeout
            self._wait(stream, deadline, read_timeout, for_credit=False)
        else:
            wait, by_deadline = total.cap(read_timeout)
            try:
                self._wait(stream, _monotonic() + wait, wait, for_credit=False)
            except ReadTimeout:
                if by_deadline:
                    raise total.error(ReadTimeout, "reading the response") from None
                raise
        with lock:
            events = stream.events
            stream.events = deque()
        if not events and stream.error is not None:
            raise stream.error
        return events

    def acknowledge(self, stream: _Stream, nbytes: int) -> None:
        """The consumer took `nbytes` of the stream's body: the server may send that much."""
        with self._lock:
            self.core.acknowledge_received_data(stream.id, nbytes)
            out = self._queue_locked()
        if out is not None:
            self._write_out_quietly(out)

    def finish_stream(self, stream: _Stream) -> None:
        """The request is over, complete or not: reset the stream if it is still in flight,
        and give the stream back to the index."""
        with self._lock:
            if self._streams.pop(stream.id, None) is None:
                return
            self._waiting.pop(stream, None)
            core = self.core
            if self._error is None:
                core.reset_stream(stream.id, CANCEL)  # a no-op for a stream that has ended
            out = self._queue_locked()
            dead = self._error is not None or core.is_closed
        if out is not None:
            self._write_out_quietly(out)
        self._owner.release_stream(self)
        if dead:
            self._report_closed()
        if self._abandoned:
            self._finish_abandoned()

    def abandon_stream(self, stream: _Stream) -> None:
        """`finish_stream` for a response given up in its body's finaliser. The garbage
        collector may run that while this very thread holds this connection's lock or the
        transport's, and neither is reentrant: each is only waited for a moment, and if one
        seems taken the stream waits in `_abandoned` for the next stream to finish or open
        (its RST_STREAM and its place in the index come late, not never)."""
        if self._lock.acquire(timeout=_ABANDON_LOCK_WAIT):
            self._lock.release()
            if self._owner.lock_available():
                self.finish_stream(stream)
                return
        self._abandoned.append(stream)

    def _finish_abandoned(self) -> None:
        abandoned = self._abandoned
        while abandoned:
            try:
                stream = abandoned.popleft()
            except IndexError:  # another thread took the last one
                return
            self.finish_stream(stream)

    # -- waiting and reading ----------------------------------------------------------------

    def _wait(
        self,
        stream: _Stream,
        deadline: float | None,
        timeout: float | None,
        *,
        for_credit: bool,
    ) -> None:
        lock = self._lock
        first_read = True
        while True:
            lock.acquire()
            if stream.error is not None or (stream.credit if for_credit else stream.events):
                lock.release()
                return
            if self._reading:
                cond = stream.cond
                if cond is None:
                    cond = stream.cond = threading.Condition(lock)
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    lock.release()
                    self._timed_out(for_credit, timeout)
                self._waiting[stream] = None
                stream.waiting = True
                cond.wait(remaining)
                stream.waiting = False
                self._waiting.pop(stream, None)
                lock.release()
                continue
            self._reading = True
            lock.release()
            if first_read:
                # The whole timeout, as the socket is most likely already set to it: a new
                # value costs a syscall, and this read is the first of the wait anyway.
                remaining = timeout
                first_read = False
            else:
                remaining = None if deadline is None else deadline - _monotonic()
                if remaining is not None and remaining <= 0:
                    self._give_up_reading()
                    self._timed_out(for_credit, timeout)
            try:
                data = self._receive(remaining)
                if self._quickack and len(data) < _QUICKACK_BELOW:
                    self._ack_now()
            except ReadTimeout:
                self._give_up_reading()
                self._timed_out(for_credit, timeout)
            except ReadError as exc:
                self._fail(exc, stale=isinstance(exc.__cause__, ConnectionError))
                continue
            except BaseException:
                self._give_up_reading()
                raise
            self._process(data)

    def _timed_out(self, for_credit: bool, timeout: float | None) -> None:
        if for_credit:
            raise WriteTimeout(
                f"Timed out after {timeout} s waiting for the server to accept more of the "
                "request body (HTTP/2 flow control)."
            )
        raise ReadTimeout(f"Timed out reading the response after {timeout} s.")

    def _give_up_reading(self) -> None:
        with self._lock:
            self._reading = False
            self._wake_a_reader()

    def _process(self, data: bytes | memoryview) -> None:
        """Feed what the reader read to the core, file the events, give up the reader role."""
        notices: list[tuple[str, int]] = []
        failure: BaseException | None = None
        stale = False
        with self._lock:
            self._reading = False
            core = self.core
            if data:
                try:
                    events = core.receive_data(data)
                except RemoteProtocolError as exc:
                    events = []
                    failure = exc
            else:
                core.receive_eof()
                events = []
                failure = connection_lost_error("the server closed it.")
                stale = True
            if events:
                self._file(events, notices)
            deferred = self._deferred
            if failure is None and deferred is not None and type(deferred) is not ReadTimeout:
                # The read that ended the gathering (`_receive`) found the connection over:
                # that counts at once, as if read apart, before another thread can act.
                self._deferred = None
                core.receive_eof()
                if isinstance(deferred, BaseException):
                    failure = deferred
                    stale = isinstance(deferred.__cause__, ConnectionError)
                else:
                    failure = connection_lost_error("the server closed it.")
                    stale = True
            out = self._queue_locked()
            if failure is None:
                self._wake_a_reader()
        if out is not None:
            self._write_out_quietly(out)
        if failure is not None:
            self._fail(failure, stale=stale)
            return
        owner = self._owner
        for kind, value in notices:
            if kind == "capacity":
                owner.capacity_changed(self, value)
            else:
                owner.stop_sharing(self)
        if core.is_closed:
            with self._lock:
                dead = not self._streams
            if dead:
                self._report_closed()

    def _file(self, events: list[Any], notices: list[tuple[str, int]]) -> None:
        # Under the lock: each event goes to the stream it names; their threads are woken.
        streams = self._streams
        for event in events:
            kind = type(event)
            if kind is StreamDataReceived or kind is StreamResponseReceived or kind is StreamEnded:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream.events.append(event)
                    stream.received = True
                    if stream.waiting:
                        stream.cond.notify()  # type: ignore[union-attr]
            elif kind is WindowUpdated:
                targets = (
                    streams.values() if not event.stream_id else [streams.get(event.stream_id)]
                )
                for stream in targets:
                    if stream is not None:
                        stream.credit = True
                        if stream.waiting:
                            stream.cond.notify()  # type: ignore[union-attr]
            elif kind is StreamReset:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    if event.error_code == REFUSED_STREAM and event.remote and not stream.received:
                        stream.error = Unprocessed(event.reason, goaway=False)
                    else:
                        stream.error = stream_reset_error(event.reason)
                    if stream.waiting:
                        stream.cond.notify()  # type: ignore[union-attr]
            elif kind is ConnectionTerminated:
                notices.append(("goaway", 0))
                reason = goaway_reason(
                    event.error_code, event.last_stream_id, event.additional_data
                )
                progress = goaway_progress(event.error_code, event.last_stream_id)
                for stream_id in event.unprocessed_stream_ids:
                    stream = streams.get(stream_id)
                    if stream is not None:
                        if stream.received:  # its response had begun: not to be sent again
                            stream.error = goaway_mid_response_error(reason)
                        else:
                            stream.error = Unprocessed(reason, goaway=True, progress=progress)
                        if stream.waiting:
                            stream.cond.notify()  # type: ignore[union-attr]
            elif kind is SettingsChanged:
                notices.append(("capacity", event.max_concurrent_streams))
            # Trailers, 1xx responses and PING acknowledgements need nothing here.

    def _wake_a_reader(self) -> None:
        # Under the lock, with the reader role free: a thread still waiting with nothing to
        # show takes it (the others were woken by their events).
        for stream in self._waiting:
            if not (stream.events or stream.credit or stream.error):
                stream.cond.notify()  # type: ignore[union-attr]
                return

    def _fail(self, error: BaseException, *, stale: bool = False) -> None:
        """The connection is lost: every stream in flight fails with `error`."""
        with self._lock:
            self._reading = False
            if self._error is None:
                self._error = error
                self.core.receive_eof()
            last_id = self.core.last_stream_id_processed
            for stream in self._streams.values():
                if stream.error is None:
                    if last_id is not None and stream.id > last_id and not stream.received:
                        # Opened as the GOAWAY came: never processed, whatever broke next.
                        stream.error = Unprocessed(f"{error}", goaway=True, progress=True)
                    elif stale and stream.stale_ok and not stream.received:
                        stream.error = StaleConnection(error)  # type: ignore[arg-type]
                    else:
                        stream.error = error
                if stream.waiting:
                    stream.cond.notify()  # type: ignore[union-attr]
        self._report_closed()

    def _report_closed(self) -> None:
        with self._lock:
            if self._dead:
                return
            self._dead = True
        self._owner.connection_closed(self)

    # -- writing ----------------------------------------------------------------------------

    def _queue_locked(self) -> bytes | None:
        # Under the lock: what the core queued joins the outbox. Returns the bytes to write if
        # this thread is now the writer, None if there is nothing to write or another thread
        # is writing (it will write these too).
        data = self.core.data_to_send()
        outbox = self._outbox
        if data:
            outbox.append(data)
        if self._writing or not outbox:
            return None
        self._writing = True
        joined = outbox[0] if len(outbox) == 1 else b"".join(outbox)
        outbox.clear()
        return joined

    def write_out(self, data: bytes, write_timeout: float | None) -> None:
        """Write as the writer until the outbox is empty. A failed write breaks the connection
        (a frame may be cut in half): every stream fails."""
        try:
            self._write_timeout = write_timeout
            while True:
                self._send(data, write_timeout)
                with self._lock:
                    outbox = self._outbox
                    if not outbox:
                        self._writing = False
                        return
                    data = outbox[0] if len(outbox) == 1 else b"".join(outbox)
                    outbox.clear()
                    self._stall_queued = 0
        except BaseException as exc:
            with self._lock:
                self._writing = False
                self._outbox.clear()
            self._fail(exc, stale=isinstance(exc.__cause__, ConnectionError))
            raise

    def _send(self, data: bytes, timeout: float | None, *, may_read: bool = True) -> None:
        """Write `data` as the writer, never blocking in a send (`http2_io.send_all`): when
        the socket takes no more, `_stalled` waits for room and reads meanwhile. WriteTimeout
        when the socket took nothing for `timeout`. `may_read`: False during the handshake."""

        def stalled(deadline: float | None, want_read: bool) -> None:
            self._stalled(deadline, timeout, want_read=want_read, may_read=may_read)

        try:
            send_all(
                self.sock,
                data,
                self._send_flags,
                WRITE_SLICE if self._tls_lock is None else _TLS_WRITE_SLICE,
                timeout,
                stalled,
                self._tls_lock,
            )
        except OSError as exc:
            raise WriteError(f"Could not write the request: {describe_os_error(exc)}") from exc

    def _stalled(
        self, deadline: float | None, timeout: float | None, *, want_read: bool, may_read: bool
    ) -> None:
        """The writer's send would block: wait until the socket is writable, reading what the
        server sends meanwhile if no other thread is the reader (see the module docstring)."""
        remaining = None if deadline is None else deadline - _monotonic()
        if remaining is not None and remaining <= 0:
            raise WriteTimeout(f"Timed out writing the request after {timeout} s.")
        self._raise_if_broken()
        reading = False
        queued = 0  # the outbox before this turn's read
        if may_read:
            with self._lock:
                if not self._reading and self._stall_queued < _STALLED_QUEUE_LIMIT:
                    self._reading = reading = True
                    queued = sum(map(len, self._outbox))
        if not reading:
            # Another thread reads (and files what we would): wait for room only, and look
            # again soon whether the role is free.
            wait = _SHARED_STALL_WAIT if remaining is None else min(remaining, _SHARED_STALL_WAIT)
            if want_read:
                # TLS wants a read first (renegotiation, which HTTP/2 forbids) that this thread
                # may not make: the bytes are there, so a poll would return at once. Sleep.
                time.sleep(wait)
                return
            self._readiness.wait(False, True, wait if may_read else remaining)
            return
        # The reader role is ours until `_process` or `_give_up_reading` hands it back.
        try:
            if self._deferred is not None or self._tls_pending():
                readable = True
            else:
                readable, _ = self._readiness.wait(True, not want_read, remaining)
            if not readable:
                self._give_up_reading()
                return
            # Readable: the read returns at once (the rest of a TLS record: soon), so a plain
            # socket keeps its read timeout (no syscall to change it).
            data = self._receive(remaining if not self._kernel_timeouts else self._read_timeout)
        except ReadTimeout:
            self._give_up_reading()
            return
        except ReadError as exc:
            self._fail(exc, stale=isinstance(exc.__cause__, ConnectionError))
            raise WriteError(f"Could not write the request: {exc}") from exc
        except BaseException:
            self._give_up_reading()
            raise
        self._process(data)
        with self._lock:
            self._stall_queued += sum(map(len, self._outbox)) - queued
        self._raise_if_broken()

    def _raise_if_broken(self) -> None:
        error = self._error
        if error is not None:
            raise WriteError(f"Could not write the request: {error}") from error

    def _write_out_quietly(self, data: bytes) -> None:
        # For the reader's and the consumer's writes (WINDOW_UPDATE, PING and SETTINGS
        # acknowledgements, RST_STREAM): a failure there fails the streams, not this caller.
        with contextlib.suppress(WriteError, WriteTimeout):
            self.write_out(data, self._write_timeout)

    def close(self) -> None:
        """Close the socket; every stream still in flight fails. Safe from any thread."""
        if self.closed:
            return
        with self._lock:
            if self._error is None:
                self._error = connection_lost_error("the connection was closed.")
                self.core.receive_eof()
            for stream in self._streams.values():
                if stream.error is None:
                    stream.error = self._error
                if stream.waiting:
                    stream.cond.notify()  # type: ignore[union-attr]
            self._dead = True
        tls_lock = self._tls_lock
        if tls_lock is None:
            super().close()
            return
        # The shutdown goes into the TLS object too: `SSLSocket.shutdown` drops it first, and a
        # writer's `send` in that gap would go out as plain bytes (and a read would raise
        # ValueError). Under the lock, the calls in flight end before it, the later ones fail.
        with tls_lock:
            super().close()


# -- the exchange ---------------------------------------------------------------------------


def exchange_http2(
    connection: SyncHTTP2Connection,
    request: Request,
    timeouts: dict[str, Any],
    timing: dict[str, float],
) -> Response:
    """Send `request` on a new stream of `connection` and return its response, body unread.
    The stream is given back (reset if unfinished) on any failure."""
    started = _perf_counter()
    write_timeout = timeouts.get("write")
    total: Deadline | None = timeouts.get("deadline")
    write_total: Deadline | None = None
    if total is not None:
        # The request goes out under the timeout left when it starts.
        write_timeout, by_deadline = total.cap(write_timeout)
        write_total = total if by_deadline else None
    body, body_stream = request_body(request)
    if body_stream is not None and not isinstance(body_stream, SyncByteStream):
        connection._owner.release_stream(connection)
        raise RuntimeError(
            "Attempted to send an async request body with a sync transport: use an "
            "AsyncClient, or give the request a sync stream."
        )
    try:
        stream, out = connection.open_stream(request, end_stream=not body and body_stream is None)
    except BaseException:
        connection._owner.release_stream(connection)
        raise
    try:
        try:
            if out is not None:
                try:
                    connection.write_out(out, write_timeout)
                except WriteError as exc:
                    # The server may have closed the connection as we wrote (after a GOAWAY we
                    # had not read yet): the stream's own verdict says if it may be sent again.
                    error = stream.error
                    if isinstance(error, (Unprocessed, StaleConnection)):
                        raise error from exc
                    if not stream.received or body or body_stream is not None:
                        raise
                    # The server answered this request, then closed the connection as the writer
                    # was writing what other streams queued (after a GOAWAY: RFC 9113 §6.8): the
                    # answer is read below, and ends with the stream's error if incomplete.
            if body:
                connection.send_body(stream, body, body_stream is None, write_timeout)
            if body_stream is not None:
                for chunk in body_stream:
                    if chunk:
                        connection.send_body(stream, chunk, False, write_timeout)
                connection.send_body(stream, b"", True, write_timeout)
        except WriteTimeout:
            if write_total is not None:
                raise write_total.error(WriteTimeout, "writing the request") from None
            raise
        sent = _perf_counter()
        timing["request_sent"] = sent - started
        read_timeout = timeouts.get("read")
        while True:
            events = connection.next_events(stream, read_timeout, total)
            while events:
                event = events.popleft()
                if type(event) is StreamResponseReceived:
                    timing["first_byte"] = _perf_counter() - sent
                    return _response(connection, stream, event, events, read_timeout, total, timing)
    except BaseException:
        connection.finish_stream(stream)
        raise


def _response(
    connection: SyncHTTP2Connection,
    stream: _Stream,
    event: StreamResponseReceived,
    pending: deque[Any],
    read_timeout: float | None,
    total: Deadline | None,
    timing: dict[str, float],
) -> Response:
    body = HTTP2ResponseStream(connection, stream, read_timeout, pending, total)
    response = Response(
        event.status_code,
        headers=Headers._from_raw(event.headers),
        stream=body,
        extensions=http2_extensions(timing),
    )
    if pending and type(pending[-1]) is StreamEnded:
        # The whole response came with its head: the stream is free for others now.
        body._finish_early()
    return response


class HTTP2ResponseStream(SyncByteStream):
    """The body of one response, read from its stream as it is iterated; flow-control credit
    goes back to the server as the consumer takes each piece. `close()` before the end
    resets the stream (CANCEL); the connection and its other streams go on."""

    __slots__ = ("_connection", "_done", "_pending", "_read_timeout", "_stream", "_total")

    def __init__(
        self,
        connection: SyncHTTP2Connection,
        stream: _Stream,
        read_timeout: float | None,
        pending: deque[Any],
        total: Deadline | None = None,
    ) -> None:
        self._connection = connection
        self._total = total  # the request's total deadline: it bounds the body too
        self._stream = stream
        self._read_timeout = read_timeout
        self._pending = pending
        self._done = False

    def _finish_early(self) -> None:
        # Everything is buffered here: its credit goes back now, and the stream with it.
        connection, stream = self._connection, self._stream
        pending = self._pending
        consumed = sum(e.flow_controlled_length for e in pending if type(e) is StreamDataReceived)
        if consumed:
            connection.acknowledge(stream, consumed)
        self._pending = deque(e.data for e in pending if type(e) is StreamDataReceived)
        self._done = True
        connection.finish_stream(stream)

    def __iter__(self) -> Iterator[bytes]:
        if self._done:
            pending = self._pending
            self._pending = deque()
            yield from pending
            return
        connection, stream = self._connection, self._stream
        read_timeout = self._read_timeout
        events = self._pending
        try:
            while True:
                while events:
                    event = events.popleft()
                    kind = type(event)
                    if kind is StreamDataReceived:
                        connection.acknowledge(stream, event.flow_controlled_length)
                        yield event.data
                    elif kind is StreamEnded:
                        self._done = True
                        connection.finish_stream(stream)
                        return
                events = self._pending = connection.next_events(stream, read_timeout, self._total)
        except GeneratorExit:
            # The consumer walked away: perhaps in the garbage collector (`abandon_stream`).
            if not self._done:
                self._done = True
                self._pending = deque()
                self._connection.abandon_stream(self._stream)
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._pending = deque()
        self._connection.finish_stream(self._stream)
