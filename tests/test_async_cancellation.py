"""RELIABILITY.md 25: a request cancelled at any moment leaves nothing half-used in the pool.

A cancelled task releases its pool slot; its connection is closed unless it is provably clean
(the response had ended before the cancellation reached the task); and no other request ever
receives its bytes. First each cancellation point on its own, with scripted servers; then
thousands of requests with random cancellations against the test server's `/echo-id/{id}`,
where every completed response must carry its own id.

`ZEPHYR_CANCEL_REQUESTS` sets the size of the random run (default 10,000 per event loop,
as issue 4 asks; about 2 s each).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from scripted_server import (
    OK_RESPONSE,
    ScriptedConnection,
    ScriptedServer,
    full_backlog_listener,
    keep_alive_server,
)
from zephyr import Limits, Request
from zephyr._async.connection import AsyncHTTP11Connection
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr.testing import TestServer

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def _loop_names() -> list[str]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


@pytest.fixture(params=_loop_names())
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    """Run a coroutine to completion on a fresh event loop of the parametrized kind."""
    if request.param == "uvloop":
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop

    def runner(coroutine: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as loop_runner:
            return loop_runner.run(coroutine)

    return runner


def get(url: str, **kwargs: Any) -> Request:
    return Request("GET", url, extensions={"timeout": TIMEOUTS}, **kwargs)


async def fetch(transport: AsyncHTTPTransport, request: Request) -> bytes:
    response = await transport.handle_async_request(request)
    return await response.aread()


async def cancel_when(condition: Callable[[], bool], task: asyncio.Task[Any]) -> None:
    """Cancel `task` as soon as `condition()` holds, and wait for it to finish cancelled."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the cancellation point was never reached"
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def assert_pool_clean(transport: AsyncHTTPTransport) -> None:
    pool = transport.pool
    assert pool.in_use_count == 0
    assert pool.waiting_count == 0


# -- each cancellation point --------------------------------------------------------------


