"""The multiplexing index's bookkeeping, in memory: no sockets, no clock, no threads."""

from __future__ import annotations

import random

from zephyr._multiplex import PENDING, MultiplexIndex, StreamWaiter

A = ("https", "a.example", 443)
B = ("https", "b.example", 443)

Key = tuple[str, str, int]


class Conn:
    """A stand-in connection: the index only hashes and compares them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Wakes:
    """Counts the wake-ups of the waiters made with it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def make_index(expiry: float | None = 5.0) -> MultiplexIndex[Key, Conn]:
    return MultiplexIndex(expiry)


def test_an_empty_index_sends_requests_to_the_pool() -> None:
    index = make_index()
    assert index.checkout(A, 0.0) is None
    assert not index.has_connections(A)
    assert len(index) == 0


def test_a_connection_serves_streams_up_to_its_capacity() -> None:
    index = make_index()
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=3, now=0.0)  # the opener holds one stream
    assert index.checkout(A, 0.0) is conn
    assert index.checkout(A, 0.0) is conn
    assert index.in_flight(conn) == 3
    assert index.checkout(A, 0.0) is None  # at capacity, nothing pending: the pool decides
    assert index.checkout(B, 0.0) is None  # keys never mix
    index.release_stream(conn, 1.0)
    assert index.checkout(A, 1.0) is conn


def test_requests_coalesce_on_a_pending_connect_then_share_it() -> None:
    index = make_index()
    wakes = Wakes()
    index.begin_connect(A)
    assert index.checkout(A, 0.0) is PENDING
    waiters = [index.wait(A, wakes) for _ in range(4)]
    conn = Conn("a1")
    index.add(A, conn, capacity=100, now=0.0)
    assert wakes.count == 4
    assert [w.connection for w in waiters] == [conn] * 4
    assert index.in_flight(conn) == 5


def test_waiters_beyond_capacity_are_sent_to_the_pool() -> None:
    index = make_index()
    wakes = Wakes()
    index.begin_connect(A)
    waiters = [index.wait(A, wakes) for _ in range(5)]
    conn = Conn("a1")
    index.add(A, conn, capacity=3, now=0.0)
    assert [w.connection is conn for w in waiters] == [True, True, False, False, False]
    assert [w.retry for w in waiters] == [False, False, True, True, True]
    assert wakes.count == 5


def test_a_connect_that_turns_out_http11_releases_its_waiters() -> None:
    index = make_index()
    wakes = Wakes()
    index.begin_connect(A)
    waiter = index.wait(A, wakes)
    index.connect_done(A)
    assert waiter.retry
    assert waiter.connection is None
    assert wakes.count == 1
    assert index.checkout(A, 0.0) is None
    assert not index.is_pending(A)


def test_waiters_stay_while_another_connect_is_pending() -> None:
    index = make_index()
    wakes = Wakes()
    index.begin_connect(A)
    index.begin_connect(A)
    waiter = index.wait(A, wakes)
    index.connect_done(A)
    assert not waiter.done
    assert wakes.count == 0
    conn = Conn("a1")
    index.add(A, conn, capacity=10, now=0.0)
    assert waiter.connection is conn


def test_a_released_stream_goes_to_the_first_waiter_fifo() -> None:
    index = make_index()
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=1, now=0.0)
    first, second = index.wait(A, Wakes()), index.wait(A, Wakes())
    index.release_stream(conn, 1.0)
    assert first.connection is conn
    assert not second.done
    index.release_stream(conn, 2.0)
    assert second.connection is conn
    assert index.in_flight(conn) == 1


def test_a_cancelled_waiter_is_skipped_and_a_granted_stream_given_back() -> None:
    index = make_index()
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=1, now=0.0)
    gone, served = index.wait(A, Wakes()), index.wait(A, Wakes())
    index.cancel_wait(gone, 0.5)
    index.release_stream(conn, 1.0)
    assert gone.connection is None
    assert served.connection is conn
    # Granted, then given up (its timeout fired at the same moment): the stream comes back.
    index.cancel_wait(served, 1.5)
    assert index.in_flight(conn) == 0
    assert index.checkout(A, 2.0) is conn


def test_capacity_changes_follow_the_servers_settings() -> None:
    index = make_index()
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=2, now=0.0)
    assert index.checkout(A, 0.0) is conn
    waiter = index.wait(A, Wakes())
    index.set_capacity(conn, 3)  # grew: the waiter is served at once
    assert waiter.connection is conn
    index.set_capacity(conn, 1)  # shrank below what is in flight: no more streams
    index.release_stream(conn, 1.0)
    index.release_stream(conn, 1.0)
    assert index.checkout(A, 1.0) is None
    index.release_stream(conn, 1.0)
    assert index.checkout(A, 1.0) is conn


def test_a_removed_connection_takes_no_more_streams() -> None:
    index = make_index()
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=1, now=0.0)
    waiter = index.wait(A, Wakes())
    assert index.remove(conn)
    assert not index.remove(conn)
    assert waiter.retry  # nothing left to wait for here
    index.release_stream(conn, 1.0)  # its streams may still end: ignored
    assert index.checkout(A, 1.0) is None
    assert not index.has_connections(A)


def test_an_idle_connection_expires_when_picked() -> None:
    index = make_index(expiry=5.0)
    old, new = Conn("old"), Conn("new")
    index.begin_connect(A)
    index.add(A, old, capacity=10, now=0.0)
    index.release_stream(old, 1.0)  # idle since 1.0
    index.begin_connect(A)
    index.add(A, new, capacity=10, now=5.0)
    assert index.checkout(A, 7.0) is new  # `old` expired at 6.0
    assert index.closing == [old]
    assert old not in index


def test_a_busy_connection_never_expires() -> None:
    index = make_index(expiry=1.0)
    conn = Conn("a1")
    index.begin_connect(A)
    index.add(A, conn, capacity=10, now=0.0)
    assert index.checkout(A, 100.0) is conn
    assert index.closing == []


def test_close_wakes_every_waiter() -> None:
    index = make_index()
    wakes = Wakes()
    index.begin_connect(A)
    waiters = [index.wait(A, wakes), index.wait(B, wakes)]
    index.close()
    assert all(w.closed for w in waiters)
    assert wakes.count == 2
    late: StreamWaiter[Key, Conn] = index.wait(A, wakes)
    assert late.closed
    index.add(A, Conn("late"), capacity=5, now=0.0)  # a connect finishing after close
    assert index.checkout(A, 0.0) is None


def test_random_operations_keep_the_counts_consistent() -> None:
    rng = random.Random(1234)
    index = make_index(expiry=None)
    conns: list[Conn] = []
    held: list[Conn] = []
    capacities: dict[str, int] = {}
    for step in range(3000):
        action = rng.random()
        if action < 0.1:
            conn = Conn(f"c{step}")
            capacities[conn.name] = rng.randint(1, 4)
            index.begin_connect(A)
            index.add(A, conn, capacities[conn.name], float(step))
            conns.append(conn)
            held.append(conn)
        elif action < 0.55:
            got = index.checkout(A, float(step))
            if isinstance(got, Conn):
                held.append(got)
        elif held:
            conn = held.pop(rng.randrange(len(held)))
            index.release_stream(conn, float(step))
        for conn in conns:
            in_flight = index.in_flight(conn)
            assert 0 <= in_flight <= capacities[conn.name]
            assert in_flight == held.count(conn)
