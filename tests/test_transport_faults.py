"""Hostile and broken servers against both transports: RELIABILITY.md 8-14 and 20-24.

Each case is a scripted raw-socket server. The full parser matrix lives in the protocol core's
tests; here a representative set shows that every fault surfaces as a zephyr exception over a
real socket, and that a faulty connection never goes back to the pool.

A case written against the `driver` fixture runs on HTTPTransport and on AsyncHTTPTransport
(on asyncio's loop and on uvloop), through `transport_drivers`. The few cases that exist for
one transport only (threads waiting on the sync pool; tasks, loop timers and idle-connection
watching in the async one) are written against it directly: `run` runs a coroutine on each
event loop.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from scripted_server import (
    OK_RESPONSE,
    ScriptedConnection,
    ScriptedServer,
    close_after_second_request,
    full_backlog_listener,
    keep_alive_server,
    respond,
)
from transport_drivers import DRIVER_NAMES, Driver, Runner, loop_names, make_runner
from zephyr import (
    ConnectTimeout,
    Limits,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Request,
    WriteError,
    WriteTimeout,
)
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr._transports.http import HTTPTransport


@pytest.fixture(params=DRIVER_NAMES)
def driver(request: pytest.FixtureRequest) -> Driver:
    """The transport under test: sync, or async on each event loop."""
    return Driver(request.param)


@pytest.fixture(params=loop_names())
def run(request: pytest.FixtureRequest) -> Runner[Any]:
    """For the async-only cases: run a coroutine on a fresh event loop of each kind."""
    return make_runner(request.param)


def request(method: str, url: str, *, read: float = 5.0, **kwargs: Any) -> Request:
    timeout = {"connect": 5.0, "read": read, "write": 5.0, "pool": 5.0}
    return Request(method, url, extensions={"timeout": timeout}, **kwargs)


async def fetch(transport: AsyncHTTPTransport, req: Request) -> bytes:
    response = await transport.handle_async_request(req)
    return await response.aread()


def expect_protocol_error(
    driver: Driver, response_bytes: bytes, match: str | None = None
) -> RemoteProtocolError:
    """Serve `response_bytes` then close; the transport must raise and keep no connection."""
    with (
        ScriptedServer(respond(response_bytes, then_close=True)) as server,
        driver.transport() as transport,
    ):
        with pytest.raises(RemoteProtocolError, match=match) as info:
            transport.fetch(request("GET", server.url))
        assert transport.pool.total == 0
        assert info.value.request.method == "GET"
        return info.value


# -- 8-10: framing and header faults ---------------------------------------------------------


@pytest.mark.parametrize(
    "chunked_body",
    [
        b"5\r\nhelloXX0\r\n\r\n",  # data not followed by CRLF
        b"5\nhello\r\n0\r\n\r\n",  # bare LF after the size
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
        b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",  # size overflows
    ],
)
def test_malformed_chunked_body(driver: Driver, chunked_body: bytes) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    expect_protocol_error(driver, head + chunked_body)


@pytest.mark.parametrize(
    "framing",
    [
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        b"Content-Length: +5\r\n",
        b"Content-Length: -0\r\n",
        b"Content-Length: 1,2\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: 1000000000000000000000\r\n",
    ],
)
def test_bad_framing_headers(driver: Driver, framing: bytes) -> None:
    expect_protocol_error(driver, b"HTTP/1.1 200 OK\r\n" + framing + b"\r\nhello")


def test_control_character_in_header_value(driver: Driver) -> None:
    expect_protocol_error(driver, b"HTTP/1.1 200 OK\r\nX-Evil: a\x01b\r\nContent-Length: 0\r\n\r\n")


def test_obs_fold_never_makes_a_new_header(driver: Driver) -> None:
    fold = b"HTTP/1.1 200 OK\r\nX-A: one\r\n Injected: yes\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(respond(fold, then_close=True)) as server, driver.transport() as transport:
        try:
            response = transport.send(request("GET", server.url))
        except RemoteProtocolError:
            return  # refused: fine
        assert "injected" not in response.headers
        response.read()


# -- 11: TLS bytes on a plain connection ------------------------------------------------------


def test_tls_bytes_where_a_status_line_should_be(driver: Driver) -> None:
    alert = b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03" + b"\x00" * 40
    error = expect_protocol_error(driver, alert, match="TLS")
    assert "https" in str(error)


# -- 12: truncation -----------------------------------------------------------------------


def test_truncated_body_then_close(driver: Driver) -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"
    script = respond(truncated, then_close=True)
    with ScriptedServer(script) as server:
        with driver.transport() as transport:
            response = transport.send(request("GET", server.url))
            with pytest.raises(RemoteProtocolError, match="received 3 of 10"):
                response.read()
            assert transport.pool.total == 0
            # The next request gets a new connection: the broken one was not reused.
            response = transport.send(request("GET", server.url))
            with pytest.raises(RemoteProtocolError):
                response.read()
        assert server.accepted == 2


def test_disconnect_before_any_response_on_a_fresh_connection(driver: Driver) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.close()

    with ScriptedServer(script) as server:
        with (
            driver.transport() as transport,
            pytest.raises(RemoteProtocolError, match="without sending a response"),
        ):
            transport.send(request("GET", server.url))
        assert server.accepted == 1  # a fresh connection: never retried


def test_reset_in_the_middle_of_the_body(driver: Driver) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(0.05)
        # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    with ScriptedServer(script) as server, driver.transport() as transport:
        response = transport.send(request("GET", server.url))
        with pytest.raises((ReadError, RemoteProtocolError)):
            response.read()
        assert transport.pool.total == 0


# -- 13: unbounded heads --------------------------------------------------------------------


def endless(prefix: bytes, repeated: bytes) -> Callable[[ScriptedConnection], None]:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(prefix)
        try:
            for _ in range(10_000):  # ~ tens of MiB at most: the client must give up long before
                conn.send(repeated)
        except OSError:
            return

    return script


def run_endless(driver: Driver, script: Callable[[ScriptedConnection], None], match: str) -> None:
    with ScriptedServer(script) as server, driver.transport() as transport:
        tracemalloc.start()
        try:
            with pytest.raises(RemoteProtocolError, match=match):
                transport.send(request("GET", server.url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 * 1024 * 1024
        assert transport.pool.total == 0


def test_endless_header_line(driver: Driver) -> None:
    run_endless(driver, endless(b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * 4096), "Header line longer")


def test_too_many_headers(driver: Driver) -> None:
    run_endless(driver, endless(b"HTTP/1.1 200 OK\r\n", b"X-Many: header\r\n" * 64), "header lines")


def test_endless_informational_responses(driver: Driver) -> None:
    run_endless(driver, endless(b"", b"HTTP/1.1 100 Continue\r\n\r\n" * 16), "informational")


# -- 14: a huge Content-Length with a tiny body -----------------------------------------------


def test_huge_content_length_memory_tracks_bytes_received(driver: Driver) -> None:
    lie = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nhello"
    with ScriptedServer(respond(lie, then_close=True)) as server, driver.transport() as transport:
        tracemalloc.start()
        try:
            response = transport.send(request("GET", server.url))
            with pytest.raises(RemoteProtocolError, match="received 5 of 10000000000"):
                response.read()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 * 1024 * 1024


# -- 20 and 21: keep-alive connections the server closed ------------------------------------


@pytest.mark.parametrize("reset", [False, True])
def test_idle_connection_closed_by_server_is_replaced(driver: Driver, reset: bool) -> None:
    closed = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(OK_RESPONSE)  # keep-alive, as far as the client can tell...
        time.sleep(0.05)
        if reset:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # ...then closed while idle
        closed.set()

    with ScriptedServer(script) as server:
        with driver.transport() as transport:
            assert transport.fetch(request("GET", server.url)) == b"hello"
            assert closed.wait(5)
            transport.idle(0.05)  # let the FIN (or RST) arrive
            if driver.is_async:
                # The loop watches idle connections: the closed one has already left the pool.
                assert transport.pool.total == 0
            assert transport.fetch(request("GET", server.url)) == b"hello"
        assert server.accepted == 2


def test_stray_bytes_on_an_idle_connection_drop_it(run: Runner[Any]) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(OK_RESPONSE)
        time.sleep(0.05)
        conn.send(OK_RESPONSE)  # a response nobody asked for
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            assert await fetch(transport, request("GET", server.url)) == b"hello"
            await asyncio.sleep(0.2)
            assert transport.pool.total == 0  # poisoned: closed, out of the pool
            assert await fetch(transport, request("GET", server.url)) == b"hello"

    with ScriptedServer(script) as server:
        run(main())
        assert server.accepted == 2


def test_eof_after_request_on_reused_connection_retries_idempotent(driver: Driver) -> None:
    with ScriptedServer(close_after_second_request) as server:
        with driver.transport() as transport:
            assert transport.fetch(request("GET", server.url)) == b"hello"
            response = transport.send(request("GET", server.url))
            assert response.read() == b"hello"
            assert "connect" in response.extensions["timing"]  # on a new connection
        assert server.accepted == 2


def test_eof_after_request_on_reused_connection_never_resends_post(driver: Driver) -> None:
    with ScriptedServer(close_after_second_request) as server:
        with driver.transport() as transport:
            assert transport.fetch(request("GET", server.url)) == b"hello"
            post = request("POST", server.url, content=b"payment")
            with pytest.raises(RemoteProtocolError, match="without sending a response"):
                transport.send(post)
            assert transport.pool.total == 0
        assert server.accepted == 1


def test_streaming_body_is_not_resent(driver: Driver) -> None:
    with ScriptedServer(close_after_second_request) as server:
        with driver.transport() as transport:
            transport.fetch(request("GET", server.url))
            with pytest.raises(RemoteProtocolError):
                transport.send(request("PUT", server.url, content=driver.body([b"one-shot"])))
        assert server.accepted == 1


# -- 22: read timeout on POST ----------------------------------------------------------------


def test_read_timeout_on_post_is_not_retried_and_frees_the_slot(driver: Driver) -> None:
    requests_seen: list[bytes] = []

    def script(conn: ScriptedConnection) -> None:
        while (received := conn.read_request()) is not None:
            requests_seen.append(received[0])  # and never answer

    limits = Limits(max_connections=1)
    with ScriptedServer(script) as server, driver.transport(limits) as transport:
        post = request("POST", server.url, read=0.2, content=b"x")
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match=r"Timed out reading the response after 0\.2 s"):
            transport.send(post)
        assert 0.15 < time.monotonic() - started < 2
        assert len(requests_seen) == 1
        assert transport.pool.in_use_count == 0
        assert transport.pool.total == 0
        with pytest.raises(ReadTimeout):  # the only slot is free again: no PoolTimeout
            transport.send(request("GET", server.url, read=0.1))


def test_read_timeout_in_the_middle_of_a_body(driver: Driver) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
        conn.recv()  # wait for the client to give up

    with ScriptedServer(script) as server, driver.transport() as transport:
        response = transport.send(request("GET", server.url, read=0.2))
        with pytest.raises(ReadTimeout):
            response.read()
        assert transport.pool.total == 0


def test_read_timeout_counts_from_each_wait(run: Runner[Any]) -> None:
    # A body dribbled in pieces each well within the read timeout is not a timeout, though the
    # whole takes longer than it: the deadline moves with every read (one timer, re-armed).
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
        for piece in (b"ab", b"cd", b"ef"):
            time.sleep(0.1)
            conn.send(piece)
        conn.read_request()

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response = await transport.handle_async_request(request("GET", server.url, read=0.25))
            assert await response.aread() == b"abcdef"

    with ScriptedServer(script) as server:
        run(main())


# -- 24: connect timeout, pool timeout --------------------------------------------------------


def test_connect_to_a_blackhole_is_connect_timeout(driver: Driver) -> None:
    with full_backlog_listener() as (host, port), driver.transport() as transport:
        timeout = {"connect": 0.2, "read": 5.0, "write": 5.0, "pool": 5.0}
        started = time.monotonic()
        with pytest.raises(ConnectTimeout, match="Timed out connecting"):
            transport.send(
                Request("GET", f"http://{host}:{port}/", extensions={"timeout": timeout})
            )
        assert time.monotonic() - started < 2
        assert transport.pool.total == 0


def test_full_pool_is_pool_timeout_then_recovers(driver: Driver) -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000
    with (
        ScriptedServer(keep_alive_server()) as server,
        ScriptedServer(respond(big)) as slow,
        driver.transport(Limits(max_connections=1)) as transport,
    ):
        # A small body arrives with its head and frees the connection at once (it stays idle,
        # to be evicted): hold the only slot with a response that is still streaming instead.
        assert transport.fetch(request("GET", server.url)) == b"hello"
        holding = transport.send(request("GET", slow.url))
        timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.2}
        started = time.monotonic()
        with pytest.raises(PoolTimeout, match="waiting for a connection"):
            transport.send(Request("GET", server.url, extensions={"timeout": timeout}))
        assert 0.15 < time.monotonic() - started < 2
        assert transport.pool.waiting_count == 0
        holding.close()
        assert transport.fetch(request("GET", server.url)) == b"hello"
        assert transport.pool.waiting_count == 0
        assert transport.pool.in_use_count == 0


def test_pool_timeouts_of_different_lengths(run: Runner[Any]) -> None:
    # Waiters share one deadline timer while their deadlines come in order; a shorter one
    # queued behind a longer one must still fire on time.
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000

    def waiting(pool: float) -> Request:
        timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": pool}
        return Request("GET", slow.url, extensions={"timeout": timeout})

    async def main() -> None:
        async with AsyncHTTPTransport(limits=Limits(max_connections=1)) as transport:
            holding = await transport.handle_async_request(request("GET", slow.url))
            started = time.monotonic()
            long_wait = asyncio.ensure_future(transport.handle_async_request(waiting(0.6)))
            await asyncio.sleep(0)
            short_wait = asyncio.ensure_future(transport.handle_async_request(waiting(0.2)))
            with pytest.raises(PoolTimeout):
                await short_wait
            assert time.monotonic() - started < 0.5
            with pytest.raises(PoolTimeout):
                await long_wait
            assert time.monotonic() - started >= 0.55
            await holding.aclose()
            assert transport.pool.waiting_count == 0
            assert transport.pool.total == 0

    with ScriptedServer(respond(big)) as slow:
        run(main())


def half_a_body_then_keep_alive(conn: ScriptedConnection) -> None:
    """Hold the first response open for 0.2 s halfway through its body; then answer all."""
    conn.read_request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
    time.sleep(0.2)
    conn.send(b"world")
    while conn.read_request() is not None:
        conn.send(OK_RESPONSE)


def test_waiting_thread_gets_the_released_connection() -> None:
    limits = Limits(max_connections=1)
    results: list[bytes] = []
    with (
        ScriptedServer(half_a_body_then_keep_alive) as server,
        HTTPTransport(limits=limits) as transport,
    ):
        first = transport.handle_request(request("GET", server.url))
        waiter = threading.Thread(
            target=lambda: results.append(
                transport.handle_request(request("GET", server.url)).read()
            )
        )
        waiter.start()
        assert first.read() == b"helloworld"
        waiter.join(5)
        assert results == [b"hello"]
        assert server.accepted == 1  # the waiter reused the released connection


def test_waiting_task_gets_the_released_connection(run: Runner[Any]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(limits=Limits(max_connections=1)) as transport:
            first = await transport.handle_async_request(request("GET", server.url))
            waiter = asyncio.ensure_future(fetch(transport, request("GET", server.url)))
            await asyncio.sleep(0.01)
            assert transport.pool.waiting_count == 1
            assert await first.aread() == b"helloworld"
            assert await waiter == b"hello"

    with ScriptedServer(half_a_body_then_keep_alive) as server:
        run(main())
        assert server.accepted == 1  # the waiter reused the released connection


def test_queued_request_refused_before_writing_releases_the_connection(
    run: Runner[Any],
) -> None:
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"

    def script(conn: ScriptedConnection) -> None:
        if conn.server.accepted == 1:
            conn.read_request()
            conn.send(partial)
            time.sleep(0.1)
            conn.send(b"world")
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    async def main() -> None:
        from zephyr import LocalProtocolError

        async with AsyncHTTPTransport(limits=Limits(max_connections=1)) as transport:
            first = await transport.handle_async_request(request("GET", server.url))
            bad = request("GET", server.url, headers={"Content-Length": "5"})  # and no body
            waiter = asyncio.ensure_future(transport.handle_async_request(bad))
            await asyncio.sleep(0.01)
            assert await first.aread() == b"helloworld"
            with pytest.raises(LocalProtocolError):
                await waiter
            assert transport.pool.in_use_count == 0
            assert await fetch(transport, request("GET", server.url)) == b"hello"

    with ScriptedServer(script) as server:
        run(main())


# -- writes ---------------------------------------------------------------------------------


def test_write_timeout_when_the_server_does_not_read(driver: Driver) -> None:
    stop = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        stop.wait(5)  # never read

    body = b"x" * (48 * 1024 * 1024)
    with ScriptedServer(script) as server, driver.transport() as transport:
        timeout = {"connect": 5.0, "read": 5.0, "write": 0.3, "pool": 5.0}
        with pytest.raises(WriteTimeout, match="Timed out writing"):
            transport.send(
                Request("POST", server.url, content=body, extensions={"timeout": timeout})
            )
        stop.set()
        assert transport.pool.total == 0


def test_early_response_while_uploading_is_returned(driver: Driver) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_until(b"\r\n\r\n")
        conn.send(
            b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
            b"too big!"
        )
        time.sleep(0.1)
        conn.sock.shutdown(socket.SHUT_WR)
        while conn.recv():  # drain, so that our close is a FIN and not a RST
            pass

    body = driver.body(b"x" * (1024 * 1024) for _ in range(64))
    with ScriptedServer(script) as server, driver.transport() as transport:
        response = transport.send(request("POST", server.url, content=body))
        assert response.status_code == 413
        assert response.read() == b"too big!"
        assert transport.pool.total == 0


def test_write_to_a_server_that_reset_is_a_write_error_on_a_fresh_connection(
    run: Runner[Any],
) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_until(b"\r\n\r\n")
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"x" * (1024 * 1024)
            await asyncio.sleep(0.001)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            with pytest.raises((WriteError, ReadError, RemoteProtocolError)):
                await transport.handle_async_request(request("POST", server.url, content=body()))
            assert transport.pool.total == 0

    with ScriptedServer(script) as server:
        run(main())
