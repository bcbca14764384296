"""`Limits` beyond the pool: header limits, informational responses, and `max_response_size`.

RELIABILITY.md 13 (endless header lines, too many headers, endless 1xx: a bounded error, with
limits set on the client) and 15 (a decompression bomb: streaming yields bounded chunks, and
`read()` stops at the configured maximum with a clear error). Over real sockets, on both
clients (client_factory).
"""

from __future__ import annotations

import gzip
import tracemalloc
from typing import TYPE_CHECKING

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer, keep_alive_server

if TYPE_CHECKING:
    from client_helpers import ClientFactory

pytest_plugins = ["client_helpers"]

MiB = 1024 * 1024


def response_with(*headers: bytes, body: bytes = b"hello") -> bytes:
    lines = b"".join(header + b"\r\n" for header in headers)
    return b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n%s" % (lines, len(body), body)


# -- configuration ---------------------------------------------------------------------------


def test_limits_defaults() -> None:
    limits = zephyr.Limits()
    assert limits.max_header_line_size == 65536
    assert limits.max_header_count == 200
    assert limits.max_informational_responses == 50
    assert limits.max_response_size == 1024 * MiB
    # HTTPX's repr while only the pool limits are set; the others show once changed.
    assert repr(limits) == (
        "Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)"
    )
    changed = zephyr.Limits(max_header_count=10, max_response_size=None)
    assert repr(changed) == (
        "Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0, "
        "max_header_count=10, max_response_size=None)"
    )
    assert changed == zephyr.Limits(max_header_count=10, max_response_size=None)
    assert hash(changed) == hash(zephyr.Limits(max_header_count=10, max_response_size=None))
    assert changed != limits


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_header_line_size": 0},
        {"max_header_count": -1},
        {"max_header_count": True},
        {"max_informational_responses": 1.5},
        {"max_response_size": -1},
        {"max_response_size": "1"},
    ],
)
def test_limits_refuse_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="Limits max_"):
        zephyr.Limits(**kwargs)  # type: ignore[arg-type]


def test_core_options_follow_the_limits() -> None:
    assert zephyr.Limits().http11_core_options() is None  # the cores' own defaults
    assert zephyr.Limits().http2_core_options() is None
    limits = zephyr.Limits(max_header_line_size=1000, max_header_count=7)
    assert limits.http11_core_options() == {
        "max_header_line_size": 1000,
        "max_header_count": 7,
        "max_informational_responses": 50,
    }
    assert limits.http2_core_options() == {
        "max_header_list_size": 4000,
        "max_informational_responses": 50,
    }


# -- header limits (RELIABILITY.md 13) -------------------------------------------------------


def test_header_count_limit_set_on_the_client(client_factory: ClientFactory) -> None:
    many = [b"X-Header-%d: %d" % (i, i) for i in range(30)]
    with ScriptedServer(keep_alive_server(response_with(*many))) as server:
        default = client_factory()
        assert default.get(server.url).headers["x-header-29"] == "29"
        default.close()
        strict = client_factory(limits=zephyr.Limits(max_header_count=10))
        with pytest.raises(zephyr.RemoteProtocolError, match="max_header_count"):
            strict.get(server.url)
        strict.close()


def test_header_line_limit_set_on_the_client(client_factory: ClientFactory) -> None:
    long_line = b"X-Long: " + b"a" * 500
    with ScriptedServer(keep_alive_server(response_with(long_line))) as server:
        default = client_factory()
        assert len(default.get(server.url).headers["x-long"]) == 500
        default.close()
        strict = client_factory(limits=zephyr.Limits(max_header_line_size=200))
        with pytest.raises(zephyr.RemoteProtocolError, match="max_header_line_size"):
            strict.get(server.url)
        strict.close()


def test_informational_response_limit_set_on_the_client(client_factory: ClientFactory) -> None:
    def continues(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.send(b"HTTP/1.1 100 Continue\r\n\r\n" * 5 + response_with())

    with ScriptedServer(continues) as server:
        default = client_factory()
        assert default.get(server.url).content == b"hello"
        default.close()
        strict = client_factory(limits=zephyr.Limits(max_informational_responses=3))
        with pytest.raises(zephyr.RemoteProtocolError, match="max_informational_responses"):
            strict.get(server.url)
        strict.close()


# -- max_response_size (RELIABILITY.md 15) ---------------------------------------------------

BOMB_SIZE = 64 * MiB
BOMB = gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)  # about 64 KiB on the wire


