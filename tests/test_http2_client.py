"""HTTP/2 end to end: Client and AsyncClient against the local test server (TLS with ALPN h2,
and h2c by prior knowledge) and against scripted HTTP/2 servers for the faults."""

from __future__ import annotations

import hashlib
import resource
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

import zephyr
from h2_scripted_server import H2ScriptedConnection, H2ScriptedServer, serve_all
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory, Driver

pytest_plugins = ["client_helpers"]

CANCEL = 0x8
INTERNAL_ERROR = 0x2
REFUSED_STREAM = 0x7


def run_concurrently(count: int, workers: int, call: Callable[[int], object]) -> list[object]:
    """`call(i)` for i in range(count) from `workers` threads at once; results in order.
    (Both drivers accept calls from many threads: the async one runs each as a task.)"""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, range(count)))


# -- negotiation ------------------------------------------------------------------------------


def test_http2_over_tls(client_factory: ClientFactory, zephyr_tls_server: TestServer) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
    response = client.get(zephyr_tls_server.url + "/get?x=1", headers={"X-Test": "yes"})
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.reason_phrase == "OK"
    assert response.json()["args"] == {"x": "1"}
    assert response.json()["headers"]["X-Test"] == "yes"
    posted = client.post(zephyr_tls_server.url + "/post", json={"a": [1, 2]})
    assert posted.http_version == "HTTP/2"
    assert posted.json()["json"] == {"a": [1, 2]}


