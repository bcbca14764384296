"""The client end to end, against the local test server: the tutorial's examples and more.

Every test talks to a real server over real sockets through a driver (see client_helpers), so
that the AsyncClient will run the same tests. Only the top-level functions (`zephyr.get` ...),
which have no async twin, call zephyr directly.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer, keep_alive_server
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory

# The client_factory fixture (and recording_server) come from client_helpers.
pytest_plugins = ["client_helpers"]

# -- the tutorial: GET and the response object ------------------------------------------------


def test_get_and_the_response_object(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    url = zephyr_server.url + "/get"
    response = client.get(url)

    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.url == zephyr.URL(url)
    assert str(response.url) == url
    assert response.history == []
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["content-type"] == "application/json"  # case-insensitive
    assert "server" in response.headers
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.encoding == "utf-8"
    assert isinstance(response.content, bytes)
    assert json.loads(response.text) == response.json()
    body = response.json()
    assert body["url"] == url
    assert body["origin"] == "127.0.0.1"
    assert body["headers"]["Host"] == url.split("/")[2]
    assert response.request.method == "GET"
    assert response.request.url == zephyr.URL(url)
    assert response.is_success
    assert not response.is_error
    assert response.raise_for_status() is response


def test_elapsed_covers_the_servers_delay(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    fast = client.get(zephyr_server.url + "/get")
    slow = client.get(zephyr_server.url + "/delay/0.15")
    assert isinstance(fast.elapsed, datetime.timedelta)
    assert datetime.timedelta(0) < fast.elapsed < datetime.timedelta(seconds=2)
    assert slow.elapsed >= datetime.timedelta(seconds=0.15)


@pytest.mark.parametrize(
    ("status", "reason", "kind"),
    [(404, "Not Found", "Client error"), (500, "Internal Server Error", "Server error")],
)
def test_raise_for_status_on_errors(
    client_factory: ClientFactory, zephyr_server: TestServer, status: int, reason: str, kind: str
) -> None:
    client = client_factory()
    url = f"{zephyr_server.url}/status/{status}"
    response = client.get(url)
    assert response.status_code == status
    assert response.reason_phrase == reason
    assert response.is_error
    with pytest.raises(zephyr.HTTPStatusError) as info:
        response.raise_for_status()
    assert info.value.response is response
    assert info.value.request is response.request
    assert info.value.request.url == zephyr.URL(url)
    assert f"{kind} '{status} {reason}' for url '{url}'" in str(info.value)
    assert isinstance(info.value, zephyr.HTTPError)


def test_tutorial_retry_loop_gives_up_after_three_attempts(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # The tutorial's "retrying failed requests": three tries at a 500, then give up.
    client = client_factory()
    failures: list[int] = []
    for _attempt in range(3):
        try:
            client.get(zephyr_server.url + "/status/500").raise_for_status()
        except zephyr.HTTPStatusError as exc:
            failures.append(exc.response.status_code)
            continue
        break  # pragma: no cover -- the server always fails
    assert failures == [500, 500, 500]


def test_raise_for_status_on_a_redirect(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/redirect/1")
    with pytest.raises(zephyr.HTTPStatusError, match="Redirect response '302 Found'") as info:
        response.raise_for_status()
    assert "Redirect location: '/get'" in str(info.value)


def test_connection_refused_is_a_connect_error(client_factory: ClientFactory) -> None:
    with ScriptedServer(keep_alive_server()) as server:
        url = server.url  # a port that was listening, and is not any more
    client = client_factory()
    with pytest.raises(zephyr.ConnectError) as info:
        client.get(url)
    assert isinstance(info.value, zephyr.TransportError)
    assert info.value.request.url == zephyr.URL(url)


def test_url_without_a_scheme_is_refused(client_factory: ClientFactory) -> None:
    client = client_factory()
    with pytest.raises(zephyr.UnsupportedProtocol, match="missing an 'http://' or 'https://'"):
        client.get("example.com/path")


# -- the request methods and their bodies -----------------------------------------------------


def test_post_json(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    payload = {"name": "zephyr", "tags": ["fast", "http"], "count": 3, "ok": True}
    response = client.post(zephyr_server.url + "/post", json=payload)
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["json"] == payload
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert int(echoed["headers"]["Content-Length"]) == len(echoed["data"].encode())


def test_post_form_data(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.post(zephyr_server.url + "/post", data={"a": "1", "b": ["x", "y"]})
    echoed = response.json()
    assert echoed["form"] == {"a": "1", "b": ["x", "y"]}
    assert echoed["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert echoed["json"] is None


def test_post_multipart_files_and_form(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    files = {
        "upload": ("report.txt", b"line one\nline two\n", "text/plain"),
        "blob": ("data.bin", b"\xff\xfe"),
    }
    response = client.post(zephyr_server.url + "/post", files=files, data={"field": "value"})
    echoed = response.json()
    assert echoed["form"] == {"field": "value"}
    assert echoed["files"]["upload"] == "line one\nline two\n"
    assert echoed["files"]["blob"] == "data:application/octet-stream;base64,//4="
    assert echoed["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_put_and_patch_with_json(
    client_factory: ClientFactory, zephyr_server: TestServer, method: str
) -> None:
    client = client_factory()
    url = f"{zephyr_server.url}/{method.lower()}"
    send = client.put if method == "PUT" else client.patch
    response = send(url, json={"id": 1, "title": "updated"})
    assert response.status_code == 200
    assert response.json()["json"] == {"id": 1, "title": "updated"}
    # The generic request() says the same.
    assert client.request(method, url, content=b"raw").json()["data"] == "raw"


def test_delete(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.delete(zephyr_server.url + "/delete", params={"id": "7"})
    assert response.status_code == 200
    assert response.json()["args"] == {"id": "7"}
    # /get does not allow DELETE: the server says which methods it does allow.
    refused = client.delete(zephyr_server.url + "/get")
    assert refused.status_code == 405
    assert "GET" in refused.headers["Allow"]


def test_head_has_headers_and_no_body(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.head(zephyr_server.url + "/get")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) > 0
    assert response.content == b""
    # The connection is still usable: the HEAD response's "body" was not waited for.
    assert client.get(zephyr_server.url + "/get").status_code == 200


def test_options(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.options(zephyr_server.url + "/get")
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_anything_echoes_each_method(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]:
        assert client.request(method, zephyr_server.url + "/anything").json()["method"] == method


# -- query parameters and headers -------------------------------------------------------------


def test_query_params(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    # The tutorial's example: GET with params={"status": "completed"}.
    client = client_factory()
    response = client.get(zephyr_server.url + "/get", params={"status": "completed"})
    assert response.json()["args"] == {"status": "completed"}
    assert response.url.params["status"] == "completed"


def test_params_are_merged_with_the_urls_own_query(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(
        zephyr_server.url + "/get?from_url=1&shared=a",
        params={"from_params": "2", "list": ["x", "y"], "space": "a b&c"},
    )
    assert response.json()["args"] == {
        "from_url": "1",
        "shared": "a",
        "from_params": "2",
        "list": ["x", "y"],
        "space": "a b&c",
    }


def test_custom_headers(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.get(
        zephyr_server.url + "/headers",
        headers={"X-Custom": "value", "User-Agent": "my-app/1.0", "Accept": "application/json"},
    )
    headers = response.json()["headers"]
    assert headers["X-Custom"] == "value"
    assert headers["User-Agent"] == "my-app/1.0"  # replaces the default, not added to it
    assert headers["Accept"] == "application/json"


def test_default_headers(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    headers = client.get(zephyr_server.url + "/headers").json()["headers"]
    assert headers["Accept"] == "*/*"
    encodings = [coding.strip() for coding in headers["Accept-Encoding"].split(",")]
    assert encodings == ["gzip", "deflate", "br", "zstd"]  # brotli and zstandard are installed
    assert headers["Connection"] == "keep-alive"
    assert headers["User-Agent"] == f"python-zephyr/{zephyr.__version__}"
    assert client.get(zephyr_server.url + "/user-agent").json() == {
        "user-agent": f"python-zephyr/{zephyr.__version__}"
    }


# -- top-level functions ----------------------------------------------------------------------


def test_top_level_functions(zephyr_server: TestServer) -> None:
    url = zephyr_server.url
    assert zephyr.get(url + "/get", params={"q": "1"}).json()["args"] == {"q": "1"}
    assert zephyr.post(url + "/post", json={"a": 1}).json()["json"] == {"a": 1}
    assert zephyr.put(url + "/put", data={"a": "1"}).json()["form"] == {"a": "1"}
    assert zephyr.patch(url + "/patch", content=b"x").json()["data"] == "x"
    assert zephyr.delete(url + "/delete").status_code == 200
    assert zephyr.head(url + "/get").content == b""
    assert zephyr.options(url + "/get").headers["Allow"]
    response = zephyr.request("GET", url + "/headers", headers={"X-A": "b"})
    assert response.json()["headers"]["X-A"] == "b"
    assert zephyr.get(url + "/redirect/1").status_code == 302  # redirects off by default
    assert zephyr.get(url + "/redirect/1", follow_redirects=True).status_code == 200
    assert zephyr.get(url + "/basic-auth/u/p", auth=("u", "p")).status_code == 200
    echoed = zephyr.get(url + "/cookies", cookies={"c": "1"}).json()
    assert echoed == {"cookies": {"c": "1"}}


def test_top_level_stream(zephyr_server: TestServer) -> None:
    with zephyr.stream("GET", zephyr_server.url + "/stream/3") as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert [json.loads(line)["id"] for line in lines] == [0, 1, 2]
    assert response.is_closed


# -- the client's lifetime --------------------------------------------------------------------


def test_client_as_a_context_manager(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    driver = client_factory()
    with driver as entered:
        assert entered is driver
        assert driver.get(zephyr_server.url + "/get").status_code == 200
        assert not driver.client.is_closed
    assert driver.client.is_closed


def test_closed_client_refuses_requests(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    driver = client_factory()
    driver.get(zephyr_server.url + "/get")
    driver.close()
    with pytest.raises(RuntimeError, match="client has been closed"):
        driver.get(zephyr_server.url + "/get")
    with (
        pytest.raises(RuntimeError, match="client has been closed"),
        driver.stream("GET", zephyr_server.url + "/get"),
    ):
        pass  # pragma: no cover
    with pytest.raises(RuntimeError, match="client has been closed"), driver:
        pass  # pragma: no cover


# -- client-level defaults --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["items", "/items"])
@pytest.mark.parametrize("base_path", ["/anything/api", "/anything/api/"])
def test_base_url_joining(
    client_factory: ClientFactory, zephyr_server: TestServer, path: str, base_path: str
) -> None:
    client = client_factory(base_url=zephyr_server.url + base_path)
    response = client.get(path, params={"page": "2"})
    assert response.json()["url"] == zephyr_server.url + "/anything/api/items?page=2"
    # An absolute URL ignores base_url.
    assert client.get(zephyr_server.url + "/get").json()["url"] == zephyr_server.url + "/get"


def test_client_params_headers_and_cookies_merge_with_the_requests(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(
        params={"client": "1", "shared": "client"},
        headers={"X-Client": "c", "X-Shared": "client"},
        cookies={"client_cookie": "c", "shared_cookie": "client"},
    )
    echoed = client.get(
        zephyr_server.url + "/anything?url_arg=u",
        params={"request": "2"},
        headers={"X-Request": "r", "X-Shared": "request"},
        cookies={"request_cookie": "r", "shared_cookie": "request"},
    ).json()
    assert echoed["args"] == {"client": "1", "shared": "client", "request": "2", "url_arg": "u"}
    assert echoed["headers"]["X-Client"] == "c"
    assert echoed["headers"]["X-Request"] == "r"
    assert echoed["headers"]["X-Shared"] == "request"
    cookie_pairs = dict(pair.split("=", 1) for pair in echoed["headers"]["Cookie"].split("; "))
    assert cookie_pairs == {
        "client_cookie": "c",
        "shared_cookie": "request",
        "request_cookie": "r",
    }
    # The per-request ones were not kept.
    echoed = client.get(zephyr_server.url + "/anything").json()
    assert echoed["args"] == {"client": "1", "shared": "client"}
    assert "X-Request" not in echoed["headers"]
    assert echoed["headers"]["Cookie"] in (
        "client_cookie=c; shared_cookie=client",
        "shared_cookie=client; client_cookie=c",
    )


def test_settable_properties(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    driver = client_factory()
    client = driver.client
    calls: list[str] = []

    client.headers = {"X-Set": "1"}
    client.cookies = {"jar": "2"}
    client.params = {"p": "3"}
    client.auth = ("u", "p")
    client.base_url = zephyr_server.url + "/anything"
    client.timeout = 7.5
    client.event_hooks = {"request": [driver.hook(lambda request: calls.append("request"))]}
    client.follow_redirects = True

    assert client.headers["X-Set"] == "1"
    assert client.headers["User-Agent"] == f"python-zephyr/{zephyr.__version__}"  # kept
    assert client.cookies["jar"] == "2"
    assert client.params == zephyr.QueryParams({"p": "3"})
    assert isinstance(client.auth, zephyr.BasicAuth)
    assert client.base_url == zephyr.URL(zephyr_server.url + "/anything/")
    assert client.timeout == zephyr.Timeout(7.5)
    assert client.follow_redirects is True

    echoed = driver.get("x").json()
    assert echoed["url"] == zephyr_server.url + "/anything/x?p=3"
    assert echoed["headers"]["X-Set"] == "1"
    assert echoed["headers"]["Cookie"] == "jar=2"
    assert echoed["headers"]["Authorization"] == "Basic dTpw"
    assert calls == ["request"]
    built = client.build_request("GET", "x")
    assert built.extensions["timeout"] == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}
    # follow_redirects=True took effect:
    assert driver.get(zephyr_server.url + "/redirect/1").status_code == 200


def test_build_request_and_send(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    driver = client_factory(headers={"X-Client": "c"})
    request = driver.client.build_request(
        "POST", zephyr_server.url + "/anything", params={"a": "1"}, json={"k": "v"}
    )
    assert isinstance(request, zephyr.Request)
    assert request.headers["X-Client"] == "c"
    assert request.url == zephyr.URL(zephyr_server.url + "/anything?a=1")
    request.headers["X-Added-Later"] = "yes"
    response = driver.send(request)
    echoed = response.json()
    assert echoed["method"] == "POST"
    assert echoed["json"] == {"k": "v"}
    assert echoed["headers"]["X-Added-Later"] == "yes"
    assert response.request is request


# -- custom transports ------------------------------------------------------------------------


def test_mock_transport(client_factory: ClientFactory) -> None:
    seen: list[zephyr.Request] = []

    def handler(request: zephyr.Request) -> zephyr.Response:
        seen.append(request)
        return zephyr.Response(
            201, json={"path": request.url.path, "body": request.content.decode()}
        )

    client = client_factory(
        transport=zephyr.MockTransport(handler), base_url="https://api.example", headers={"X": "1"}
    )
    response = client.post("/things", content=b"payload")
    assert response.status_code == 201
    assert response.json() == {"path": "/things", "body": "payload"}
    assert seen[0].headers["X"] == "1"
    assert seen[0].headers["User-Agent"] == f"python-zephyr/{zephyr.__version__}"
    assert response.request is seen[0]


def test_mounts_route_by_url_pattern(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    def handler(request: zephyr.Request) -> zephyr.Response:
        return zephyr.Response(200, text=f"mocked {request.url.host}")

    client = client_factory(mounts={"all://other.example": zephyr.MockTransport(handler)})
    assert client.get("http://other.example/x").text == "mocked other.example"
    assert client.get("https://other.example:8443/x").text == "mocked other.example"
    # Everything else still goes to the network.
    assert client.get(zephyr_server.url + "/get").json()["url"] == zephyr_server.url + "/get"


# -- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "flag", "coding"),
    [
        ("/gzip", "gzipped", "gzip"),
        ("/deflate", "deflated", "deflate"),
        ("/brotli", "brotli", "br"),
    ],
)
def test_compressed_responses_are_decoded(
    client_factory: ClientFactory, zephyr_server: TestServer, path: str, flag: str, coding: str
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + path)
    assert response.headers["Content-Encoding"] == coding
    body = response.json()
    assert body[flag] is True
    assert body["method"] == "GET"
    # Content-Length counts the compressed bytes, which came off the wire.
    assert response.num_bytes_downloaded == int(response.headers["Content-Length"])
    assert response.num_bytes_downloaded < len(response.content)


def test_utf8_text(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/encoding/utf8")
    assert response.encoding == "utf-8"
    assert response.charset_encoding == "utf-8"
    assert "Zéphyr, façade, naïve, Ærøskøbing" in response.text
    assert response.text == response.content.decode("utf-8")


def test_html_and_json_documents(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    html = client.get(zephyr_server.url + "/html")
    assert html.headers["Content-Type"].startswith("text/html")
    assert "<html" in html.text.lower()
    document = client.get(zephyr_server.url + "/json").json()
    assert isinstance(document, dict)
    assert document


def test_default_encoding_for_text_without_a_charset(client_factory: ClientFactory) -> None:
    body = "café, naïve".encode("latin-1")
    response_bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with ScriptedServer(keep_alive_server(response_bytes)) as server:
        plain = client_factory()
        assert plain.get(server.url).text == "caf\ufffd, na\ufffdve"  # UTF-8 by default
        latin = client_factory(default_encoding="latin-1")
        assert latin.get(server.url).encoding == "latin-1"
        assert latin.get(server.url).text == "café, naïve"
        guessed = client_factory(default_encoding=lambda content: "cp1252")
        assert guessed.get(server.url).text == "café, naïve"
        overridden = plain.get(server.url)
        overridden.encoding = "latin-1"
        assert overridden.text == "café, naïve"
        for driver in (plain, latin, guessed):
            driver.close()


def test_zstd_response_is_decoded(client_factory: ClientFactory) -> None:
    import zstandard

    payload = b'{"zstd": true}' * 100
    compressed = zstandard.ZstdCompressor().compress(payload)
    response_bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(compressed)).encode() + b"\r\n\r\n" + compressed
    )
    with ScriptedServer(keep_alive_server(response_bytes)) as server:
        driver = client_factory()
        assert driver.get(server.url).content == payload
        driver.close()


# -- streaming --------------------------------------------------------------------------------


def test_stream_iter_bytes(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    url = zephyr_server.url + "/stream-bytes/50000?seed=7&chunk_size=1000"
    expected = client.get(url).content
    assert len(expected) == 50000
    with client.stream("GET", url) as streamed:
        response = streamed.response
        assert response.status_code == 200
        assert not response.is_stream_consumed
        chunks = list(streamed.iter_bytes(chunk_size=4096))
        assert response.num_bytes_downloaded == 50000
    assert b"".join(chunks) == expected
    assert all(len(chunk) == 4096 for chunk in chunks[:-1])
    assert response.is_closed


def test_stream_iter_text_and_lines(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    with client.stream("GET", zephyr_server.url + "/encoding/utf8") as streamed:
        text = "".join(streamed.iter_text(chunk_size=7))
    assert "Ærøskøbing" in text
    with client.stream("GET", zephyr_server.url + "/stream/4") as streamed:
        lines = list(streamed.iter_lines())
    assert [json.loads(line)["id"] for line in lines] == [0, 1, 2, 3]


def test_stream_iter_raw_keeps_the_content_encoding(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    with client.stream("GET", zephyr_server.url + "/gzip") as streamed:
        raw = b"".join(streamed.iter_raw())
        assert streamed.response.num_bytes_downloaded == len(raw)
    assert raw[:2] == b"\x1f\x8b"  # the gzip magic: not decoded
    with pytest.raises(zephyr.StreamConsumed):
        list(streamed.iter_raw())


def test_stream_closed_unread_cannot_be_read_after_the_block(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    with client.stream("GET", zephyr_server.url + "/get") as streamed:
        pass
    assert streamed.response.is_closed
    with pytest.raises(zephyr.StreamClosed):
        streamed.read()


def test_stream_read_inside_the_block(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    with client.stream("POST", zephyr_server.url + "/post", json={"a": 1}) as streamed:
        with pytest.raises(zephyr.ResponseNotRead):
            _ = streamed.response.content
        content = streamed.read()
    assert streamed.response.json()["json"] == {"a": 1}
    assert streamed.response.content == content
    with pytest.raises(zephyr.StreamConsumed):
        list(streamed.iter_raw())


def test_stream_elapsed_is_set_when_the_response_closes(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    with (
        client.stream("GET", zephyr_server.url + "/get") as streamed,
        pytest.raises(RuntimeError, match="elapsed"),
    ):
        _ = streamed.response.elapsed
    assert streamed.response.elapsed > datetime.timedelta(0)


def test_send_with_stream_true(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    driver = client_factory(limits=zephyr.Limits(max_connections=1))
    request = driver.client.build_request("GET", zephyr_server.url + "/stream/2")
    streamed = driver.send_stream(request)
    try:
        assert not streamed.response.is_stream_consumed
        with pytest.raises(zephyr.ResponseNotRead):
            _ = streamed.response.content
    finally:
        streamed.close()
    assert streamed.response.is_closed
    assert driver.get(zephyr_server.url + "/get").status_code == 200


def test_error_inside_the_stream_block_releases_the_connection(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(limits=zephyr.Limits(max_connections=1), timeout=1.0)
    url = zephyr_server.url + "/drip?numbytes=4&duration=0.2"
    with pytest.raises(KeyError), client.stream("GET", url) as streamed:
        raise KeyError("the caller's own error")
    assert streamed.response.is_closed
    assert client.get(zephyr_server.url + "/get").status_code == 200


def test_stream_left_unread_frees_the_connection(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(limits=zephyr.Limits(max_connections=1), timeout=2.0)
    for _ in range(3):
        with client.stream("GET", zephyr_server.url + "/bytes/100000") as streamed:
            assert streamed.response.status_code == 200  # body never read
    assert client.get(zephyr_server.url + "/get").status_code == 200


# -- HTTPS ------------------------------------------------------------------------------------


def test_https_with_the_test_ca(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(verify=zephyr_tls_server.ca_path)
    response = client.get(zephyr_tls_server.url + "/get")
    assert response.status_code == 200
    assert response.url.scheme == "https"
    assert response.json()["url"] == zephyr_tls_server.url + "/get"


def test_https_without_the_ca_fails_to_connect(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory()  # certifi's roots do not include the test CA
    with pytest.raises(zephyr.ConnectError, match=r"(?i)certificate") as info:
        client.get(zephyr_tls_server.url + "/get")
    assert info.value.request.url == zephyr.URL(zephyr_tls_server.url + "/get")


def test_https_with_an_ssl_context_or_verify_false(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    with_context = client_factory(verify=zephyr_tls_server.client_ssl_context())
    assert with_context.get(zephyr_tls_server.url + "/get").status_code == 200
    unverified = client_factory(verify=False)
    assert unverified.get(zephyr_tls_server.url + "/get").status_code == 200


def test_top_level_function_over_https(zephyr_tls_server: TestServer) -> None:
    url = zephyr_tls_server.url + "/get"
    assert zephyr.get(url, verify=zephyr_tls_server.ca_path).status_code == 200
    with pytest.raises(zephyr.ConnectError):
        zephyr.get(url)


def test_http2_falls_back_to_http11(client_factory: ClientFactory) -> None:
    # The tutorial: http2=True uses HTTP/1.1 when the server offers only that.
    with TestServer(tls=True, http2=False) as server:
        client = client_factory(http2=True, verify=server.ca_path)
        response = client.get(server.url + "/get")
        client.close()  # before the server stops, which waits for open connections
        assert response.status_code == 200
        assert response.http_version == "HTTP/1.1"


def test_http2_is_used_when_the_server_offers_it(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
    assert client.get(zephyr_tls_server.url + "/get").http_version == "HTTP/2"


# -- connection reuse -------------------------------------------------------------------------


def test_sequential_requests_reuse_one_connection(client_factory: ClientFactory) -> None:
    with ScriptedServer(keep_alive_server()) as server:
        client = client_factory()
        for _ in range(5):
            response = client.get(server.url + "x")
            assert response.text == "hello"
        with client.stream("GET", server.url + "streamed") as streamed:
            assert streamed.read() == b"hello"
        assert client.post(server.url + "p", content=b"body").text == "hello"
        assert server.accepted == 1
        assert len(server.errors) == 0


def test_threads_share_one_client(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(limits=zephyr.Limits(max_connections=4))

    def fetch(worker: int) -> list[bool]:
        results = []
        for index in range(5):
            echo_id = f"{worker}-{index}"
            response = client.get(f"{zephyr_server.url}/echo-id/{echo_id}")
            results.append(
                response.headers["X-Echo-Id"] == echo_id and response.json()["id"] == echo_id
            )
        return results

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [ok for results in pool.map(fetch, range(8)) for ok in results]
    assert outcomes == [True] * 40


@pytest.fixture
def two_connections_server() -> Iterator[ScriptedServer]:
    with ScriptedServer(keep_alive_server()) as server:
        yield server


def test_separate_clients_use_separate_connections(
    client_factory: ClientFactory, two_connections_server: ScriptedServer
) -> None:
    url = two_connections_server.url
    first, second = client_factory(), client_factory()
    first.get(url)
    second.get(url)
    first.get(url)
    assert two_connections_server.accepted == 2


# -- event hooks ------------------------------------------------------------------------------


def test_event_hooks_order(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    events: list[str] = []
    driver = client_factory()

    def on_request(name: str) -> object:
        return driver.hook(
            lambda request: events.append(f"{name} {request.method} {request.url.path}")
        )

    def on_response(name: str) -> object:
        return driver.hook(
            lambda response: events.append(f"{name} {response.status_code} {response.url.path}")
        )

    driver.client.event_hooks = {
        "request": [on_request("req1"), on_request("req2")],
        "response": [on_response("resp1"), on_response("resp2")],
    }
    driver.get(zephyr_server.url + "/redirect/1", follow_redirects=True)
    assert events == [
        "req1 GET /redirect/1",
        "req2 GET /redirect/1",
        "resp1 302 /redirect/1",
        "resp2 302 /redirect/1",
        "req1 GET /get",
        "req2 GET /get",
        "resp1 200 /get",
        "resp2 200 /get",
    ]


def test_response_hooks_see_auth_challenges(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    statuses: list[int] = []
    driver = client_factory(auth=zephyr.DigestAuth("u", "p"))
    driver.client.event_hooks = {
        "response": [driver.hook(lambda response: statuses.append(response.status_code))]
    }
    assert driver.get(zephyr_server.url + "/digest-auth/auth/u/p").status_code == 200
    assert statuses == [401, 200]


def test_request_hook_can_modify_the_request(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    driver = client_factory()

    def add_header(request: zephyr.Request) -> None:
        request.headers["X-Hooked"] = "yes"

    driver.client.event_hooks = {"request": [driver.hook(add_header)]}
    assert driver.get(zephyr_server.url + "/headers").json()["headers"]["X-Hooked"] == "yes"


def test_response_hook_reading_the_body(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    logged: list[str] = []
    driver = client_factory()
    driver.client.event_hooks = {
        "response": [driver.hook(lambda response: logged.append(response.text), read=True)]
    }
    response = driver.get(zephyr_server.url + "/encoding/utf8")
    assert logged == [response.text]
    with driver.stream("GET", zephyr_server.url + "/stream/2") as streamed:
        lines = list(streamed.iter_lines())  # already read by the hook: served from memory
    assert len(lines) == 2
    assert logged[1].splitlines() == lines


def test_response_hook_raise_for_status_propagates(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    driver = client_factory()
    driver.client.event_hooks = {
        "response": [driver.hook(lambda response: response.raise_for_status())]
    }
    with pytest.raises(zephyr.HTTPStatusError) as info:
        driver.get(zephyr_server.url + "/status/503")
    assert info.value.response.status_code == 503
    with (
        pytest.raises(zephyr.HTTPStatusError),
        driver.stream("GET", zephyr_server.url + "/status/404"),
    ):
        pass  # pragma: no cover
    # The failed responses were released: the client still works, for as long as we like.
    assert driver.get(zephyr_server.url + "/get").status_code == 200


def test_failing_request_hook_sends_nothing(client_factory: ClientFactory) -> None:
    heads: list[bytes] = []

    def record(conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            heads.append(request[0])
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    def refuse(request: zephyr.Request) -> None:
        raise PermissionError(f"not allowed: {request.url.path}")

    with ScriptedServer(record) as server:
        driver = client_factory(event_hooks={"request": []})
        driver.client.event_hooks["request"].append(driver.hook(refuse))  # in place works too
        with pytest.raises(PermissionError, match="not allowed: /forbidden"):
            driver.get(server.url + "forbidden")
        assert heads == []
        driver.client.event_hooks = {}
        assert driver.get(server.url + "allowed").status_code == 200
        assert len(heads) == 1
        driver.close()


def test_unknown_event_hook_is_refused() -> None:
    with pytest.raises(ValueError, match="event hook"):
        zephyr.Client(event_hooks={"respons": []})


# -- logging ----------------------------------------------------------------------------------


def test_one_info_line_per_request(
    client_factory: ClientFactory, zephyr_server: TestServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_factory()
    caplog.set_level(logging.INFO, logger="zephyr")
    client.get(zephyr_server.url + "/get")
    client.post(zephyr_server.url + "/status/404")
    client.get(zephyr_server.url + "/redirect/1", follow_redirects=True)
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("zephyr") and record.levelno == logging.INFO
    ]
    url = zephyr_server.url
    assert lines == [
        f'HTTP Request: GET {url}/get "HTTP/1.1 200 OK"',
        f'HTTP Request: POST {url}/status/404 "HTTP/1.1 404 Not Found"',
        f'HTTP Request: GET {url}/redirect/1 "HTTP/1.1 302 Found"',
        f'HTTP Request: GET {url}/get "HTTP/1.1 200 OK"',
    ]


# -- the shortcuts (get() and the others) without arguments -----------------------------------
#
# With nothing but a URL, and `request()` not overridden, the shortcuts build the request
# themselves (a quicker path than `build_request`'s): it must be the request build_request makes.

_SHORTCUTS = ["get", "options", "head", "post", "put", "patch", "delete"]


def _call(client: zephyr.Client | zephyr.AsyncClient, name: str, *args: object) -> object:
    result = getattr(client, name)(*args)
    if isinstance(client, zephyr.AsyncClient):

        async def wait() -> object:
            return await result

        return asyncio.run(wait())
    return result


def _mock_client(
    is_async: bool, handler: Callable[[zephyr.Request], zephyr.Response], **kwargs: Any
) -> zephyr.Client | zephyr.AsyncClient:
    transport = zephyr.MockTransport(handler)
    if is_async:
        return zephyr.AsyncClient(transport=transport, **kwargs)
    return zephyr.Client(transport=transport, **kwargs)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", _SHORTCUTS)
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"base_url": "https://api.example/v1", "headers": {"X-Key": "k"}, "timeout": 3.0},
        {"params": {"page": "2"}},
        {"cookies": {"session": "abc"}},
    ],
    ids=["plain", "base_url-headers-timeout", "params", "cookies"],
)
def test_shortcuts_send_what_build_request_builds(
    is_async: bool, name: str, settings: dict[str, Any]
) -> None:
    seen: list[zephyr.Request] = []

    def handler(request: zephyr.Request) -> zephyr.Response:
        seen.append(request)
        return zephyr.Response(200, text="ok")

    client = _mock_client(is_async, handler, **settings)
    url = "https://api.example/v1/items" if not settings.get("base_url") else "items"
    response = _call(client, name, url)
    assert isinstance(response, zephyr.Response)
    assert response.status_code == 200
    assert response.request is seen[0]
    expected = client.build_request(name.upper(), url)
    sent = seen[0]
    assert sent.method == expected.method
    assert sent.url == expected.url
    assert sent.headers.raw == expected.headers.raw
    assert sent.extensions == expected.extensions
    assert sent.content == expected.content == b""


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("overridden", ["request", "build_request"])
def test_shortcuts_go_through_an_overridden_request(is_async: bool, overridden: str) -> None:
    calls: list[tuple[str, str]] = []
    base: type[zephyr.Client] | type[zephyr.AsyncClient] = (
        zephyr.AsyncClient if is_async else zephyr.Client
    )

    if overridden == "request":
        if is_async:

            class Recording(zephyr.AsyncClient):
                async def request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response:
                    calls.append(("request", method))
                    return await super().request(method, url, **kwargs)

        else:

            class Recording(zephyr.Client):  # type: ignore[no-redef]
                def request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response:
                    calls.append(("request", method))
                    return super().request(method, url, **kwargs)

        subclass: type[zephyr.Client] | type[zephyr.AsyncClient] = Recording
    else:

        class Building(base):  # type: ignore[valid-type, misc]
            def build_request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Request:
                calls.append(("build_request", method))
                return super().build_request(method, url, **kwargs)  # type: ignore[no-any-return]

        subclass = Building

    client = subclass(transport=zephyr.MockTransport(lambda r: zephyr.Response(204)))
    for name in _SHORTCUTS:
        response = _call(client, name, "https://example.org/")
        assert isinstance(response, zephyr.Response)
        assert response.status_code == 204
    assert calls == [(overridden, name.upper()) for name in _SHORTCUTS]
    # Our own classes take the quick way; a subclass that overrides neither does too.
    assert not zephyr.Client._request_overridden
    assert not zephyr.AsyncClient._request_overridden

    class Plain(base):  # type: ignore[valid-type, misc]
        pass

    assert not Plain._request_overridden


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_redirects_without_a_flow_to_drive(is_async: bool) -> None:
    # No auth, hooks or retries: the client sends the first request itself and hands the
    # response to the flow only if it redirects.
    def handler(request: zephyr.Request) -> zephyr.Response:
        if request.url.path == "/old":
            return zephyr.Response(
                302, headers={"Location": "/new", "Set-Cookie": "seen=1; Path=/"}
            )
        return zephyr.Response(200, text=f"at {request.url.path}, {request.headers.get('cookie')}")

    client = _mock_client(is_async, handler)
    response = _call(client, "get", "https://example.org/old")
    assert isinstance(response, zephyr.Response)
    assert response.status_code == 302
    assert response.history == []
    assert response.next_request is not None
    assert response.next_request.url == "https://example.org/new"
    assert client.cookies["seen"] == "1"

    following = _mock_client(is_async, handler, follow_redirects=True)
    response = _call(following, "get", "https://example.org/old")
    assert isinstance(response, zephyr.Response)
    assert response.text == "at /new, seen=1"
    assert [r.status_code for r in response.history] == [302]
    assert response.history[0].is_closed

    with pytest.raises(zephyr.TooManyRedirects):
        _call(
            _mock_client(is_async, handler, follow_redirects=True, max_redirects=0),
            "get",
            "https://example.org/old",
        )


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_bad_redirect_closes_the_response_sent_without_a_flow(is_async: bool) -> None:
    closed: list[bool] = []

    class Body(zephyr.SyncByteStream, zephyr.AsyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b""

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b""

        def close(self) -> None:
            closed.append(True)

        async def aclose(self) -> None:
            closed.append(True)

    def handler(request: zephyr.Request) -> zephyr.Response:
        return zephyr.Response(302, headers={"Location": "ftp://example.org/x"}, stream=Body())

    client = _mock_client(is_async, handler, follow_redirects=True)
    with pytest.raises(zephyr.UnsupportedProtocol):
        _call(client, "get", "https://example.org/old")
    assert closed == [True]
