"""The pool's bookkeeping, in memory: no sockets, no clock, no threads."""

from __future__ import annotations

import random

import pytest

from zephyr import Limits
from zephyr._pool import NEW_CONNECTION, POOL_FULL, PoolClosed, PoolState, PoolWaiter

A = ("http", "a.example", 80)
B = ("http", "b.example", 80)
C = ("https", "a.example", 443)


class Conn:
    """A stand-in connection: the pool only hashes and compares them."""

    count = 0

    def __init__(self, key: tuple[str, str, int]) -> None:
        Conn.count += 1
        self.key = key
        self.name = f"{key[1]}#{Conn.count}"

    def __repr__(self) -> str:
        return self.name


def make_pool(
    max_connections: int | None = 10,
    max_keepalive: int | None = 10,
    expiry: float | None = 5.0,
) -> PoolState[tuple[str, str, int], Conn]:
    return PoolState(
        Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=expiry,
        )
    )


def open_new(pool: PoolState[tuple[str, str, int], Conn], key: tuple[str, str, int]) -> Conn:
    assert pool.acquire(key, 0.0) is NEW_CONNECTION
    conn = Conn(key)
    pool.connected(conn)
    return conn


def check_counts(pool: PoolState[tuple[str, str, int], Conn]) -> None:
    assert pool.total >= 0
    assert pool.idle_count >= 0
    assert pool.in_use_count >= len(pool.in_use)
    assert pool.waiting_count >= 0


def test_new_connection_then_reuse() -> None:
    pool = make_pool()
    conn = open_new(pool, A)
    assert (pool.total, pool.idle_count, pool.in_use_count) == (1, 0, 1)
    pool.release(A, conn, reusable=True, now=1.0)
    assert (pool.total, pool.idle_count, pool.in_use_count) == (1, 1, 0)
    assert pool.acquire(A, 2.0) is conn
    assert (pool.total, pool.idle_count, pool.in_use_count) == (1, 0, 1)
    assert pool.closing == []


def test_idle_connections_are_per_origin() -> None:
    pool = make_pool()
    conn_a = open_new(pool, A)
    pool.release(A, conn_a, reusable=True, now=1.0)
    # Same host, other scheme and port: a different key, never the idle `A` connection.
    assert pool.acquire(C, 1.0) is NEW_CONNECTION
    assert pool.acquire(B, 1.0) is NEW_CONNECTION
    assert pool.acquire(A, 1.0) is conn_a


def test_most_recently_used_connection_is_picked_first() -> None:
    pool = make_pool()
    first, second = open_new(pool, A), open_new(pool, A)
    pool.release(A, first, reusable=True, now=1.0)
    pool.release(A, second, reusable=True, now=2.0)
    # LIFO per origin keeps one connection hot and lets the others expire.
    assert pool.acquire(A, 3.0) is second
    assert pool.acquire(A, 3.0) is first


def test_not_reusable_connection_is_closed() -> None:
    pool = make_pool()
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=False, now=1.0)
    assert pool.closing == [conn]
    assert (pool.total, pool.idle_count) == (0, 0)


def test_double_release_is_harmless() -> None:
    pool = make_pool()
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=False, now=1.0)
    pool.release(A, conn, reusable=False, now=1.0)
    assert pool.total == 0
    assert pool.closing == [conn]


def test_failed_connect_frees_its_slot() -> None:
    pool = make_pool(max_connections=1)
    assert pool.acquire(A, 0.0) is NEW_CONNECTION
    assert pool.acquire(A, 0.0) is POOL_FULL
    pool.release(A, None, reusable=False, now=0.0)
    assert pool.total == 0
    assert pool.acquire(A, 0.0) is NEW_CONNECTION


def test_full_pool_of_other_origins_evicts_least_recently_used() -> None:
    pool = make_pool(max_connections=2)
    conn_a, conn_b = open_new(pool, A), open_new(pool, B)
    pool.release(A, conn_a, reusable=True, now=1.0)
    pool.release(B, conn_b, reusable=True, now=2.0)
    # Full, but both idle and for other origins: A's (released first) makes room.
    assert pool.acquire(C, 3.0) is NEW_CONNECTION
    assert pool.closing == [conn_a]
    assert (pool.total, pool.idle_count) == (2, 1)
    assert pool.acquire(B, 3.0) is conn_b


def test_full_pool_in_use_answers_pool_full() -> None:
    pool = make_pool(max_connections=2)
    open_new(pool, A)
    open_new(pool, B)
    assert pool.acquire(A, 0.0) is POOL_FULL
    assert pool.acquire(C, 0.0) is POOL_FULL


def test_unlimited_pool() -> None:
    pool = make_pool(max_connections=None, max_keepalive=None)
    conns = [open_new(pool, A) for _ in range(500)]
    for conn in conns:
        pool.release(A, conn, reusable=True, now=1.0)
    assert (pool.total, pool.idle_count) == (500, 500)


