import asyncio
import pickle
from collections.abc import AsyncIterator, Iterator

import pytest

import zephyr


def test_basic_request() -> None:
    request = zephyr.Request("get", "https://example.org/path?a=1")
    assert request.method == "GET"
    assert request.url == "https://example.org/path?a=1"
    assert request.headers["Host"] == "example.org"
    assert request.content == b""
    assert repr(request) == "<Request('GET', 'https://example.org/path?a=1')>"


def test_host_header_comes_first_and_has_the_port() -> None:
    request = zephyr.Request("GET", "http://example.org:8080/", headers={"X-A": "1"})
    assert request.headers.raw[0] == (b"Host", b"example.org:8080")
    assert request.headers.raw[1] == (b"X-A", b"1")


def test_user_host_header_is_kept() -> None:
    request = zephyr.Request("GET", "http://example.org/", headers={"Host": "other.example"})
    assert request.headers.get_list("host") == ["other.example"]


def test_params_are_merged_with_the_urls_own_query() -> None:
    request = zephyr.Request("GET", "https://example.org/?a=1", params={"b": "2"})
    assert request.url.params.multi_items() == [("a", "1"), ("b", "2")]


def test_method_bytes_and_validation() -> None:
    assert zephyr.Request(b"PATCH", "https://example.org/").method == "PATCH"
    for bad in ("GET /evil HTTP/1.1\r\nX:", "GE T", "", "GET\x00"):
        with pytest.raises(zephyr.LocalProtocolError, match="method"):
            zephyr.Request(bad, "https://example.org/")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_empty_body_methods_get_content_length_zero(method: str) -> None:
    request = zephyr.Request(method, "https://example.org/")
    assert request.headers["Content-Length"] == "0"


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_bodiless_methods_get_no_framing_headers(method: str) -> None:
    request = zephyr.Request(method, "https://example.org/")
    assert "content-length" not in request.headers
    assert "transfer-encoding" not in request.headers


def test_bytes_content() -> None:
    body = b"x" * 10
    request = zephyr.Request("POST", "https://example.org/", content=body)
    assert request.headers["Content-Length"] == "10"
    assert request.content is body
    assert list(request.stream) == [body]  # type: ignore[arg-type]


def test_json_body() -> None:
    request = zephyr.Request("POST", "https://example.org/", json={"a": "é", "b": [1, 2]})
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == '{"a":"é","b":[1,2]}'.encode()
    assert request.headers["Content-Length"] == str(len(request.content))


def test_form_body() -> None:
    request = zephyr.Request("POST", "https://example.org/", data={"a": ["1", "2"], "b": "x y"})
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"a=1&a=2&b=x+y"


def test_multipart_body_uses_the_boundary_of_a_given_content_type() -> None:
    request = zephyr.Request(
        "POST",
        "https://example.org/",
        files={"f": ("a.txt", b"hello")},
        headers={"Content-Type": "multipart/form-data; boundary=XYZ"},
    )
    body = request.read()
    assert body.startswith(b"--XYZ\r\n")
    assert body.endswith(b"--XYZ--\r\n")
    assert request.headers["Content-Type"] == "multipart/form-data; boundary=XYZ"


def test_streaming_body_is_chunked_and_readable_once() -> None:
    def generate() -> Iterator[bytes]:
        yield b"ab"
        yield b"cd"

    request = zephyr.Request("POST", "https://example.org/", content=generate())
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert "content-length" not in request.headers
    with pytest.raises(zephyr.RequestNotRead):
        _ = request.content
    assert request.read() == b"abcd"
    # Once read, the body can be sent again (redirects, auth retries).
    assert b"".join(request.stream) == b"abcd"  # type: ignore[arg-type]


def test_user_content_length_wins_over_chunked() -> None:
    def generate() -> Iterator[bytes]:
        yield b"abcd"

    request = zephyr.Request(
        "POST", "https://example.org/", content=generate(), headers={"Content-Length": "4"}
    )
    assert request.headers["Content-Length"] == "4"
    assert "transfer-encoding" not in request.headers


def test_async_streaming_body() -> None:
    async def generate() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    request = zephyr.Request("POST", "https://example.org/", content=generate())
    assert request.headers["Transfer-Encoding"] == "chunked"
    assert asyncio.run(request.aread()) == b"abcd"
    assert request.content == b"abcd"


