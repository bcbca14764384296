"""The local test server (`zephyr.testing`), exercised over real sockets with the stdlib only.

zephyr's own client is what the server exists to test, so these tests speak HTTP with
`http.client`, `urllib.request`, raw sockets and `h2`, and compute Digest responses from
RFC 7616 themselves.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import brotli
import h2.config
import h2.connection
import h2.events
import pytest

import zephyr.testing
from zephyr.testing import TestApp, TestServer, client_ssl_context, server_ssl_context
from zephyr.testing._digest import DigestAuthority, Verdict

Reply = tuple[int, http.client.HTTPMessage, bytes]


@pytest.fixture
def server(zephyr_server: TestServer) -> TestServer:
    return zephyr_server  # the plugin's session-wide plain server, under a shorter name


@pytest.fixture
def tls_server(zephyr_tls_server: TestServer) -> TestServer:
    return zephyr_tls_server


def fetch(
    server: TestServer,
    target: str,
    method: str = "GET",
    *,
    body: bytes | Iterable[bytes] | None = None,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
) -> Reply:
    """One request on a fresh connection; redirects are not followed."""
    connection: http.client.HTTPConnection
    if server.tls:
        context = server.client_ssl_context()
        connection = http.client.HTTPSConnection(host, server.port, context=context, timeout=10)
    else:
        connection = http.client.HTTPConnection(host, server.port, timeout=10)
    with contextlib.closing(connection):
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()


def status_of(server: TestServer, target: str, method: str = "GET", **options: Any) -> int:
    return fetch(server, target, method, **options)[0]


def fetch_json(server: TestServer, target: str, method: str = "GET", **options: Any) -> Any:
    status, headers, body = fetch(server, target, method, **options)
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def raw_exchange(server: TestServer, request: bytes) -> bytes:
    """Send bytes as they are and read until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def raw_get(server: TestServer, target: str) -> tuple[bytes, bytes]:
    """(head, body) of a GET sent byte for byte, body still in its transfer coding."""
    request = f"GET {target} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode()
    head, _, body = raw_exchange(server, request).partition(b"\r\n\r\n")
    return head, body


def dechunk(chunked: bytes) -> list[bytes]:
    """The chunks of a chunked body, in order (the last, empty one left out)."""
    chunks: list[bytes] = []
    while True:
        size_line, _, rest = chunked.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        chunked = rest[size + 2 :]


@contextlib.contextmanager
def tls_connection(server: TestServer, alpn: list[str]) -> Iterator[ssl.SSLSocket]:
    context = client_ssl_context(alpn_protocols=alpn)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        yield tls


def h2_get(
    sock: socket.socket, scheme: str, authority: str, path: str
) -> tuple[dict[str, str], bytes]:
    """A single HTTP/2 GET over an already connected socket: (headers, body)."""
    connection = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    connection.initiate_connection()
    request = {":method": "GET", ":scheme": scheme, ":authority": authority, ":path": path}
    connection.send_headers(1, list(request.items()), end_stream=True)
    sock.sendall(connection.data_to_send())
    headers: dict[str, str] = {}
    body = bytearray()
    while True:
        data = sock.recv(65536)
        assert data, "connection closed before the stream ended"
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                headers = {str(name): str(value) for name, value in event.headers}
            elif isinstance(event, h2.events.DataReceived):
                body += event.data
                connection.acknowledge_received_data(event.flow_controlled_length, 1)
            elif isinstance(event, h2.events.StreamEnded):
                return headers, bytes(body)
        sock.sendall(connection.data_to_send())


