"""Timeouts end to end: per client and per request, read, connect and pool.

Delays are kept small (a read timeout of 0.2 s against a server that waits 1 s) so that the
whole file runs in a couple of seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer, full_backlog_listener
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory

# The client_factory fixture (and recording_server) come from client_helpers.
pytest_plugins = ["client_helpers"]

FIVE_SECONDS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def timeouts_of(driver_client: object, **kwargs: object) -> object:
    """The timeouts a request built by `driver_client` carries to the transport."""
    request = driver_client.build_request("GET", "http://example.com/", **kwargs)  # type: ignore[attr-defined]
    return request.extensions["timeout"]


# -- defaults and configuration ---------------------------------------------------------------


def test_default_timeout_is_five_seconds(client_factory: ClientFactory) -> None:
    client = client_factory().client
    assert client.timeout == zephyr.Timeout(5.0)
    assert timeouts_of(client) == FIVE_SECONDS


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (1.5, {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}),
        (None, {"connect": None, "read": None, "write": None, "pool": None}),
        (
            zephyr.Timeout(2.0, read=0.25),
            {"connect": 2.0, "read": 0.25, "write": 2.0, "pool": 2.0},
        ),
    ],
)
def test_client_timeout_reaches_the_transport(
    client_factory: ClientFactory, timeout: object, expected: dict[str, float | None]
) -> None:
    client = client_factory(timeout=timeout).client
    assert timeouts_of(client) == expected
    # A request's own timeout wins over the client's; USE_CLIENT_DEFAULT means the client's.
    assert timeouts_of(client, timeout=3.0) == dict.fromkeys(FIVE_SECONDS, 3.0)
    assert timeouts_of(client, timeout=None) == dict.fromkeys(FIVE_SECONDS)
    assert timeouts_of(client, timeout=zephyr.USE_CLIENT_DEFAULT) == expected


# -- read timeouts ----------------------------------------------------------------------------


def test_client_read_timeout(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(timeout=0.2)
    started = time.monotonic()
    with pytest.raises(zephyr.ReadTimeout) as info:
        client.get(zephyr_server.url + "/delay/1")
    assert time.monotonic() - started < 0.9
    assert isinstance(info.value, zephyr.TimeoutException)
    assert info.value.request.url == zephyr.URL(zephyr_server.url + "/delay/1")
    # The timed-out connection was dropped, not handed back half-read: the next request works.
    assert client.get(zephyr_server.url + "/get").status_code == 200


def test_tutorial_timeout_exception_is_caught(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    try:
        client.get(zephyr_server.url + "/delay/1", timeout=zephyr.Timeout(3.0, read=0.2))
        outcome = "response"
    except zephyr.TimeoutException:
        outcome = "Request timed out!"
    assert outcome == "Request timed out!"


def test_request_timeout_overrides_the_clients(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    slow = zephyr_server.url + "/delay/0.2"
    client = client_factory(timeout=0.05)
    assert client.get(slow, timeout=5.0).status_code == 200
    assert client.get(slow, timeout=None).status_code == 200
    assert client.get(slow, timeout=zephyr.Timeout(0.05, read=2.0)).status_code == 200
    with pytest.raises(zephyr.ReadTimeout):
        client.get(slow)

    patient = client_factory()
    with pytest.raises(zephyr.ReadTimeout):
        patient.get(slow, timeout=0.05)
    patient.client.timeout = 0.05
    with pytest.raises(zephyr.ReadTimeout):
        patient.get(slow)


def test_post_read_timeout_is_not_retried(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # RELIABILITY.md 22: no retry, and the pool slot is released.
    client = client_factory(limits=zephyr.Limits(max_connections=1), timeout=0.2)
    started = time.monotonic()
    with pytest.raises(zephyr.ReadTimeout):
        client.post(zephyr_server.url + "/delay/1", content=b"once")
    assert time.monotonic() - started < 0.9  # one wait of 0.2 s, not two
    assert client.post(zephyr_server.url + "/post", content=b"x").json()["data"] == "x"


def test_read_timeout_while_streaming(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # Two bytes, half a second apart: the headers and first byte come at once, then silence.
    client = client_factory(timeout=zephyr.Timeout(5.0, read=0.2))
    url = zephyr_server.url + "/drip?numbytes=2&duration=1&delay=0"
    with client.stream("GET", url) as streamed:
        assert streamed.response.status_code == 200
        with pytest.raises(zephyr.ReadTimeout):
            for _chunk in streamed.iter_bytes():
                pass
    assert client.get(zephyr_server.url + "/get").status_code == 200


class TokenFirst(zephyr.Auth):
    """An auth flow that fetches a token from `token_url` (a Request it builds itself) first."""

    def __init__(self, token_url: str) -> None:
        self.token_url = token_url

    def auth_flow(self, request: zephyr.Request) -> Iterator[zephyr.Request]:
        yield zephyr.Request("GET", self.token_url)
        yield request


@pytest.mark.parametrize("how", ["send", "auth_flow"])
def test_client_timeout_applies_to_requests_not_built_by_the_client(
    client_factory: ClientFactory, zephyr_server: TestServer, how: str
) -> None:
    # client.send(zephyr.Request(...)) and a request an auth flow yields carry no 'timeout'
    # extension: the client's own applies (a default timeout, never a hang). HTTPX sends them
    # with no timeout at all.
    slow = zephyr_server.url + "/delay/0.4"
    driver = client_factory(timeout=0.1)

    def send_slow_request() -> None:
        if how == "send":
            driver.send(zephyr.Request("GET", slow))
        else:
            driver.get(zephyr_server.url + "/get", auth=TokenFirst(slow))

    started = time.monotonic()
    with pytest.raises(zephyr.ReadTimeout):
        send_slow_request()
    assert time.monotonic() - started < 0.35


def test_top_level_function_timeout(zephyr_server: TestServer) -> None:
    with pytest.raises(zephyr.ReadTimeout):
        zephyr.get(zephyr_server.url + "/delay/1", timeout=0.2)
    assert zephyr.get(zephyr_server.url + "/delay/0.1", timeout=2).status_code == 200


# -- write timeouts ---------------------------------------------------------------------------


def test_write_timeout_against_a_server_that_does_not_read(client_factory: ClientFactory) -> None:
    release = threading.Event()

    def never_read(conn: ScriptedConnection) -> None:
        release.wait(5)

    client = client_factory(timeout=zephyr.Timeout(5.0, write=0.2, read=0.2))
    with ScriptedServer(never_read) as server:
        try:
            started = time.monotonic()
            with pytest.raises(zephyr.WriteTimeout) as info:
                client.post(server.url, content=b"x" * (64 * 1024 * 1024))
            assert time.monotonic() - started < 2.0
            assert isinstance(info.value, zephyr.TimeoutException)
        finally:
            release.set()


# -- connect timeouts -------------------------------------------------------------------------


def test_connect_timeout(client_factory: ClientFactory) -> None:
    client = client_factory(timeout=zephyr.Timeout(5.0, connect=0.2))
    with full_backlog_listener() as (host, port):
        started = time.monotonic()
        with pytest.raises(zephyr.ConnectTimeout) as info:
            client.get(f"http://{host}:{port}/")
        assert time.monotonic() - started < 2.0
    assert isinstance(info.value, zephyr.TimeoutException)
    assert info.value.request.url == zephyr.URL(f"http://{host}:{port}/")


# -- pool timeouts ----------------------------------------------------------------------------


def test_pool_timeout_while_a_streamed_response_holds_the_only_connection(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(
        limits=zephyr.Limits(max_connections=1), timeout=zephyr.Timeout(5.0, pool=0.2)
    )
    # A body that trickles in (3 bytes over 0.6 s) keeps its connection busy until read: one
    # that arrived whole with its head frees the connection at once, and would not do here.
    with client.stream("GET", zephyr_server.url + "/drip?numbytes=3&duration=0.6") as held:
        assert held.response.status_code == 200
        started = time.monotonic()
        with pytest.raises(zephyr.PoolTimeout) as info:
            client.get(zephyr_server.url + "/get")
        assert 0.15 < time.monotonic() - started < 2.0
        assert isinstance(info.value, zephyr.TimeoutException)
        assert info.value.request.url == zephyr.URL(zephyr_server.url + "/get")
        assert held.read() == b"***"  # the held response is unharmed
    # Released on exit: the pool has room again.
    assert client.get(zephyr_server.url + "/get").status_code == 200
