"""`AsyncHTTPTransport`: HTTP/1.1 on asyncio, with a connection pool and TLS.

Per request, the work outside the event loop's own is O(1) and takes no lock (HTTPX issue
3215: httpcore scans every connection, polls every socket and takes anyio locks per request):

- the pool (`_pool.PoolState`) is driven from the event loop's thread only, so it needs no
  lock at all; finding an idle connection is a dict lookup;
- whether a pooled connection is still alive costs no system call: the event loop has told its
  protocol about an EOF or a reset as it happened, and such a connection left the pool then;
- tasks that find the pool full queue FIFO, each on a Future the pool resolves;
- a response is parsed in `data_received` and its connection goes back to the pool from there,
  the moment the response ends, before the task that sent the request even resumes.

HTTP/2 (`http2=True`): https connections offer "h2" in ALPN, and http:// ones speak it by prior
knowledge when `http1=False`. An HTTP/2 connection holds one pool slot for its whole life and,
while it can take another stream, sits in the multiplexing index (`_multiplex.MultiplexIndex`):
a request asks the index first (a dict lookup), and only if no connection of its origin has a
free stream does it go to the pool. While a connection that may turn out HTTP/2 is being
opened, further requests for its origin wait for it rather than open their own. Requests the
server did not process (GOAWAY, REFUSED_STREAM) are sent again when that is safe. With
`http2=False` (the default), or http:// without prior knowledge, none of this is on the path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._async.connect import open_connection
from .._async.connection import TIMER_SLACK, AsyncHTTP11Connection
from .._async.exchange import (
    AsyncHTTP11ResponseStream,
    complete_exchange,
    exchange,
    start_exchange,
)
from .._async.http2_connection import AsyncHTTP2Connection, NegotiatingProtocol
from .._async.http2_exchange import h2_exchange
from .._config import DEFAULT_LIMITS, Limits
from .._deadline import bounded_wait
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
from .base import AsyncBaseTransport

if TYPE_CHECKING:
    from .._deadline import Deadline
    from .._pool import _Signal
    from .._ssl import CertTypes, VerifyTypes

__all__ = ["AsyncHTTPTransport"]

logger = logging.getLogger("zephyr")

_NAME = "AsyncHTTPTransport"

# How long `aclose()` lets closed connections take to report that their transports are gone
# (asyncio calls `connection_lost` a loop iteration or two after `abort()`).
_CLOSE_GRACE = 1.0


# Origins remembered as answering HTTP/1.1 to an offer of "h2": their connects are not
# coalesced again (HTTP/1.1 connections are not shared). Forgotten wholesale at this size.
_MAX_HTTP1_ORIGINS = 1024

_Connection = AsyncHTTP11Connection | AsyncHTTP2Connection


def _pool_timeout(timeout: float | None, total: Deadline | None) -> PoolTimeout:
    if total is not None:
        return total.error(PoolTimeout, "waiting for a connection from the pool")
    return pool_timeout_error(timeout)


def _time_out(queued: _Queued | _StreamQueued) -> None:
    if not queued.is_over():
        queued.ready.set_result(False)


class _StreamQueued:
    """A request waiting in the multiplexing index for a stream (or for the outcome of a
    connect that may become HTTP/2); the index calls `wake`."""

    __slots__ = ("ready", "waiter")

    def __init__(self, ready: asyncio.Future[Any]) -> None:
        self.ready = ready
        self.waiter: StreamWaiter[PoolKey, AsyncHTTP2Connection]

    def wake(self) -> None:
        if not self.ready.done():
            self.ready.set_result(True)

    def is_over(self) -> bool:
        waiter = self.waiter
        return waiter.done or waiter.cancelled or self.ready.done()


class _Queued:
    """A request queued for a connection; the pool calls it (as its waiter's `wake`) once it
    has handed the waiter a connection, or a slot for a new one, or closed.

    A live connection handed over gets the request written there and then, from the callback
    that released it (usually the `data_received` that ended the previous response): the
    connection does not idle until this request's task runs, and that task is woken once, by
    its response, instead of twice. `request` None: only the grant is wanted.
    """

    __slots__ = (
        "deadline",
        "error",
        "owner",
        "pending",
        "read_timeout",
        "ready",
        "redirected",
        "request",
        "stream",
        "waiter",
    )

    def __init__(
        self,
        owner: AsyncHTTPTransport,
        ready: asyncio.Future[Any],
        request: Request | None,
        read_timeout: float | None,
        deadline: Deadline | None = None,
    ) -> None:
        self.owner = owner
        self.ready = ready
        self.request = request
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.waiter: PoolWaiter[PoolKey, _Connection]
        self.stream: AsyncHTTP11ResponseStream | None = None  # set once the request went out
        self.pending: Any = None  # what `start_exchange` left to send
        self.error: Exception | None = None  # the request could not be started
        # Sent back to the multiplexing index: a connection that may be HTTP/2 is being
        # opened for its origin, so a stream there is likely before a slot frees up.
        self.redirected = False

    def __call__(self) -> None:
        ready = self.ready
        if ready.done():
            return  # timed out or cancelled just before: the task gives the grant back
        # Only HTTP/1.1 connections are ever handed over: HTTP/2 ones never go idle.
        connection: AsyncHTTP11Connection | None = self.waiter.connection  # type: ignore[assignment]
        if connection is not None and not connection.closed and self.request is not None:
            stream = AsyncHTTP11ResponseStream(connection, self.read_timeout, self.deadline)
            try:
                self.pending = start_exchange(connection, self.request, stream)
            except Exception as exc:  # refused before a byte was written; the task raises it
                self.error = exc
                # Its protocol state may be half-way into the refused request: the connection
                # is closed now, not left for the task, which may yet be cancelled before it
                # runs (and would then hand the connection back as reusable).
                connection.close()
                self.owner.release_connection(connection, False)
            else:
                self.stream = stream
                # The task is woken once, by the response (or a failure): the same Future now
                # waits for the response head.
                connection.wake_on_news(ready, self.read_timeout, self.deadline)
                return
        ready.set_result(True)

    def is_over(self) -> bool:
        """Served (or closed, cancelled, timed out): its pool deadline no longer applies."""
        return self.waiter.granted or self.waiter.closed or self.ready.done()

    @property
    def connection(self) -> AsyncHTTP11Connection:
        connection: AsyncHTTP11Connection | None = self.waiter.connection  # type: ignore[assignment]
        assert connection is not None
        return connection

    def grant(self) -> _Queued | _Connection | _Signal:
        """Self when the request is on its way; else the connection or slot granted."""
        if self.stream is not None:
            return self
        connection = self.waiter.connection
        return NEW_CONNECTION if connection is None else connection


class AsyncHTTPTransport(AsyncBaseTransport, TransportOptions):
    """Sends requests over HTTP/1.1 or HTTP/2 (TLS for https) on asyncio, reusing pooled
    connections.

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

    One transport serves one event loop: its connections belong to the loop that opened them.
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
        self._pool: PoolState[PoolKey, _Connection] = PoolState(limits)
        # The schemes whose connections may turn out HTTP/2: none unless http2=True, so that
        # the HTTP/1.1 path pays one set lookup for it.
        self._h2_schemes = frozenset(
            scheme for scheme in (b"https", b"http") if may_be_http2(scheme, http1, http2)
        )
        self._index: MultiplexIndex[PoolKey, AsyncHTTP2Connection] = MultiplexIndex(
            limits.keepalive_expiry
        )
        self._http1_origins: set[PoolKey] = set()
        # Requests that may share an HTTP/2 connection, queued in the pool for a slot.
        self._slot_waiters: dict[PoolKey, set[_Queued]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # Waiters' pool deadlines, in FIFO order, and the one timer watching them.
        self._pool_deadlines: deque[tuple[float, _Queued | _StreamQueued]] = deque()
        self._pool_timer: asyncio.TimerHandle | None = None
        # Connections closed by us whose transports have not reported `connection_lost` yet:
        # `aclose()` waits for them, so that no transport outlives the client.
        self._closing_connections: set[_Connection] = set()
        self._all_gone: asyncio.Future[None] | None = None

    # -- the request ------------------------------------------------------------------------

    async def handle_async_request(self, request: Request) -> Response:
        try:
            key, sni, timeouts = route(request, _NAME)
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            if key[0] in self._h2_schemes:
                return await self._handle_multiplexed(request, key, sni, timeouts)
            timing: dict[str, float] = {}
            pool = self._pool
            try:
                got = pool.acquire(key, loop.time())
                if got is POOL_FULL:
                    got = self._make_room(key)
            except PoolClosed:
                raise closed_error() from None
            if pool.closing:
                self._close_pending()
            if type(got) is AsyncHTTP11Connection and not got.closed:
                # The hot path: a live idle connection, no await before the request is written.
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("reusing connection %s", key)
                attempt = exchange(got, request, timeouts, self, timing)
            else:
                granted: _Queued | _Connection | _Signal = got
                if got is POOL_FULL:
                    granted = (await self._queue(key, request, timeouts)).grant()
                if isinstance(granted, _Queued):
                    assert granted.stream is not None
                    attempt = complete_exchange(
                        granted.connection, granted.stream, granted.pending, timeouts, self, timing
                    )
                else:
                    connection = await self._get_connection(granted, key, sni, timeouts, timing)
                    attempt = exchange(connection, request, timeouts, self, timing)
            try:
                return await attempt
            except StaleConnection as stale:
                if not is_replayable(request):
                    error = stale.error
                    raise error from error.__cause__
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("retrying %s on a new connection: %s", key, stale)
            timing = {}
            connection = await self._get_connection(self._acquire(key), key, sni, timeouts, timing)
            try:
                return await exchange(connection, request, timeouts, self, timing)
            except StaleConnection as stale:
                error = stale.error
                raise error from error.__cause__
        except RequestError as exc:
            if exc._request is None:
                exc._request = request
            raise

    async def _queue(
        self,
        key: PoolKey,
        request: Request | None,
        timeouts: dict[str, Any],
        multiplexed: bool = False,
    ) -> _Queued:
        """Queue (FIFO) until the pool hands us a connection or a slot for a new one.

        A connection handed over carries our request at once: the pool's wake-up writes it
        from the callback that released the connection (see `_Queued`), so the connection
        never idles in between and this task wakes once, for the response.
        """
        loop = self._loop
        assert loop is not None
        queued = _Queued(
            self, loop.create_future(), request, timeouts.get("read"), timeouts.get("deadline")
        )
        queued.waiter = self._pool.wait(key, queued)
        pool_timeout, wait, total = bounded_wait(timeouts, "pool")
        timer = None
        if wait is not None:
            timer = self._watch_pool_deadline(queued, loop.time() + wait)
        if multiplexed:
            # A request that may share an HTTP/2 connection: see `_redirect_slot_waiters`.
            slot_waiters = self._slot_waiters.get(key)
            if slot_waiters is None:
                slot_waiters = self._slot_waiters[key] = set()
            slot_waiters.add(queued)
        try:
            await queued.ready
        except BaseException:
            # Cancelled while queued (or just after being served): nothing granted is kept.
            if queued.stream is not None:
                queued.stream.abort()  # the request had gone out on the connection granted
            else:
                self._pool.cancel_wait(queued.waiter, loop.time())
            self._close_pending()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if multiplexed:
                self._forget_slot_waiter(key, queued)
        if queued.redirected:
            return queued
        waiter = queued.waiter
        if not waiter.granted and not waiter.closed:
            # Timed out. (Served after the deadline but before we ran: ours after all.)
            self._pool.cancel_wait(waiter, loop.time())
            raise _pool_timeout(pool_timeout, total)
        if waiter.closed:
            raise closed_error()
        if queued.error is not None:
            raise queued.error  # its connection was closed and released by `_Queued`
        return queued

    def _watch_pool_deadline(
        self, queued: _Queued | _StreamQueued, deadline: float
    ) -> asyncio.TimerHandle | None:
        """Time `queued` out at `deadline`, unless the pool has served it by then.

        Waiters queue FIFO and usually share one pool timeout, so their deadlines come in
        order: one timer for them all, armed at the first pending one, instead of a timer per
        wait. A deadline earlier than the last one queued gets a timer of its own (returned).
        """
        loop = self._loop
        assert loop is not None
        deadlines = self._pool_deadlines
        while deadlines and deadlines[0][1].is_over():
            deadlines.popleft()  # served in FIFO order: the done ones gather at the front
        if deadlines and deadline < deadlines[-1][0]:
            return loop.call_at(deadline, _time_out, queued)
        deadlines.append((deadline, queued))
        if self._pool_timer is None:
            self._pool_timer = loop.call_at(deadline, self._pool_deadline_reached)
        return None

    def _pool_deadline_reached(self) -> None:
        loop = self._loop
        assert loop is not None
        self._pool_timer = None
        now = loop.time() + TIMER_SLACK
        deadlines = self._pool_deadlines
        while deadlines:
            deadline, queued = deadlines[0]
            if not queued.is_over():
                if deadline > now:
                    self._pool_timer = loop.call_at(deadline, self._pool_deadline_reached)
                    return
                queued.ready.set_result(False)
            deadlines.popleft()

    # -- HTTP/2 -----------------------------------------------------------------------------

    async def _handle_multiplexed(
        self, request: Request, key: PoolKey, sni: str | None, timeouts: dict[str, Any]
    ) -> Response:
        """A request whose connection may be HTTP/2: a stream on a shared connection if one
        of its origin has room, else a connection from the pool (which may turn out HTTP/1.1).
        """
        loop = self._loop
        assert loop is not None
        index = self._index
        budget = RetryBudget()
        stale_retried = False
        while True:
            timing: dict[str, float] = {}
            # Any: three kinds of answer, told apart by identity checks on the hot path.
            got: Any = index.checkout(key, loop.time())
            if index.closing:
                self._close_expired()
            if type(got) is not AsyncHTTP2Connection:
                got = await self._multiplexed_connection(got, key, sni, timeouts, timing)
            try:
                if type(got) is AsyncHTTP2Connection:
                    return await h2_exchange(got, request, timeouts, timing)
                return await exchange(got, request, timeouts, self, timing)
            except Unprocessed as unprocessed:
                if not budget.allows(request, unprocessed):
                    raise unprocessed.error(request) from None
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("sending again on another connection: %s", unprocessed)
            except StaleConnection as stale:
                # HTTP/1.1: a keep-alive connection closed by the server as our request went
                # out. HTTP/2: the connection was lost before the stream had any answer.
                if stale_retried or not is_replayable(request):
                    error = stale.error
                    raise error from error.__cause__
                stale_retried = True
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("retrying %s on a new connection: %s", key, stale)

    async def _multiplexed_connection(
        self,
        got: Any,
        key: PoolKey,
        sni: str | None,
        timeouts: dict[str, Any],
        timing: dict[str, float],
    ) -> _Connection:
        """What the index answered (`checkout`: PENDING or None) turned into a connection:
        an HTTP/2 one with a stream reserved for us, or an HTTP/1.1 one that is ours."""
        loop = self._loop
        assert loop is not None
        index = self._index
        while True:
            if type(got) is AsyncHTTP2Connection:
                return got
            if got is None:
                got = self._acquire(key)
                if got is POOL_FULL:
                    if index.has_connections(key) or index.is_pending(key):
                        # Streams of this origin's connections free up sooner than a slot.
                        got = PENDING
                    else:
                        queued = await self._queue(key, None, timeouts, multiplexed=True)
                        if queued.redirected:
                            got = PENDING if index.is_pending(key) else None
                            continue
                        granted = queued.grant()
                        assert not isinstance(granted, _Queued)
                        got = granted
            if got is PENDING:
                got = await self._wait_for_stream(key, timeouts)
                if got is None:  # no stream for us after all: back to the index, then the pool
                    got = index.checkout(key, loop.time())
                    if index.closing:
                        self._close_expired()
                    if got is PENDING:
                        continue
                continue
            if got is NEW_CONNECTION:
                return await self._open_multiplexed(key, sni, timeouts, timing)
            assert type(got) is AsyncHTTP11Connection
            if got.is_idle_alive():
                return got
            got.close()  # closed by the server while idle (RELIABILITY.md 20)
            self.release_connection(got, False)
            got = None

    async def _wait_for_stream(
        self, key: PoolKey, timeouts: dict[str, Any]
    ) -> AsyncHTTP2Connection | None:
        """Queue (FIFO) in the index for a stream of `key`: a connection with a stream
        reserved for us, or None when we should go to the pool instead."""
        loop = self._loop
        assert loop is not None
        index = self._index
        queued = _StreamQueued(loop.create_future())
        waiter = queued.waiter = index.wait(key, queued.wake)
        if waiter.closed:
            raise closed_error()
        pool_timeout, wait, total = bounded_wait(timeouts, "pool")
        timer = None
        if wait is not None:
            timer = self._watch_pool_deadline(queued, loop.time() + wait)
        try:
            await queued.ready
        except BaseException:
            index.cancel_wait(waiter, loop.time())  # a stream granted meanwhile goes back
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if waiter.closed:
            raise closed_error()
        connection = waiter.connection
        if connection is not None:
            if connection.closed or connection.protocol.is_goaway_received:
                # It went away between the grant and now: ask again.
                index.release_stream(connection, loop.time())  # nothing, if it left the index
                return None
            return connection
        if waiter.retry:
            return None
        index.cancel_wait(waiter, loop.time())
        raise _pool_timeout(pool_timeout, total)

    async def _open_multiplexed(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> _Connection:
        """Open a connection that may negotiate HTTP/2, in the slot reserved for us. Requests
        for `key` arriving meanwhile wait for it (unless the origin is known to answer
        HTTP/1.1); if it is HTTP/2 they share it, and one stream on it is ours."""
        loop = self._loop
        assert loop is not None
        index = self._index
        coalesce = key not in self._http1_origins
        if coalesce:
            index.begin_connect(key)
            if key in self._slot_waiters:
                self._redirect_slot_waiters(key)
        connect_timeout: float | None = timeouts.get("connect")
        total: Deadline | None = None
        try:
            connection = await self._open(key, sni, timeouts, timing)
            if type(connection) is AsyncHTTP2Connection:
                connect_timeout, wait, total = bounded_wait(timeouts, "connect")
                try:
                    await connection.wait_for_settings(wait)
                except BaseException:
                    connection.close()  # its slot goes back with it
                    raise
                if connection.closed:
                    # Closed before the pool knew it (the server's first frames came with the
                    # end of the handshake, and ended it): its release then did nothing.
                    self.release_connection(connection, False)
                    raise ConnectError(
                        f"The server at {key[1].decode('ascii')!r} did not start HTTP/2: "
                        f"{connection.close_error}"
                    )
        except TimeoutError:
            if coalesce:
                index.connect_done(key)
            if total is not None:
                raise total.error(
                    ConnectTimeout, "waiting for the server's HTTP/2 SETTINGS"
                ) from None
            raise ConnectTimeout(
                f"Timed out waiting for the server's HTTP/2 SETTINGS after {connect_timeout} s."
            ) from None
        except BaseException:
            if coalesce:
                index.connect_done(key)
            raise
        if type(connection) is AsyncHTTP2Connection:
            index.add(key, connection, connection.protocol.available_streams, loop.time())
        else:
            if len(self._http1_origins) >= _MAX_HTTP1_ORIGINS:
                self._http1_origins.clear()
            self._http1_origins.add(key)
            if coalesce:
                index.connect_done(key)
        return connection

    def _redirect_slot_waiters(self, key: PoolKey) -> None:
        """A connection that may be HTTP/2 is being opened for `key`: the requests for `key`
        queued in the pool for a slot wait for it instead. (Once it is HTTP/2 it holds its
        slot for good, and they would wait for a slot in vain.)"""
        loop = self._loop
        assert loop is not None
        for queued in self._slot_waiters.pop(key, ()):
            if not queued.is_over():
                self._pool.cancel_wait(queued.waiter, loop.time())
                queued.redirected = True
                queued.ready.set_result(True)

    def _forget_slot_waiter(self, key: PoolKey, queued: _Queued) -> None:
        slot_waiters = self._slot_waiters.get(key)
        if slot_waiters is not None:
            slot_waiters.discard(queued)
            if not slot_waiters:
                del self._slot_waiters[key]

    def _close_expired(self) -> None:
        """Shared connections the index found past their keep-alive expiry: closed, which
        gives their pool slots back."""
        expired = self._index.closing
        self._index.closing = []
        for connection in expired:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "closing idle connection %s (keep-alive expired, or room made)", connection.key
                )
            connection.close()

    # -- HTTP/2 connections call these from the event loop -------------------------------

    def release_stream(self, connection: AsyncHTTP2Connection) -> None:
        assert self._loop is not None
        self._index.release_stream(connection, self._loop.time())

    def set_capacity(self, connection: AsyncHTTP2Connection, capacity: int) -> None:
        self._index.set_capacity(connection, capacity)

    def http2_draining(self, connection: AsyncHTTP2Connection) -> None:
        if self._index.remove(connection) and logger.isEnabledFor(logging.DEBUG):
            logger.debug("connection %s: GOAWAY received, no new streams", connection.key)

    def http2_closed(self, connection: AsyncHTTP2Connection) -> None:
        self._index.remove(connection)
        self.release_connection(connection, False)

    # -- connections ------------------------------------------------------------------------

    def _acquire(self, key: PoolKey) -> _Connection | _Signal:
        assert self._loop is not None
        try:
            got = self._pool.acquire(key, self._loop.time())
            if got is POOL_FULL:
                got = self._make_room(key)
        except PoolClosed:
            raise closed_error() from None
        if self._pool.closing:
            self._close_pending()
        return got

    def _make_room(self, key: PoolKey) -> _Connection | _Signal:
        """The pool is full and has no idle HTTP/1.1 connection to let go: an HTTP/2 one
        without a stream does (`MultiplexIndex.evict_idle`). Closing it frees its slot, which
        is then asked for again (a request already queued for one gets it first)."""
        index = self._index
        if index is None or not index.evict_idle():
            return POOL_FULL
        self._close_expired()
        assert self._loop is not None
        return self._pool.acquire(key, self._loop.time())

    async def _get_connection(
        self,
        got: _Connection | _Signal,
        key: PoolKey,
        sni: str | None,
        timeouts: dict[str, Any],
        timing: dict[str, float],
    ) -> AsyncHTTP11Connection:
        """A live connection for `key`, from `got` (what the pool answered), now ours."""
        while True:
            if got is POOL_FULL:
                granted = (await self._queue(key, None, timeouts)).grant()
                assert not isinstance(granted, _Queued)
                got = granted
            if got is NEW_CONNECTION:
                connection = await self._open(key, sni, timeouts, timing)
                assert type(connection) is AsyncHTTP11Connection  # not an HTTP/2 scheme
                return connection
            assert type(got) is AsyncHTTP11Connection
            if got.is_idle_alive():
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("reusing connection %s", key)
                return got
            # RELIABILITY.md 20: the server closed it (handed over by a release just before).
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("closing connection %s: closed by the server while idle", key)
            got.close()
            self.release_connection(got, False)
            got = self._acquire(key)

    async def _open(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> _Connection:
        """Open a connection in the slot reserved for us, retrying as `retries` allows."""
        try:
            attempt = 0
            while True:
                _, wait, total = bounded_wait(timeouts, "connect")
                try:
                    connection = await self._connect(key, sni, wait, timing)
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
                    await asyncio.sleep(delay)
        except BaseException:
            self.release_connection(None, False, key)
            raise
        self._pool.connected(connection)
        if self._pool.closing:
            closing = self._pool.closing
            self._close_pending()
            if connection in closing:
                raise closed_error()
        return connection

    async def _connect(
        self, key: PoolKey, sni: str | None, connect_timeout: float | None, timing: dict[str, float]
    ) -> _Connection:
        scheme, raw_host, port = key[0], key[1], key[2]
        host = raw_host.decode("ascii")
        loop = self._loop
        assert loop is not None
        tls = scheme == b"https"
        context = None
        if tls:
            context = self._ssl_context
            if context is None:
                context = self._ssl_context = self._build_ssl_context()
        connection: _Connection
        protocol: asyncio.Protocol
        negotiating: NegotiatingProtocol | None = None
        if key[0] not in self._h2_schemes:
            protocol = connection = AsyncHTTP11Connection(
                key, loop, self, tls=tls, core_options=self._h11_options
            )
        elif tls:
            # Which protocol the connection speaks is known after the handshake only (ALPN).
            protocol = negotiating = NegotiatingProtocol()
        else:
            assert is_h2c(scheme, self._http1, self._http2)
            protocol = connection = AsyncHTTP2Connection(
                key, loop, self, tls=False, core_options=self._h2_options
            )
        transport = await open_connection(
            loop,
            protocol,
            host,
            port,
            timeout=connect_timeout,
            uds=self._uds,
            local_address=self._local_address,
            socket_options=self._socket_options,
            ssl_context=context,
            server_hostname=sni or host,
            timing=timing,
        )
        if negotiating is not None:
            try:
                http2 = negotiated_http2(negotiating.selected_alpn_protocol(), self._http1, host)
            except ConnectError:
                transport.abort()
                raise
            if http2:
                connection = AsyncHTTP2Connection(
                    key, loop, self, tls=True, core_options=self._h2_options
                )
            else:
                connection = AsyncHTTP11Connection(
                    key, loop, self, tls=True, core_options=self._h11_options
                )
            negotiating.hand_over(connection)
        elif tls:
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
                transport.abort()
                raise unoffered_h2_error(sni or host)
        if logger.isEnabledFor(logging.DEBUG):
            where = (
                f"unix socket {self._uds!r}" if self._uds else connection.get_extra_info("peername")
            )
            ssl_object = connection.get_extra_info("ssl_object")
            logger.debug("connected %s via %s (%s)", key, where, describe_tls(ssl_object))
        return connection

    # -- the pool (the connections call these from the event loop) ------------------------

    def release_connection(
        self, connection: _Connection | None, reusable: bool, key: PoolKey = ()
    ) -> None:
        """Take back a connection after its response (closed unless `reusable`), or the slot of
        a connection that could not be opened (`connection=None` with its `key`)."""
        if connection is not None:
            key = connection.key
            if reusable:  # HTTP/1.1 only: HTTP/2 connections are released when they close
                connection.used = True  # type: ignore[union-attr]
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug("closing connection %s", key)
        assert self._loop is not None
        pool = self._pool
        pool.release(key, connection, reusable=reusable, now=self._loop.time())
        if pool.closing:
            self._close_pending()

    def detach_connection(self, connection: AsyncHTTP11Connection) -> None:
        """The connection was upgraded (101): it leaves the pool without being closed."""
        self._pool.detach(connection.key, connection)
        if self._pool.closing:
            self._close_pending()

    def connection_closing(self, connection: _Connection) -> None:
        self._closing_connections.add(connection)

    def connection_gone(self, connection: _Connection) -> None:
        closing = self._closing_connections
        if closing:
            closing.discard(connection)
            if not closing and self._all_gone is not None and not self._all_gone.done():
                self._all_gone.set_result(None)
        if self._pool.discard_idle(connection) and logger.isEnabledFor(logging.DEBUG):
            logger.debug("connection %s closed by the server while idle", connection.key)

    def idle_connection_died(self, connection: AsyncHTTP11Connection) -> None:
        if self._pool.discard_idle(connection) and logger.isEnabledFor(logging.DEBUG):
            logger.debug("closing connection %s: unexpected bytes while idle", connection.key)

    def _close_pending(self) -> None:
        closing = self._pool.closing
        self._pool.closing = []
        for connection in closing:
            connection.close()

    async def aclose(self) -> None:
        """Close every connection, idle or in use; later requests raise RuntimeError."""
        pool = self._pool
        pool.close()
        self._index.close()
        if self._pool_timer is not None:
            self._pool_timer.cancel()
            self._pool_timer = None
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("transport closed: closing %d connection(s)", len(pool.closing))
        self._close_pending()
        if self._closing_connections:
            # Let the event loop deliver `connection_lost` to what was just closed, so that no
            # transport outlives the client (and no ResourceWarning speaks of it).
            loop = asyncio.get_running_loop()
            self._all_gone = loop.create_future()
            try:
                async with asyncio.timeout(_CLOSE_GRACE):
                    await self._all_gone
            except TimeoutError:
                pass
            finally:
                self._all_gone = None

    # -- for tests and introspection ------------------------------------------------------

    @property
    def pool(self) -> PoolState[PoolKey, _Connection]:
        """The pool's bookkeeping: `total`, `idle_count`, `in_use_count`, `waiting_count`."""
        return self._pool