def test_h2c_with_prior_knowledge(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(http1=False, http2=True)
    response = client.get(zephyr_server.url + "/get")
    assert response.http_version == "HTTP/2"
    head = client.head(zephyr_server.url + "/bytes/100")
    assert head.http_version == "HTTP/2"
    assert head.content == b""


def test_plain_http_without_prior_knowledge_stays_http11(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(http2=True)
    assert client.get(zephyr_server.url + "/get").http_version == "HTTP/1.1"


def test_fallback_to_http11_when_the_server_offers_only_that(
    client_factory: ClientFactory,
) -> None:
    with TestServer(tls=True, http2=False) as server:
        client = client_factory(http2=True, verify=server.ca_path)
        responses = run_concurrently(
            8, 8, lambda i: client.get(f"{server.url}/echo-id/{i}").headers["x-echo-id"]
        )
        assert responses == [str(i) for i in range(8)]
        assert client.get(server.url + "/get").http_version == "HTTP/1.1"
        client.close()  # before the server stops, which waits for open connections


def test_http1_disabled_against_an_http11_only_server(client_factory: ClientFactory) -> None:
    with TestServer(tls=True, http2=False) as server:
        client = client_factory(http1=False, http2=True, verify=server.ca_path)
        with pytest.raises(zephyr.ConnectError, match="does not speak HTTP/2"):
            client.get(server.url + "/get")
        client.close()


def test_a_users_ssl_context_gets_the_clients_alpn(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    # As HTTPX does (and HTTPX 0.28 steers users to `verify=ssl.create_default_context(...)`):
    # with http2=True the given context offers "h2"...
    context = ssl.create_default_context(cafile=zephyr_tls_server.ca_path)
    client = client_factory(http2=True, verify=context)
    assert client.get(zephyr_tls_server.url + "/get").http_version == "HTTP/2"
    # ...and one that offers "h2" to a client without http2 is set back to HTTP/1.1 only.
    offering_h2 = ssl.create_default_context(cafile=zephyr_tls_server.ca_path)
    offering_h2.set_alpn_protocols(["h2", "http/1.1"])
    client = client_factory(verify=offering_h2)
    response = client.get(zephyr_tls_server.url + "/get")
    assert response.http_version == "HTTP/1.1"
    assert response.json()["url"].endswith("/get")


def test_h2_chosen_where_the_client_did_not_offer_it_is_refused(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    # The context's ALPN list changed after the client set it: a server picking "h2" must not
    # be answered in HTTP/1.1 (its first frame would read as a malformed response).
    context = ssl.create_default_context(cafile=zephyr_tls_server.ca_path)
    client = client_factory(verify=context)
    assert client.get(zephyr_tls_server.url + "/get").http_version == "HTTP/1.1"
    context.set_alpn_protocols(["h2"])
    with TestServer(tls=True) as other:
        with pytest.raises(zephyr.ConnectError, match="chose HTTP/2 by ALPN"):
            client.get(other.url + "/get")
        client.close()


# -- bodies -----------------------------------------------------------------------------------


def test_streaming_upload_and_download(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)

    def chunks() -> Iterator[bytes]:
        for index in range(20):
            yield bytes([65 + index]) * 50_000

    async def async_chunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    body = async_chunks() if client.is_async else chunks()
    response = client.post(zephyr_tls_server.url + "/post", content=body)
    assert response.http_version == "HTTP/2"
    assert response.json()["data"] == "".join(chr(65 + i) * 50_000 for i in range(20))
    with client.stream("GET", zephyr_tls_server.url + "/stream-bytes/3000000?seed=7") as stream:
        pieces = list(stream.iter_bytes())
    expected = client.get(zephyr_tls_server.url + "/bytes/3000000?seed=7").content
    assert len(pieces) > 1
    assert b"".join(pieces) == expected


def test_large_in_memory_upload_respects_flow_control(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # 3 MiB: far beyond the server's initial 64 KiB window, so the body waits for credit.
    body = bytes(range(256)) * (3 * 4096)
    client = client_factory(http1=False, http2=True)
    response = client.post(zephyr_server.url + "/anything", content=body)
    assert response.http_version == "HTTP/2"
    assert len(response.json()["data"]) > len(body)  # base64 or text: it all arrived


def test_a_100_mib_download(client_factory: ClientFactory) -> None:
    total = 100 * 1024 * 1024

    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.send_head(request.stream_id, total)
        conn.send_body(request.stream_id, total)
        conn.drain()

    with H2ScriptedServer(script) as server:
        client = client_factory(http1=False, http2=True)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        digest = hashlib.sha256()
        size = 0
        with client.stream("GET", server.url + "big") as response:
            for piece in response.iter_bytes():
                size += len(piece)
                digest.update(piece)
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        client.close()
    expected = hashlib.sha256(b"0123456789abcdef" * (total // 16)).hexdigest()
    assert size == total
    assert digest.hexdigest() == expected
    # Memory stays bounded by the flow-control windows (16 MiB), nowhere near the body's size.
    assert grown_mib < 64


# -- multiplexing -----------------------------------------------------------------------------


def test_500_concurrent_requests_share_one_connection(client_factory: ClientFactory) -> None:
    with TestServer(tls=True, h2_max_concurrent_streams=1000) as server:
        client = client_factory(http2=True, verify=server.ca_path)

        def fetch(index: int) -> tuple[str, str, str]:
            response = client.get(f"{server.url}/echo-id/{index}")
            assert response.http_version == "HTTP/2"
            return str(index), response.headers["x-echo-id"], response.json()["id"]

        results = run_concurrently(500, 50, fetch)
        client.close()
        assert all(sent == echoed == body for sent, echoed, body in results)  # type: ignore[misc]
        # One connection carries them all: without multiplexing, the 50 threads would hold
        # some 50. (More than one was the mark of two threads inside one TLS object at once,
        # which OpenSSL does not allow: a spurious EOF dropped the connection now and then.)
        assert len(server.peers) == 1


@pytest.mark.parametrize("max_connections", [1, 100])
def test_max_concurrent_streams_10_with_100_requests_in_flight(
    client_factory: ClientFactory, max_connections: int
) -> None:
    with TestServer(tls=True, h2_max_concurrent_streams=10) as server:
        client = client_factory(
            http2=True,
            verify=server.ca_path,
            limits=zephyr.Limits(max_connections=max_connections),
            timeout=zephyr.Timeout(10.0),
        )
        barrier = threading.Barrier(100)

        def fetch(index: int) -> str:
            barrier.wait()
            return client.get(f"{server.url}/echo-id/{index}").headers["x-echo-id"]

        results = run_concurrently(100, 100, fetch)
        client.close()
    assert results == [str(i) for i in range(100)]
    # A new connection opens only when every open one has all its streams taken: at most
    # 100 / 10 connections, and with one allowed, the requests took turns on it.
    assert 1 <= len(server.peers) <= min(max_connections, 10)


def test_a_read_timeout_leaves_the_connection_to_the_others(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
    mark = len(zephyr_tls_server.peer_log)
    assert client.get(zephyr_tls_server.url + "/get").status_code == 200
    with pytest.raises(zephyr.ReadTimeout):
        client.get(zephyr_tls_server.url + "/delay/2", timeout=0.2)
    assert client.get(zephyr_tls_server.url + "/get").status_code == 200
    assert len(zephyr_tls_server.peers_since(mark)) == 1


def test_closing_a_response_early_keeps_the_connection(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
    mark = len(zephyr_tls_server.peer_log)
    with client.stream("GET", zephyr_tls_server.url + "/stream-bytes/5000000") as response:
        first = next(response.iter_raw())
        assert first
    assert client.get(zephyr_tls_server.url + "/get").http_version == "HTTP/2"
    assert len(zephyr_tls_server.peers_since(mark)) == 1


# -- faults, scripted -------------------------------------------------------------------------


def goaway_after_first(conn: H2ScriptedConnection) -> None:
    """The first connection takes 4 requests, processes only the first, and goes away."""
    if conn.index > 0:
        serve_all(conn)
        return
    requests = conn.wait_requests(4)
    first = requests[0].stream_id
    conn.goaway(last_stream_id=first)
    conn.respond(first, body=requests[0].path.encode())
    conn.drain()


def test_an_idle_http2_connection_makes_room_for_another_origin(
    client_factory: ClientFactory,
) -> None:
    # An HTTP/2 connection holds its pool slot for its whole life. In a full pool, one without
    # a stream in flight is closed to make room, as an idle HTTP/1.1 connection would be: else
    # a request to any new origin could only time out once max_connections origins were seen.
    with H2ScriptedServer(serve_all) as a, H2ScriptedServer(serve_all) as b:
        client = client_factory(
            http1=False,
            http2=True,
            limits=zephyr.Limits(max_connections=1),
            timeout=zephyr.Timeout(5.0, pool=1.0),
        )
        assert client.get(a.url + "one").text == "/one"
        assert client.get(b.url + "two").text == "/two"  # A's idle connection made room
        assert client.get(a.url + "three").text == "/three"
        client.close()
    assert (a.accepted, b.accepted) == (2, 1)
    assert not a.errors
    assert not b.errors


def test_goaway_mid_flight_retries_the_unprocessed_gets(client_factory: ClientFactory) -> None:
    with H2ScriptedServer(goaway_after_first) as server:
        client = client_factory(http1=False, http2=True)
        results = run_concurrently(4, 4, lambda i: client.get(f"{server.url}r{i}").text)
        client.close()
    assert results == [f"/r{i}" for i in range(4)]
    assert server.accepted == 2
    assert not server.errors


def test_goaway_fails_a_post_above_the_last_stream_id(client_factory: ClientFactory) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        conn.wait_requests(1)
        conn.goaway(last_stream_id=0)
        conn.drain()

    with H2ScriptedServer(script) as server:
        client = client_factory(http1=False, http2=True)
        with pytest.raises(zephyr.RemoteProtocolError, match=r"went away .*before processing"):
            client.post(server.url + "submit", content=b"order #1")
        client.close()
    assert server.accepted == 1  # a POST is never sent again


def test_refused_stream_is_retried(client_factory: ClientFactory) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        if conn.index > 0:
            serve_all(conn)
            return
        (request,) = conn.wait_requests(1)
        conn.reset(request.stream_id, REFUSED_STREAM)
        serve_all(conn)

    with H2ScriptedServer(script) as server:
        client = client_factory(http1=False, http2=True)
        assert client.get(server.url + "again").text == "/again"
        client.close()


def test_rst_stream_fails_that_request_only(client_factory: ClientFactory) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        for request in conn.wait_requests(3):
            if request.path == "/reset":
                conn.reset(request.stream_id, INTERNAL_ERROR)
            else:
                conn.respond(request.stream_id, body=request.path.encode())
        serve_all(conn)

    with H2ScriptedServer(script) as server:
        client = client_factory(http1=False, http2=True)

        def fetch(index: int) -> str:
            path = "reset" if index == 1 else f"ok{index}"
            try:
                return client.get(server.url + path).text
            except zephyr.RemoteProtocolError as exc:
                return f"error: {exc}"

        results = run_concurrently(3, 3, fetch)
        assert results[0] == "/ok0"
        assert results[2] == "/ok2"
        assert results[1].startswith("error: ")
        assert "reset the stream" in results[1]
        assert "INTERNAL_ERROR" in results[1]
        # The connection goes on.
        assert client.get(server.url + "after").text == "/after"
        client.close()
    assert server.accepted == 1


def test_a_ping_from_the_server_is_answered(client_factory: ClientFactory) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.ping(b"zephyr!!")
        conn.wait_until(lambda: b"zephyr!!" in conn.ping_acks)
        conn.respond(request.stream_id, body=b"ponged")
        conn.drain()

    with H2ScriptedServer(script) as server:
        client = client_factory(http1=False, http2=True)
        assert client.get(server.url + "ping").text == "ponged"
        client.close()


def test_a_slow_reader_holds_the_server_back(client_factory: ClientFactory) -> None:
    total = 20 * 1024 * 1024
    window = 8 * 1024 * 1024  # the client's stream window
    stalled = threading.Event()
    seen: dict[str, int] = {}

    def script(conn: H2ScriptedConnection) -> None:
        big = conn.wait_requests(1)[0].stream_id
        conn.send_head(big, total)
        seen["before_stall"] = conn.send_body(big, total, until_blocked=True)
        # The window is shut. The other request's reader drains the socket: it must not give
        # credit for data nobody consumed.
        small = conn.wait_requests(2)[1].stream_id
        seen["credit_while_unread"] = conn.window_updates.get(big, 0)
        stalled.set()
        conn.respond(small, body=b"small")
        seen["rest"] = conn.send_body(big, total - seen["before_stall"])
        conn.drain()

    with H2ScriptedServer(script) as server:
        client: Driver = client_factory(http1=False, http2=True)
        with client.stream("GET", server.url + "big") as response:
            assert client.get(server.url + "small").text == "small"
            assert stalled.wait(5)
            assert seen["before_stall"] == window
            assert seen["credit_while_unread"] == 0
            assert sum(len(piece) for piece in response.iter_bytes()) == total
        client.close()
    assert seen["before_stall"] + seen["rest"] == total
