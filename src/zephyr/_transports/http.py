"""`HTTPTransport`: HTTP/1.1 over blocking sockets, with a connection pool and TLS.

Per request, the work outside the socket calls is O(1): a dict lookup finds an idle
connection for the request's origin, one zero-timeout poll of that one socket checks that the
server has not closed it, and a `threading.Lock` guards the pool's bookkeeping only (never
held during I/O). Threads that find the pool full queue FIFO, each on its own Event.

With `http2=True`, https connections offer "h2" in ALPN (and http:// ones speak HTTP/2 by
prior knowledge when `http1=False`). An HTTP/2 connection holds one pool slot for its life and
is shared by every request of its origin while it has a free stream: the multiplexing index
(`_multiplex.py`) finds it, under the same lock, in O(1). While a connection that may become
HTTP/2 is being opened, other requests for its origin wait for it rather than open their own.
With `http2=False` (the default), or a plain http:// URL without prior knowledge, requests take
the HTTP/1.1 path unchanged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from .._config import DEFAULT_LIMITS, Limits
from .._deadline import Deadline, bounded_wait
from .._exceptions import ConnectError, ConnectTimeout, PoolTimeout, RequestError
from .._h2_common import (
    RetryBudget,
    Unprocessed,
    is_h2c,
    may_be_http2,
    negotiated_http2,
    unoffered_h2_error,
)
from .._io_common import (
    PoolKey,
    SocketOption,
    StaleConnection,
    TransportOptions,
    closed_error,
    describe_tls,
    is_replayable,
    pool_timeout_error,
    route,
    show_address,
)
from .._multiplex import PENDING, MultiplexIndex, StreamWaiter
from .._pool import NEW_CONNECTION, POOL_FULL, PoolClosed, PoolState, PoolWaiter
from .._request import Request
from .._response import Response
from .._sync.connect import connect_tcp, connect_uds, start_tls
from .._sync.connection import SyncHTTP11Connection
from .._sync.exchange import exchange
from .._sync.http2_connection import NoStream, SyncHTTP2Connection, exchange_http2
from .base import BaseTransport

if TYPE_CHECKING:
    from .._ssl import CertTypes, VerifyTypes

__all__ = ["HTTPTransport"]

logger = logging.getLogger("zephyr")

_monotonic = time.monotonic

AnyConnection = SyncHTTP11Connection | SyncHTTP2Connection
_TIMED_OUT = object()
# How long a finaliser's release waits for the pool lock before it defers (see
# `release_abandoned`): far longer than any pool operation holds it.
_ABANDONED_LOCK_WAIT = 0.05


class HTTPTransport(BaseTransport, TransportOptions):
    """Sends requests over HTTP/1.1 (TLS for https), reusing connections from a pool.

    verify, cert, trust_env: TLS settings, as `create_ssl_context` takes them.
    http1, http2: the protocols allowed. HTTP/2 is negotiated by ALPN over TLS; over plain
        http:// it is used with prior knowledge (h2c) when `http1=False`.
    limits: pool limits (connections in total, kept idle, idle expiry).
    uds: a Unix socket path to connect to instead of the URL's host and port.
    local_address: the local IP address to connect from.
    retries: how often to retry a connection that could not be established (ConnectError,
        ConnectTimeout), with exponential backoff: 0, 0.5, 1, 2 ... s. Requests themselves are
        never retried here, except once after a keep-alive connection turned out to have been
        closed by the server, when the request is idempotent (RELIABILITY.md 21).
    socket_options: `(level, option, value)` tuples set on each socket before it connects.
    """

    def __init__(
        self,
        verify: VerifyTypes = True,
        cert: CertTypes | None = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> None:
        self._configure(
            verify,
            cert,
            trust_env,
            http1,
            http2,
            limits,
            uds,
            local_address,
            retries,
            socket_options,
        )
        self._pool: PoolState[PoolKey, AnyConnection] = PoolState(limits)
        # The shared HTTP/2 connections; None when HTTP/2 is off, which is all the HTTP/1.1
        # path ever checks.
        self._index: MultiplexIndex[PoolKey, SyncHTTP2Connection] | None = (
            MultiplexIndex(limits.keepalive_expiry) if http2 else None
        )
        self._lock = threading.Lock()
        # Connections of responses given up in a finaliser that could not take the lock
        # (`release_abandoned`); deque appends and pops are atomic.
        self._abandoned: deque[SyncHTTP11Connection] = deque()

    # -- the request ------------------------------------------------------------------------

    def handle_request(self, request: Request) -> Response:
        try:
            key, sni, timeouts = route(request, "HTTPTransport")
            if self._index is not None and (key[0] == b"https" or not self._http1):
                return self._handle_multiplexed(request, key, sni, timeouts)
            timing: dict[str, float] = {}
            connection = self._get_connection(key, sni, timeouts, timing)
            try:
                return exchange(connection, request, timeouts, self, timing)
            except StaleConnection as exc:
                stale = exc
            # Outside the `except`: the retry's own errors are not chained to the stale one.
            return self._retry_stale(request, key, sni, timeouts, stale)
        except RequestError as exc:
            if exc._request is None:
                exc._request = request
            raise

    def _retry_stale(
        self,
        request: Request,
        key: PoolKey,
        sni: str | None,
        timeouts: dict[str, Any],
        stale: StaleConnection,
    ) -> Response:
        """RELIABILITY.md 21: the reused connection had been closed by the server; an
        idempotent request goes once more, on a new connection."""
        if not is_replayable(request):
            error = stale.error
            raise error from error.__cause__
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("retrying %s on a new connection: %s", key, stale)
        timing: dict[str, float] = {}
        connection = self._get_connection(key, sni, timeouts, timing)
        try:
            return exchange(connection, request, timeouts, self, timing)
        except StaleConnection as stale:
            error = stale.error
            raise error from error.__cause__

    # -- HTTP/2 -----------------------------------------------------------------------------

    def _handle_multiplexed(
        self, request: Request, key: PoolKey, sni: str | None, timeouts: dict[str, Any]
    ) -> Response:
        """A request whose connection may be HTTP/2: a shared stream if there is one; an
        HTTP/1.1 connection if that is what the server speaks. Requests the server did not
        process (GOAWAY, REFUSED_STREAM) are sent again when that is safe."""
        budget = RetryBudget()
        stale_retried = False
        while True:
            timing: dict[str, float] = {}
            connection = self._get_multiplexed(key, sni, timeouts, timing)
            try:
                if type(connection) is SyncHTTP2Connection:
                    return exchange_http2(connection, request, timeouts, timing)
                assert isinstance(connection, SyncHTTP11Connection)
                return exchange(connection, request, timeouts, self, timing)
            except NoStream:
                continue  # nothing was sent: another connection takes it
            except Unprocessed as exc:
                if not budget.allows(request, exc):
                    raise exc.error(request) from None
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("retrying %s on another connection: %s", key, exc)
            except StaleConnection as stale:
                if stale_retried or not is_replayable(request):
                    error = stale.error
                    raise error from error.__cause__
                stale_retried = True
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("retrying %s on a new connection: %s", key, stale)

    def _get_multiplexed(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> AnyConnection:
        """A stream on a shared HTTP/2 connection (reserved in the index), an HTTP/1.1
        connection from the pool, or a new connection of either kind."""
        index = self._index
        assert index is not None
        pool = self._pool
        pool_timeout, wait, total = bounded_wait(timeouts, "pool")
        deadline = None if wait is None else _monotonic() + wait
        while True:
            ready: threading.Event | None = None
            stream_waiter: StreamWaiter[PoolKey, SyncHTTP2Connection] | None = None
            pool_waiter: PoolWaiter[PoolKey, AnyConnection] | None = None
            got: Any = None
            evicted: list[AnyConnection] = []
            with self._lock:
                now = _monotonic()
                try:
                    if pool.is_closed:
                        raise PoolClosed()
                    got = index.checkout(key, now)
                    if got is PENDING:
                        ready = threading.Event()
                        stream_waiter = index.wait(key, ready.set)
                    elif got is None:
                        got = pool.acquire(key, now)
                        if got is POOL_FULL and index.evict_idle():
                            evicted = self._take_expired_locked()  # its slot is free now
                            got = pool.acquire(key, now)
                        if got is POOL_FULL:
                            ready = threading.Event()
                            pool_waiter = pool.wait(key, ready.set)
                            if index.has_connections(key):
                                stream_waiter = index.wait(key, ready.set)
                        elif got is NEW_CONNECTION:
                            index.begin_connect(key)
                except PoolClosed:
                    raise closed_error() from None
                closing = evicted + self._take_expired_locked()
            if closing:
                _close_all(closing)
            if ready is not None:
                got = self._wait_multiplexed(
                    key, ready, pool_waiter, stream_waiter, deadline, pool_timeout, total
                )
                if got is None:
                    continue  # sent back to the start: the index or the pool has news
            if got is NEW_CONNECTION:
                return self._open_multiplexed(key, sni, timeouts, timing)
            if type(got) is SyncHTTP2Connection:
                if got.is_usable():
                    return got
                self.release_stream(got)
                continue
            assert isinstance(got, SyncHTTP11Connection)
            if got.is_idle_alive():
                return got
            got.close()
            self.release_connection(got, False)

    def _wait_multiplexed(
        self,
        key: PoolKey,
        ready: threading.Event,
        pool_waiter: PoolWaiter[PoolKey, AnyConnection] | None,
        stream_waiter: StreamWaiter[PoolKey, SyncHTTP2Connection] | None,
        deadline: float | None,
        pool_timeout: float | None,
        total: Deadline | None = None,
    ) -> Any:
        """Wait for a stream, a pooled connection or a slot, whichever comes first. Returns
        a connection, NEW_CONNECTION (a slot: open one), or None (start over)."""
        index = self._index
        assert index is not None
        remaining = None if deadline is None else max(0.0, deadline - _monotonic())
        ready.wait(remaining)
        with self._lock:
            now = _monotonic()
            result: Any = None
            if stream_waiter is not None and stream_waiter.connection is not None:
                result = stream_waiter.connection
                stream_waiter.connection = None
                stream_waiter.cancelled = True
            elif pool_waiter is not None and (pool_waiter.granted or pool_waiter.closed):
                if pool_waiter.closed:
                    if stream_waiter is not None:
                        index.cancel_wait(stream_waiter, now)
                    raise closed_error()
                result = pool_waiter.connection
                if result is None:
                    result = NEW_CONNECTION
                    index.begin_connect(key)
                pool_waiter.cancelled = True  # served: nothing to give back
                pool_waiter = None
            elif stream_waiter is not None and stream_waiter.closed:
                if pool_waiter is not None:
                    self._pool.cancel_wait(pool_waiter, now)
                raise closed_error()
            elif (
                not (stream_waiter is not None and stream_waiter.retry)
                and deadline is not None
                and _monotonic() >= deadline
            ):
                # Timed out with nothing granted: both places in the queues go.
                result = _TIMED_OUT
            # Whatever was not used goes back.
            if stream_waiter is not None and not stream_waiter.cancelled:
                index.cancel_wait(stream_waiter, now)
            if pool_waiter is not None and not pool_waiter.cancelled:
                self._pool.cancel_wait(pool_waiter, now)
            closing = self._take_closing()
        if closing:
            _close_all(closing)
        if result is _TIMED_OUT:
            raise _pool_timeout(pool_timeout, total)
        return result

    def _open_multiplexed(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> AnyConnection:
        """Open a connection in a reserved slot; the index learns whether it is HTTP/2."""
        index = self._index
        assert index is not None
        try:
            connection = self._open(key, sni, timeouts, timing)
        except BaseException:
            with self._lock:
                index.connect_done(key)
            raise
        with self._lock:
            if type(connection) is SyncHTTP2Connection:
                index.add(key, connection, connection.capacity, _monotonic())
            else:
                index.connect_done(key)
        return connection

    def release_stream(self, connection: SyncHTTP2Connection) -> None:
        """A stream of a shared connection is over: the index hands it on."""
        index = self._index
        assert index is not None
        with self._lock:
            index.release_stream(connection, _monotonic())

    def stop_sharing(self, connection: SyncHTTP2Connection) -> None:
        """GOAWAY: the connection takes no new streams; those in flight carry on."""
        index = self._index
        assert index is not None
        with self._lock:
            index.remove(connection)

    def capacity_changed(self, connection: SyncHTTP2Connection, capacity: int) -> None:
        index = self._index
        assert index is not None
        with self._lock:
            index.set_capacity(connection, capacity)

    def connection_closed(self, connection: SyncHTTP2Connection) -> None:
        """An HTTP/2 connection is over (error, EOF, GOAWAY drained): it leaves the index and
        frees its pool slot, and is closed."""
        index = self._index
        assert index is not None
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("closing HTTP/2 connection %s", connection.key)
        with self._lock:
            index.remove(connection)
            self._pool.release(connection.key, connection, reusable=False, now=_monotonic())
            closing = self._take_closing()
        if connection not in closing:
            closing.append(connection)
        _close_all(closing)

    def _take_expired_locked(self) -> list[AnyConnection]:
        # Under the lock: connections the index let expire free their pool slots.
        index = self._index
        assert index is not None
        if index.closing:
            expired, index.closing = index.closing, []
            now = _monotonic()
            for connection in expired:
                self._pool.release(connection.key, connection, reusable=False, now=now)
        return self._take_closing()

    # -- connections ------------------------------------------------------------------------

    def _get_connection(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> SyncHTTP11Connection:
        """A live connection for `key`, from the pool or newly opened, now in our hands."""
        while True:
            connection = self._acquire(key, timeouts)
            if connection is None:
                # HTTP/1.1: this path serves only requests that cannot become HTTP/2.
                return cast(SyncHTTP11Connection, self._open(key, sni, timeouts, timing))
            if connection.is_idle_alive():
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("reusing connection %s", key)
                return connection
            # RELIABILITY.md 20: the server closed it while it was idle; try the next one.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("closing connection %s: closed by the server while idle", key)
            connection.close()
            self.release_connection(connection, False)

    def _acquire(self, key: PoolKey, timeouts: dict[str, Any]) -> SyncHTTP11Connection | None:
        """An idle connection (in use now), or None: a slot is reserved, open a connection."""
        pool = self._pool
        waiter: PoolWaiter[PoolKey, AnyConnection] | None = None
        evicted: list[AnyConnection] = []
        with self._lock:
            if self._abandoned:
                self._take_back_abandoned()
            try:
                got = pool.acquire(key, _monotonic())
                if got is POOL_FULL and self._index is not None and self._index.evict_idle():
                    # An HTTP/2 connection without a stream makes room (`evict_idle`).
                    evicted = self._take_expired_locked()
                    got = pool.acquire(key, _monotonic())
            except PoolClosed:
                raise closed_error() from None
            if got is POOL_FULL:
                ready = threading.Event()
                waiter = pool.wait(key, ready.set)
            closing = pool.closing  # `_take_closing()`, inlined: this runs per request
            if closing:
                pool.closing = []
        if evicted:
            closing = evicted + closing
        if closing:
            _close_all(closing)
        if waiter is not None:
            return self._wait(waiter, ready, timeouts)
        if got is NEW_CONNECTION:
            return None
        return cast(SyncHTTP11Connection, got)

    def _wait(
        self,
        waiter: PoolWaiter[PoolKey, AnyConnection],
        ready: threading.Event,
        timeouts: dict[str, Any],
    ) -> SyncHTTP11Connection | None:
        pool_timeout, wait, total = bounded_wait(timeouts, "pool")
        try:
            in_time = ready.wait(wait)
        except BaseException:
            # KeyboardInterrupt (or gevent's Timeout) in the wait: the place in the queue goes
            # back, and a connection granted meanwhile with it; else the slot is lost for good.
            with self._lock:
                if not waiter.closed:
                    self._pool.cancel_wait(waiter, _monotonic())
                closing = self._take_closing()
            _close_all(closing)
            raise
        if not in_time:
            with self._lock:
                # The pool may have granted us a connection between the timeout and the lock:
                # then it is ours after all.
                if not waiter.granted and not waiter.closed:
                    self._pool.cancel_wait(waiter, _monotonic())
                    raise _pool_timeout(pool_timeout, total)
        if waiter.closed:
            raise closed_error()
        return cast(SyncHTTP11Connection | None, waiter.connection)

    def _open(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> AnyConnection:
        """Open a connection in the slot reserved for us, retrying as `retries` allows."""
        try:
            attempt = 0
            while True:
                _, wait, total = bounded_wait(timeouts, "connect")
                try:
                    connection = self._connect(key, sni, wait, timing)
                    break
                except (ConnectError, ConnectTimeout) as exc:
                    if total is not None and isinstance(exc, ConnectTimeout):
                        where = show_address(key[1].decode("ascii"), key[2])
                        raise total.error(ConnectTimeout, f"connecting to {where}") from exc
                    if attempt >= self._retries:
                        raise
                    attempt += 1
                    delay = self._retry_delay(attempt)
                    deadline: Deadline | None = timeouts.get("deadline")
                    if deadline is not None and delay >= deadline.remaining():
                        raise  # the next attempt would start after the total deadline
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("connect to %s failed (%s); retry in %.2f s", key, exc, delay)
                    time.sleep(delay)
        except BaseException:
            self.release_connection(None, False, key)
            raise
        with self._lock:
            self._pool.connected(connection)
            closing = self._take_closing()
        if closing:
            _close_all(closing)
            if connection in closing:
                raise closed_error()
        return connection

    def _connect(
        self, key: PoolKey, sni: str | None, connect_timeout: float | None, timing: dict[str, float]
    ) -> AnyConnection:
        scheme, raw_host, port = key[0], key[1], key[2]
        host = raw_host.decode("ascii")
        if self._uds is not None:
            sock = connect_uds(
                self._uds,
                timeout=connect_timeout,
                socket_options=self._socket_options,
                timing=timing,
            )
        else:
            sock = connect_tcp(
                host,
                port,
                timeout=connect_timeout,
                local_address=self._local_address,
                socket_options=self._socket_options,
                timing=timing,
            )
        tls = scheme == b"https"
        if tls:
            context = self._ssl_context
            if context is None:
                context = self._ssl_context = self._build_ssl_context()
            server_name = sni or host
            sock = start_tls(sock, context, server_name, timeout=connect_timeout, timing=timing)
        if logger.isEnabledFor(logging.DEBUG):
            where = f"unix socket {self._uds!r}" if self._uds else sock.getpeername()
            ssl_object = sock if tls else None
            logger.debug("connected %s via %s (%s)", key, where, describe_tls(ssl_object))
        if self._index is not None and may_be_http2(scheme, self._http1, self._http2):
            if tls:
                alpn = sock.selected_alpn_protocol()  # type: ignore[attr-defined]
                try:
                    http2 = negotiated_http2(alpn, self._http1, sni or host)
                except ConnectError:
                    sock.close()
                    raise
            else:
                http2 = is_h2c(scheme, self._http1, self._http2)
            if http2:
                return self._start_http2(key, sock, connect_timeout, tls)
        elif tls and sock.selected_alpn_protocol() == "h2":  # type: ignore[attr-defined]
            sock.close()
            raise unoffered_h2_error(sni or host)
        return SyncHTTP11Connection(
            key, sock, timeout=connect_timeout, tls=tls, core_options=self._h11_options
        )

    def _start_http2(
        self, key: PoolKey, sock: Any, connect_timeout: float | None, tls: bool
    ) -> SyncHTTP2Connection:
        connection = SyncHTTP2Connection(
            key, sock, timeout=connect_timeout, tls=tls, owner=self, core_options=self._h2_options
        )
        try:
            connection.capacity = connection.handshake(connect_timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    # -- the pool ---------------------------------------------------------------------------

    def release_connection(
        self, connection: SyncHTTP11Connection | None, reusable: bool, key: PoolKey = ()
    ) -> None:
        """Take back a connection after its response (closed unless `reusable`), or the slot of
        a connection that could not be opened (`connection=None` with its `key`)."""
        if connection is not None:
            key = connection.key
            if reusable:
                connection.used = True
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug("closing connection %s", key)
        pool = self._pool
        with self._lock:
            if self._abandoned:
                self._take_back_abandoned()
            pool.release(key, connection, reusable=reusable, now=_monotonic())
            closing = pool.closing  # `_take_closing()`, inlined: this runs per request
            if closing:
                pool.closing = []
        if closing:
            _close_all(closing)

    def release_abandoned(self, connection: SyncHTTP11Connection) -> None:
        """`release_connection(connection, False)` for a response its consumer gave up, from
        the body generator's finaliser. The garbage collector may run that in the middle of a
        pool operation of this very thread, the lock held: a blocking acquire would never
        return. So the lock is only waited for briefly (another thread's pool operation takes
        microseconds); failing that, the connection (closed already) waits in `_abandoned` and
        the next pool operation takes it back."""
        if self.lock_available():
            self.release_connection(connection, False)
        else:
            self._abandoned.append(connection)

    def lock_available(self) -> bool:
        """Whether this thread can take the pool lock, waiting a moment (another thread's pool
        operation takes microseconds): False when it seems to hold it already, as a finaliser
        the garbage collector runs inside a pool operation does."""
        if self._lock.acquire(timeout=_ABANDONED_LOCK_WAIT):
            self._lock.release()
            return True
        return False

    def _take_back_abandoned(self) -> None:
        # Under the lock: the releases `release_abandoned` could not make.
        abandoned = self._abandoned
        now = _monotonic()
        while abandoned:
            connection = abandoned.popleft()
            self._pool.release(connection.key, connection, reusable=False, now=now)

    def detach_connection(self, connection: SyncHTTP11Connection) -> None:
        """The connection was upgraded (101): it leaves the pool without being closed."""
        with self._lock:
            self._pool.detach(connection.key, connection)
            closing = self._take_closing()
        if closing:
            _close_all(closing)

    def _take_closing(self) -> list[AnyConnection]:
        # Called under the lock; the connections are closed after it is released.
        closing = self._pool.closing
        if closing:
            self._pool.closing = []
        return closing

    def close(self) -> None:
        """Close every connection, idle or in use; later requests raise RuntimeError."""
        with self._lock:
            self._pool.close()
            if self._index is not None:
                self._index.close()
            closing = self._take_closing()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("transport closed: closing %d connection(s)", len(closing))
        _close_all(closing)


def _pool_timeout(timeout: float | None, total: Deadline | None) -> PoolTimeout:
    if total is not None:
        return total.error(PoolTimeout, "waiting for a connection from the pool")
    return pool_timeout_error(timeout)


def _close_all(connections: list[AnyConnection]) -> None:
    for connection in connections:
        connection.close()
