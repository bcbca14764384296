"""Review of the blocking HTTP/1.1 pool under threads: reproductions of the bugs found.

Each test shows one bug and is marked xfail(strict=True), so the suite stays green until the
bug is fixed (then the test passes and the marker must go).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import zephyr
import zephyr._sync.connect as sync_connect
from scripted_server import ScriptedConnection, ScriptedServer, full_backlog_listener
from zephyr import Limits, PoolTimeout, Request
from zephyr._transports.http import HTTPTransport

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.5}
BIG_BODY = b"x" * 3_000_000  # many reads: the first chunks come with the head, the rest later


def get(url: str) -> Request:
    return Request("GET", url, extensions={"timeout": TIMEOUTS})


def big_or_small(conn: ScriptedConnection) -> None:
    """A script: /big answers 3 MB, anything else 5 bytes; keep-alive until EOF."""
    while True:
        request = conn.read_request()
        if request is None:
            return
        if b" /big " in request[0]:
            # One write: the first read of the client gets the head and the body's start.
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG_BODY) + BIG_BODY)
        else:
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(big_or_small) as scripted:
        yield scripted


def _take_chunks_and_drop(transport: HTTPTransport, url: str, count: int) -> None:
    # A streamed response read partly and then dropped without close(): the iterator is
    # collected at once (refcounting), which throws GeneratorExit into the body stream.
    response = transport.handle_request(get(url))
    for taken, _ in enumerate(response.iter_raw(), start=1):
        if taken == count:
            break


def test_response_abandoned_in_its_first_chunk_releases_its_connection(
    server: ScriptedServer,
) -> None:
    with HTTPTransport(limits=Limits(max_connections=1)) as transport:
        pool = transport._pool
        # Control: abandoned after several chunks (inside the try), the slot comes back.
        _take_chunks_and_drop(transport, server.url + "big", 3)
        assert pool.total == 0
        assert not pool.in_use
        # Abandoned at the first chunk (the bytes read with the head): the slot is gone.
        _take_chunks_and_drop(transport, server.url + "big", 1)
        assert not pool.in_use, "the abandoned response still holds the pool's only slot"
        transport.handle_request(get(server.url + "small")).read()


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt (or gevent.Timeout, also a BaseException)."""


def test_interrupted_pool_wait_gives_its_place_back(server: ScriptedServer) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread only")

    def interrupt(signum: int, frame: Any) -> None:
        raise _Interrupt()

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with HTTPTransport(limits=Limits(max_connections=1)) as transport:
            held = transport.handle_request(get(server.url + "big"))  # holds the only slot
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(_Interrupt):
                transport.handle_request(get(server.url + "small"))  # waits for the pool
            signal.setitimer(signal.ITIMER_REAL, 0)
            held.read()  # the connection goes back to the pool...
            held.close()
            pool = transport._pool
            assert not pool.in_use, "the interrupted waiter was handed the connection"
            # ...and the next request must be able to use it.
            response = transport.handle_request(get(server.url + "small"))
            assert response.read() == b"hello"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Holder:
    pass


def _abandon_in_a_cycle_and_collect(
    transport: HTTPTransport, url: str, chunks: int, held_lock: Callable[[], Any]
) -> bool:
    """In a thread of its own: read `chunks` pieces of the response to `url`, drop it in a
    reference cycle, and run the cyclic GC while that thread holds `held_lock()` (as a
    collection starting inside one of its own pool operations would). True when the thread got
    through; a finaliser waiting for that lock never returns (the thread is a daemon)."""
    finished = threading.Event()

    def collect_while_holding_the_lock() -> None:
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            holder = _Holder()
            holder.cycle = holder  # type: ignore[attr-defined]
            holder.response = transport.handle_request(get(url))  # type: ignore[attr-defined]
            holder.chunks = holder.response.iter_raw()  # type: ignore[attr-defined]
            for _ in range(chunks):
                next(holder.chunks)  # type: ignore[attr-defined]
            lock = held_lock()
            del holder
            with lock:
                gc.collect()
        finally:
            if gc_was_enabled:
                gc.enable()
        finished.set()

    threading.Thread(target=collect_while_holding_the_lock, daemon=True).start()
    return finished.wait(10)


