"""`HTTPTransport`: HTTP/1.1 over blocking sockets, with a connection pool and TLS.

Per request, the work outside the socket calls is O(1): a dict lookup finds an idle
connection for the request's origin, one zero-timeout poll of that one socket checks that the
server has not closed it, and a `threading.Lock` guards the pool's bookkeeping only (never
held during I/O). Threads that find the pool full queue FIFO, each on its own Event.

HTTP/2 is not spoken yet: `http2=True` is accepted (so that HTTPX code runs) but connections
negotiate HTTP/1.1 only, and ALPN offers only "http/1.1", until the HTTP/2 core lands.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._config import DEFAULT_LIMITS, Limits
from .._exceptions import ConnectError, ConnectTimeout, RequestError
from .._io_common import (
    PoolKey,
    SocketOption,
    StaleConnection,
    closed_error,
    describe_tls,
    is_replayable,
    pool_timeout_error,
    retry_delay,
    route,
)
from .._pool import NEW_CONNECTION, POOL_FULL, PoolClosed, PoolState, PoolWaiter
from .._request import Request
from .._response import Response
from .._sync.connect import connect_tcp, connect_uds, start_tls
from .._sync.connection import SyncHTTP11Connection
from .._sync.exchange import exchange
from .base import BaseTransport

if TYPE_CHECKING:
    import ssl

    from .._ssl import CertTypes, VerifyTypes

__all__ = ["HTTPTransport"]

logger = logging.getLogger("zephyr")

_monotonic = time.monotonic


class HTTPTransport(BaseTransport):
    """Sends requests over HTTP/1.1 (TLS for https), reusing connections from a pool.

    verify, cert, trust_env: TLS settings, as `create_ssl_context` takes them.
    http1, http2: the protocols allowed (HTTP/2 is accepted, but not spoken yet).
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
        if not (http1 or http2):
            raise ValueError("At least one of http1 and http2 must be enabled.")
        self._verify = verify
        self._cert = cert
        self._trust_env = trust_env
        self._ssl_context: ssl.SSLContext | None = None
        if not isinstance(verify, bool) or cert is not None:
            # A CA path or a client certificate given: a mistake in it fails here, not at the
            # first request. (The default context is built on the first https connection, so
            # that plain-http users never load ssl and certifi.)
            self._ssl_context = self._build_ssl_context()
        self._uds = uds
        self._local_address = local_address
        self._retries = retries
        self._retry_backoff_factor = 0.5
        self._socket_options = list(socket_options or ())
        self._pool: PoolState[PoolKey, SyncHTTP11Connection] = PoolState(limits)
        self._lock = threading.Lock()

    def _build_ssl_context(self) -> ssl.SSLContext:
        from .._ssl import create_ssl_context

        # http2=False whatever was asked: offering "h2" in ALPN before we can speak it would
        # have servers choose it. Switched on with the HTTP/2 core.
        return create_ssl_context(self._verify, self._cert, self._trust_env, http2=False)

    # -- the request ------------------------------------------------------------------------

    def handle_request(self, request: Request) -> Response:
        try:
            return self._handle_request(request)
        except RequestError as exc:
            if exc._request is None:
                exc._request = request
            raise

    def _handle_request(self, request: Request) -> Response:
        key, sni, timeouts = route(request, "HTTPTransport")
        timing: dict[str, float] = {}
        connection = self._get_connection(key, sni, timeouts, timing)
        try:
            return exchange(connection, request, timeouts, self, timing)
        except StaleConnection as stale:
            if not is_replayable(request):
                error = stale.error
                raise error from error.__cause__
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("retrying %s on a new connection: %s", key, stale)
        timing = {}
        connection = self._get_connection(key, sni, timeouts, timing)
        try:
            return exchange(connection, request, timeouts, self, timing)
        except StaleConnection as stale:
            error = stale.error
            raise error from error.__cause__

    # -- connections ------------------------------------------------------------------------

    def _get_connection(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> SyncHTTP11Connection:
        """A live connection for `key`, from the pool or newly opened, now in our hands."""
        while True:
            connection = self._acquire(key, timeouts.get("pool"))
            if connection is None:
                return self._open(key, sni, timeouts, timing)
            if connection.is_idle_alive():
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("reusing connection %s", key)
                return connection
            # RELIABILITY.md 20: the server closed it while it was idle; try the next one.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("closing connection %s: closed by the server while idle", key)
            connection.close()
            self.release_connection(connection, False)

    def _acquire(self, key: PoolKey, pool_timeout: float | None) -> SyncHTTP11Connection | None:
        """An idle connection (in use now), or None: a slot is reserved, open a connection."""
        pool = self._pool
        waiter: PoolWaiter[PoolKey, SyncHTTP11Connection] | None = None
        with self._lock:
            try:
                got = pool.acquire(key, _monotonic())
            except PoolClosed:
                raise closed_error() from None
            if got is POOL_FULL:
                ready = threading.Event()
                waiter = pool.wait(key, ready.set)
            closing = self._take_closing()
        if closing:
            _close_all(closing)
        if waiter is not None:
            return self._wait(waiter, ready, pool_timeout)
        if got is NEW_CONNECTION:
            return None
        assert isinstance(got, SyncHTTP11Connection)
        return got

    def _wait(
        self,
        waiter: PoolWaiter[PoolKey, SyncHTTP11Connection],
        ready: threading.Event,
        pool_timeout: float | None,
    ) -> SyncHTTP11Connection | None:
        if not ready.wait(pool_timeout):
            with self._lock:
                # The pool may have granted us a connection between the timeout and the lock:
                # then it is ours after all.
                if not waiter.granted and not waiter.closed:
                    self._pool.cancel_wait(waiter, _monotonic())
                    raise pool_timeout_error(pool_timeout)
        if waiter.closed:
            raise closed_error()
        return waiter.connection

    def _open(
        self, key: PoolKey, sni: str | None, timeouts: dict[str, Any], timing: dict[str, float]
    ) -> SyncHTTP11Connection:
        """Open a connection in the slot reserved for us, retrying as `retries` allows."""
        try:
            attempt = 0
            while True:
                try:
                    connection = self._connect(key, sni, timeouts.get("connect"), timing)
                    break
                except (ConnectError, ConnectTimeout) as exc:
                    if attempt >= self._retries:
                        raise
                    attempt += 1
                    delay = self._retry_delay(attempt)
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

    def _retry_delay(self, attempt: int) -> float:
        return retry_delay(attempt, self._retry_backoff_factor)

    def _connect(
        self, key: PoolKey, sni: str | None, connect_timeout: float | None, timing: dict[str, float]
    ) -> SyncHTTP11Connection:
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
        return SyncHTTP11Connection(key, sock, timeout=connect_timeout, tls=tls)

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
        with self._lock:
            self._pool.release(key, connection, reusable=reusable, now=_monotonic())
            closing = self._take_closing()
        if closing:
            _close_all(closing)

    def detach_connection(self, connection: SyncHTTP11Connection) -> None:
        """The connection was upgraded (101): it leaves the pool without being closed."""
        with self._lock:
            self._pool.detach(connection.key, connection)
            closing = self._take_closing()
        if closing:
            _close_all(closing)

    def _take_closing(self) -> list[SyncHTTP11Connection]:
        # Called under the lock; the connections are closed after it is released.
        closing = self._pool.closing
        if closing:
            self._pool.closing = []
        return closing

    def close(self) -> None:
        """Close every connection, idle or in use; later requests raise RuntimeError."""
        with self._lock:
            self._pool.close()
            closing = self._take_closing()
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("transport closed: closing %d connection(s)", len(closing))
        _close_all(closing)


def _close_all(connections: list[SyncHTTP11Connection]) -> None:
    for connection in connections:
        connection.close()
