"""RELIABILITY.md cases end to end, with Client and AsyncClient (`client_factory`), where the
other suites prove them only at the unit or transport level.

Each test talks to a scripted raw-socket server or the local test server over real sockets.
docs/reliability.md maps every case to its tests.
"""

from __future__ import annotations

import gzip
import re
import threading
import tracemalloc
import zlib
from typing import TYPE_CHECKING, Any

import pytest

import zephyr
from scripted_server import (
    OK_RESPONSE,
    ScriptedConnection,
    ScriptedServer,
    close_after_second_request,
    respond,
)
from zephyr._retry import Retry
from zephyr.testing import TestServer, ca_bundle_path, server_ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from client_helpers import ClientFactory, Driver, RecordingServer

pytest_plugins = ["client_helpers"]


# -- 6: refused before a byte is written ------------------------------------------------------


def _method(driver: Driver, url: str) -> object:
    return driver.request("GET\r\nX-Injected: 1", url)


def _method_nul(driver: Driver, url: str) -> object:
    return driver.request("GE\x00T", url)


def _path(driver: Driver, url: str) -> object:
    return driver.get(url + "a\r\nX-Injected: 1")


def _query(driver: Driver, url: str) -> object:
    return driver.get(url + "?q=\r\nX-Injected: 1")


def _host(driver: Driver, url: str) -> object:
    return driver.get("http://127.0.0.1\r\nX-Injected: 1/")


def _header_name(driver: Driver, url: str) -> object:
    return driver.get(url, headers={"X\r\nInjected": "1"})


def _header_value(driver: Driver, url: str) -> object:
    return driver.get(url, headers={"X-Value": "a\r\nX-Injected: 1"})


def _header_value_lf(driver: Driver, url: str) -> object:
    return driver.get(url, headers={"X-Value": "a\nX-Injected: 1"})


def _header_value_nul(driver: Driver, url: str) -> object:
    return driver.get(url, headers={"X-Value": "a\x00b"})


def _client_header(driver: Driver, url: str) -> object:
    driver.client.headers["X-Value"] = "a\r\nX-Injected: 1"
    return driver.get(url)


def _multipart_name(driver: Driver, url: str) -> object:
    return driver.post(url, data={"a\r\nX-Injected: 1": "v"}, files={"f": ("f.txt", b"d")})


def _multipart_filename(driver: Driver, url: str) -> object:
    return driver.post(url, files={"f": ("f\r\nX-Injected: 1.txt", b"d")})


def _multipart_content_type(driver: Driver, url: str) -> object:
    return driver.post(url, files={"f": ("f.txt", b"d", "text/plain\r\nX-Injected: 1")})


INJECTIONS: list[tuple[Callable[[Driver, str], object], type[Exception]]] = [
    (_method, zephyr.LocalProtocolError),
    (_method_nul, zephyr.LocalProtocolError),
    (_path, zephyr.InvalidURL),
    (_query, zephyr.InvalidURL),
    (_host, zephyr.InvalidURL),
    (_header_name, zephyr.LocalProtocolError),
    (_header_value, zephyr.LocalProtocolError),
    (_header_value_lf, zephyr.LocalProtocolError),
    (_header_value_nul, zephyr.LocalProtocolError),
    (_client_header, zephyr.LocalProtocolError),
    (_multipart_name, ValueError),
    (_multipart_filename, ValueError),
    (_multipart_content_type, ValueError),
]


@pytest.mark.parametrize(
    ("inject", "error"), INJECTIONS, ids=[inject.__name__[1:] for inject, _ in INJECTIONS]
)
def test_injection_is_refused_before_a_byte_is_written(
    client_factory: ClientFactory,
    recording_server: RecordingServer,
    inject: Callable[[Driver, str], object],
    error: type[Exception],
) -> None:
    # RELIABILITY.md 6: CR, LF or NUL anywhere a request is built from: refused, and the
    # server never sees a connection, let alone a request.
    driver = client_factory()
    with pytest.raises(error, match=r"(?i)CR|LF|NUL|non-printable|token"):
        inject(driver, recording_server.url)
    assert recording_server.server.accepted == 0
    assert recording_server.heads == []
    # The client is unharmed: the next, clean request goes out as usual.
    assert driver.get(recording_server.url).content == b"ok"
    assert len(recording_server.heads) == 1
    assert b"injected" not in recording_server.heads[0].lower()


