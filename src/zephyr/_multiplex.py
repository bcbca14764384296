"""Which multiplexed (HTTP/2) connection serves a request, sans-I/O: the shared index.

`_pool.PoolState` hands an HTTP/1.1 connection to one user at a time. An HTTP/2 connection
carries many requests at once, so while it lives it is *shared*: it holds one slot of the pool
(acquired as NEW_CONNECTION, released when it closes) and is indexed here, by pool key, for as
long as it can take another stream. Like the pool, this module never touches a socket, a clock
or a lock: the driver holds its own lock around every call, passes `now` in, and closes what
it is told to close.

What the index keeps, per pool key:

- the live shared connections with a free stream, oldest first (`checkout` takes the first:
  O(1)); a connection whose streams are all taken leaves that dict until one ends;
- per connection, its stream count and capacity (the server's SETTINGS_MAX_CONCURRENT_STREAMS,
  as the driver reports it). The index hands out streams; the protocol core stays the judge
  (a stream the core then refuses, after a GOAWAY, say, is given back and asked for again);
- connects in progress that may turn out HTTP/2 (TLS with "h2" offered, or h2c): while one is
  pending, requests for its key wait for its outcome instead of opening connections of their
  own (coalescing: otherwise 100 concurrent requests open 100 TLS connections);
- FIFO stream waiters: requests waiting for a pending connect, or for a stream to free up on a
  connection at capacity. A waiter that gives up is only marked, and skipped later.

Keep-alive expiry is checked on the connection `checkout` picks, never by a sweep.

A waiter's outcome, after `wake()`: `connection` set (a stream on it is reserved for the
waiter), `retry` (no stream for you here: ask the pool, which may mean opening a connection),
or `closed` (the index was closed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

__all__ = ["PENDING", "MultiplexIndex", "StreamWaiter"]

K = TypeVar("K", bound=Hashable)
C = TypeVar("C", bound=Hashable)


class _Signal:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# `checkout` answers: no free stream yet, but a connect that may become HTTP/2 is under way
# for this key: queue with `wait()` for its outcome.
PENDING: Final = _Signal("PENDING")


class StreamWaiter(Generic[K, C]):
    """A request queued for a stream of `key`; see the module docstring for the outcomes."""

    __slots__ = ("cancelled", "closed", "connection", "key", "retry", "wake")

    def __init__(self, key: K, wake: Callable[[], None]) -> None:
        self.key = key
        self.wake = wake
        self.connection: C | None = None
        self.retry = False
        self.closed = False
        self.cancelled = False

    @property
    def done(self) -> bool:
        return self.connection is not None or self.retry or self.closed


class _Entry(Generic[K]):
    __slots__ = ("capacity", "idle_since", "in_flight", "key")

    def __init__(self, key: K, capacity: int, now: float) -> None:
        self.key = key
        self.capacity = capacity
        self.in_flight = 0
        self.idle_since = now


class MultiplexIndex(Generic[K, C]):
    """The shared connections of one pool, with their pending connects and stream waiters."""

    __slots__ = (
        "_available",
        "_closed",
        "_entries",
        "_expiry",
        "_idle",
        "_pending",
        "_per_key",
        "_waiters",
        "closing",
    )

    def __init__(self, keepalive_expiry: float | None) -> None:
        self._expiry = keepalive_expiry
        # key -> connections with a free stream, oldest first (a dict used as an ordered set).
        self._available: dict[K, dict[C, None]] = {}
        # Every shared connection in the index -> its bookkeeping.
        self._entries: dict[C, _Entry[K]] = {}
        # The connections without a stream in flight, longest idle first (an ordered set): the
        # ones `evict_idle` may close to make room in a full pool for another origin.
        self._idle: dict[C, None] = {}
        self._per_key: dict[K, int] = {}  # key -> how many of its connections are indexed
        # key -> connects in progress that may negotiate HTTP/2.
        self._pending: dict[K, int] = {}
        self._waiters: dict[K, deque[StreamWaiter[K, C]]] = {}
        self._closed = False
        # Connections that expired in the index: the driver frees their pool slot and closes
        # them (outside its lock); it empties the list.
        self.closing: list[C] = []

    # -- queries ----------------------------------------------------------------------------

    def __contains__(self, connection: object) -> bool:
        return connection in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def in_flight(self, connection: C) -> int:
        """Streams handed out on `connection` and not yet released (0 if not indexed)."""
        entry = self._entries.get(connection)
        return 0 if entry is None else entry.in_flight

    def has_connections(self, key: K) -> bool:
        """Is any connection of `key` indexed, free or at capacity?"""
        return key in self._per_key

    def is_pending(self, key: K) -> bool:
        return key in self._pending

    def has_waiters(self, key: K) -> bool:
        return bool(self._waiters.get(key))

    # -- checkout ---------------------------------------------------------------------------

    def checkout(self, key: K, now: float) -> C | _Signal | None:
        """A connection of `key` with a stream now reserved for the caller; PENDING (wait for
        a connect under way); or None: ask the pool (the connections of `key`, if any, are at
        capacity, and nothing is being opened)."""
        available = self._available.get(key)
        while available:
            connection = next(iter(available))
            entry = self._entries[connection]
            expiry = self._expiry
            if not entry.in_flight and expiry is not None and now - entry.idle_since >= expiry:
                self._remove(connection, entry)
                self.closing.append(connection)
                continue
            self._take_stream(connection, entry)
            return connection
        if key in self._pending:
            return PENDING
        return None

    def wait(self, key: K, wake: Callable[[], None]) -> StreamWaiter[K, C]:
        """Queue for a stream of `key` (after PENDING, or when the pool is full too)."""
        waiter: StreamWaiter[K, C] = StreamWaiter(key, wake)
        if self._closed:
            waiter.closed = True
            return waiter
        queue = self._waiters.get(key)
        if queue is None:
            queue = self._waiters[key] = deque()
        queue.append(waiter)
        return waiter

    def cancel_wait(self, waiter: StreamWaiter[K, C], now: float) -> None:
        """The waiter gives up (timeout, or it was served another way): a stream it was
        granted goes back."""
        if waiter.cancelled:
            return
        waiter.cancelled = True
        if waiter.connection is not None:
            connection, waiter.connection = waiter.connection, None
            self.release_stream(connection, now)

    def evict_idle(self) -> bool:
        """A full pool needs a slot: the connection idle the longest (no stream in flight, any
        origin) leaves the index for `closing`, where the driver frees its slot and closes it.
        False if every connection has a stream in flight. (An idle HTTP/2 connection holds its
        slot as "in use" for its whole life: without this, once `max_connections` origins had
        been visited over HTTP/2, a request to any other origin could only time out.)"""
        connection = next(iter(self._idle), None)
        if connection is None:
            return False
        self._remove(connection, self._entries[connection])
        self.closing.append(connection)
        return True

    # -- connects ---------------------------------------------------------------------------

    def begin_connect(self, key: K) -> None:
        """A connection for `key` that may negotiate HTTP/2 is being opened."""
        self._pending[key] = self._pending.get(key, 0) + 1

    def connect_done(self, key: K) -> None:
        """That connect failed or negotiated HTTP/1.1: the requests that waited for it go
        their own way, through the pool, unless another connect is still pending."""
        self._end_pending(key)
        self._release_waiters_if_stuck(key)

    def add(self, key: K, connection: C, capacity: int, now: float) -> None:
        """A connect for `key` negotiated HTTP/2 and the server's stream limit is known: the
        connection is shared from now on, and one stream on it is the opener's. Streams go to
        the waiters first come, first served, as far as `capacity` allows."""
        self._end_pending(key)
        entry: _Entry[K] = _Entry(key, capacity, now)
        entry.in_flight = 1
        if self._closed:
            return
        self._entries[connection] = entry
        self._per_key[key] = self._per_key.get(key, 0) + 1
        if entry.in_flight < capacity:
            self._mark_available(key, connection)
        self._serve_waiters(key, connection, entry)
        self._release_waiters_if_stuck(key)

    # -- streams ----------------------------------------------------------------------------

    def release_stream(self, connection: C, now: float) -> None:
        """A stream of `connection` ended (or was never opened): the next waiter gets it."""
        entry = self._entries.get(connection)
        if entry is None:
            return  # the connection left the index (GOAWAY, closed): nothing to hand out
        entry.in_flight -= 1
        if not entry.in_flight:
            entry.idle_since = now
            self._idle[connection] = None
        if entry.in_flight < entry.capacity:
            self._mark_available(entry.key, connection)
            self._serve_waiters(entry.key, connection, entry)

    def set_capacity(self, connection: C, capacity: int) -> None:
        """The server changed its SETTINGS_MAX_CONCURRENT_STREAMS."""
        entry = self._entries.get(connection)
        if entry is None:
            return
        entry.capacity = capacity
        if entry.in_flight < capacity:
            self._mark_available(entry.key, connection)
            self._serve_waiters(entry.key, connection, entry)
        else:
            self._unmark_available(entry.key, connection)

    def remove(self, connection: C) -> bool:
        """The connection takes no new streams (GOAWAY, an error, closed): it leaves the
        index at once; its streams in flight are the driver's business. False if it was not
        indexed. Waiters with no other hope are sent to the pool."""
        entry = self._entries.get(connection)
        if entry is None:
            return False
        self._remove(connection, entry)
        self._release_waiters_if_stuck(entry.key)
        return True

    def close(self) -> None:
        """Forget every connection (the pool closes them) and wake every waiter."""
        self._closed = True
        self._available.clear()
        self._entries.clear()
        self._idle.clear()
        self._per_key.clear()
        self._pending.clear()
        waiters, self._waiters = self._waiters, {}
        for queue in waiters.values():
            for waiter in queue:
                if not waiter.cancelled and not waiter.done:
                    waiter.closed = True
                    waiter.wake()

    # -- internals --------------------------------------------------------------------------

    def _take_stream(self, connection: C, entry: _Entry[K]) -> None:
        if not entry.in_flight:
            self._idle.pop(connection, None)
        entry.in_flight += 1
        if entry.in_flight >= entry.capacity:
            self._unmark_available(entry.key, connection)

    def _mark_available(self, key: K, connection: C) -> None:
        available = self._available.get(key)
        if available is None:
            available = self._available[key] = {}
        available[connection] = None

    def _unmark_available(self, key: K, connection: C) -> None:
        available = self._available.get(key)
        if available is not None:
            available.pop(connection, None)
            if not available:
                del self._available[key]

    def _remove(self, connection: C, entry: _Entry[K]) -> None:
        del self._entries[connection]
        self._idle.pop(connection, None)
        key = entry.key
        count = self._per_key[key] - 1
        if count:
            self._per_key[key] = count
        else:
            del self._per_key[key]
        self._unmark_available(key, connection)

    def _serve_waiters(self, key: K, connection: C, entry: _Entry[K]) -> None:
        queue = self._waiters.get(key)
        while queue and entry.in_flight < entry.capacity:
            waiter = queue.popleft()
            if waiter.cancelled:
                continue
            waiter.connection = connection
            self._take_stream(connection, entry)
            waiter.wake()
        if queue is not None and not queue:
            del self._waiters[key]

    def _end_pending(self, key: K) -> None:
        count = self._pending.get(key, 0) - 1
        if count > 0:
            self._pending[key] = count
        else:
            self._pending.pop(key, None)

    def _release_waiters_if_stuck(self, key: K) -> None:
        # Waiters of a key with no connect pending and no free stream would wait for a stream
        # of a connection at capacity, or of none at all: they go back to the pool, which
        # opens a connection if it has room, or queues them (and they queue here again).
        if key in self._pending or key in self._available:
            return
        queue = self._waiters.pop(key, None)
        if not queue:
            return
        for waiter in queue:
            if not waiter.cancelled:
                waiter.retry = True
                waiter.wake()