def bomb_server(conn: ScriptedConnection) -> None:
    while conn.read_request() is not None:
        try:
            conn.send(
                b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                % len(BOMB)
                + BOMB
            )
        except OSError:
            return


def test_read_stops_a_gzip_bomb_at_max_response_size(client_factory: ClientFactory) -> None:
    client = client_factory(limits=zephyr.Limits(max_response_size=MiB))
    with ScriptedServer(bomb_server) as server:
        tracemalloc.start()
        try:
            with pytest.raises(zephyr.ResponseTooLarge, match="max_response_size") as info:
                client.get(server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * MiB  # the limit and a few bounded chunks, not 64 MiB
        assert isinstance(info.value, zephyr.RequestError)
        assert info.value.request.url == zephyr.URL(server.url)
        # Streaming is not capped: the whole body comes, in bounded chunks.
        with client.stream("GET", server.url) as streamed:
            sizes = [len(chunk) for chunk in streamed.iter_bytes()]
        assert sum(sizes) == BOMB_SIZE
        assert max(sizes) <= 64 * 1024
    client.close()


def test_max_response_size_applies_to_identity_bodies_and_closes_the_connection(
    client_factory: ClientFactory,
) -> None:
    big = response_with(body=b"y" * (3 * MiB))
    with ScriptedServer(keep_alive_server(big)) as server:
        client = client_factory(limits=zephyr.Limits(max_response_size=MiB))
        with pytest.raises(zephyr.ResponseTooLarge):
            client.get(server.url)
        with client.stream("GET", server.url) as streamed:
            with pytest.raises(zephyr.ResponseTooLarge):
                streamed.read()
            assert streamed.response.is_closed
        # Nothing half-read went back to the pool: each request had a new connection.
        with client.stream("GET", server.url) as streamed:
            assert streamed.response.status_code == 200
        assert server.accepted == 3
        client.close()
        # Within the limit (the default, 1 GiB), the same body is read whole.
        default = client_factory()
        assert len(default.get(server.url).content) == 3 * MiB
        default.close()


def test_a_small_body_arriving_at_once_is_checked_too(client_factory: ClientFactory) -> None:
    with ScriptedServer(keep_alive_server(response_with(body=b"z" * 100))) as server:
        client = client_factory(limits=zephyr.Limits(max_response_size=99))
        with pytest.raises(zephyr.ResponseTooLarge, match=r"\(99 bytes"):
            client.get(server.url)
        client.close()
        exact = client_factory(limits=zephyr.Limits(max_response_size=100))
        assert exact.get(server.url).content == b"z" * 100
        exact.close()


def test_no_response_size_limit(client_factory: ClientFactory) -> None:
    client = client_factory(limits=zephyr.Limits(max_response_size=None))
    with ScriptedServer(bomb_server) as server:
        assert len(client.get(server.url).content) == BOMB_SIZE
    client.close()


def test_hand_made_responses_are_not_limited() -> None:
    response = zephyr.Response(200, content=b"x" * 10)
    response._max_size = 5  # what a client with a small limit sets on what it returns
    assert response.content == b"x" * 10  # in memory already: nothing to refuse


# -- HTTP/2 -----------------------------------------------------------------------------------


def test_http2_header_list_limit_set_on_the_client(client_factory: ClientFactory) -> None:
    from h2_scripted_server import H2ScriptedConnection, H2ScriptedServer

    fields = [(b"x-header-%d" % i, b"v" * 400) for i in range(20)]  # about 8 KiB of fields

    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.respond(request.stream_id, body=b"hello", headers=fields)
        conn.drain()

    with H2ScriptedServer(script) as server:
        default = client_factory(http1=False, http2=True)
        assert default.get(server.url + "x").headers["x-header-19"] == "v" * 400
        default.close()
        # 1,000-byte lines: a header list of 4,000 bytes at most.
        strict = client_factory(
            http1=False, http2=True, limits=zephyr.Limits(max_header_line_size=1000)
        )
        with pytest.raises(zephyr.RemoteProtocolError, match=r"(?i)header"):
            strict.get(server.url + "x")
        strict.close()
