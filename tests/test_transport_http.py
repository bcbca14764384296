"""HTTPTransport end to end: the test server, and scripted raw-socket servers."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from scripted_server import (
    OK_RESPONSE,
    ScriptedConnection,
    ScriptedServer,
    keep_alive_server,
    respond,
)
from zephyr import (
    ConnectError,
    Limits,
    Request,
    UnsupportedProtocol,
)
from zephyr._transports.http import HTTPTransport
from zephyr.testing import TestServer

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    with TestServer() as test_server:
        yield test_server


def get(url: str, **extensions: object) -> Request:
    return Request("GET", url, extensions={"timeout": TIMEOUTS, **extensions})


# -- round trips against the test server ----------------------------------------------------


def test_get_round_trip(server: TestServer) -> None:
    with HTTPTransport() as transport:
        response = transport.handle_request(get(server.url + "/get?a=1"))
        assert response.status_code == 200
        assert response.extensions["http_version"] == b"HTTP/1.1"
        assert json.loads(response.read())["args"] == {"a": "1"}
        timing = response.extensions["timing"]
        assert {"connect", "request_sent", "first_byte"} <= set(timing)
        assert all(value >= 0 for value in timing.values())


def test_post_round_trip(server: TestServer) -> None:
    with HTTPTransport() as transport:
        request = Request("POST", server.url + "/post", content=b"hello, world")
        response = transport.handle_request(request)
        assert json.loads(response.read())["data"] == "hello, world"
        request = Request("POST", server.url + "/post", json={"a": [1, 2]})
        assert json.loads(transport.handle_request(request).read())["json"] == {"a": [1, 2]}
        assert transport._pool.total == 1  # both on one connection


def test_chunked_upload_of_a_generator(server: TestServer) -> None:
    def body() -> Iterator[bytes]:
        for index in range(5):
            yield f"part {index};".encode()

    with HTTPTransport() as transport:
        request = Request("POST", server.url + "/post", content=body())
        assert request.headers["transfer-encoding"] == "chunked"
        response = transport.handle_request(request)
        assert json.loads(response.read())["data"] == "part 0;part 1;part 2;part 3;part 4;"


def test_download_10_mib_in_chunks(server: TestServer) -> None:
    size = 10 * 1024 * 1024
    expected = random.Random(7).randbytes(size)
    with HTTPTransport() as transport:
        response = transport.handle_request(get(f"{server.url}/bytes/{size}?seed=7"))
        assert response.headers["content-length"] == str(size)
        digest = hashlib.sha256()
        chunks = 0
        for chunk in response.iter_raw():
            assert 0 < len(chunk) <= 256 * 1024
            digest.update(chunk)
            chunks += 1
        assert digest.digest() == hashlib.sha256(expected).digest()
        assert chunks > 1
        assert transport._pool.idle_count == 1  # read to the end: back in the pool


def test_chunked_download(server: TestServer) -> None:
    with HTTPTransport() as transport:
        response = transport.handle_request(
            get(f"{server.url}/stream-bytes/100000?seed=3&chunk_size=1000")
        )
        assert response.headers.get("transfer-encoding") == "chunked"
        assert response.read() == random.Random(3).randbytes(100000)


def test_status_codes_and_bodyless_statuses(server: TestServer) -> None:
    with HTTPTransport() as transport:
        for code in (204, 304, 404, 500):
            response = transport.handle_request(get(f"{server.url}/status/{code}"))
            assert response.status_code == code
            body = response.read()
            if code in (204, 304):
                assert body == b""
        assert transport._pool.total == 1


# -- keep-alive and connection handling (scripted servers) -----------------------------------


def test_keep_alive_reuses_one_connection() -> None:
    with ScriptedServer(keep_alive_server()) as scripted, HTTPTransport() as transport:
        for index in range(5):
            response = transport.handle_request(get(scripted.url))
            assert response.read() == b"hello"
            timing = response.extensions["timing"]
            assert ("connect" in timing) == (index == 0)
        assert scripted.accepted == 1
        assert (transport._pool.total, transport._pool.idle_count) == (1, 1)


def test_small_response_is_read_whole_and_its_connection_is_back_at_once() -> None:
    with ScriptedServer(keep_alive_server()) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(get(scripted.url))
        # The whole response came with its head: the connection is idle before any read.
        assert (transport._pool.total, transport._pool.idle_count) == (1, 1)
        assert response.read() == b"hello"
        assert response.is_closed
        response.close()  # after the end: nothing to do, the connection stays pooled
        assert transport._pool.idle_count == 1
        assert transport.handle_request(get(scripted.url)).read() == b"hello"
        assert scripted.accepted == 1


def test_body_split_over_reads_is_iterated_in_order() -> None:
    def script(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello")
            time.sleep(0.05)
            conn.send(b" world")

    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        for _ in range(2):
            response = transport.handle_request(get(scripted.url))
            assert transport._pool.idle_count == 0  # the body is still on the wire
            assert list(response.iter_raw()) == [b"hello", b" world"]
            assert transport._pool.idle_count == 1
        assert scripted.accepted == 1


def test_network_stream_of_a_pooled_connection() -> None:
    with ScriptedServer(keep_alive_server()) as scripted, HTTPTransport() as transport:
        first = transport.handle_request(get(scripted.url))
        second = transport.handle_request(get(scripted.url))
        stream = first.extensions["network_stream"]
        # One connection, one network stream: it describes the connection, not a response.
        assert second.extensions["network_stream"] is stream
        host, port = scripted.url.split("//")[1].rstrip("/").split(":")
        assert stream.get_extra_info("server_addr") == (host, int(port))
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("is_readable") is False
        assert first.read() == second.read() == b"hello"


@pytest.mark.parametrize("chunked", [False, True])
def test_large_reads_are_parsed_from_the_read_buffer(chunked: bool) -> None:
    # Reads over 64 KiB go to the parser as views of the connection's buffer, which the next
    # read overwrites: every byte must still come out right, response after response.
    bodies = [random.Random(seed).randbytes(3_000_000) for seed in range(3)]

    def script(conn: ScriptedConnection) -> None:
        for body in bodies:
            if conn.read_request() is None:
                return
            if chunked:
                pieces = [body[i : i + 200_000] for i in range(0, len(body), 200_000)]
                framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
                conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed)
            else:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        for body in bodies:
            response = transport.handle_request(get(scripted.url))
            chunks = list(response.iter_raw())
            assert all(type(chunk) is bytes for chunk in chunks)
            assert b"".join(chunks) == body
        assert scripted.accepted == 1


def test_stray_bytes_on_an_idle_connection_drop_it() -> None:
    # A response nobody asked for, sent while the connection was idle, must not be taken for
    # the answer to the next request: the connection picked from the pool is looked at.
    stray_sent = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        if not stray_sent.is_set():
            conn.read_request()
            conn.send(OK_RESPONSE)
            time.sleep(0.05)
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray")
            stray_sent.set()
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        assert transport.handle_request(get(server.url)).read() == b"hello"
        assert stray_sent.wait(5)
        time.sleep(0.05)  # let the bytes arrive
        assert transport.handle_request(get(server.url)).read() == b"hello"
        assert transport.handle_request(
            Request("POST", server.url, content=b"x", extensions={"timeout": TIMEOUTS})
        ).read() == (b"hello")
        assert server.accepted == 2


def test_idle_connection_closed_by_server_is_replaced_for_post() -> None:
    # RELIABILITY.md 20 for a request that may not be sent twice: the closed connection is
    # found before the POST goes out, so the POST is sent once, on a new connection.
    closed = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        if conn.read_request() is None:
            return
        conn.send(OK_RESPONSE)
        if not closed.is_set():
            time.sleep(0.05)
            conn.close()  # the first connection: closed while idle
            closed.set()
            return
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    with ScriptedServer(script) as server, HTTPTransport() as transport:
        assert transport.handle_request(get(server.url)).read() == b"hello"
        assert closed.wait(5)
        time.sleep(0.05)  # let the FIN arrive
        post = Request("POST", server.url, content=b"payment", extensions={"timeout": TIMEOUTS})
        assert transport.handle_request(post).read() == b"hello"
        assert server.accepted == 2


def test_head_with_content_length_does_not_hang() -> None:
    script = respond(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )
    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(Request("HEAD", scripted.url))
        assert response.headers["content-length"] == "1000"
        assert response.read() == b""
        assert transport.handle_request(get(scripted.url)).read() == b"ok"
        assert scripted.accepted == 1


def test_informational_responses_are_skipped() -> None:
    script = respond(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
    )
    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(get(scripted.url))
        assert response.status_code == 200
        assert response.read() == b"final"


def test_switching_protocols_hands_over_the_socket() -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly"
        )
        while data := conn.recv():
            conn.send(data.upper())

    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        request = Request("GET", scripted.url, headers={"Upgrade": "echo", "Connection": "Upgrade"})
        response = transport.handle_request(request)
        assert response.status_code == 101
        stream = response.extensions["network_stream"]
        assert stream.read(1024) == b"early"
        stream.write(b"ping")
        assert stream.read(1024, timeout=5) == b"PING"
        assert transport._pool.total == 0  # the socket left the pool
        stream.close()


def test_response_closed_early_closes_its_connection() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 3_000_000
    with ScriptedServer(keep_alive_server(big)) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(get(scripted.url))
        next(response.iter_raw())
        response.close()
        assert transport._pool.total == 0
        assert len(transport.handle_request(get(scripted.url)).read()) == 3_000_000
        assert scripted.accepted == 2


def test_http10_response_closes_the_connection() -> None:
    script = respond(b"HTTP/1.0 200 Fine\r\n\r\nuntil close", then_close=True)
    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(get(scripted.url))
        assert response.read() == b"until close"
        assert response.extensions["http_version"] == b"HTTP/1.0"
        assert response.extensions["reason_phrase"] == b"Fine"
        assert transport._pool.total == 0


def test_large_bytes_upload() -> None:
    def script(conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            digest = hashlib.sha256(request[1]).hexdigest().encode()
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + digest)

    body = random.Random(1).randbytes(5 * 1024 * 1024 + 123)  # 1 MiB write slices, and a rest
    with ScriptedServer(script) as scripted, HTTPTransport() as transport:
        response = transport.handle_request(Request("POST", scripted.url, content=body))
        assert response.read() == hashlib.sha256(body).hexdigest().encode()
        small = Request("POST", scripted.url, content=b"tiny")
        expected = hashlib.sha256(b"tiny").hexdigest().encode()
        assert transport.handle_request(small).read() == expected


# -- where to connect ---------------------------------------------------------------------


def test_unix_domain_socket() -> None:
    with (
        ScriptedServer(keep_alive_server(), family=socket.AF_UNIX) as scripted,
        HTTPTransport(uds=scripted.uds) as transport,
    ):
        for _ in range(2):
            response = transport.handle_request(get("http://localhost/anything"))
            assert response.read() == b"hello"
        assert scripted.accepted == 1


def test_unix_socket_request_head() -> None:
    heads: list[bytes] = []

    def script(conn: ScriptedConnection) -> None:
        request = conn.read_request()
        assert request is not None
        heads.append(request[0])
        conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")

    with (
        ScriptedServer(script, family=socket.AF_UNIX) as scripted,
        HTTPTransport(uds=scripted.uds) as transport,
    ):
        transport.handle_request(get("http://example.org/path?q=1")).read()
    assert heads[0].startswith(b"GET /path?q=1 HTTP/1.1\r\nHost: example.org\r\n")


def test_local_address() -> None:
    with (
        ScriptedServer(keep_alive_server()) as scripted,
        HTTPTransport(local_address="127.0.0.2") as transport,
    ):
        transport.handle_request(get(scripted.url)).read()
        assert scripted.peer_addresses[0][0] == "127.0.0.2"  # type: ignore[index]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6() -> None:
    with (
        ScriptedServer(keep_alive_server(), family=socket.AF_INET6) as scripted,
        HTTPTransport() as transport,
    ):
        assert scripted.url.startswith("http://[::1]:")
        assert transport.handle_request(get(scripted.url)).read() == b"hello"


def test_socket_options_are_applied() -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    with (
        ScriptedServer(keep_alive_server()) as scripted,
        HTTPTransport(socket_options=options) as transport,
    ):
        response = transport.handle_request(get(scripted.url))
        sock = response.extensions["network_stream"].get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        response.read()


# -- refusals and errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/", "unsupported protocol 'ftp://'"),
        ("/relative/path", "missing an 'http://' or 'https://' protocol"),
        ("http:///path", "missing a host"),
    ],
)
def test_unsupported_urls(url: str, message: str) -> None:
    with HTTPTransport() as transport, pytest.raises(UnsupportedProtocol, match=message):
        transport.handle_request(get(url))


def refused_port() -> int:
    # Bound but not listening: a connect is refused at once, and nothing leaves the host.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused() -> None:
    port = refused_port()
    with HTTPTransport() as transport, pytest.raises(ConnectError) as info:
        transport.handle_request(get(f"http://127.0.0.1:{port}/"))
    assert "refused" in str(info.value).lower()
    assert f"127.0.0.1:{port}" in str(info.value)
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert transport._pool.total == 0  # the slot went back


class CountingTransport(HTTPTransport):
    attempts = 0

    def _connect(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        self.attempts += 1
        return super()._connect(*args, **kwargs)  # type: ignore[arg-type]


def test_retries_count_connection_attempts() -> None:
    port = refused_port()
    transport = CountingTransport(retries=3)
    transport._retry_backoff_factor = 0.01
    with transport, pytest.raises(ConnectError):
        transport.handle_request(get(f"http://127.0.0.1:{port}/"))
    assert transport.attempts == 4
    assert transport._pool.total == 0


def test_retry_delays_grow_exponentially() -> None:
    transport = HTTPTransport(retries=10)
    assert [transport._retry_delay(n) for n in range(1, 9)] == [0, 0.5, 1, 2, 4, 8, 8, 8]
    transport._retry_backoff_factor = 0.05
    port = refused_port()
    started = time.monotonic()
    transport._retries = 3
    with pytest.raises(ConnectError):
        transport.handle_request(get(f"http://127.0.0.1:{port}/"))
    assert time.monotonic() - started >= 0.05 + 0.1


def test_no_retries_by_default() -> None:
    transport = CountingTransport()
    with transport, pytest.raises(ConnectError):
        transport.handle_request(get(f"http://127.0.0.1:{refused_port()}/"))
    assert transport.attempts == 1


def test_closed_transport_refuses_requests() -> None:
    with ScriptedServer(keep_alive_server()) as scripted:
        transport = HTTPTransport()
        open_response = transport.handle_request(get(scripted.url))
        transport.close()
        # Every connection is closed, the one still in use included.
        assert open_response.extensions["network_stream"].get_extra_info("socket").fileno() == -1
        with pytest.raises(RuntimeError, match="transport has been closed"):
            transport.handle_request(get(scripted.url))
        transport.close()  # twice: harmless


def test_in_use_connection_closed_by_close() -> None:
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"  # 5 bytes short: stays open
    with ScriptedServer(keep_alive_server(body)) as scripted:
        transport = HTTPTransport()
        response = transport.handle_request(get(scripted.url))
        transport.close()
        with pytest.raises(Exception) as info:
            response.read()
        assert type(info.value).__module__ == "zephyr"


def test_debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger="zephyr"),
        ScriptedServer(keep_alive_server()) as scripted,
        HTTPTransport() as transport,
    ):
        transport.handle_request(get(scripted.url)).read()
        transport.handle_request(get(scripted.url)).read()
    messages = [record.getMessage() for record in caplog.records if record.name == "zephyr"]
    assert any(message.startswith("connected") for message in messages)
    assert any(message.startswith("reusing") for message in messages)
    assert any("transport closed" in message for message in messages)


# -- threads ------------------------------------------------------------------------------


def test_many_threads_share_one_transport() -> None:
    limits = Limits(max_connections=4, max_keepalive_connections=4)
    results: list[bytes] = []
    errors: list[BaseException] = []
    with (
        ScriptedServer(keep_alive_server()) as scripted,
        HTTPTransport(limits=limits) as transport,
    ):

        def work() -> None:
            try:
                for _ in range(25):
                    results.append(transport.handle_request(get(scripted.url)).read())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert results == [b"hello"] * 16 * 25
        assert scripted.peak_open <= 4
        assert transport._pool.total <= 4
        assert transport._pool.in_use_count == 0