def test_finaliser_of_an_abandoned_response_does_not_deadlock_on_the_pool_lock(
    server: ScriptedServer,
) -> None:
    # A partly read, unclosed response in a reference cycle is finalised by the cyclic GC,
    # which runs on whatever allocation triggers it - also inside `with transport._lock` (seen:
    # _pool.release -> _expire_oldest). The stream's GeneratorExit handler must not block on
    # that non-reentrant lock (the thread, and every other thread of the client, would hang
    # with no timeout): it closes the socket and leaves the release to the next pool operation.
    transport = HTTPTransport()
    if not _abandon_in_a_cycle_and_collect(
        transport, server.url + "big", 3, lambda: transport._lock
    ):
        pytest.fail("the finaliser deadlocked on the pool lock")  # (the transport is stuck)
    # The next pool operation takes the abandoned connection back: nothing stays in use.
    assert transport.handle_request(get(server.url + "small")).read() == b"hello"
    assert not transport._pool.in_use
    transport.close()


def test_connect_falls_back_to_the_next_address_after_a_timeout(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with full_backlog_listener() as dead:
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host == "dual-stack.test":
                return [
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", dead),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", server.port)),
                ]
            return real_getaddrinfo(host, port, *args, **kwargs)

        monkeypatch.setattr(sync_connect.socket, "getaddrinfo", getaddrinfo)
        # The standard library's connect gets there, after the first address times out:
        with socket.create_connection(("dual-stack.test", server.port), timeout=0.5):
            pass
        with zephyr.Client(timeout=zephyr.Timeout(5.0, connect=0.5)) as client:
            response = client.get(f"http://dual-stack.test:{server.port}/small")
            assert response.content == b"hello"

        # The asyncio transport the same way: the dead address gets half the connect timeout.
        async def fetch() -> bytes:
            async with zephyr.AsyncClient(timeout=zephyr.Timeout(5.0, connect=0.5)) as client:
                response = await client.get(f"http://dual-stack.test:{server.port}/small")
                return response.content

        assert asyncio.run(fetch()) == b"hello"


def test_pool_timeout_is_still_raised_when_really_full(server: ScriptedServer) -> None:
    # A control for the tests above: a full pool does raise PoolTimeout, and frees nothing.
    with HTTPTransport(limits=Limits(max_connections=1)) as transport:
        held = transport.handle_request(get(server.url + "big"))
        with pytest.raises(PoolTimeout):
            transport.handle_request(get(server.url + "small"))
        held.close()
        assert transport._pool.total == 0
        assert transport.handle_request(get(server.url + "small")).read() == b"hello"


@pytest.mark.parametrize("lock", ["transport", "connection"])
def test_finaliser_of_an_abandoned_http2_response_does_not_deadlock(lock: str) -> None:
    # The HTTP/2 sibling of the test above: a response given up in a reference cycle is
    # finalised by the cyclic GC, which may run while this thread holds the transport's lock or
    # the connection's. Its stream is finished later (by the next stream to open), not waited
    # for under a lock the thread itself holds.
    from h2_scripted_server import H2ScriptedConnection, H2ScriptedServer

    def script(conn: H2ScriptedConnection) -> None:
        (first,) = conn.wait_requests(1)
        conn.send_head(first.stream_id, 1_000_000)
        conn.send_body(first.stream_id, 200_000, until_blocked=True)
        (second,) = conn.wait_requests(2)[1:]
        conn.respond(second.stream_id, body=b"after")
        conn.drain(timeout=3)

    with H2ScriptedServer(script) as server:
        transport = HTTPTransport(http1=False, http2=True)

        def held_lock() -> Any:
            (connection,) = transport._pool.in_use
            return transport._lock if lock == "transport" else connection._lock  # type: ignore[attr-defined]

        if not _abandon_in_a_cycle_and_collect(transport, server.url + "big", 1, held_lock):
            pytest.fail(f"the finaliser deadlocked on the {lock}'s lock")  # (stuck: not closed)
        # The next stream finishes the abandoned one on its way: the connection goes on.
        assert transport.handle_request(get(server.url + "after")).read() == b"after"
        transport.close()