def test_control_characters_in_params_are_percent_encoded(
    client_factory: ClientFactory, recording_server: RecordingServer
) -> None:
    # Query parameters are data, not URL syntax: encoded, so they cannot break the line.
    driver = client_factory()
    driver.get(recording_server.url, params={"q": "a\r\nX-Injected: 1\x00"})
    request_line = recording_server.heads[0].split(b"\r\n")[0]
    assert request_line == b"GET /?q=a%0D%0AX-Injected%3A+1%00 HTTP/1.1"


# -- 8-14: a hostile response fails clearly, and never poisons the pool -------------------------

HOSTILE = {
    # 8: chunked framing
    "chunk-data-without-crlf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhelloXX0\r\n\r\n",
    "chunk-size-bare-lf": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\nhello\r\n0\r\n\r\n",
    "chunk-size-not-hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk-size-overflow": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    # 9: framing headers
    "te-not-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nhello",
    "te-and-cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    "cl-plus": b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
    "cl-minus-zero": b"HTTP/1.1 200 OK\r\nContent-Length: -0\r\n\r\nhello",
    "cl-list": b"HTTP/1.1 200 OK\r\nContent-Length: 1,2\r\n\r\nhello",
    "cl-conflict": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    "cl-huge": b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000000\r\n\r\nhello",
    # 10: control characters and folding
    "control-in-value": b"HTTP/1.1 200 OK\r\nX-Evil: a\x01b\r\nContent-Length: 0\r\n\r\n",
    "fold-on-first-header": b"HTTP/1.1 200 OK\r\n Content-Length: 5\r\n\r\nhello",
    # 11: TLS where a status line should be
    "tls-bytes": b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03" + b"\x00" * 40,
    # 12: truncation
    "truncated-body": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel",
    "truncated-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    "truncated-head": b"HTTP/1.1 200 OK\r\nContent-Le",
    # 14: a huge Content-Length, a tiny body
    "content-length-lie": b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\nhello",
}


def first_connection_then_ok(response: bytes) -> Callable[[ScriptedConnection], None]:
    """The first connection gets `response` and is closed; later ones are served properly."""

    def script(conn: ScriptedConnection) -> None:
        if conn.server.accepted == 1:
            if conn.read_request() is not None:
                conn.send(response)
            conn.close()
            return
        while conn.read_request() is not None:
            conn.send(OK_RESPONSE)

    return script


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_response_fails_clearly_and_the_client_recovers(
    client_factory: ClientFactory, name: str
) -> None:
    with ScriptedServer(first_connection_then_ok(HOSTILE[name])) as server:
        driver = client_factory()
        with pytest.raises(zephyr.RemoteProtocolError) as info:
            driver.get(server.url)
        assert info.value.request.url == zephyr.URL(server.url)
        # The faulty connection was dropped: the next request opens a new one and succeeds.
        assert driver.get(server.url).content == b"hello"
        assert driver.get(server.url).content == b"hello"
        assert server.accepted == 2


@pytest.mark.parametrize("ows", ["tab", "space"])
def test_chunked_with_trailing_whitespace_is_never_misframed(
    client_factory: ClientFactory, ows: str
) -> None:
    # RELIABILITY.md 9: "Transfer-Encoding: chunked" followed by OWS (RFC 9110 §5.5) frames a
    # chunked body on a kept-alive connection: read as such or refused, never a wrong body and
    # never a wait for an EOF the server will not send.
    white = b"\t" if ows == "tab" else b" "
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked" + white + b"\r\n\r\n"
    response += b"5\r\nhello\r\n0\r\n\r\n"
    if ows == "tab":
        # Refused at once (llhttp would read it close-delimited); a new connection recovers.
        with ScriptedServer(first_connection_then_ok(response)) as server:
            driver = client_factory(timeout=zephyr.Timeout(5.0, read=1.0))
            with pytest.raises(zephyr.RemoteProtocolError, match="Transfer-Encoding"):
                driver.get(server.url)
            assert driver.get(server.url).content == b"hello"
        return
    with ScriptedServer(respond(response, OK_RESPONSE)) as server:
        driver = client_factory(timeout=zephyr.Timeout(5.0, read=1.0))
        assert driver.get(server.url).content == b"hello"
        assert driver.get(server.url).content == b"hello"  # the connection was reusable


