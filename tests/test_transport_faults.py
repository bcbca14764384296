"""Hostile and broken servers against HTTPTransport: RELIABILITY.md 8-14 and 20-24 over sockets.

Each case is a scripted raw-socket server. The full parser matrix lives in the protocol core's
tests; here a representative set shows that every fault surfaces as a zephyr exception over a
real socket, and that a faulty connection never goes back to the pool.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import Iterator

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
from zephyr import (
    ConnectTimeout,
    Limits,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Request,
    WriteTimeout,
)
from zephyr._transports.http import HTTPTransport


def request(method: str, url: str, *, read: float = 5.0, **kwargs: object) -> Request:
    timeout = {"connect": 5.0, "read": read, "write": 5.0, "pool": 5.0}
    return Request(method, url, extensions={"timeout": timeout}, **kwargs)  # type: ignore[arg-type]


def expect_protocol_error(response_bytes: bytes, match: str | None = None) -> RemoteProtocolError:
    """Serve `response_bytes` then close; the transport must raise and keep no connection."""
    with (
        ScriptedServer(respond(response_bytes, then_close=True)) as server,
        HTTPTransport() as transport,
    ):
        with pytest.raises(RemoteProtocolError, match=match) as info:
            transport.handle_request(request("GET", server.url)).read()
        assert transport._pool.total == 0
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
def test_malformed_chunked_body(chunked_body: bytes) -> None:
    expect_protocol_error(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body)


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
def test_bad_framing_headers(framing: bytes) -> None:
    expect_protocol_error(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\nhello")


def test_control_character_in_header_value() -> None:
    expect_protocol_error(b"HTTP/1.1 200 OK\r\nX-Evil: a\x01b\r\nContent-Length: 0\r\n\r\n")


def test_obs_fold_never_makes_a_new_header() -> None:
    fold = b"HTTP/1.1 200 OK\r\nX-A: one\r\n Injected: yes\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(respond(fold, then_close=True)) as server, HTTPTransport() as transport:
        try:
            response = transport.handle_request(request("GET", server.url))
        except RemoteProtocolError:
            return  # refused: fine
        assert "injected" not in response.headers
        response.read()


# -- 11: TLS bytes on a plain connection ------------------------------------------------------


def test_tls_bytes_where_a_status_line_should_be() -> None:
    alert = b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03" + b"\x00" * 40
    error = expect_protocol_error(alert, match="TLS")
    assert "https" in str(error)


# -- 12: truncation -----------------------------------------------------------------------


def test_truncated_body_then_close() -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"
    script = respond(truncated, then_close=True)
    with ScriptedServer(script) as server, HTTPTransport() as transport:
        response = transport.handle_request(request("GET", server.url))
        with pytest.raises(RemoteProtocolError, match="received 3 of 10"):
            response.read()
        assert transport._pool.total == 0
        # The next request gets a new connection: the broken one was not reused.
        response = transport.handle_request(request("GET", server.url))
        with pytest.raises(RemoteProtocolError):
            response.read()
        assert server.accepted == 2


def test_disconnect_before_any_response_on_a_fresh_connection() -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.close()

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        with pytest.raises(RemoteProtocolError, match="without sending a response"):
            transport.handle_request(request("GET", server.url))
        assert server.accepted == 1  # a fresh connection: never retried


def test_reset_in_the_middle_of_the_body() -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        time.sleep(0.05)
        # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        response = transport.handle_request(request("GET", server.url))
        with pytest.raises((ReadError, RemoteProtocolError)):
            response.read()
        assert transport._pool.total == 0


# -- 13: unbounded heads --------------------------------------------------------------------


def endless(prefix: bytes, repeated: bytes) -> object:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(prefix)
        try:
            for _ in range(10_000):  # ~ tens of MiB at most: the client must give up long before
                conn.send(repeated)
        except OSError:
            return

    return script


def run_endless(script: object, match: str) -> None:
    with ScriptedServer(script) as server, HTTPTransport() as transport:  # type: ignore[arg-type]
        tracemalloc.start()
        try:
            with pytest.raises(RemoteProtocolError, match=match):
                transport.handle_request(request("GET", server.url))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 * 1024 * 1024
        assert transport._pool.total == 0


def test_endless_header_line() -> None:
    run_endless(endless(b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * 4096), "Header line longer")


def test_too_many_headers() -> None:
    run_endless(endless(b"HTTP/1.1 200 OK\r\n", b"X-Many: header\r\n" * 64), "header lines")


def test_endless_informational_responses() -> None:
    run_endless(endless(b"", b"HTTP/1.1 100 Continue\r\n\r\n" * 16), "informational")


# -- 14: a huge Content-Length with a tiny body -----------------------------------------------


def test_huge_content_length_memory_tracks_bytes_received() -> None:
    lie = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nhello"
    with (
        ScriptedServer(respond(lie, then_close=True)) as server,
        HTTPTransport() as transport,
    ):
        tracemalloc.start()
        try:
            response = transport.handle_request(request("GET", server.url))
            with pytest.raises(RemoteProtocolError, match="received 5 of 10000000000"):
                response.read()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 * 1024 * 1024


# -- 20 and 21: keep-alive connections the server closed ------------------------------------


@pytest.mark.parametrize("reset", [False, True])
def test_idle_connection_closed_by_server_is_replaced(reset: bool) -> None:
    closed = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(OK_RESPONSE)  # keep-alive, as far as the client can tell...
        time.sleep(0.05)
        if reset:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # ...then closed while idle
        closed.set()

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        assert closed.wait(5)
        time.sleep(0.05)  # let the FIN (or RST) arrive
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        assert server.accepted == 2


def test_eof_after_request_on_reused_connection_retries_idempotent() -> None:
    with ScriptedServer(close_after_second_request) as server, HTTPTransport() as transport:
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        assert server.accepted == 2


def test_eof_after_request_on_reused_connection_never_resends_post() -> None:
    with ScriptedServer(close_after_second_request) as server, HTTPTransport() as transport:
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        post = request("POST", server.url, content=b"payment")
        with pytest.raises(RemoteProtocolError, match="without sending a response"):
            transport.handle_request(post)
        assert server.accepted == 1
        assert transport._pool.total == 0


def test_streaming_body_is_not_resent() -> None:
    def body() -> Iterator[bytes]:
        yield b"one-shot"

    with ScriptedServer(close_after_second_request) as server, HTTPTransport() as transport:
        transport.handle_request(request("GET", server.url)).read()
        with pytest.raises(RemoteProtocolError):
            transport.handle_request(request("PUT", server.url, content=body()))
        assert server.accepted == 1


# -- 22: read timeout on POST ----------------------------------------------------------------


def test_read_timeout_on_post_is_not_retried_and_frees_the_slot() -> None:
    requests_seen: list[bytes] = []

    def script(conn: ScriptedConnection) -> None:
        while (received := conn.read_request()) is not None:
            requests_seen.append(received[0])  # and never answer

    limits = Limits(max_connections=1)
    with ScriptedServer(script) as server, HTTPTransport(limits=limits) as transport:
        post = request("POST", server.url, read=0.2, content=b"x")
        with pytest.raises(ReadTimeout, match="Timed out reading"):
            transport.handle_request(post)
        assert len(requests_seen) == 1
        assert transport._pool.in_use_count == 0
        assert transport._pool.total == 0
        with pytest.raises(ReadTimeout):  # the only slot is free again: no PoolTimeout
            transport.handle_request(request("GET", server.url, read=0.1))


def test_read_timeout_in_the_middle_of_a_body() -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
        conn.recv()  # wait for the client to give up

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        response = transport.handle_request(request("GET", server.url, read=0.2))
        with pytest.raises(ReadTimeout):
            response.read()
        assert transport._pool.total == 0


# -- 24: connect timeout, pool timeout --------------------------------------------------------


def test_connect_to_a_blackhole_is_connect_timeout() -> None:
    with full_backlog_listener() as (host, port), HTTPTransport() as transport:
        timeout = {"connect": 0.2, "read": 5.0, "write": 5.0, "pool": 5.0}
        started = time.monotonic()
        with pytest.raises(ConnectTimeout, match="Timed out connecting"):
            transport.handle_request(
                Request("GET", f"http://{host}:{port}/", extensions={"timeout": timeout})
            )
        assert time.monotonic() - started < 2
        assert transport._pool.total == 0


def test_full_pool_is_pool_timeout_then_recovers() -> None:
    limits = Limits(max_connections=1)
    with (
        ScriptedServer(keep_alive_server()) as server,
        HTTPTransport(limits=limits) as transport,
    ):
        held = transport.handle_request(request("GET", server.url))  # body unread... but
        # a small body arrives with its head and frees the connection at once: hold a slot
        # with a response that is still streaming instead.
        held.read()
        big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000
        with ScriptedServer(respond(big)) as slow:
            slow_url = slow.url
            holding = transport.handle_request(request("GET", slow_url))
            timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.2}
            with pytest.raises(PoolTimeout, match="waiting for a connection"):
                transport.handle_request(
                    Request("GET", server.url, extensions={"timeout": timeout})
                )
            holding.close()
        assert transport.handle_request(request("GET", server.url)).read() == b"hello"
        assert transport._pool.waiting_count == 0


def test_waiting_thread_gets_the_released_connection() -> None:
    limits = Limits(max_connections=1)
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(partial)
        time.sleep(0.2)
        conn.send(b"world")
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    results: list[bytes] = []
    with ScriptedServer(script) as server, HTTPTransport(limits=limits) as transport:
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


# -- writes ---------------------------------------------------------------------------------


def test_write_timeout_when_the_server_does_not_read() -> None:
    stop = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        stop.wait(5)  # never read

    body = b"x" * (48 * 1024 * 1024)
    with ScriptedServer(script) as server, HTTPTransport() as transport:
        timeout = {"connect": 5.0, "read": 5.0, "write": 0.3, "pool": 5.0}
        with pytest.raises(WriteTimeout, match="Timed out writing"):
            transport.handle_request(
                Request("POST", server.url, content=body, extensions={"timeout": timeout})
            )
        stop.set()
        assert transport._pool.total == 0


def test_early_response_while_uploading_is_returned() -> None:
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

    def body() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * (1024 * 1024)

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        response = transport.handle_request(request("POST", server.url, content=body()))
        assert response.status_code == 413
        assert response.read() == b"too big!"
        assert transport._pool.total == 0