def test_waiters_are_served_in_arrival_order() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    woken: list[str] = []
    assert pool.acquire(A, 0.0) is POOL_FULL
    first: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: woken.append("first"))
    assert pool.acquire(A, 0.0) is POOL_FULL
    second: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: woken.append("second"))
    pool.release(A, conn, reusable=True, now=1.0)
    assert woken == ["first"]
    assert first.granted
    assert first.connection is conn
    assert not second.granted
    pool.release(A, conn, reusable=True, now=2.0)
    assert woken == ["first", "second"]
    assert second.connection is conn
    assert pool.total == 1


def test_newcomer_cannot_overtake_waiters() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    assert pool.acquire(B, 0.0) is POOL_FULL
    waiter: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(B, lambda: None)
    # A's connection goes to B's waiter as a slot (closed: wrong origin), not to a newcomer.
    pool.release(A, conn, reusable=True, now=1.0)
    assert waiter.granted
    assert waiter.connection is None
    assert pool.closing == [conn]
    assert pool.total == 1  # the slot passed on: still counted
    assert pool.acquire(A, 1.0) is POOL_FULL


def test_waiter_of_other_origin_gets_a_slot_when_connection_is_not_reusable() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    assert pool.acquire(A, 0.0) is POOL_FULL
    waiter: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: None)
    pool.release(A, conn, reusable=False, now=1.0)
    assert waiter.granted
    assert waiter.connection is None
    assert pool.closing == [conn]
    pool.connected(Conn(A))
    assert pool.total == 1


def test_cancelled_waiter_is_skipped_and_counts_stay_right() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    woken: list[str] = []
    pool.acquire(A, 0.0)
    gone: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: woken.append("gone"))
    pool.acquire(A, 0.0)
    kept: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: woken.append("kept"))
    pool.cancel_wait(gone, 0.5)
    pool.cancel_wait(gone, 0.5)  # twice: no effect
    assert pool.waiting_count == 1
    pool.release(A, conn, reusable=True, now=1.0)
    assert woken == ["kept"]
    assert kept.connection is conn
    assert pool.waiting_count == 0
    check_counts(pool)


def test_cancel_after_grant_gives_the_connection_back() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    pool.acquire(A, 0.0)
    waiter: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(A, lambda: None)
    pool.release(A, conn, reusable=True, now=1.0)
    assert waiter.connection is conn
    # The waiter timed out just as it was granted: the connection goes back, idle.
    pool.cancel_wait(waiter, 1.0)
    assert (pool.total, pool.idle_count, pool.in_use_count) == (1, 1, 0)
    assert pool.acquire(A, 1.0) is conn


def test_cancel_after_slot_grant_frees_the_slot() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    pool.acquire(B, 0.0)
    waiter: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(B, lambda: None)
    pool.release(A, conn, reusable=False, now=1.0)
    assert waiter.granted
    assert waiter.connection is None
    pool.cancel_wait(waiter, 1.0)
    assert pool.total == 0


def test_expired_connection_is_closed_when_picked_with_older_ones() -> None:
    pool = make_pool(expiry=5.0)
    old, newer = open_new(pool, A), open_new(pool, A)
    pool.release(A, old, reusable=True, now=0.0)
    pool.release(A, newer, reusable=True, now=1.0)
    # At 7 s the newest has been idle 6 s: expired, and so is every older one of its origin.
    assert pool.acquire(A, 7.0) is NEW_CONNECTION
    assert sorted(pool.closing, key=repr) == sorted([old, newer], key=repr)
    assert (pool.total, pool.idle_count) == (1, 0)


def test_fresh_connection_is_reused_before_expiry() -> None:
    pool = make_pool(expiry=5.0)
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=True, now=0.0)
    assert pool.acquire(A, 4.9) is conn


def test_checkin_closes_the_longest_idle_when_it_expired() -> None:
    pool = make_pool(expiry=5.0)
    stale, busy = open_new(pool, B), open_new(pool, A)
    pool.release(B, stale, reusable=True, now=0.0)
    pool.release(A, busy, reusable=True, now=10.0)
    # B's idle connection was never picked, yet it does not outlive its expiry by much.
    assert pool.closing == [stale]
    assert pool.idle_count == 1


def test_zero_expiry_closes_a_connection_at_checkin() -> None:
    # Alone in the pool, the connection just checked in is the longest idle one too.
    pool = make_pool(expiry=0.0)
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=True, now=1.0)
    assert pool.closing == [conn]
    assert (pool.total, pool.idle_count) == (0, 0)
    assert pool.acquire(A, 1.0) is NEW_CONNECTION


def test_checkin_of_the_only_idle_connection_keeps_it() -> None:
    pool = make_pool(expiry=5.0)
    conn = open_new(pool, A)
    for now in (0.0, 4.0, 8.0, 12.0):  # reused and checked in again, never idle 5 s
        pool.release(A, conn, reusable=True, now=now)
        assert pool.closing == []
        assert pool.acquire(A, now + 4.0) is conn


def test_no_expiry_keeps_connections() -> None:
    pool = make_pool(expiry=None)
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=True, now=0.0)
    assert pool.acquire(A, 1e9) is conn


def test_keepalive_limit_closes_the_oldest_idle() -> None:
    pool = make_pool(max_keepalive=2)
    conns = [open_new(pool, A) for _ in range(3)]
    for when, conn in enumerate(conns):
        pool.release(A, conn, reusable=True, now=float(when))
    assert pool.closing == [conns[0]]
    assert (pool.total, pool.idle_count) == (2, 2)


