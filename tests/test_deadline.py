"""The total deadline, `Timeout(total=...)`: one bound for the whole of `client.send()`.

RELIABILITY.md 23: a server dribbling one byte just inside the read timeout is still cut off
by the total deadline. The deadline also covers redirects, retries and their backoff, the
wait for a pool slot, connecting, writing the request, and reading the body — of a streamed
response too, inside the `with client.stream()` block.

Over real sockets, on both clients (client_factory). No test measures time beyond "it did not
hang": each has a generous upper bound, many times the deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer, full_backlog_listener

if TYPE_CHECKING:
    from client_helpers import ClientFactory

pytest_plugins = ["client_helpers"]

# Far more than any deadline below: a test that gets near it has hung.
NOT_HUNG = 5.0


def dribble(conn: ScriptedConnection, head: bytes, every: float = 0.2, size: int = 1000) -> None:
    """Send `head`, then a body byte every `every` s until `size` bytes or the client leaves."""
    conn.send(head)
    try:
        for _ in range(size):
            conn.sleep(every)
            conn.send(b"x")
    except OSError:
        pass  # the client gave up and closed: what the test wants


DRIBBLE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"


def dribbling_server(conn: ScriptedConnection) -> None:
    if conn.read_request() is not None:
        dribble(conn, DRIBBLE_HEAD)


# -- configuration ---------------------------------------------------------------------------


def test_timeout_total_is_optional_and_keeps_httpx_shapes() -> None:
    assert zephyr.Timeout(5.0).total is None
    assert zephyr.Timeout(5.0).as_dict() == dict.fromkeys(("connect", "read", "write", "pool"), 5.0)
    timeout = zephyr.Timeout(5.0, total=30)
    assert timeout.total == 30.0
    assert timeout.as_dict()["total"] == 30.0
    assert repr(timeout) == "Timeout(timeout=5.0, total=30)"  # as given, as HTTPX keeps numbers
    assert timeout != zephyr.Timeout(5.0)
    assert hash(timeout) == hash(zephyr.Timeout(5.0, total=30.0))
    assert zephyr.Timeout(timeout) == timeout  # a copy keeps it
    assert zephyr.Timeout(timeout, total=10).total == 10.0
    assert zephyr.Timeout(connect=1, read=2, write=3, pool=4, total=9).total == 9.0
    assert zephyr.Timeout((1, 2), total=3).total == 3.0
    with pytest.raises(ValueError, match="non-negative"):
        zephyr.Timeout(5.0, total=-1)
    with pytest.raises(TypeError, match="number of seconds"):
        zephyr.Timeout(5.0, total="1")  # type: ignore[arg-type]


def test_total_reaches_the_transport_with_the_deadline(client_factory: ClientFactory) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: zephyr.Request) -> zephyr.Response:
        seen.append(dict(request.extensions["timeout"]))
        return zephyr.Response(200)

    driver = client_factory(
        transport=zephyr.MockTransport(handler), timeout=zephyr.Timeout(5.0, total=2.0)
    )
    driver.get("http://example.com/")
    driver.get("http://example.com/", timeout=None)
    driver.close()
    first, second = seen
    # The phase timeouts are capped to what is left of the deadline, which rides along.
    assert first["total"] == 2.0
    assert all(0 < first[key] <= 2.0 for key in ("connect", "read", "write", "pool"))  # type: ignore[operator]
    assert type(first["deadline"]).__name__ == "Deadline"
    # No total: HTTPX's four keys, nothing else.
    assert second == dict.fromkeys(("connect", "read", "write", "pool"))


# -- the dribbling server (RELIABILITY.md 23) ------------------------------------------------


def test_total_deadline_cuts_off_a_dribbling_server(client_factory: ClientFactory) -> None:
    # One byte every 0.2 s never trips a 1 s read timeout: 1000 bytes would take 200 s.
    client = client_factory(timeout=zephyr.Timeout(1.0, total=1.0))
    with ScriptedServer(dribbling_server) as server:
        started = time.monotonic()
        with pytest.raises(zephyr.ReadTimeout, match=r"total deadline of 1\.0 s") as info:
            client.get(server.url)
        assert time.monotonic() - started < NOT_HUNG
        assert info.value.request.url == zephyr.URL(server.url)
    client.close()


def test_without_total_the_dribbling_server_is_read_to_its_end(
    client_factory: ClientFactory,
) -> None:
    # The control: the same server, with fewer bytes, is not a timeout at all.
    def short_dribble(conn: ScriptedConnection) -> None:
        if conn.read_request() is not None:
            dribble(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", every=0.1, size=3)

    client = client_factory(timeout=1.0)
    with ScriptedServer(short_dribble) as server:
        assert client.get(server.url).content == b"xxx"
    client.close()


def test_total_deadline_travels_with_a_streamed_response(client_factory: ClientFactory) -> None:
    client = client_factory(timeout=zephyr.Timeout(1.0, total=1.0))
    with ScriptedServer(dribbling_server) as server:
        started = time.monotonic()
        with client.stream("GET", server.url) as streamed:
            assert streamed.response.status_code == 200
            with pytest.raises(zephyr.ReadTimeout, match="total deadline"):
                for _chunk in streamed.iter_bytes():
                    pass
        assert time.monotonic() - started < NOT_HUNG
    client.close()


# -- redirects and retries -------------------------------------------------------------------


def test_total_deadline_covers_a_chain_of_slow_redirects(client_factory: ClientFactory) -> None:
    # Each hop answers after 0.4 s: well within the read timeout, but five of them are not
    # within a total of 1 s.
    def slow_redirects(conn: ScriptedConnection) -> None:
        hop = 0
        while conn.read_request() is not None:
            hop += 1
            conn.sleep(0.4)
            try:
                conn.send(
                    b"HTTP/1.1 302 Found\r\nLocation: /hop%d\r\nContent-Length: 0\r\n\r\n" % hop
                )
            except OSError:
                return

    client = client_factory(follow_redirects=True, timeout=zephyr.Timeout(5.0, total=1.0))
    with ScriptedServer(slow_redirects) as server:
        started = time.monotonic()
        with pytest.raises(zephyr.ReadTimeout, match=r"total deadline of 1\.0 s"):
            client.get(server.url)
        assert time.monotonic() - started < NOT_HUNG
    client.close()


def test_a_retry_backoff_that_would_cross_the_deadline_is_not_waited_for(
    client_factory: ClientFactory,
) -> None:
    requests: list[bytes] = []

    def unavailable(conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            requests.append(request[0])
            conn.send(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n"
            )

    client = client_factory(
        retries=zephyr.Retry(3, status_forcelist=[503]), timeout=zephyr.Timeout(5.0, total=1.0)
    )
    with ScriptedServer(unavailable) as server:
        started = time.monotonic()
        with pytest.raises(zephyr.TimeoutException, match=r"total deadline of 1\.0 s") as info:
            client.get(server.url)
        assert time.monotonic() - started < NOT_HUNG
    assert "503" in str(info.value)
    assert len(requests) == 1  # the retry, 30 s away, never started
    client.close()


def test_retries_within_the_deadline_go_ahead(client_factory: ClientFactory) -> None:
    answers = iter([b"503 Service Unavailable", b"200 OK"])

    def flaky(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.send(b"HTTP/1.1 " + next(answers) + b"\r\nContent-Length: 0\r\n\r\n")

    client = client_factory(
        retries=zephyr.Retry(3, status_forcelist=[503], backoff_factor=0.01),
        timeout=zephyr.Timeout(5.0, total=NOT_HUNG),
    )
    with ScriptedServer(flaky) as server:
        assert client.get(server.url).status_code == 200
    client.close()


class AskAgain(zephyr.Auth):
    """An auth flow that answers every 401 with another round trip."""

    def auth_flow(self, request: zephyr.Request) -> Iterator[zephyr.Request]:
        response = yield request
        while response.status_code == 401:
            response = yield request


def test_total_deadline_covers_auth_round_trips(client_factory: ClientFactory) -> None:
    def slow_challenges(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.sleep(0.4)
            try:
                conn.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                return

    client = client_factory(auth=AskAgain(), timeout=zephyr.Timeout(5.0, total=1.0))
    with ScriptedServer(slow_challenges) as server:
        started = time.monotonic()
        with pytest.raises(zephyr.ReadTimeout, match=r"total deadline of 1\.0 s"):
            client.get(server.url)
        assert time.monotonic() - started < NOT_HUNG
    client.close()


# -- the other waits -------------------------------------------------------------------------


def test_total_deadline_while_waiting_for_the_pool(client_factory: ClientFactory) -> None:
    client = client_factory(
        limits=zephyr.Limits(max_connections=1), timeout=zephyr.Timeout(5.0, total=0.5)
    )
    with (
        ScriptedServer(dribbling_server) as server,
        client.stream("GET", server.url, timeout=5.0) as streamed,  # holds the connection
    ):
        assert streamed.response.status_code == 200
        started = time.monotonic()
        with pytest.raises(zephyr.PoolTimeout, match=r"total deadline of 0\.5 s"):
            client.get(server.url)
        assert time.monotonic() - started < NOT_HUNG
    client.close()


def test_total_deadline_while_connecting(client_factory: ClientFactory) -> None:
    client = client_factory(timeout=zephyr.Timeout(5.0, total=0.3))
    with full_backlog_listener() as (host, port):
        started = time.monotonic()
        with pytest.raises(zephyr.ConnectTimeout, match=r"total deadline of 0\.3 s"):
            client.get(f"http://{host}:{port}/")
        assert time.monotonic() - started < NOT_HUNG
    client.close()


def test_total_deadline_while_writing(client_factory: ClientFactory) -> None:
    release = threading.Event()

    def never_read(conn: ScriptedConnection) -> None:
        release.wait(NOT_HUNG)

    client = client_factory(timeout=zephyr.Timeout(5.0, total=0.5))
    with ScriptedServer(never_read) as server:
        try:
            started = time.monotonic()
            with pytest.raises(zephyr.WriteTimeout, match=r"total deadline of 0\.5 s"):
                client.post(server.url, content=b"x" * (64 * 1024 * 1024))
            assert time.monotonic() - started < NOT_HUNG
        finally:
            release.set()
    client.close()


def test_total_deadline_while_a_slow_reader_takes_a_large_body(
    client_factory: ClientFactory,
) -> None:
    # The server keeps reading, slowly (64 KiB every 10 ms: 64 MiB would take 10 s), so no
    # single wait ever times out: the deadline must stop the write between its slices.
    stop = threading.Event()

    def slow_reader(conn: ScriptedConnection) -> None:
        while not stop.is_set() and conn.recv(65536):
            time.sleep(0.01)

    client = client_factory(timeout=zephyr.Timeout(5.0, total=0.5))
    with ScriptedServer(slow_reader) as server:
        try:
            started = time.monotonic()
            with pytest.raises(zephyr.WriteTimeout, match=r"total deadline of 0\.5 s"):
                client.post(server.url, content=b"x" * (64 * 1024 * 1024))
            assert time.monotonic() - started < NOT_HUNG
        finally:
            stop.set()
    client.close()


# -- the Deadline itself ---------------------------------------------------------------------


def test_deadline_caps_each_wait_and_names_itself() -> None:
    from zephyr._deadline import Deadline

    base = {"connect": 5.0, "read": None, "write": 0.001, "pool": 5.0, "total": 1.0}
    deadline = Deadline(1.0, base)
    wait, by_deadline = deadline.cap(5.0)
    assert 0 < wait <= 1.0
    assert by_deadline
    assert deadline.cap(0.001) == (0.001, False)
    wait, by_deadline = deadline.cap(None)
    assert 0 < wait <= 1.0
    assert by_deadline
    timeouts = deadline.timeouts()
    assert timeouts["write"] == 0.001  # already shorter than what is left
    assert 0 < timeouts["read"] <= 1.0  # None: capped to what is left
    assert timeouts["total"] == 1.0
    assert timeouts["deadline"] is deadline
    # A request sent again starts a new deadline from the timeouts it was given.
    again = Deadline.start(timeouts)
    assert again is not None
    assert again is not deadline
    assert again.base is base
    assert Deadline.start({"read": 5.0}) is None
    error = deadline.error(zephyr.ReadTimeout, "reading the response")
    assert str(error) == "Timed out reading the response: the total deadline of 1.0 s passed."
    expired = Deadline(0.0, base)
    assert expired.expired()
    assert expired.cap(5.0) == (0.0, True)


# -- HTTP/2 -----------------------------------------------------------------------------------


def test_total_deadline_cuts_off_a_dribbling_http2_server(client_factory: ClientFactory) -> None:
    from h2_scripted_server import H2ScriptedConnection, H2ScriptedServer

    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.send_head(request.stream_id, 1000)
        try:
            for _ in range(1000):
                time.sleep(0.2)
                conn.h2.send_data(request.stream_id, b"x")
                conn.flush()
        except OSError:
            pass  # the client gave up

    client = client_factory(http1=False, http2=True, timeout=zephyr.Timeout(1.0, total=1.0))
    with H2ScriptedServer(script) as server:
        started = time.monotonic()
        with pytest.raises(zephyr.ReadTimeout, match=r"total deadline of 1\.0 s"):
            client.get(server.url + "x")
        assert time.monotonic() - started < NOT_HUNG
        client.close()
