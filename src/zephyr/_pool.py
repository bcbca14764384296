"""Connection-pool bookkeeping, sans-I/O: which connection serves which request, what to close.

The pool never touches a socket, a clock or a lock. A driver (the blocking transport, the
asyncio transport, later HTTP/2) holds its own lock around every call, passes in `now`, opens
and closes the connections itself, and closes whatever the pool puts in `closing`.

Everything is O(1) per request (HTTPX issue 3215: httpcore scans every connection and polls
every socket on each request, which is why it collapses under load):

- idle connections are indexed by pool key, most recently used last, so picking one for a key
  is a dict lookup and a `popitem()`;
- a second, pool-wide LRU of idle connections finds the one to evict (when the pool is full of
  idle connections to *other* origins, or the keep-alive limit is reached) with one `popitem()`;
- counts are kept incrementally, never recomputed;
- keep-alive expiry is checked on the connection being picked, and on the head of the LRU at
  each checkin (each connection expires once, so that is amortised O(1)), never by a sweep of
  all connections;
- waiters queue FIFO; a waiter that gives up is only marked cancelled and skipped when it
  reaches the front (lazy removal keeps cancelling O(1)).

The pool key is opaque to this module: any hashable. The transports use
`(scheme, host, port)` today. Every connection setting that may differ between requests of
one pool must be in it, because a connection found under a key serves any request with that
key (RELIABILITY.md 18: a `verify=False` connection must never serve a `verify=True` request).
Within one transport the TLS configuration is fixed, so it need not be in the key yet; when
proxies arrive the key grows to `(scheme, host, port, proxy_origin)`, and a pool shared by
several TLS configurations would append the identity of the `SSLContext` (and the SNI name
when it is overridden per request).

HTTP/1.1 connections serve one request at a time; the pool hands a connection to one user
and takes it back with `release`. HTTP/2 will add "shared" connections that stay available
while in use; they will get their own index beside `idle` and reuse the same counts.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

from ._config import Limits

__all__ = ["NEW_CONNECTION", "POOL_FULL", "PoolClosed", "PoolState", "PoolWaiter"]

K = TypeVar("K", bound=Hashable)
C = TypeVar("C", bound=Hashable)


class _Signal:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# `acquire` answers: open a new connection in the slot reserved for you...
NEW_CONNECTION: Final = _Signal("NEW_CONNECTION")
# ...or: no connection and no slot; queue with `wait()`.
POOL_FULL: Final = _Signal("POOL_FULL")


class PoolClosed(Exception):
    """The pool was closed; the driver turns this into its own error message."""


class PoolWaiter(Generic[K, C]):
    """A request queued for a connection; the pool calls `wake()` when it is granted one.

    After the wake-up: `connection` is an idle connection handed over (now in use), or None
    with `granted` set, meaning a slot was reserved for a new connection; `closed` means the
    pool was closed while waiting.
    """

    __slots__ = ("cancelled", "closed", "connection", "granted", "key", "wake")

    def __init__(self, key: K, wake: Callable[[], None]) -> None:
        self.key = key
        self.wake = wake
        self.connection: C | None = None
        self.granted = False
        self.cancelled = False
        self.closed = False


class PoolState(Generic[K, C]):
    """The state of one connection pool; see the module docstring.

    A connection is in exactly one of two places: idle (indexed here) or in use (held by a
    caller, tracked in `in_use` so that `close()` can reach it). A reserved slot is a connection
    being opened: counted in `total`, not yet known by object.
    """

    __slots__ = (
        "_closed",
        "_idle_by_key",
        "_idle_lru",
        "_keepalive_expiry",
        "_max_connections",
        "_max_keepalive",
        "_waiters",
        "_waiting_count",
        "closing",
        "in_use",
        "total",
    )

    def __init__(self, limits: Limits) -> None:
        self._max_connections = limits.max_connections
        self._max_keepalive = limits.max_keepalive_connections
        self._keepalive_expiry = limits.keepalive_expiry
        # key -> {connection: idle since}, oldest first. Insertion order is idle-since order,
        # so when the newest of a key has expired, all of that key's have. Plain dicts (a
        # dict's `popitem()` takes the newest, as wanted): half an OrderedDict's cost per
        # insertion and removal. The LRU below stays an OrderedDict: it is consumed from the
        # front, where a plain dict would leave a trail of deleted slots to skip.
        self._idle_by_key: dict[K, dict[C, float]] = {}
        # Every idle connection, least recently released first -> (key, idle since).
        self._idle_lru: OrderedDict[C, tuple[K, float]] = OrderedDict()
        self._waiters: deque[PoolWaiter[K, C]] = deque()
        self._waiting_count = 0  # waiters not cancelled
        self._closed = False
        self.in_use: set[C] = set()
        # Connections open or being opened (reserved slots), idle or not.
        self.total = 0
        # Connections the driver must close (outside its lock); it empties the list.
        self.closing: list[C] = []

    # -- counts -----------------------------------------------------------------------------

    @property
    def idle_count(self) -> int:
        return len(self._idle_lru)

    @property
    def in_use_count(self) -> int:
        """Connections in use or being opened."""
        return self.total - len(self._idle_lru)

    @property
    def waiting_count(self) -> int:
        return self._waiting_count

    @property
    def is_closed(self) -> bool:
        return self._closed

    # -- checkout ---------------------------------------------------------------------------

    def acquire(self, key: K, now: float) -> C | _Signal:
        """An idle connection for `key` (now in use), NEW_CONNECTION or POOL_FULL."""
        if self._closed:
            raise PoolClosed()
        idle = self._idle_by_key.get(key)
        if idle:
            connection, since = idle.popitem()
            del self._idle_lru[connection]
            expiry = self._keepalive_expiry
            if expiry is None or now - since < expiry:
                # An emptied index stays: the connection usually comes back to it within
                # microseconds. Paths that close a connection prune it (`_prune`).
                self.in_use.add(connection)
                return connection
            self._expire_key(key, connection)
        # Invariant: while anyone waits there is no idle connection and no free slot (both are
        # handed to the first waiter at once), so a newcomer cannot overtake the queue.
        if self._waiting_count:
            return POOL_FULL
        if self._max_connections is None or self.total < self._max_connections:
            self.total += 1
            return NEW_CONNECTION
        if self._idle_lru:
            # Full, but of idle connections to other origins: the least recently used one
            # makes room (none of them is for `key`, or we would have taken it above).
            self._evict_lru()
            self.total += 1
            return NEW_CONNECTION
        return POOL_FULL

    def wait(self, key: K, wake: Callable[[], None]) -> PoolWaiter[K, C]:
        """Queue for a connection after `acquire` answered POOL_FULL (under the same lock)."""
        if self._closed:
            raise PoolClosed()
        waiter: PoolWaiter[K, C] = PoolWaiter(key, wake)
        self._waiters.append(waiter)
        self._waiting_count += 1
        return waiter

    def cancel_wait(self, waiter: PoolWaiter[K, C], now: float) -> None:
        """The waiter gives up (timeout, cancellation); whatever it was granted goes back."""
        if waiter.cancelled:
            return
        waiter.cancelled = True
        if waiter.closed:
            return
        if not waiter.granted:
            self._waiting_count -= 1  # it stays in the deque until it reaches the front
        elif waiter.connection is not None:
            self.release(waiter.key, waiter.connection, reusable=True, now=now)
        else:
            self.release(waiter.key, None, reusable=False, now=now)

    # -- checkin ----------------------------------------------------------------------------

    def connected(self, connection: C) -> None:
        """A connection was opened in a reserved slot; it is in use."""
        if self._closed:
            # close() ran while it was being opened: it never joins the pool.
            self.total -= 1
            self.closing.append(connection)
            return
        self.in_use.add(connection)

    def release(self, key: K, connection: C | None, *, reusable: bool, now: float) -> None:
        """A connection in use is done (or a reserved slot's connect failed: `connection=None`).

        `reusable`: the response was read completely and cleanly and the protocol allows
        another request; otherwise the connection is closed.
        """
        if connection is not None:
            in_use = self.in_use
            if connection not in in_use:
                return  # released twice, or closed by close(): nothing left to do
            in_use.remove(connection)
        if self._closed:
            # Only a reserved slot can get here: close() already took every connection.
            self.total -= 1
            return
        if self._waiting_count:
            self._hand_to_first_waiter(key, connection if reusable else None, connection)
            return
        if connection is not None and reusable and self._max_keepalive != 0:
            self._add_idle(key, connection, now)
            expiry = self._keepalive_expiry
            # With one idle connection, the one just added, nothing can have expired (it
            # would take a zero expiry): the usual case of one connection per origin skips
            # the look at the LRU's head.
            if expiry is not None and (len(self._idle_lru) > 1 or expiry <= 0):
                self._expire_oldest(now, expiry)
            return
        self.total -= 1
        if connection is not None:
            self.closing.append(connection)
        self._prune(key)
        if self._keepalive_expiry is not None:
            self._expire_oldest(now, self._keepalive_expiry)

    def discard_idle(self, connection: C) -> bool:
        """An idle connection died where it lay (the server closed it, or sent bytes nobody
        asked for): it leaves the pool at once, O(1), and the driver closes it. False if the
        connection is not idle here (in use, already gone): nothing changes then.

        For drivers told of such deaths as they happen (asyncio's `connection_lost`); the
        blocking driver finds them only when it picks a connection, and uses `release`.
        """
        entry = self._idle_lru.pop(connection, None)
        if entry is None:
            return False
        key = entry[0]
        idle = self._idle_by_key[key]
        del idle[connection]
        if not idle:
            del self._idle_by_key[key]
        self.total -= 1
        # No waiter to wake: while a connection is idle nobody waits (see `acquire`).
        return True

    def detach(self, key: K, connection: C) -> None:
        """A connection in use leaves the pool without being closed (it was upgraded to another
        protocol and now belongs to the caller); its slot is freed."""
        if connection not in self.in_use:
            return
        self.in_use.discard(connection)
        if self._waiting_count:
            self._hand_to_first_waiter(key, None, None)  # the slot passes to the waiter
        else:
            self.total -= 1
            self._prune(key)

    def close(self) -> None:
        """Close every connection, idle or in use; wake every waiter; refuse later requests."""
        if self._closed:
            return
        self._closed = True
        self.closing.extend(self._idle_lru)
        self.closing.extend(self.in_use)
        self.total -= len(self._idle_lru) + len(self.in_use)
        self._idle_lru.clear()
        self._idle_by_key.clear()
        self.in_use.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.cancelled:
                waiter.closed = True
                waiter.wake()
        self._waiting_count = 0

    # -- internals --------------------------------------------------------------------------

    def _hand_to_first_waiter(self, key: K, reusable: C | None, connection: C | None) -> None:
        waiter = self._waiters.popleft()
        while waiter.cancelled:
            waiter = self._waiters.popleft()  # _waiting_count > 0: a live one is in there
        self._waiting_count -= 1
        waiter.granted = True
        if reusable is not None and waiter.key == key:
            waiter.connection = reusable
            self.in_use.add(reusable)
        elif connection is not None:
            # Not reusable, or for another origin: it makes way for a new connection, and its
            # slot passes to the waiter (total unchanged).
            self.closing.append(connection)
        waiter.wake()

    def _add_idle(self, key: K, connection: C, now: float) -> None:
        lru = self._idle_lru
        max_keepalive = self._max_keepalive
        if max_keepalive is not None and len(lru) >= max_keepalive:
            self._evict_lru()
        idle = self._idle_by_key.get(key)
        if idle is None:
            idle = self._idle_by_key[key] = {}
        idle[connection] = now
        lru[connection] = (key, now)

    def _evict_lru(self) -> None:
        connection, (key, _) = self._idle_lru.popitem(last=False)
        idle = self._idle_by_key[key]
        del idle[connection]
        if not idle:
            del self._idle_by_key[key]
        self.total -= 1
        self.closing.append(connection)

    def _prune(self, key: K) -> None:
        # Drop the key's index if it is empty, so that a client visiting many origins does
        # not keep one empty dict per origin forever.
        idle = self._idle_by_key.get(key)
        if idle is not None and not idle:
            del self._idle_by_key[key]

    def _expire_oldest(self, now: float, expiry: float) -> None:
        # The LRU's head is the longest idle: while it has expired, close it. Each connection
        # expires once, so over time this costs O(1) per call.
        lru = self._idle_lru
        while lru:
            _, since = next(iter(lru.values()))
            if now - since < expiry:
                return
            self._evict_lru()

    def _expire_key(self, key: K, newest: C) -> None:
        # `newest` (already out of both indexes) has expired: so has every older one of `key`.
        self.total -= 1
        self.closing.append(newest)
        idle = self._idle_by_key.pop(key)
        for connection in idle:
            del self._idle_lru[connection]
            self.total -= 1
            self.closing.append(connection)