def test_keepalive_zero_keeps_nothing() -> None:
    pool = make_pool(max_keepalive=0)
    conn = open_new(pool, A)
    pool.release(A, conn, reusable=True, now=0.0)
    assert pool.closing == [conn]
    assert pool.total == 0


def test_detach_frees_the_slot_without_closing() -> None:
    pool = make_pool(max_connections=1)
    conn = open_new(pool, A)
    pool.detach(A, conn)
    assert pool.closing == []
    assert pool.total == 0
    assert pool.acquire(A, 0.0) is NEW_CONNECTION


def test_close_closes_everything_and_wakes_waiters() -> None:
    pool = make_pool(max_connections=2)
    idle, busy = open_new(pool, A), open_new(pool, A)
    pool.release(A, idle, reusable=True, now=0.0)
    woken: list[str] = []
    assert pool.acquire(B, 0.0) is NEW_CONNECTION  # evicts `idle`: a slot being opened
    assert pool.closing == [idle]
    pool.closing.clear()
    assert pool.acquire(B, 0.0) is POOL_FULL
    waiter: PoolWaiter[tuple[str, str, int], Conn] = pool.wait(B, lambda: woken.append("w"))
    pool.close()
    assert pool.closing == [busy]
    assert woken == ["w"]
    assert waiter.closed
    with pytest.raises(PoolClosed):
        pool.acquire(A, 0.0)
    with pytest.raises(PoolClosed):
        pool.wait(A, lambda: None)
    # The connection being opened when close() ran never joins the pool.
    late = Conn(B)
    pool.connected(late)
    assert pool.closing == [busy, late]
    pool.release(A, busy, reusable=True, now=1.0)  # already closed: ignored
    assert pool.total == 0
    pool.close()  # twice: no effect


def test_failed_connect_after_close_frees_its_slot() -> None:
    pool = make_pool()
    assert pool.acquire(A, 0.0) is NEW_CONNECTION
    pool.close()
    pool.release(A, None, reusable=False, now=0.0)
    assert pool.total == 0


@pytest.mark.parametrize("seed", range(40))
def test_random_operations_keep_counts_consistent(seed: int) -> None:
    """Any sequence of operations: counts never negative, never above the limits, and equal
    to what a recount finds."""
    rng = random.Random(seed)
    limit, keepalive = rng.randint(1, 5), rng.randint(0, 5)
    pool = make_pool(max_connections=limit, max_keepalive=keepalive, expiry=3.0)
    keys = [A, B, C]
    held: list[Conn] = []  # in use
    reserved: list[tuple[str, str, int]] = []  # slots being opened
    waiters: list[PoolWaiter[tuple[str, str, int], Conn]] = []
    closed: set[Conn] = set()
    now = 0.0
    for _ in range(300):
        now += rng.random()
        action = rng.random()
        if action < 0.4:
            key = rng.choice(keys)
            got = pool.acquire(key, now)
            if got is NEW_CONNECTION:
                reserved.append(key)
            elif got is POOL_FULL:
                waiters.append(pool.wait(key, lambda: None))
            else:
                assert isinstance(got, Conn)
                assert got.key == key
                assert got not in closed
                held.append(got)
        elif action < 0.55 and reserved:
            key = reserved.pop(rng.randrange(len(reserved)))
            if rng.random() < 0.8:
                conn = Conn(key)
                pool.connected(conn)
                held.append(conn)
            else:
                pool.release(key, None, reusable=False, now=now)
        elif action < 0.85 and held:
            conn = held.pop(rng.randrange(len(held)))
            pool.release(conn.key, conn, reusable=rng.random() < 0.8, now=now)
        elif waiters:
            waiter = waiters.pop(rng.randrange(len(waiters)))
            if waiter.granted and rng.random() < 0.7:
                if waiter.connection is not None:
                    held.append(waiter.connection)
                else:
                    reserved.append(waiter.key)
            else:
                pool.cancel_wait(waiter, now)
        closed.update(pool.closing)
        pool.closing.clear()
        # Granted waiters we still hold count as in use (connection) or reserved (slot).
        granted_conns = [w.connection for w in waiters if w.granted and w.connection]
        granted_slots = [w for w in waiters if w.granted and w.connection is None]
        check_counts(pool)
        assert pool.total <= limit
        assert pool.idle_count <= keepalive
        assert set(pool.in_use) == set(held) | set(granted_conns)
        assert pool.total == pool.idle_count + len(pool.in_use) + len(reserved) + len(granted_slots)
        assert not (set(held) & closed)


def test_indexes_of_origins_without_idle_connections_are_dropped() -> None:
    pool = make_pool()
    for index in range(100):
        key = ("http", f"host{index}.example", 80)
        conn = open_new(pool, key)
        pool.release(key, conn, reusable=True, now=0.0)
        assert pool.acquire(key, 0.0) is conn
        pool.release(key, conn, reusable=False, now=0.0)
    assert pool._idle_by_key == {}
    assert pool.total == 0
