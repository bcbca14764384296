"""Socket primitives of the blocking HTTP/2 driver (`http2_connection.py`) that never block.

The driver's writer must not sit in `sendall` while the server waits for it to read (see that
module's docstring): it sends what the socket takes at once, and waits for room with `poll`,
readable *or* writable, so that it can read meanwhile. How a send is made non-blocking:

- plain sockets on Linux stay blocking (their reads rely on SO_RCVTIMEO, see
  `SyncSocketConnection`), and each send passes MSG_DONTWAIT: no mode change, no extra
  syscall, and a thread reading the same socket is not disturbed;
- TLS sockets (and plain sockets elsewhere) are made non-blocking for good: `ssl` has no
  per-call flag, and switching modes back and forth would change the socket under a thread
  reading it. Their reads then wait with `poll` too (`SyncHTTP2Connection._recv_into`). A TLS
  write that would block must be retried with the same bytes (OpenSSL's rule): the writer
  retries the same slice until it is taken.

One TLS connection is one OpenSSL `SSL` object, and OpenSSL does not allow two threads in it at
once: a read running beside another thread's write now and then failed with a spurious
`SSLEOFError` (which `suppress_ragged_eofs` turns into an EOF: the connection was dropped
and its requests retried or failed), and without load records went out corrupted
(DECRYPTION_FAILED_OR_BAD_RECORD_MAC at the server). So every TLS call goes under the
connection's `tls_lock`: the calls never block (the socket is non-blocking), and every wait
is a `poll` outside the lock, so the reader and the writer still wait in parallel.
"""

from __future__ import annotations

import math
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable

__all__ = ["NEEDS_READ", "WOULD_BLOCK", "Readiness", "recv_nonblocking", "send_all", "send_flags"]

_monotonic = time.monotonic

_HAS_POLL = hasattr(select, "poll")
_IN: int = getattr(select, "POLLIN", 1)
_OUT: int = getattr(select, "POLLOUT", 4)
_BAD: int = (
    getattr(select, "POLLERR", 8) | getattr(select, "POLLHUP", 16) | getattr(select, "POLLNVAL", 32)
)
_MSG_DONTWAIT: int = getattr(socket, "MSG_DONTWAIT", 0)

# What `send_some` returns when it sent nothing.
WOULD_BLOCK = -1  # the socket's buffer is full: wait until it is writable
NEEDS_READ = -2  # TLS wants to read first (renegotiation, which HTTP/2 forbids): wait for it


def send_flags(blocking: bool) -> int:
    """The flags of `send_some` for a socket: MSG_DONTWAIT for one left in blocking mode."""
    return _MSG_DONTWAIT if blocking else 0


def send_some(
    sock: socket.socket,
    data: bytes | memoryview,
    flags: int,
    tls_lock: threading.Lock | None = None,
) -> int:
    """One send of what the socket takes now: the bytes sent, or WOULD_BLOCK / NEEDS_READ.
    Other errors are raised (OSError). `tls_lock`: held for the call (see the docstring)."""
    try:
        if tls_lock is None:
            return sock.send(data, flags)
        with tls_lock:
            return sock.send(data, flags)
    except (BlockingIOError, ssl.SSLWantWriteError):
        return WOULD_BLOCK
    except ssl.SSLWantReadError:
        return NEEDS_READ
    except ValueError as exc:  # the TLS socket was closed (another thread closed it)
        raise OSError(f"the connection was closed: {exc}") from exc


def send_all(
    sock: socket.socket,
    data: bytes,
    flags: int,
    slice_size: int,
    timeout: float | None,
    stalled: Callable[[float | None, bool], None],
    tls_lock: threading.Lock | None = None,
) -> None:
    """Send all of `data`, `slice_size` bytes at most per send, never blocking in one: when
    the socket takes nothing more, `stalled(deadline, want_read)` waits (for room, or for
    bytes to read if `want_read`) and returns when a send is worth trying again; it raises
    once `deadline` (None: no limit) has passed. The deadline is `timeout` after the last
    progress. A write that completes at once costs one send. OSError is raised as it is."""
    total = len(data)
    if total <= slice_size:
        sent = send_some(sock, data, flags, tls_lock)
        if sent == total:
            return  # the usual case: one send, as `sendall` would make
        view = memoryview(data)
    else:
        view = memoryview(data)
        sent = send_some(sock, view[:slice_size], flags, tls_lock)
    position = 0
    deadline = None
    while True:
        if sent > 0:
            position += sent
            if position >= total:
                return
            deadline = None  # progress: the timeout starts again
            if sent == slice_size:
                sent = send_some(sock, view[position : position + slice_size], flags, tls_lock)
                continue
            sent = WOULD_BLOCK  # partly taken: the buffer is full, wait for room
        if deadline is None and timeout is not None:
            deadline = _monotonic() + timeout
        stalled(deadline, sent == NEEDS_READ)
        # A TLS send that would block is retried with the same bytes (OpenSSL's rule).
        sent = send_some(sock, view[position : position + slice_size], flags, tls_lock)


def recv_nonblocking(
    sock: socket.socket,
    view: memoryview,
    timeout: float | None,
    readiness: Readiness,
    tls_lock: threading.Lock | None = None,
) -> int:
    """`recv_into` on a non-blocking socket within `timeout` (TimeoutError after it): tried
    first, as the ssl module does (a TLS record may already be decrypted), then waited for
    with `readiness`. Other errors are raised (OSError). `tls_lock`: held for each call."""
    deadline = None
    while True:
        try:
            if tls_lock is None:
                return sock.recv_into(view)
            with tls_lock:
                return sock.recv_into(view)
        except (BlockingIOError, ssl.SSLWantReadError):
            readable = True
        except ssl.SSLWantWriteError:
            readable = False
        except ValueError as exc:  # the TLS socket was closed (another thread closed it)
            raise OSError(f"the connection was closed: {exc}") from exc
        remaining = None
        if timeout is not None:
            if deadline is None:
                deadline = _monotonic() + timeout
            remaining = deadline - _monotonic()
            if remaining <= 0:
                raise TimeoutError
        if not any(readiness.wait(readable, not readable, remaining)):
            raise TimeoutError


class Readiness:
    """Waits until one socket is readable, writable, or either. One poll object, made on first
    use: a thread at a time may use it (poll objects refuse concurrent calls)."""

    __slots__ = ("_events", "_poller", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._poller: select.poll | None = None
        self._events = 0

    def wait(self, readable: bool, writable: bool, timeout: float | None) -> tuple[bool, bool]:
        """(readable, writable) once either asked for holds, or (False, False) after
        `timeout` seconds (None: no limit). An error or a hang-up counts as both, and so does
        a closed socket: the next read or write says what happened."""
        sock = self._sock
        try:
            if not _HAS_POLL:
                reads, writes, errors = select.select(
                    [sock] if readable else [], [sock] if writable else [], [sock], timeout
                )
                bad = bool(errors)
                return bool(reads) or bad, bool(writes) or bad
            events = (_IN if readable else 0) | (_OUT if writable else 0)
            poller = self._poller
            if poller is None:
                poller = self._poller = select.poll()
                poller.register(sock, events)
            elif events != self._events:
                poller.modify(sock, events)
            self._events = events
            ready = poller.poll(None if timeout is None else max(math.ceil(timeout * 1000), 0))
        except (OSError, ValueError):
            return True, True
        if not ready:
            return False, False
        revents = ready[0][1]
        bad = bool(revents & _BAD)
        return bool(revents & _IN) or bad, bool(revents & _OUT) or bad
