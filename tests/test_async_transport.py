"""AsyncHTTPTransport end to end: the test server, scripted raw-socket servers, TLS.

Every test runs on asyncio's default event loop and, when uvloop is importable, on uvloop
(the `run` fixture). The tests mirror the blocking transport's (test_transport_http.py,
test_ssl.py): same behaviour, same errors, same messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from scripted_server import ScriptedConnection, ScriptedServer, keep_alive_server, respond
from zephyr import ConnectError, ConnectTimeout, Limits, Request, Response, UnsupportedProtocol
from zephyr._async.connection import READ_HIGH_WATER
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr.testing import TestServer, ca_bundle_path, server_ssl_context

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


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    with TestServer() as test_server:
        yield test_server


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TestServer]:
    with TestServer(tls=True) as test_server:
        yield test_server


def get(url: str, **extensions: object) -> Request:
    return Request("GET", url, extensions={"timeout": TIMEOUTS, **extensions})


async def send(transport: AsyncHTTPTransport, request: Request) -> tuple[Response, bytes]:
    response = await transport.handle_async_request(request)
    return response, await response.aread()


# -- round trips against the test server ----------------------------------------------------


def test_get_round_trip(run: Runner[None], server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(transport, get(server.url + "/get?a=1"))
            assert response.status_code == 200
            assert response.extensions["http_version"] == b"HTTP/1.1"
            assert isinstance(response.extensions["reason_phrase"], bytes)
            assert json.loads(body)["args"] == {"a": "1"}
            timing = response.extensions["timing"]
            assert {"connect", "request_sent", "first_byte"} <= set(timing)
            assert all(value >= 0 for value in timing.values())
            assert (transport.pool.total, transport.pool.idle_count) == (1, 1)

    run(main())


def test_echo_id_header_and_body(run: Runner[None], server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            responses = await asyncio.gather(
                *(send(transport, get(f"{server.url}/echo-id/{n}")) for n in range(40))
            )
            for n, (response, body) in enumerate(responses):
                assert response.headers["x-echo-id"] == str(n)
                assert json.loads(body) == {"id": str(n)}
            assert transport.pool.in_use_count == 0

    run(main())


def test_post_round_trip(run: Runner[None], server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            request = Request("POST", server.url + "/post", content=b"hello, world")
            _, body = await send(transport, request)
            assert json.loads(body)["data"] == "hello, world"
            request = Request("POST", server.url + "/post", json={"a": [1, 2]})
            _, body = await send(transport, request)
            assert json.loads(body)["json"] == {"a": [1, 2]}
            assert transport.pool.total == 1  # both on one connection

    run(main())


def test_chunked_upload_of_an_async_generator(run: Runner[None], server: TestServer) -> None:
    async def body() -> AsyncIterator[bytes]:
        for index in range(5):
            yield f"part {index};".encode()

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            request = Request("POST", server.url + "/post", content=body())
            assert request.headers["transfer-encoding"] == "chunked"
            _, data = await send(transport, request)
            assert json.loads(data)["data"] == "part 0;part 1;part 2;part 3;part 4;"

    run(main())


def test_sync_body_is_refused(run: Runner[None], server: TestServer) -> None:
    def body() -> Iterator[bytes]:
        yield b"sync"

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            request = Request("POST", server.url + "/post", content=body())
            with pytest.raises(RuntimeError, match="sync request body with an async transport"):
                await transport.handle_async_request(request)
            assert transport.pool.total == 0

    run(main())


def test_download_10_mib_in_chunks(run: Runner[None], server: TestServer) -> None:
    size = 10 * 1024 * 1024
    expected = random.Random(7).randbytes(size)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response = await transport.handle_async_request(
                get(f"{server.url}/bytes/{size}?seed=7")
            )
            assert response.headers["content-length"] == str(size)
            digest = hashlib.sha256()
            chunks = 0
            async for chunk in response.aiter_raw():
                assert chunk
                digest.update(chunk)
                chunks += 1
            assert digest.digest() == hashlib.sha256(expected).digest()
            assert chunks > 1
            assert transport.pool.idle_count == 1  # read to the end: back in the pool

    run(main())


def test_chunked_download(run: Runner[None], server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(
                transport, get(f"{server.url}/stream-bytes/100000?seed=3&chunk_size=1000")
            )
            assert response.headers.get("transfer-encoding") == "chunked"
            assert body == random.Random(3).randbytes(100000)

    run(main())


def test_status_codes_and_bodyless_statuses(run: Runner[None], server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            for code in (204, 304, 404, 500):
                response, body = await send(transport, get(f"{server.url}/status/{code}"))
                assert response.status_code == code
                if code in (204, 304):
                    assert body == b""
            assert transport.pool.total == 1

    run(main())


# -- backpressure ---------------------------------------------------------------------------


def test_slow_consumer_of_a_large_body_keeps_memory_bounded(run: Runner[None]) -> None:
    size = 50 * 1024 * 1024
    piece = b"x" * (1024 * 1024)

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        for _ in range(size // len(piece)):
            conn.send(piece)
        conn.read_request()  # keep-alive: wait for the client to leave

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            tracemalloc.start()
            try:
                response = await transport.handle_async_request(get(scripted.url))
                stream: Any = response.stream
                connection = stream._connection
                received = peak_buffered = 0
                paused_seen = False
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received % (4 * 1024 * 1024) < len(chunk):
                        await asyncio.sleep(0.02)  # a slow consumer: the server runs ahead
                        # What piled up while the consumer dawdled, before it takes it.
                        peak_buffered = max(peak_buffered, stream.buffered)
                        paused_seen = paused_seen or connection._reading_paused
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert received == size
            assert paused_seen  # reading was paused while the consumer lagged
            assert peak_buffered <= READ_HIGH_WATER + 1024 * 1024
            assert peak < 12 * 1024 * 1024  # far below the 50 MiB the server pushed
            assert transport.pool.idle_count == 1

    with ScriptedServer(script) as scripted:
        run(main())


# -- keep-alive and connection handling (scripted servers) -----------------------------------


def test_keep_alive_reuses_one_connection(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            for index in range(5):
                response, body = await send(transport, get(scripted.url))
                assert body == b"hello"
                assert ("connect" in response.extensions["timing"]) == (index == 0)
            assert (transport.pool.total, transport.pool.idle_count) == (1, 1)

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())
        assert scripted.accepted == 1


def test_head_with_content_length_does_not_hang(run: Runner[None]) -> None:
    script = respond(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    )

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(transport, Request("HEAD", scripted.url))
            assert response.headers["content-length"] == "1000"
            assert body == b""
            assert (await send(transport, get(scripted.url)))[1] == b"ok"

    with ScriptedServer(script) as scripted:
        run(main())
        assert scripted.accepted == 1


def test_informational_responses_are_skipped(run: Runner[None]) -> None:
    script = respond(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
    )

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(transport, get(scripted.url))
            assert response.status_code == 200
            assert body == b"final"

    with ScriptedServer(script) as scripted:
        run(main())


def test_switching_protocols_hands_over_the_connection(run: Runner[None]) -> None:
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly"
        )
        while data := conn.recv():
            conn.send(data.upper())

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            headers = {"Upgrade": "echo", "Connection": "Upgrade"}
            response = await transport.handle_async_request(
                Request("GET", scripted.url, headers=headers)
            )
            assert response.status_code == 101
            stream = response.extensions["network_stream"]
            assert await stream.read(1024) == b"early"
            await stream.write(b"ping")
            assert await stream.read(1024, timeout=5) == b"PING"
            assert transport.pool.total == 0  # the connection left the pool
            await stream.aclose()
            assert await stream.read(1024) == b""

    with ScriptedServer(script) as scripted:
        run(main())


def test_response_closed_early_closes_its_connection(run: Runner[None]) -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n" + b"x" * 3_000_000

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response = await transport.handle_async_request(get(scripted.url))
            async for _ in response.aiter_raw():
                break
            await response.aclose()
            assert transport.pool.total == 0
            assert len((await send(transport, get(scripted.url)))[1]) == 3_000_000

    with ScriptedServer(keep_alive_server(big)) as scripted:
        run(main())
        assert scripted.accepted == 2


def test_http10_response_closes_the_connection(run: Runner[None]) -> None:
    script = respond(b"HTTP/1.0 200 Fine\r\n\r\nuntil close", then_close=True)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(transport, get(scripted.url))
            assert body == b"until close"
            assert response.extensions["http_version"] == b"HTTP/1.0"
            assert response.extensions["reason_phrase"] == b"Fine"
            assert transport.pool.total == 0

    with ScriptedServer(script) as scripted:
        run(main())


def test_large_bytes_upload(run: Runner[None]) -> None:
    def script(conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            digest = hashlib.sha256(request[1]).hexdigest().encode()
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + digest)

    body = random.Random(1).randbytes(5 * 1024 * 1024)

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            _, data = await send(transport, Request("POST", scripted.url, content=body))
            assert data == hashlib.sha256(body).hexdigest().encode()
            _, data = await send(transport, Request("POST", scripted.url, content=b"tiny"))
            assert data == hashlib.sha256(b"tiny").hexdigest().encode()

    with ScriptedServer(script) as scripted:
        run(main())


# -- where to connect ---------------------------------------------------------------------


def test_unix_domain_socket(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(uds=scripted.uds) as transport:
            for _ in range(2):
                assert (await send(transport, get("http://localhost/anything")))[1] == b"hello"

    with ScriptedServer(keep_alive_server(), family=socket.AF_UNIX) as scripted:
        run(main())
        assert scripted.accepted == 1


def test_unix_socket_request_head(run: Runner[None]) -> None:
    heads: list[bytes] = []

    def script(conn: ScriptedConnection) -> None:
        request = conn.read_request()
        assert request is not None
        heads.append(request[0])
        conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def main() -> None:
        async with AsyncHTTPTransport(uds=scripted.uds) as transport:
            await send(transport, get("http://example.org/path?q=1"))

    with ScriptedServer(script, family=socket.AF_UNIX) as scripted:
        run(main())
    assert heads[0].startswith(b"GET /path?q=1 HTTP/1.1\r\nHost: example.org\r\n")


def test_local_address(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(local_address="127.0.0.2") as transport:
            await send(transport, get(scripted.url))

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())
        assert scripted.peer_addresses[0][0] == "127.0.0.2"  # type: ignore[index]


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_ipv6(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            assert (await send(transport, get(scripted.url)))[1] == b"hello"

    with ScriptedServer(keep_alive_server(), family=socket.AF_INET6) as scripted:
        assert scripted.url.startswith("http://[::1]:")
        run(main())


def test_host_name_is_resolved(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            response, body = await send(transport, get(f"http://localhost:{scripted.port}/"))
            assert body == b"hello"
            assert "dns" in response.extensions["timing"]

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())


def test_socket_options_are_applied(run: Runner[None]) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]

    async def main() -> None:
        async with AsyncHTTPTransport(socket_options=options) as transport:
            response, _ = await send(transport, get(scripted.url))
            stream = response.extensions["network_stream"]
            sock = stream.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert stream.get_extra_info("server_addr")[1] == scripted.port
            assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
            assert stream.get_extra_info("ssl_object") is None
            assert stream.get_extra_info("is_readable") is False

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())


# -- refusals and errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/", "unsupported protocol 'ftp://'"),
        ("/relative/path", "missing an 'http://' or 'https://' protocol"),
        ("http:///path", "missing a host"),
    ],
)
def test_unsupported_urls(run: Runner[None], url: str, message: str) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            with pytest.raises(UnsupportedProtocol, match=message) as info:
                await transport.handle_async_request(get(url))
            assert info.value.request.url == get(url).url

    run(main())


def refused_port() -> int:
    # Bound but not listening: a connect is refused at once, and nothing leaves the host.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused(run: Runner[None]) -> None:
    port = refused_port()

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            with pytest.raises(ConnectError) as info:
                await transport.handle_async_request(get(f"http://127.0.0.1:{port}/"))
            assert "refused" in str(info.value).lower()
            assert f"127.0.0.1:{port}" in str(info.value)
            assert isinstance(info.value.__cause__, ConnectionRefusedError)
            assert transport.pool.total == 0  # the slot went back

    run(main())


def test_unresolvable_host(run: Runner[None]) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            with pytest.raises(ConnectError, match="Could not resolve host"):
                await transport.handle_async_request(get("http://nonexistent.invalid/"))
            assert transport.pool.total == 0

    run(main())


class CountingTransport(AsyncHTTPTransport):
    attempts = 0

    async def _connect(self, *args: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        return await super()._connect(*args, **kwargs)


def test_retries_count_connection_attempts(run: Runner[None]) -> None:
    port = refused_port()

    async def main() -> None:
        transport = CountingTransport(retries=3)
        transport._retry_backoff_factor = 0.01
        async with transport:
            with pytest.raises(ConnectError):
                await transport.handle_async_request(get(f"http://127.0.0.1:{port}/"))
        assert transport.attempts == 4
        assert transport.pool.total == 0

    run(main())


def test_retry_delays_grow_exponentially(run: Runner[None]) -> None:
    transport = AsyncHTTPTransport(retries=10)
    assert [transport._retry_delay(n) for n in range(1, 9)] == [0, 0.5, 1, 2, 4, 8, 8, 8]
    port = refused_port()

    async def main() -> None:
        transport._retry_backoff_factor = 0.05
        transport._retries = 3
        started = time.monotonic()
        async with transport:
            with pytest.raises(ConnectError):
                await transport.handle_async_request(get(f"http://127.0.0.1:{port}/"))
        assert time.monotonic() - started >= 0.05 + 0.1

    run(main())


def test_no_retries_by_default(run: Runner[None]) -> None:
    async def main() -> None:
        transport = CountingTransport()
        async with transport:
            with pytest.raises(ConnectError):
                await transport.handle_async_request(get(f"http://127.0.0.1:{refused_port()}/"))
        assert transport.attempts == 1

    run(main())


def test_closed_transport_refuses_requests(run: Runner[None]) -> None:
    async def main() -> None:
        transport = AsyncHTTPTransport()
        response = await transport.handle_async_request(get(scripted.url))
        await transport.aclose()
        assert response.extensions["network_stream"].get_extra_info("is_readable") is True
        with pytest.raises(RuntimeError, match="transport has been closed"):
            await transport.handle_async_request(get(scripted.url))
        await transport.aclose()  # twice: harmless

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())


def test_in_use_connection_closed_by_aclose(run: Runner[None]) -> None:
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"  # 5 bytes short: stays open

    async def main() -> None:
        transport = AsyncHTTPTransport()
        response = await transport.handle_async_request(get(scripted.url))
        reader = asyncio.ensure_future(response.aread())
        await asyncio.sleep(0.05)  # the reader now waits for the rest of the body
        await transport.aclose()
        with pytest.raises(Exception) as info:
            await reader
        assert type(info.value).__module__ == "zephyr"
        assert transport.pool.total == 0

    with ScriptedServer(keep_alive_server(body)) as scripted:
        run(main())


def test_http1_and_http2_both_off_is_refused() -> None:
    with pytest.raises(ValueError, match="At least one"):
        AsyncHTTPTransport(http1=False, http2=False)


def test_debug_logging(run: Runner[None], caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            await send(transport, get(scripted.url))
            await send(transport, get(scripted.url))

    with (
        caplog.at_level(logging.DEBUG, logger="zephyr"),
        ScriptedServer(keep_alive_server()) as scripted,
    ):
        run(main())
    messages = [record.getMessage() for record in caplog.records if record.name == "zephyr"]
    assert any(message.startswith("connected") for message in messages)
    assert any(message.startswith("reusing") for message in messages)
    assert any("transport closed" in message for message in messages)


# -- many tasks -----------------------------------------------------------------------------


def test_many_tasks_share_one_transport(run: Runner[None]) -> None:
    limits = Limits(max_connections=4, max_keepalive_connections=4)

    async def main() -> None:
        async with AsyncHTTPTransport(limits=limits) as transport:

            async def work() -> list[bytes]:
                return [(await send(transport, get(scripted.url)))[1] for _ in range(25)]

            results = await asyncio.gather(*(work() for _ in range(16)))
            assert [body for bodies in results for body in bodies] == [b"hello"] * 16 * 25
            assert transport.pool.total <= 4
            assert transport.pool.in_use_count == 0
            assert transport.pool.waiting_count == 0

    with ScriptedServer(keep_alive_server()) as scripted:
        run(main())
        assert scripted.peak_open <= 4


def test_queued_requests_are_served_in_order(run: Runner[None], server: TestServer) -> None:
    limits = Limits(max_connections=1)

    async def main() -> None:
        async with AsyncHTTPTransport(limits=limits) as transport:
            order: list[int] = []

            async def one(n: int) -> None:
                _, body = await send(transport, get(f"{server.url}/echo-id/{n}"))
                assert json.loads(body) == {"id": str(n)}
                order.append(n)

            tasks = []
            for n in range(20):
                tasks.append(asyncio.ensure_future(one(n)))
                await asyncio.sleep(0)  # each queues behind the one before
            await asyncio.gather(*tasks)
            assert order == list(range(20))
            assert transport.pool.total == 1

    run(main())


# -- TLS ------------------------------------------------------------------------------------


def test_tls_verified_round_trip(run: Runner[None], tls_server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(verify=tls_server.ca_path) as transport:
            response, body = await send(transport, get(tls_server.url + "/get"))
            assert response.status_code == 200
            assert body.startswith(b"{")
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            assert ssl_object.version() in ("TLSv1.2", "TLSv1.3")
            assert set(response.extensions["timing"]) >= {"connect", "tls", "first_byte"}

    run(main())


def test_tls_verification_failure_without_the_ca(run: Runner[None], tls_server: TestServer) -> None:
    import ssl

    async def main() -> None:
        async with AsyncHTTPTransport() as transport:
            with pytest.raises(ConnectError) as info:
                await transport.handle_async_request(get(tls_server.url + "/get"))
            assert "certificate verification failed" in str(info.value)
            assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
            assert info.value.request.url.path == "/get"
            assert transport.pool.total == 0

    run(main())


def test_tls_verify_false(run: Runner[None], tls_server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(verify=False) as transport:
            response, _ = await send(transport, get(tls_server.url + "/get"))
            assert response.status_code == 200

    run(main())


def test_tls_without_http2_only_http11_is_offered(
    run: Runner[None], tls_server: TestServer
) -> None:
    # The server offers h2 first; a transport without http2=True must not offer it at all.
    async def main() -> None:
        async with AsyncHTTPTransport(verify=tls_server.ca_path) as transport:
            response, _ = await send(transport, get(tls_server.url + "/get"))
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            assert ssl_object.selected_alpn_protocol() == "http/1.1"
            assert response.extensions["http_version"] == b"HTTP/1.1"

    run(main())


def test_tls_connection_is_reused(run: Runner[None], tls_server: TestServer) -> None:
    async def main() -> None:
        async with AsyncHTTPTransport(verify=tls_server.ca_path) as transport:
            for _ in range(3):
                response, _ = await send(transport, get(tls_server.url + "/get"))
            assert transport.pool.total == 1
            assert "tls" not in response.extensions["timing"]  # reused: no handshake

    run(main())


def test_tls_sni_hostname_extension(run: Runner[None]) -> None:
    names: list[str | None] = []
    context = server_ssl_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)

    async def main() -> None:
        async with AsyncHTTPTransport(verify=ca_bundle_path()) as transport:
            url = f"https://127.0.0.1:{scripted.port}/"
            await send(transport, get(url, sni_hostname="localhost"))
            # The SNI name is part of the pool key: a request without it gets its own
            # connection, verified against the URL's host.
            await send(transport, get(url))
            assert transport.pool.total == 2
            with pytest.raises(ConnectError, match="certificate verification failed"):
                await transport.handle_async_request(get(url, sni_hostname="other.example"))

    with ScriptedServer(keep_alive_server(), tls=context) as scripted:
        run(main())
    assert names[0] == "localhost"
    assert None in names  # 127.0.0.1: an IP address is never sent as SNI


def test_tls_handshake_timeout_is_connect_timeout(run: Runner[None]) -> None:
    def silent(conn: ScriptedConnection) -> None:
        while conn.recv():  # swallow the ClientHello, answer nothing, until the client leaves
            pass

    async def main() -> None:
        async with AsyncHTTPTransport(verify=ca_bundle_path()) as transport:
            timeout = {"connect": 0.2, "read": 1, "write": 1, "pool": 1}
            request = Request(
                "GET", f"https://localhost:{scripted.port}/", extensions={"timeout": timeout}
            )
            with pytest.raises(ConnectTimeout, match="TLS handshake"):
                await transport.handle_async_request(request)
            assert transport.pool.total == 0

    with ScriptedServer(silent) as scripted:
        run(main())


def test_plain_server_on_https_url_is_connect_error(run: Runner[None]) -> None:
    def plain(conn: ScriptedConnection) -> None:
        conn.recv()
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        async with AsyncHTTPTransport(verify=ca_bundle_path()) as transport:
            with pytest.raises(ConnectError, match="TLS handshake"):
                await transport.handle_async_request(get(f"https://localhost:{scripted.port}/"))

    with ScriptedServer(plain) as scripted:
        run(main())