def test_cancelled_while_connecting(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            task = asyncio.ensure_future(transport.handle_async_request(get(url)))
            await asyncio.sleep(0.1)  # the connect hangs (a full backlog)
            assert transport.pool.in_use_count == 1  # the slot reserved for it
            await cancel_when(lambda: True, task)
            assert_pool_clean(transport)
            assert transport.pool.total == 0

    with full_backlog_listener() as (host, port):
        url = f"http://{host}:{port}/"
        run(main())


def test_cancelled_while_queued_for_a_connection(run: Runner[None]) -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000

    async def main() -> None:
        async with AsyncHTTPTransport(limits=Limits(max_connections=1)) as transport:
            holding = await transport.handle_async_request(get(slow.url))
            task = asyncio.ensure_future(transport.handle_async_request(get(slow.url)))
            await cancel_when(lambda: transport.pool.waiting_count == 1, task)
            assert transport.pool.waiting_count == 0
            await holding.aclose()
            assert_pool_clean(transport)
            assert transport.pool.total == 0

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(big)
        conn.read_request()

    with ScriptedServer(script) as slow:
        run(main())
        assert slow.accepted == 1  # the cancelled request never reached the server


def test_cancelled_after_its_queued_request_was_written(run: Runner[None]) -> None:
    # With the pool full, a queued request is written by the callback that releases a
    # connection to it. Cancelled then, before its response: that connection is closed.
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"
    second_request_seen = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        if conn.server.accepted == 1:
            conn.read_request()
            conn.send(partial)
            time.sleep(0.1)
            conn.send(b"world")
            conn.read_request()
            second_request_seen.set()
            conn.recv()  # never answered: the client closes
            return
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    async def main() -> None:
        async with AsyncHTTPTransport(limits=Limits(max_connections=1)) as transport:
            first = await transport.handle_async_request(get(server.url))
            task = asyncio.ensure_future(transport.handle_async_request(get(server.url)))
            await asyncio.sleep(0.01)
            assert transport.pool.waiting_count == 1
            assert await first.aread() == b"helloworld"
            await cancel_when(second_request_seen.is_set, task)
            assert_pool_clean(transport)
            assert transport.pool.total == 0
            assert await fetch(transport, get(server.url)) == b"hello"

    with ScriptedServer(script) as server:
        run(main())
        assert server.accepted == 2


def test_cancelled_while_writing(run: Runner[None]) -> None:
    stop = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        stop.wait(5)  # never read

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            request = Request(
                "POST", server.url, content=b"x" * (48 * 1024 * 1024), extensions={"timeout": {}}
            )
            task = asyncio.ensure_future(transport.handle_async_request(request))
            await asyncio.sleep(0.2)  # the kernel buffers are full: writing waits
            connection = next(iter(transport.pool.in_use))
            assert connection.writing_paused
            await cancel_when(lambda: True, task)
            assert connection.closed
            assert_pool_clean(transport)
            assert transport.pool.total == 0
            stop.set()

    with ScriptedServer(script) as server:
        run(main())


def test_cancelled_while_waiting_for_the_response_head(run: Runner[None]) -> None:
    seen = threading.Event()
    eof = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        seen.set()
        if conn.recv() == b"":  # silence, until the client closes
            eof.set()

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            task = asyncio.ensure_future(transport.handle_async_request(get(server.url)))
            await cancel_when(seen.is_set, task)
            assert_pool_clean(transport)
            assert transport.pool.total == 0
            assert await asyncio.to_thread(eof.wait, 5)  # the connection was closed

    with ScriptedServer(script) as server:
        run(main())


def test_cancelled_in_the_middle_of_the_body(run: Runner[None]) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
        conn.recv()

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response = await transport.handle_async_request(get(server.url))
            connection = next(iter(transport.pool.in_use))
            reader = asyncio.ensure_future(response.aread())
            await cancel_when(lambda: connection._read_waiter is not None, reader)
            assert_pool_clean(transport)
            assert transport.pool.total == 0
            await response.aclose()  # harmless now

    with ScriptedServer(script) as server:
        run(main())


def test_cancelled_after_a_clean_end_keeps_the_connection(run: Runner[None]) -> None:
    # The whole response arrived, and the connection went back to the pool, before the
    # cancellation reached the task: the connection is provably clean and stays pooled.
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            assert await fetch(transport, get(server.url)) == b"hello"
            tasks: list[asyncio.Task[Any]] = []
            release = transport.release_connection

            def release_then_cancel(connection: Any, reusable: bool, key: Any = ()) -> None:
                release(connection, reusable, key)
                tasks[0].cancel()  # the response has ended; the task has not resumed yet

            transport.release_connection = release_then_cancel  # type: ignore[method-assign]
            tasks.append(asyncio.ensure_future(transport.handle_async_request(get(server.url))))
            with pytest.raises(asyncio.CancelledError):
                await tasks[0]
            transport.release_connection = release  # type: ignore[method-assign]
            assert_pool_clean(transport)
            assert (transport.pool.total, transport.pool.idle_count) == (1, 1)
            assert await fetch(transport, get(server.url)) == b"hello"

    with ScriptedServer(keep_alive_server()) as server:
        run(main())
        assert server.accepted == 1


def test_cancelled_upgrade_closes_the_connection(
    run: Runner[None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 101 arrived (the connection is no longer HTTP) but the task was cancelled before it
    # could hand the connection to its caller: nobody owns it, so it is closed.
    eof = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
        if conn.recv() == b"":
            eof.set()

    tasks: list[asyncio.Task[Any]] = []
    upgraded = AsyncHTTP11Connection._upgraded

    def upgraded_then_cancel(self: AsyncHTTP11Connection, *args: Any) -> None:
        upgraded(self, *args)
        tasks[0].cancel()

    monkeypatch.setattr(AsyncHTTP11Connection, "_upgraded", upgraded_then_cancel)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            upgrade = {"Upgrade": "x", "Connection": "Upgrade"}
            request = get(server.url, headers=upgrade)
            tasks.append(asyncio.ensure_future(transport.handle_async_request(request)))
            with pytest.raises(asyncio.CancelledError):
                await tasks[0]
            assert_pool_clean(transport)
            assert transport.pool.total == 0
            assert await asyncio.to_thread(eof.wait, 5)

    with ScriptedServer(script) as server:
        run(main())


# -- random cancellations under load --------------------------------------------------------


async def cancel_randomly(
    one: Callable[[int], Coroutine[Any, Any, None]],
    count: int,
    rng: random.Random,
    outcomes: dict[str, int],
) -> None:
    """Run `one(0)` ... `one(count - 1)`, 64 at a time, each either awaited to its end, cut
    off by a tiny timeout, or cancelled after a few turns of the loop, at random; count in
    `outcomes` how many completed and how many were cancelled."""

    async def supervised(request_id: int) -> None:
        choice = rng.random()
        try:
            if choice < 0.4:
                await one(request_id)
            elif choice < 0.7:
                # A tiny timeout: it fires while queued, connecting, writing, waiting for the
                # head or reading the body, wherever the request happens to be.
                await asyncio.wait_for(one(request_id), rng.uniform(0, 0.004))
            else:
                task = asyncio.ensure_future(one(request_id))
                for _ in range(rng.randrange(12)):
                    await asyncio.sleep(0)
                task.cancel()
                await task
            outcomes["completed"] += 1
        except (asyncio.CancelledError, TimeoutError):
            outcomes["cancelled"] += 1

    in_flight = asyncio.Semaphore(64)

    async def limited(request_id: int) -> None:
        async with in_flight:
            await supervised(request_id)

    await asyncio.gather(*(limited(n) for n in range(count)))


@pytest.fixture(scope="module")
def echo_server() -> Iterator[TestServer]:
    with TestServer() as server:
        yield server


def test_random_cancellations_under_load(run: Runner[None], echo_server: TestServer) -> None:
    count = int(os.environ.get("ZEPHYR_CANCEL_REQUESTS", "10000"))
    rng = random.Random(25)
    limits = Limits(max_connections=16, max_keepalive_connections=16)

    async def main() -> None:
        async with AsyncHTTPTransport(limits=limits) as transport:
            outcomes = {"completed": 0, "cancelled": 0}

            async def one(request_id: int) -> None:
                url = f"{echo_server.url}/echo-id/{request_id}"
                response = await transport.handle_async_request(get(url))
                try:  # as AsyncClient.send does: a response is closed whatever happens
                    if rng.random() < 0.3:
                        await asyncio.sleep(0)  # give other requests a turn mid-exchange
                    body = await response.aread()
                finally:
                    await response.aclose()
                # The heart of it: nobody ever gets another request's bytes.
                assert response.headers["x-echo-id"] == str(request_id)
                assert json.loads(body) == {"id": str(request_id)}

            await cancel_randomly(one, count, rng, outcomes)
            assert outcomes["completed"] + outcomes["cancelled"] == count
            assert outcomes["completed"] > count // 4
            assert outcomes["cancelled"] > count // 10
            # Every task is over: nothing may still be in use, nobody still waiting.
            assert_pool_clean(transport)
            assert transport.pool.total <= 16
            # And the pool still serves: the connections kept are clean.
            results = await asyncio.gather(
                *(fetch(transport, get(f"{echo_server.url}/echo-id/after-{n}")) for n in range(32))
            )
            assert [json.loads(body)["id"] for body in results] == [f"after-{n}" for n in range(32)]
            assert_pool_clean(transport)

    started = time.monotonic()
    run(main())
    assert time.monotonic() - started < 60
