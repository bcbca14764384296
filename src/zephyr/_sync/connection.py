"""One HTTP/1.1 connection over a blocking socket: the I/O around the sans-I/O core.

The socket is read with `recv_into` a 256 KiB buffer owned by the connection (BENCHMARKS.md:
the read size decides bulk throughput, 1 GB/s at 64 KiB against 4.2 GB/s at 256 KiB). A small
read is copied out once, as `bytes`, for the parser; a large one is handed to the HTTP/1.1
parser as a view of the buffer, which the parser copies from only what it hands on. Requests
are written with as few `sendall` calls as the body allows: a small body rides in the same
write as the head, a large one follows it uncopied.

Socket errors become zephyr exceptions here, so nothing above this module sees an OSError.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any

from .._exceptions import ReadError, ReadTimeout, WriteError, WriteTimeout
from .._io_common import describe_os_error as _describe
from .._io_common import join_small, request_writes
from .._protocol.http11 import HTTP11Connection
from .._streams import SyncByteStream

if TYPE_CHECKING:
    from .._deadline import Deadline
    from .._request import Request
    from .network_stream import SyncNetworkStream

__all__ = ["READ_BUFFER_SIZE", "SyncHTTP11Connection", "SyncSocketConnection"]

READ_BUFFER_SIZE = 256 * 1024
# Writes larger than this go out in slices of it (see `_write_slices`).
WRITE_SLICE = 1024 * 1024
# Reads larger than this go to the HTTP/1.1 parser as views of the buffer (`recv_data`).
_VIEW_MIN_SIZE = 64 * 1024

_HAS_POLL = hasattr(select, "poll")

# Kernel-enforced socket timeouts, where the layout of `struct timeval` is known for sure.
_KERNEL_TIMEOUTS = sys.platform == "linux"
_TIMEVAL = struct.Struct("@ll")


class SyncSocketConnection:
    """A connected socket with its read buffer and timeouts: what the HTTP/1.1 and HTTP/2
    connections share. Socket errors become zephyr exceptions here."""

    __slots__ = (
        "_buffer",
        "_kernel_timeouts",
        "_poller",
        "_read_timeout",
        "_view",
        "_write_deadline",
        "_write_timeout",
        "closed",
        "key",
        "sock",
        "tls",
        "used",
    )

    def __init__(
        self, key: tuple[Any, ...], sock: socket.socket, *, timeout: float | None, tls: bool
    ) -> None:
        self.key = key
        self.sock = sock
        self.tls = tls
        self._buffer = bytearray(READ_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        # The timeouts the socket is set to. Setting one costs a syscall, so it is done only
        # when a request asks for a different value than the last.
        self._read_timeout = self._write_timeout = timeout
        # Plain sockets are blocking with SO_RCVTIMEO/SO_SNDTIMEO: Python's own timeout mode
        # polls before every recv and send, two syscalls where one does (measured: 0.8 us of
        # CPU per request on loopback). TLS keeps Python's timeouts: on a blocking socket,
        # the ssl module retries a read that timed out in the kernel forever.
        self._kernel_timeouts = _KERNEL_TIMEOUTS and not tls
        if self._kernel_timeouts:
            sock.settimeout(None)
            self._set_read_timeout(timeout)
            self._set_write_timeout(timeout)
        self._poller: Any = None
        self._write_deadline: Deadline | None = None  # the total deadline of a request's write
        self.used = False  # has served a request: a failure may be a stale keep-alive
        self.closed = False

    def _write(self, data: bytes | memoryview) -> None:
        try:
            if len(data) <= WRITE_SLICE:
                self.sock.sendall(data)
            else:
                self._write_slices(data)
        except (TimeoutError, BlockingIOError) as exc:  # BlockingIOError: SO_SNDTIMEO ran out
            raise WriteTimeout(
                f"Timed out writing the request after {self._write_timeout} s."
            ) from exc
        except OSError as exc:
            raise WriteError(f"Could not write the request: {_describe(exc)}") from exc

    def _write_slices(self, data: bytes | memoryview) -> None:
        # A large body goes out a slice at a time, uncopied: one `sendall` of 100 MiB measured
        # 2,500-2,700 MiB/s with dips to ~500, 1 MiB slices 3,300-3,400 without dips (nginx,
        # loopback). The write timeout then bounds each slice's wait for the server to read.
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        sendall = self.sock.sendall
        deadline = self._write_deadline
        for start in range(0, len(view), WRITE_SLICE):
            if deadline is not None and start and deadline.expired():
                # Each slice's wait is capped by what was left at the start of the write:
                # past the deadline, the next one does not begin.
                raise TimeoutError("the total deadline passed between slices")
            sendall(view[start : start + WRITE_SLICE])

    # -- reading ----------------------------------------------------------------------------

    def _read_failed(self, exc: OSError) -> ReadTimeout | ReadError:
        """The error of a read that raised `exc`: a timeout is the kernel's (SO_RCVTIMEO ran
        out: BlockingIOError) or Python's (TimeoutError); anything else could not be read."""
        if isinstance(exc, TimeoutError | BlockingIOError):
            return ReadTimeout(f"Timed out reading the response after {self._read_timeout} s.")
        return ReadError(f"Could not read the response: {_describe(exc)}")

    def recv(self, read_timeout: float | None) -> bytes:
        """The next bytes from the server, b"" at EOF. Raises ReadTimeout or ReadError."""
        if self._read_timeout != read_timeout:
            self._set_read_timeout(read_timeout)
        try:
            size = self.sock.recv_into(self._buffer)
        except OSError as exc:
            raise self._read_failed(exc) from exc
        return self._view[:size].tobytes()

    def read_raw(self, max_bytes: int, timeout: float | None) -> bytes:
        """Bytes straight from the socket, past HTTP (after 101 Switching Protocols)."""
        if self._read_timeout != timeout:
            self._set_read_timeout(timeout)
        try:
            return self.sock.recv(max_bytes)
        except (TimeoutError, BlockingIOError) as exc:
            raise ReadTimeout(f"Timed out reading after {timeout} s.") from exc
        except OSError as exc:
            raise ReadError(f"Could not read: {_describe(exc)}") from exc

    def write_raw(self, data: bytes, timeout: float | None) -> None:
        if self._write_timeout != timeout:
            self._set_write_timeout(timeout)
        self._write(data)

    # -- state ------------------------------------------------------------------------------

    def is_idle_alive(self) -> bool:
        """False if the server closed this idle connection (or sent anything while it was idle).

        Called on the one connection picked from the pool, never on all of them. An idle
        HTTP/1.1 connection has nothing to say: readable means EOF, a reset, or stray bytes,
        and all of them mean it must not carry a request.
        """
        if self.closed:
            return False
        poller = self._poller
        if poller is None or self.tls:
            return self._is_idle_alive_first()
        try:
            return not poller.poll(0)  # one syscall: the usual case, a plain reused socket
        except (OSError, ValueError):
            return False

    def _is_idle_alive_first(self) -> bool:
        # `is_idle_alive` the first time (the poller is made then), over TLS, or without poll.
        if self.tls and self.sock.pending():  # type: ignore[attr-defined]
            return False  # decrypted bytes already buffered by OpenSSL
        try:
            if _HAS_POLL:
                if self._poller is None:
                    self._poller = select.poll()
                    self._poller.register(self.sock, select.POLLIN)
                return not self._poller.poll(0)
            readable, _, _ = select.select([self.sock], [], [], 0)
            return not readable
        except (OSError, ValueError):
            return False

    def _set_read_timeout(self, timeout: float | None) -> None:
        try:
            if self._kernel_timeouts:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(timeout))
            else:
                self.sock.settimeout(timeout)
                self._write_timeout = timeout  # Python's timeout covers both directions
        except OSError as exc:  # the socket was closed under us (transport closed)
            raise ReadError(f"The connection is closed: {_describe(exc)}") from exc
        self._read_timeout = timeout

    def _set_write_timeout(self, timeout: float | None) -> None:
        try:
            if self._kernel_timeouts:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(timeout))
            else:
                self.sock.settimeout(timeout)
                self._read_timeout = timeout
        except OSError as exc:
            raise WriteError(f"The connection is closed: {_describe(exc)}") from exc
        self._write_timeout = timeout

    def close(self) -> None:
        """Close the socket; safe to call twice, and from another thread (it wakes a reader)."""
        if self.closed:
            return
        self.closed = True
        sock = self.sock
        # shutdown() first: a thread blocked in recv() on this socket wakes up with EOF, where
        # close() alone would leave it waiting.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class SyncHTTP11Connection(SyncSocketConnection):
    """A socket and its HTTP/1.1 state. Used by one thread at a time (the pool sees to it)."""

    __slots__ = ("network_stream", "protocol")

    def __init__(
        self,
        key: tuple[Any, ...],
        sock: socket.socket,
        *,
        timeout: float | None,
        tls: bool,
        core_options: dict[str, int] | None = None,
    ) -> None:
        super().__init__(key, sock, timeout=timeout, tls=tls)
        # core_options: the header limits of `Limits`, when they are not the core's defaults.
        self.protocol = (
            HTTP11Connection() if core_options is None else HTTP11Connection(**core_options)
        )
        # The `network_stream` extension of this connection's responses, made on the first.
        self.network_stream: SyncNetworkStream | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SyncHTTP11Connection {self.key!r} {state}>"

    def send_request(self, request: Request, write_timeout: float | None) -> None:
        """Write the request head and body. Raises WriteError/WriteTimeout, or
        LocalProtocolError before anything is written for a request that must not be sent."""
        writes, stream = request_writes(self.protocol, request)
        if stream is None:
            # The whole request is in `writes`: usually one, the head (and a small body).
            if self._write_timeout != write_timeout:
                self._set_write_timeout(write_timeout)
            for data in writes:
                self._write(data)
            return
        if not isinstance(stream, SyncByteStream):
            raise RuntimeError(
                "Attempted to send an async request body with a sync transport: use an "
                "AsyncClient, or give the request a sync stream."
            )
        if self._write_timeout != write_timeout:
            self._set_write_timeout(write_timeout)
        for data in writes:
            self._write(data)
        protocol = self.protocol
        for chunk in stream:
            for data in join_small(protocol.send_body(chunk)):
                self._write(data)
        end = protocol.end_request()
        if end:
            self._write(end)

    def start_next_cycle(self) -> None:
        self.protocol.start_next_cycle()

    def send_request_by(
        self, request: Request, write_timeout: float | None, deadline: Deadline
    ) -> None:
        """`send_request` bounded by the request's total deadline too."""
        wait, by_deadline = deadline.cap(write_timeout)
        if by_deadline and wait <= 0.0:
            raise deadline.error(WriteTimeout, "writing the request")
        self._write_deadline = deadline
        try:
            self.send_request(request, wait)
        except WriteTimeout as exc:
            if by_deadline or deadline.expired():
                raise deadline.error(WriteTimeout, "writing the request") from exc.__cause__
            raise
        finally:
            self._write_deadline = None

    def recv_data_by(self, read_timeout: float | None, deadline: Deadline) -> bytes | memoryview:
        """`recv_data` bounded by the request's total deadline too."""
        wait, by_deadline = deadline.cap(read_timeout)
        if by_deadline and wait <= 0.0:
            raise deadline.error(ReadTimeout, "reading the response")
        try:
            return self.recv_data(wait)
        except ReadTimeout as exc:
            if by_deadline:
                raise deadline.error(ReadTimeout, "reading the response") from exc.__cause__
            raise

    def recv_data(self, read_timeout: float | None) -> bytes | memoryview:
        """`recv()` for the HTTP/1.1 parser: a large read (over 64 KiB) comes as a view of the
        read buffer, not copied: the parser copies out only what it hands on (body bytes,
        once) and keeps nothing pointing into the buffer, which the next read overwrites.
        A small read is copied, which costs the parser less than a view."""
        if self._read_timeout != read_timeout:
            self._set_read_timeout(read_timeout)
        try:
            size = self.sock.recv_into(self._buffer)
        except OSError as exc:
            raise self._read_failed(exc) from exc
        if size > _VIEW_MIN_SIZE:
            return self._view[:size]
        return self._view[:size].tobytes()


def _timeval(timeout: float | None) -> bytes:
    """A `struct timeval` for SO_RCVTIMEO/SO_SNDTIMEO. Zero there means "never", so None maps
    to zero and a zero timeout to the shortest one the kernel has (1 us)."""
    if timeout is None:
        return _TIMEVAL.pack(0, 0)
    seconds = int(timeout)
    microseconds = max(int((timeout - seconds) * 1_000_000), 0 if seconds else 1)
    return _TIMEVAL.pack(seconds, microseconds)