def test_read_of_async_stream_is_refused_with_advice() -> None:
    async def generate() -> AsyncIterator[bytes]:
        yield b"x"

    request = zephyr.Request("POST", "https://example.org/", content=generate())
    with pytest.raises(TypeError, match="aread"):
        request.read()


def test_cookies_become_a_cookie_header() -> None:
    request = zephyr.Request("GET", "https://example.org/", cookies={"a": "1", "b": "2"})
    assert request.headers["Cookie"] == "a=1; b=2"


def test_explicit_stream_is_used_as_is() -> None:
    stream = zephyr.ByteStream(b"raw")
    request = zephyr.Request("POST", "https://example.org/", stream=stream)
    assert request.stream is stream
    assert "content-length" not in request.headers


def test_extensions() -> None:
    request = zephyr.Request("GET", "https://example.org/", extensions={"timeout": {}})
    assert request.extensions == {"timeout": {}}
    assert zephyr.Request("GET", "https://example.org/").extensions == {}


def test_header_injection_is_refused() -> None:
    with pytest.raises(zephyr.LocalProtocolError):
        zephyr.Request("GET", "https://example.org/", headers={"X-A": "1\r\nX-Evil: 2"})


def test_url_injection_is_refused() -> None:
    with pytest.raises(zephyr.InvalidURL):
        zephyr.Request("GET", "https://example.org/\r\nX-Evil: 1")


def test_pickle_keeps_an_in_memory_body() -> None:
    request = zephyr.Request("POST", "https://example.org/", json={"a": 1}, extensions={"x": 1})
    copy = pickle.loads(pickle.dumps(request))
    assert copy.method == "POST"
    assert copy.url == request.url
    assert copy.headers == request.headers
    assert copy.content == b'{"a":1}'
    assert copy.extensions == {}
    assert b"".join(copy.stream) == b'{"a":1}'


def test_pickle_of_an_unread_stream_gives_a_closed_stream() -> None:
    def generate() -> Iterator[bytes]:
        yield b"x"

    request = zephyr.Request("POST", "https://example.org/", content=generate())
    copy = pickle.loads(pickle.dumps(request))
    with pytest.raises(zephyr.RequestNotRead):
        _ = copy.content
    with pytest.raises(zephyr.StreamClosed):
        copy.read()


def test_multipart_content_type_without_boundary_gets_the_bodys_boundary() -> None:
    request = zephyr.Request(
        "POST",
        "https://example.org/",
        files={"f": ("a.txt", b"hello")},
        headers={"Content-Type": "multipart/form-data"},
    )
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    assert request.read().startswith(b"--" + boundary + b"\r\n")
    assert request.headers.get_list("content-type") == [content_type]


@pytest.mark.parametrize("method", ["GET", "get", "POST", "DELETE", "PURGE"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Accept": "*/*", "User-Agent": "test"},
        {"Host": "elsewhere.example", "Accept": "*/*"},
        {"Content-Length": "0"},
    ],
)
def test_without_body_builds_what_the_constructor_builds(
    method: str, headers: dict[str, str]
) -> None:
    url = zephyr.URL("https://example.org:8443/path?q=1")
    given = zephyr.Headers(headers)
    extensions = {"timeout": {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0}}
    quick = zephyr.Request._without_body(method, url, given, extensions)
    built = zephyr.Request(method, url, headers=given, extensions=extensions)
    assert quick.method == built.method
    assert quick.url is url
    assert built.url is url
    assert quick.headers.raw == built.headers.raw
    assert quick.extensions == built.extensions
    assert quick.extensions is extensions  # taken, not copied: the caller made it for us
    assert quick.content == built.content == b""
    assert list(quick.stream) == list(built.stream) == []  # type: ignore[arg-type]
    # The headers given are copied, not shared.
    assert given.raw == zephyr.Headers(headers).raw
    quick.headers["X-Later"] = "1"
    assert "x-later" not in given


def test_without_body_refuses_a_bad_method() -> None:
    with pytest.raises(zephyr.LocalProtocolError):
        zephyr.Request._without_body(
            "GET /x HTTP/1.1\r\n", zephyr.URL("https://example.org/"), zephyr.Headers(), {}
        )


def test_requests_without_a_body_share_one_empty_stream() -> None:
    first = zephyr.Request("GET", "https://example.org/")
    second = zephyr.Request("GET", "https://example.org/")
    assert first.stream is second.stream
    assert list(first.stream) == []  # type: ignore[arg-type]
    assert asyncio.run(_collect(second.stream)) == []  # type: ignore[arg-type]


async def _collect(stream: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in stream]