def test_obs_fold_never_makes_a_new_header(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 10: refused, or joined; never a header of its own.
    fold = b"HTTP/1.1 200 OK\r\nX-A: one\r\n Injected: yes\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(first_connection_then_ok(fold)) as server:
        driver = client_factory()
        try:
            response = driver.get(server.url)
        except zephyr.RemoteProtocolError:
            pass
        else:
            assert "injected" not in response.headers
        assert driver.get(server.url).content == b"hello"


def test_head_response_with_content_length_does_not_hang(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 12: a HEAD response ends at its head, whatever its Content-Length says;
    # the connection is reused for the next request.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    with ScriptedServer(respond(head, OK_RESPONSE)) as server:
        driver = client_factory(timeout=5.0)
        response = driver.head(server.url)
        assert response.status_code == 200
        assert response.headers["content-length"] == "1000"
        assert response.content == b""
        assert driver.get(server.url).content == b"hello"
        assert server.accepted == 1


# -- 15, 16: decompression ------------------------------------------------------------------


def _gzip_bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"\x00" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.flush()


BOMB_SIZE = 64 * 1024 * 1024
BOMB = _gzip_bomb(BOMB_SIZE)  # ~64 KiB on the wire


def test_a_decompression_bomb_streams_in_bounded_chunks_and_memory(
    client_factory: ClientFactory,
) -> None:
    # RELIABILITY.md 15: 64 MiB from 64 KiB on the wire, streamed: no chunk larger than the
    # decoder's 64 KiB, and memory bounded by the chunk, not by the body.
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(BOMB)
    with ScriptedServer(respond(head + BOMB)) as server:
        driver = client_factory()
        total = largest = 0
        tracemalloc.start()
        try:
            with driver.stream("GET", server.url) as streamed:
                for chunk in streamed.iter_bytes():
                    total += len(chunk)
                    largest = max(largest, len(chunk))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert total == BOMB_SIZE
        assert largest <= 64 * 1024
        assert peak < 8 * 1024 * 1024


def test_more_than_five_stacked_encodings_are_refused(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 16 (urllib3 CVE-2025-66418): six codings are a DecodingError; five decode.
    def stacked(count: int) -> bytes:
        body = b"hello"
        for _ in range(count):
            body = gzip.compress(body)
        codings = ", ".join(["gzip"] * count).encode()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
            % (codings, len(body))
            + body
        )

    with ScriptedServer(respond(stacked(6), stacked(5))) as server:
        driver = client_factory()
        with pytest.raises(zephyr.DecodingError, match=r"(?i)encodings|codings"):
            driver.get(server.url)
        assert driver.get(server.url).content == b"hello"


# -- 18: TLS settings never share a connection -----------------------------------------------


def test_an_unverified_connection_never_serves_a_verified_request(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    # RELIABILITY.md 18 (requests CVE-2024-35195): verify=False, then verification on, to the
    # same host: the verified request makes its own connection, and verification fails
    # (certifi's roots do not include the test CA).
    url = zephyr_tls_server.url + "/get"
    unverified = client_factory(verify=False)
    assert unverified.get(url).status_code == 200
    verified = client_factory()
    with pytest.raises(zephyr.ConnectError, match=r"(?i)certificate"):
        verified.get(url)
    assert unverified.get(url).status_code == 200  # and the other way round, unaffected


def test_a_certificate_for_another_name_is_refused(client_factory: ClientFactory) -> None:
    # The TLS promise: verified by default, hostname checked. The certificate is valid for
    # localhost and 127.0.0.1 (and trusted here), not for the name the client expects.
    with ScriptedServer(respond(OK_RESPONSE), tls=server_ssl_context()) as server:
        driver = client_factory(verify=ca_bundle_path())
        url = f"https://127.0.0.1:{server.port}/"
        with pytest.raises(zephyr.ConnectError, match=re.escape("wrong.example")):
            driver.get(url, extensions={"sni_hostname": "wrong.example"})
        assert driver.get(url).content == b"hello"  # the right name: accepted


# -- 20, 21: connections the server closed; never re-send what is not idempotent ------------


class Recorder:
    """A scripted server keeping every request head it read, across connections."""

    def __init__(self, script: Callable[[ScriptedConnection], None]) -> None:
        self.heads: list[bytes] = []
        self._lock = threading.Lock()

        def recording(conn: ScriptedConnection) -> None:
            original = conn.read_request

            def read_request() -> tuple[bytes, bytes] | None:
                request = original()
                if request is not None:
                    with self._lock:
                        self.heads.append(request[0])
                return request

            conn.read_request = read_request  # type: ignore[method-assign]
            script(conn)

        self.server = ScriptedServer(recording)

    def methods(self) -> list[bytes]:
        return [head.split(b" ", 1)[0] for head in self.heads]


def test_eof_on_a_reused_connection_resends_an_idempotent_request(
    client_factory: ClientFactory,
) -> None:
    # RELIABILITY.md 21: the server closed the kept-alive connection as the GET arrived; no
    # byte of a response came back: the GET is sent again, once, on a new connection.
    recorder = Recorder(close_after_second_request)
    with recorder.server as server:
        driver = client_factory()
        assert driver.get(server.url).content == b"hello"
        assert driver.get(server.url).content == b"hello"
        assert server.accepted == 2
        assert recorder.methods() == [b"GET", b"GET", b"GET"]


@pytest.mark.parametrize("retries", [None, 3])
def test_eof_on_a_reused_connection_never_resends_a_post(
    client_factory: ClientFactory, retries: int | None
) -> None:
    # RELIABILITY.md 21 and the retry promise: a POST that may have reached the server is
    # never sent again by zephyr, retry policy or not.
    recorder = Recorder(close_after_second_request)
    kwargs: dict[str, Any] = {}
    if retries is not None:
        kwargs["retries"] = Retry(total=retries, backoff_factor=0.01, backoff_jitter=0.0)
    with recorder.server as server:
        driver = client_factory(**kwargs)
        assert driver.get(server.url).content == b"hello"
        with pytest.raises(zephyr.RemoteProtocolError, match="without sending a response"):
            driver.post(server.url, content=b"payment")
        assert recorder.methods() == [b"GET", b"POST"]
        assert server.accepted == 1
        # The broken connection left the pool: the next request is served on a new one.
        assert driver.get(server.url).content == b"hello"
        assert server.accepted == 2


def test_eof_on_a_fresh_connection_is_never_resent(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 21: a new connection that closes without a response is an error for
    # every method: the server may have acted on the request.
    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.close()

    recorder = Recorder(script)
    with recorder.server as server:
        driver = client_factory()
        with pytest.raises(zephyr.RemoteProtocolError, match="without sending a response"):
            driver.get(server.url)
        assert recorder.methods() == [b"GET"]
        assert server.accepted == 1


def test_idle_connection_closed_by_the_server_is_replaced(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 20: the server closes a kept-alive connection while it idles in the
    # pool; the next request succeeds on a new connection.
    closed = threading.Event()

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(OK_RESPONSE)
        conn.close()
        closed.set()

    with ScriptedServer(script) as server:
        driver = client_factory()
        assert driver.get(server.url).content == b"hello"
        assert closed.wait(5)
        assert driver.get(server.url).content == b"hello"
        assert driver.get(server.url).content == b"hello"
        assert server.accepted == 3
