"""The client's retry policy, end to end: `Client(retries=...)` over real sockets."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer
from zephyr._retry import Retry
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory

pytest_plugins = ["client_helpers"]

FAST = {"backoff_factor": 0.01, "backoff_jitter": 0.0}


def test_tutorial_case_status_500_retried_then_raise_for_status(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # GET /status/500 retried 3 times with backoff; the final response's raise_for_status()
    # raises HTTPStatusError, as the tutorial's example expects.
    client = client_factory(retries=Retry(total=3, **FAST))
    response = client.get(zephyr_server.url + "/status/500")
    assert response.status_code == 500
    attempts = response.extensions["retries"]
    assert [attempt.status_code for attempt in attempts] == [500, 500, 500]
    with pytest.raises(zephyr.HTTPStatusError):
        response.raise_for_status()


def test_retries_is_off_by_default(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/status/503")
    assert response.status_code == 503
    assert "retries" not in response.extensions


def test_retries_as_an_int(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(retries=2)
    assert client.client.retries == Retry(total=2)


def test_post_is_not_retried_on_status(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(retries=Retry(total=3, **FAST))
    response = client.post(zephyr_server.url + "/status/500", content=b"x")
    assert response.status_code == 500
    assert "retries" not in response.extensions


def _flaky_server(failures: int) -> tuple[ScriptedServer, list[int]]:
    """Answers 503 `failures` times, then 200; counts the requests it saw."""
    seen: list[int] = []
    lock = threading.Lock()

    def script(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            with lock:
                seen.append(1)
                count = len(seen)
            if count <= failures:
                conn.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
            else:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    return ScriptedServer(script), seen


def test_transient_503_is_retried_until_success(client_factory: ClientFactory) -> None:
    server, seen = _flaky_server(failures=2)
    with server:
        client = client_factory(retries=Retry(total=3, **FAST))
        response = client.get(server.url)
        assert response.status_code == 200
        assert response.content == b"ok"
        assert len(seen) == 3
        assert [a.status_code for a in response.extensions["retries"]] == [503, 503]


def test_retry_after_is_honoured(client_factory: ClientFactory) -> None:
    seen: list[int] = []

    def script(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            seen.append(1)
            if len(seen) == 1:
                conn.send(
                    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                )
            else:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    with ScriptedServer(script) as server:
        client = client_factory(retries=Retry(total=2, backoff_factor=5.0))
        response = client.get(server.url)  # Retry-After: 0 wins over a 5 s backoff
        assert response.status_code == 200
        assert response.extensions["retries"][0].delay == 0


def test_connect_errors_are_retried_then_raised(client_factory: ClientFactory) -> None:
    with ScriptedServer(lambda conn: None) as server:
        url = server.url
    # The server is gone: every connection attempt is refused.
    client = client_factory(retries=Retry(total=2, **FAST))
    with pytest.raises(zephyr.ConnectError):
        client.get(url)


def test_retries_are_logged(
    client_factory: ClientFactory, zephyr_server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_factory(retries=Retry(total=1, **FAST))
    with caplog.at_level(logging.INFO, logger="zephyr"):
        client.get(zephyr_server.url + "/status/502")
    assert any("Retrying GET" in record.getMessage() for record in caplog.records)