def run_python(*arguments: str) -> str:
    # The subprocess must import the same zephyr as this test run.
    package_root = str(Path(zephyr.testing.__file__).parent.parent.parent)
    env = {**os.environ, "PYTHONPATH": package_root}
    command = [sys.executable, "-W", "error", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout


# --- the server's life cycle ---------------------------------------------------------------


def test_start_returns_a_listening_server_on_a_free_port_and_stop_ends_it() -> None:
    assert TestServer.__test__ is False
    server = TestServer()
    with server:
        assert server.port != 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.running
        assert status_of(server, "/get") == 200
    assert not server.running
    server.stop()  # a second stop is harmless
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    with pytest.raises(RuntimeError, match="already been started"):
        server.start()


def test_stop_does_not_wait_for_idle_keep_alive_connections() -> None:
    server = TestServer().start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    with contextlib.closing(connection):
        connection.request("GET", "/get")
        connection.getresponse().read()
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2.0


def test_ipv6_loopback_url_has_brackets() -> None:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with TestServer(host="::1", tls=True) as server:
        assert server.url == f"https://[::1]:{server.port}"
        assert fetch_json(server, "/ip", host="::1") == {"origin": "::1"}


def test_importing_the_package_and_plugin_loads_neither_hypercorn_nor_trustme() -> None:
    code = (
        "import sys, zephyr.testing, zephyr.testing.pytest_plugin\n"
        "print(sorted(m for m in ('hypercorn', 'trustme') if m in sys.modules))"
    )
    assert run_python("-c", code).strip() == "[]"


def test_public_names_are_sorted_and_present() -> None:
    assert sorted(zephyr.testing.__all__) == zephyr.testing.__all__
    for name in zephyr.testing.__all__:
        assert getattr(zephyr.testing, name) is not None


def test_command_line_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "zephyr.testing", "serve", "--tls", "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(Path(zephyr.testing.__file__).parent.parent.parent)}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            url = re.search(r"https://127\.0\.0\.1:\d+", first_line)
            assert url is not None, first_line
            ca_line = next(line for line in process.stdout if "CA certificate" in line)
            context = ssl.create_default_context(cafile=ca_line.rsplit(": ", 1)[1].strip())
            with urllib.request.urlopen(url.group() + "/get", context=context) as response:
                assert response.status == 200
        finally:
            process.send_signal(signal.SIGINT)  # as Ctrl-C
            assert process.wait(10) == 0


# --- the request echo endpoints ------------------------------------------------------------


def test_get_echoes_args_headers_origin_and_url(server: TestServer) -> None:
    headers = {"x-custom-thing": "one", "User-Agent": "zephyr-tests"}
    echoed = fetch_json(server, "/get?a=1&a=2&b=&c=%C3%A9", headers=headers)
    assert set(echoed) == {"args", "headers", "origin", "url"}
    assert echoed["args"] == {"a": ["1", "2"], "b": "", "c": "é"}
    assert echoed["headers"]["X-Custom-Thing"] == "one"
    assert echoed["headers"]["Host"] == f"127.0.0.1:{server.port}"
    assert echoed["origin"] == "127.0.0.1"
    assert echoed["url"] == f"{server.url}/get?a=1&a=2&b=&c=%C3%A9"


def test_a_repeated_request_header_is_comma_joined(server: TestServer) -> None:
    request = (
        b"GET /headers HTTP/1.1\r\nHost: h\r\nX-Two: a\r\nX-Two: b\r\nConnection: close\r\n\r\n"
    )
    reply = raw_exchange(server, request)
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["headers"]["X-Two"] == "a,b"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_method_endpoints_echo_a_json_body(server: TestServer, method: str) -> None:
    body = b'{"name": "zephyr", "fast": true}'
    headers = {"Content-Type": "application/json"}
    echoed = fetch_json(server, f"/{method.lower()}?q=1", method, body=body, headers=headers)
    assert set(echoed) == {"args", "data", "files", "form", "headers", "json", "origin", "url"}
    assert echoed["json"] == {"name": "zephyr", "fast": True}
    assert echoed["data"] == body.decode()
    assert (echoed["form"], echoed["files"], echoed["args"]) == ({}, {}, {"q": "1"})


def test_wrong_method_is_405_with_allow(server: TestServer) -> None:
    status, headers, _ = fetch(server, "/get", "POST", body=b"")
    assert (status, headers["Allow"]) == (405, "GET, HEAD, OPTIONS")
    assert status_of(server, "/post") == 405
    status, headers, body = fetch(server, "/put", "OPTIONS")
    assert (status, headers["Allow"], body) == (200, "OPTIONS, PUT", b"")


def test_head_has_the_get_headers_and_no_body(server: TestServer) -> None:
    _, get_headers, get_body = fetch(server, "/json")
    status, head_headers, head_body = fetch(server, "/json", "HEAD")
    assert (status, head_body) == (200, b"")
    assert head_headers["Content-Length"] == get_headers["Content-Length"] == str(len(get_body))


def test_urlencoded_form(server: TestServer) -> None:
    body = b"a=1&a=2&b=x+y&c=%E2%82%AC"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    echoed = fetch_json(server, "/post", "POST", body=body, headers=headers)
    assert echoed["form"] == {"a": ["1", "2"], "b": "x y", "c": "€"}
    assert (echoed["data"], echoed["json"], echoed["files"]) == ("", None, {})


def test_multipart_form_with_text_and_binary_files(server: TestServer) -> None:
    parts = [
        b'Content-Disposition: form-data; name="field"\r\n\r\nvalue one',
        b'Content-Disposition: form-data; name="field"\r\n\r\nvalue two',
        b'Content-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n",
        b"Content-Disposition: form-data; name=\"blob\"; filename*=utf-8''na%C3%AFve.bin\r\n"
        b"Content-Type: image/png\r\n\r\n\x89PNG\xff\x00",
    ]
    body = b"preamble\r\n" + b"".join(b"--zb-42\r\n" + part + b"\r\n" for part in parts)
    body += b"--zb-42--\r\nepilogue"
    headers = {"Content-Type": 'multipart/form-data; boundary="zb-42"'}
    echoed = fetch_json(server, "/anything", "POST", body=body, headers=headers)
    assert echoed["form"] == {"field": ["value one", "value two"]}
    assert echoed["files"]["doc"] == "line 1\r\nline 2\r\n"
    assert echoed["files"]["blob"] == "data:image/png;base64,iVBOR/8A"
    assert echoed["data"] == ""


@pytest.mark.parametrize(
    "body",
    [b"no boundary", b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", b"--b\r\n\r\nx"],
)
def test_malformed_multipart_is_400(server: TestServer, body: bytes) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    assert status_of(server, "/post", "POST", body=body, headers=headers) == 400


def test_binary_body_is_echoed_as_a_data_url(server: TestServer) -> None:
    echoed = fetch_json(server, "/put", "PUT", body=b"\xff\xfe\x00")
    assert echoed["data"] == "data:application/octet-stream;base64,//4A"
    assert echoed["json"] is None


@pytest.mark.parametrize("method", ["GET", "POST", "PURGE", "OPTIONS"])
def test_anything_accepts_any_method_and_path(server: TestServer, method: str) -> None:
    echoed = fetch_json(server, "/anything/a/b%20c?x=1", method, body=b"hi")
    assert echoed["method"] == method
    assert echoed["url"] == f"{server.url}/anything/a/b%20c?x=1"
    assert echoed["data"] == "hi"


def test_headers_ip_and_user_agent(server: TestServer) -> None:
    headers = {"User-Agent": "zephyr/0.1", "X-Forwarded-For": "203.0.113.9"}
    assert fetch_json(server, "/headers", headers=headers)["headers"]["User-Agent"] == "zephyr/0.1"
    assert fetch_json(server, "/ip") == {"origin": "127.0.0.1"}
    assert fetch_json(server, "/ip", headers=headers) == {"origin": "203.0.113.9"}
    assert fetch_json(server, "/user-agent", headers=headers) == {"user-agent": "zephyr/0.1"}


def test_unknown_path_is_404(server: TestServer) -> None:
    assert status_of(server, "/no/such/thing") == 404
    assert status_of(server, "/bytes/abc") == 404


def test_echo_id_in_body_and_header_under_concurrency(server: TestServer) -> None:
    results: dict[str, tuple[str, str]] = {}

    def ask(echo_id: str) -> None:
        _, headers, body = fetch(server, f"/echo-id/{echo_id}", "POST", body=b"")
        results[echo_id] = (headers["X-Echo-Id"], json.loads(body)["id"])

    threads = [threading.Thread(target=ask, args=(f"req-{index}",)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {f"req-{index}": (f"req-{index}",) * 2 for index in range(20)}


def test_request_body_over_the_limit_is_413() -> None:
    with TestServer(app=TestApp(max_body_size=1024)) as server:
        assert status_of(server, "/post", "POST", body=b"x" * 1024) == 200
        assert status_of(server, "/post", "POST", body=b"x" * 1025) == 413
        # Chunked: the size is only discovered while reading.
        assert status_of(server, "/post", "POST", body=iter([b"x" * 600] * 2)) == 413


# --- status codes, delays, generated bodies ------------------------------------------------


def test_status_codes_as_httpbin(server: TestServer) -> None:
    status, headers, body = fetch(server, "/status/302")
    assert (status, headers["Location"], body) == (302, "/redirect/1", b"")
    status, headers, _ = fetch(server, "/status/401", "POST", body=b"")
    assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="Fake Realm"')
    assert fetch(server, "/status/204")[::2] == (204, b"")
    status, _, body = fetch(server, "/status/418")
    assert (status, b"teapot" in body) == (418, True)
    assert status_of(server, "/status/nope") == status_of(server, "/status/99") == 400


def test_status_picks_among_several_codes_with_weights(server: TestServer) -> None:
    seen = {status_of(server, "/status/201,202,203") for _ in range(30)}
    assert len(seen) > 1
    assert seen <= {201, 202, 203}
    assert {status_of(server, "/status/200:0,503:1") for _ in range(5)} == {503}


def test_delay_waits_then_answers(server: TestServer) -> None:
    started = time.monotonic()
    assert fetch_json(server, "/delay/0.3?x=1")["args"] == {"x": "1"}
    assert time.monotonic() - started >= 0.29  # asyncio may wake a clock tick early
    assert status_of(server, "/delay/soon") == 400


def test_response_headers_from_the_query(server: TestServer) -> None:
    status, headers, body = fetch(server, "/response-headers?X-T=1&X-T=2&Cache-Control=no-cache")
    assert (status, headers.get_all("X-T"), headers["Cache-Control"]) == (
        200,
        ["1", "2"],
        "no-cache",
    )
    described = json.loads(body)
    assert described["X-T"] == ["1", "2"]
    assert described["Content-Length"] == headers["Content-Length"] == str(len(body))
    assert status_of(server, "/response-headers?X-Bad=a%0D%0AInjected:%201") == 400


def test_stream_sends_one_json_line_per_chunk(server: TestServer) -> None:
    head, chunked = raw_get(server, "/stream/3")
    assert b"transfer-encoding: chunked" in head.lower()
    lines = [json.loads(line) for line in dechunk(chunked)]
    assert [line["id"] for line in lines] == [0, 1, 2]
    assert set(lines[0]) == {"args", "headers", "id", "origin", "url"}
    assert len(fetch(server, "/stream/500")[2].splitlines()) == 100  # httpbin's cap


def test_stream_bytes_is_seeded_and_chunked(server: TestServer) -> None:
    chunks = dechunk(raw_get(server, "/stream-bytes/250?seed=7&chunk_size=100")[1])
    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    again = fetch(server, "/stream-bytes/250?seed=7&chunk_size=100")[2]
    assert again == b"".join(chunks)
    assert fetch(server, "/stream-bytes/250?seed=8")[2] != again


def test_bytes_is_seeded(server: TestServer) -> None:
    status, headers, body = fetch(server, "/bytes/1000?seed=3")
    assert (status, headers["Content-Type"], len(body)) == (200, "application/octet-stream", 1000)
    assert fetch(server, "/bytes/1000?seed=3")[2] == body
    assert fetch(server, "/bytes/1000")[2] != body


def test_drip_spreads_bytes_over_the_duration(server: TestServer) -> None:
    started = time.monotonic()
    status, headers, body = fetch(server, "/drip?duration=0.3&numbytes=3&delay=0.1&code=201")
    # 0.1 s of delay, then a byte every 0.1 s: the last byte comes 0.3 s in.
    assert time.monotonic() - started >= 0.29
    assert (status, headers["Content-Length"], body) == (201, "3", b"***")
    assert status_of(server, "/drip?numbytes=0") == 400


@pytest.mark.parametrize(
    ("path", "coding", "decompress", "flag"),
    [
        ("/gzip", "gzip", gzip.decompress, "gzipped"),
        ("/deflate", "deflate", zlib.decompress, "deflated"),
        ("/brotli", "br", brotli.decompress, "brotli"),
    ],
)
def test_compressed_bodies(
    server: TestServer, path: str, coding: str, decompress: Any, flag: str
) -> None:
    status, headers, body = fetch(server, path)
    assert (status, headers["Content-Encoding"]) == (200, coding)
    described = json.loads(decompress(body))
    assert described[flag] is True
    assert set(described) == {"headers", "method", "origin", flag}


def test_brotli_without_the_brotli_package_is_501() -> None:
    code = (
        "import sys, urllib.request, urllib.error\n"
        "sys.modules['brotli'] = None\n"
        "from zephyr.testing import TestServer\n"
        "with TestServer() as server:\n"
        "    try:\n"
        "        urllib.request.urlopen(server.url + '/brotli')\n"
        "    except urllib.error.HTTPError as error:\n"
        "        error.close()\n"
        "        print(error.code)\n"
    )
    assert run_python("-c", code).strip() == "501"


def test_documents(server: TestServer) -> None:
    assert "slideshow" in fetch_json(server, "/json")
    _, headers, body = fetch(server, "/html")
    assert (headers["Content-Type"], body[:15]) == ("text/html; charset=utf-8", b"<!DOCTYPE html>")
    _, headers, body = fetch(server, "/encoding/utf8")
    assert (headers["Content-Type"], "西风" in body.decode()) == ("text/html; charset=utf-8", True)


# --- redirects and cookies -----------------------------------------------------------------


def test_redirect_chains(server: TestServer) -> None:
    def location(target: str) -> str:
        status, headers, _ = fetch(server, target)
        assert status == 302
        return str(headers["Location"])

    assert location("/redirect/3") == "/relative-redirect/2"
    assert location("/relative-redirect/2") == "/relative-redirect/1"
    assert location("/relative-redirect/1") == "/get"
    assert location("/redirect/2?absolute=true") == f"{server.url}/absolute-redirect/1"
    assert location("/absolute-redirect/1") == f"{server.url}/get"
    assert status_of(server, "/redirect/0") == 400
    with urllib.request.urlopen(server.url + "/redirect/4") as response:
        assert response.url == server.url + "/get"  # a client that follows them all


def test_redirect_to_any_url_with_any_method(server: TestServer) -> None:
    status, headers, _ = fetch(server, "/redirect-to?url=/x&status_code=307", "POST", body=b"x")
    assert (status, headers["Location"]) == (307, "/x")
    status, headers, _ = fetch(server, "/redirect-to?url=http://a.example/%20&status_code=200")
    assert (status, headers["Location"]) == (302, "http://a.example/%20")
    assert fetch(server, "/redirect-to?url=/caf%C3%A9")[1]["Location"] == "/caf%C3%A9"
    assert status_of(server, "/redirect-to") == 400
    # CR LF cannot split the header: they come back %-encoded.
    headers = fetch(server, "/redirect-to?url=/a%0D%0ASet-Cookie:%20x=1")[1]
    assert (headers["Location"], headers["Set-Cookie"]) == ("/a%0D%0ASet-Cookie:%20x=1", None)


def test_cookies_set_and_delete_redirect_to_cookies(server: TestServer) -> None:
    status, headers, _ = fetch(server, "/cookies/set?a=1&b=two")
    assert (status, headers["Location"]) == (302, "/cookies")
    assert headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=two; Path=/"]
    assert fetch(server, "/cookies/set/c/3")[1]["Set-Cookie"] == "c=3; Path=/"
    deleted = fetch(server, "/cookies/delete?a")[1]["Set-Cookie"]
    assert deleted == "a=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
    echoed = fetch_json(server, "/cookies", headers={"Cookie": 'x=1; y="quoted"'})
    assert echoed == {"cookies": {"x": "1", "y": "quoted"}}


def test_cookies_round_trip_through_a_cookie_jar(server: TestServer) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(server.url + "/cookies/set?flavour=mint&size=2") as response:
        assert json.load(response) == {"cookies": {"flavour": "mint", "size": "2"}}
    with opener.open(server.url + "/cookies/delete?flavour") as response:
        assert json.load(response) == {"cookies": {"size": "2"}}


def test_cookies_over_tls_are_secure(tls_server: TestServer) -> None:
    assert fetch(tls_server, "/cookies/set?s=1")[1]["Set-Cookie"] == "s=1; Path=/; Secure"


# --- authentication ------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth(server: TestServer) -> None:
    echoed = fetch_json(server, "/basic-auth/alice/s3cret", headers=basic("alice", "s3cret"))
    assert echoed == {"authenticated": True, "user": "alice"}
    for wrong in [{}, basic("alice", "no"), basic("bob", "s3cret"), {"Authorization": "Basic !"}]:
        status, headers, _ = fetch(server, "/basic-auth/alice/s3cret", headers=wrong)
        assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="Fake Realm"')


def test_bearer(server: TestServer) -> None:
    echoed = fetch_json(server, "/bearer", headers={"Authorization": "Bearer tok.en-1"})
    assert echoed == {"authenticated": True, "token": "tok.en-1"}
    for wrong in [{}, {"Authorization": "Bearer "}, basic("a", "b")]:
        status, headers, _ = fetch(server, "/bearer", headers=wrong)
        assert (status, headers["WWW-Authenticate"]) == (401, "Bearer")


HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256, "SHA-512": hashlib.sha512}


def parse_challenge(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    pairs = re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', header)
    return {name: quoted or token for name, quoted, token in pairs}


def digest_authorization(
    challenge: dict[str, str],
    method: str,
    uri: str,
    body: bytes,
    user: str,
    password: str,
    nc: int = 1,
) -> str:
    """The Authorization header an RFC 7616 client computes for `challenge` (section 3.4)."""
    algorithm = challenge["algorithm"]
    hash_function = HASHES[algorithm.removesuffix("-sess")]

    def h(data: str | bytes) -> str:
        return hash_function(data.encode() if isinstance(data, str) else data).hexdigest()

    qop = challenge["qop"].split(", ")[-1]
    nonce, cnonce, count = challenge["nonce"], os.urandom(8).hex(), f"{nc:08x}"
    a1_hash = h(f"{user}:{challenge['realm']}:{password}")
    if algorithm.endswith("-sess"):
        a1_hash = h(f"{a1_hash}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}" + (f":{h(body)}" if qop == "auth-int" else "")
    response = h(f"{a1_hash}:{nonce}:{count}:{cnonce}:{qop}:{h(a2)}")
    return (
        f'Digest username="{user}", realm="{challenge["realm"]}", nonce="{nonce}", uri="{uri}", '
        f'algorithm={algorithm}, qop={qop}, nc={count}, cnonce="{cnonce}", '
        f'response="{response}", opaque="{challenge["opaque"]}"'
    )


def challenge_for(server: TestServer, uri: str, method: str = "GET") -> dict[str, str]:
    status, headers, _ = fetch(server, uri, method, body=b"")
    assert status == 401
    return parse_challenge(headers["WWW-Authenticate"])


@pytest.mark.parametrize("qop", ["auth", "auth-int"])
@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512", "MD5-sess", "SHA-512-sess"])
def test_digest_auth_accepts_a_correct_response(
    server: TestServer, qop: str, algorithm: str
) -> None:
    uri = f"/digest-auth/{qop}/ann/pa55/{algorithm}?x=1"
    challenge = challenge_for(server, uri, "POST")
    assert (challenge["qop"], challenge["algorithm"]) == (qop, algorithm)
    assert len(challenge["nonce"]) >= 32
    assert challenge["realm"]
    assert challenge["opaque"]
    body = b"the body counts for auth-int"
    headers = {"Authorization": digest_authorization(challenge, "POST", uri, body, "ann", "pa55")}
    echoed = fetch_json(server, uri, "POST", body=body, headers=headers)
    assert echoed == {"authenticated": True, "user": "ann"}


def test_digest_auth_defaults_to_md5_and_offers_both_qops(server: TestServer) -> None:
    challenge = challenge_for(server, "/digest-auth/any/u/p")
    assert (challenge["qop"], challenge["algorithm"]) == ("auth, auth-int", "MD5")


def test_digest_auth_refuses_wrong_tampered_or_replayed_credentials(server: TestServer) -> None:
    uri = "/digest-auth/auth/ann/pa55/SHA-256-sess"
    challenge = challenge_for(server, uri)
    wrong = [
        digest_authorization(challenge, "GET", uri, b"", "ann", "wrong"),
        digest_authorization(challenge, "GET", uri, b"", "bob", "pa55"),
        digest_authorization(challenge, "GET", "/digest-auth/auth/ann/pa55", b"", "ann", "pa55"),
        digest_authorization({**challenge, "nonce": "0" * 64}, "GET", uri, b"", "ann", "pa55"),
        digest_authorization({**challenge, "opaque": "0" * 32}, "GET", uri, b"", "ann", "pa55"),
        'Digest username="ann"',
        "Basic YW5uOnBhNTU=",
    ]
    for authorization in wrong:
        status, headers, _ = fetch(server, uri, headers={"Authorization": authorization})
        assert status == 401, authorization
        assert "stale" not in parse_challenge(headers["WWW-Authenticate"])
    # The same nonce with a new count is fine; replaying a count is not.
    right = {"Authorization": digest_authorization(challenge, "GET", uri, b"", "ann", "pa55", 2)}
    assert status_of(server, uri, headers=right) == 200
    assert status_of(server, uri, headers=right) == 401


def test_digest_nonce_goes_stale_after_its_lifetime() -> None:
    now = [1_000_000.0]
    authority = DigestAuthority("realm", nonce_lifetime=60, clock=lambda: now[0])
    challenge = parse_challenge(authority.challenge("MD5", ("auth",)))
    authorization = digest_authorization(challenge, "GET", "/x", b"", "u", "p")
    expected = {"method": "GET", "request_target": "/x", "body": b"", "username": "u"}
    options: dict[str, Any] = {**expected, "password": "p", "algorithm": "MD5", "qops": ("auth",)}
    now[0] += 61
    assert authority.verify(authorization, **options) is Verdict.STALE
    assert "stale=TRUE" in authority.challenge("MD5", ("auth",), stale=True)
    now[0] -= 30
    assert authority.verify(authorization, **options) is Verdict.AUTHENTICATED


# --- TLS and HTTP/2 ------------------------------------------------------------------------


def test_tls_server_is_verified_with_the_test_ca(
    tls_server: TestServer, zephyr_ca_path: str
) -> None:
    assert tls_server.url == f"https://127.0.0.1:{tls_server.port}"
    assert tls_server.ca_path == zephyr_ca_path
    assert Path(zephyr_ca_path).is_file()
    for host in ["127.0.0.1", "localhost"]:
        assert (
            fetch_json(tls_server, "/get", host=host)["url"]
            == f"https://{host}:{tls_server.port}/get"
        )
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(tls_server.url + "/get", context=ssl.create_default_context())


def test_alpn_negotiates_h2_only_when_enabled(tls_server: TestServer) -> None:
    with tls_connection(tls_server, ["h2", "http/1.1"]) as tls:
        assert tls.selected_alpn_protocol() == "h2"
    with tls_connection(tls_server, ["http/1.1"]) as tls:
        assert tls.selected_alpn_protocol() == "http/1.1"
    with (
        TestServer(tls=True, http2=False) as http1_only,
        tls_connection(http1_only, ["h2", "http/1.1"]) as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"


def test_http2_over_tls(tls_server: TestServer) -> None:
    authority = f"localhost:{tls_server.port}"
    with tls_connection(tls_server, ["h2"]) as tls:
        headers, body = h2_get(tls, "https", authority, "/get?h=2")
    assert headers[":status"] == "200"
    echoed = json.loads(body)
    assert (echoed["url"], echoed["headers"]["Host"]) == (f"https://{authority}/get?h=2", authority)


def test_cleartext_http2_with_prior_knowledge(server: TestServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        headers, body = h2_get(sock, "http", f"127.0.0.1:{server.port}", "/stream/2")
    assert headers[":status"] == "200"
    assert [json.loads(line)["id"] for line in body.splitlines()] == [0, 1]


def test_server_ssl_context_serves_the_test_certificate() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def accept_one() -> None:
            connection, _ = listener.accept()
            with server_ssl_context().wrap_socket(connection, server_side=True) as tls:
                tls.sendall(b"hello")

        thread = threading.Thread(target=accept_one)
        thread.start()
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            client_ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.recv(5) == b"hello"
        thread.join()


def test_session_fixtures_are_distinct_running_servers(
    server: TestServer, tls_server: TestServer
) -> None:
    assert server.running
    assert tls_server.running
    assert (server.url[:7], tls_server.url[:8]) == ("http://", "https://")
    assert server.port != tls_server.port


def test_tls_server_stops_promptly_with_an_idle_keep_alive_client() -> None:
    # An idle client never sends TLS close_notify; stop() must not wait out asyncio's 30 s.
    import time

    import zephyr

    server = TestServer(tls=True).start()
    client = zephyr.Client(verify=server.ca_path)
    try:
        assert client.get(server.url + "/get").status_code == 200
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 5
    finally:
        client.close()
        server.stop()
