import asyncio
import datetime
import gzip
import json
import pickle
import zlib
from collections.abc import AsyncIterator, Iterator

import pytest

import zephyr


class ChunkStream(zephyr.SyncByteStream):
    """A body arriving in pieces, as a transport delivers it; records whether it was closed."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True


class AsyncChunkStream(zephyr.AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def make_request() -> zephyr.Request:
    return zephyr.Request("GET", "https://example.org/path")


def test_response_with_content() -> None:
    response = zephyr.Response(200, content=b"Hello, world!", request=make_request())
    assert response.status_code == 200
    assert response.reason_phrase == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.content == b"Hello, world!"
    assert response.text == "Hello, world!"
    assert response.headers["Content-Length"] == "13"
    assert response.url == "https://example.org/path"
    assert repr(response) == "<Response [200 OK]>"
    assert response.is_closed
    assert response.num_bytes_downloaded == 13


def test_text_html_json_constructors() -> None:
    assert zephyr.Response(200, text="héllo").headers["Content-Type"] == "text/plain; charset=utf-8"
    assert zephyr.Response(200, html="<p>").headers["Content-Type"] == "text/html; charset=utf-8"
    response = zephyr.Response(200, json={"a": [1, None]})
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"a": [1, None]}


def test_reason_phrase_and_version_from_extensions() -> None:
    response = zephyr.Response(
        404, extensions={"reason_phrase": b"Nope", "http_version": b"HTTP/1.0"}
    )
    assert response.reason_phrase == "Nope"
    assert response.http_version == "HTTP/1.0"
    assert zephyr.Response(599).reason_phrase == ""


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (101, {"is_informational"}),
        (200, {"is_success"}),
        (302, {"is_redirect"}),
        (404, {"is_client_error", "is_error"}),
        (503, {"is_server_error", "is_error"}),
    ],
)
def test_status_classifiers(status: int, flags: set[str]) -> None:
    response = zephyr.Response(status)
    for name in (
        "is_informational",
        "is_success",
        "is_redirect",
        "is_client_error",
        "is_server_error",
        "is_error",
    ):
        assert getattr(response, name) is (name in flags), name


def test_has_redirect_location() -> None:
    assert zephyr.Response(302, headers={"Location": "/x"}).has_redirect_location
    assert not zephyr.Response(302).has_redirect_location
    assert not zephyr.Response(200, headers={"Location": "/x"}).has_redirect_location


def test_raise_for_status_returns_the_response_on_success() -> None:
    response = zephyr.Response(201, request=make_request())
    assert response.raise_for_status() is response


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, "Client error"), (500, "Server error"), (301, "Redirect response"), (101, "Info")],
)
def test_raise_for_status_raises_with_a_clear_message(status: int, kind: str) -> None:
    request = make_request()
    response = zephyr.Response(status, request=request, headers={"Location": "/next"})
    with pytest.raises(zephyr.HTTPStatusError) as info:
        response.raise_for_status()
    message = str(info.value)
    assert kind in message
    assert str(status) in message
    assert "https://example.org/path" in message
    assert info.value.request is request
    assert info.value.response is response
    if status == 301:
        assert "Redirect location: '/next'" in message


def test_raise_for_status_needs_a_request() -> None:
    with pytest.raises(RuntimeError, match="request"):
        zephyr.Response(500).raise_for_status()


def test_request_and_elapsed_not_set() -> None:
    response = zephyr.Response(200)
    with pytest.raises(RuntimeError, match="request"):
        _ = response.request
    with pytest.raises(RuntimeError, match="elapsed"):
        _ = response.elapsed
    response.elapsed = datetime.timedelta(seconds=1)
    assert response.elapsed.total_seconds() == 1


def test_encoding_from_charset() -> None:
    body = "café".encode("latin-1")
    response = zephyr.Response(
        200, content=body, headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    assert response.charset_encoding == "latin-1"
    assert response.encoding == "latin-1"
    assert response.text == "café"


def test_encoding_quoted_charset_and_unknown_charset() -> None:
    quoted = zephyr.Response(200, headers={"Content-Type": 'text/plain; charset="UTF-16"'})
    assert quoted.encoding == "UTF-16"
    unknown = zephyr.Response(200, headers={"Content-Type": "text/plain; charset=nonsense"})
    assert unknown.encoding == "utf-8"


def test_default_encoding_string_and_callable() -> None:
    body = "é".encode("latin-1")
    response = zephyr.Response(200, content=body, default_encoding="latin-1")
    assert response.text == "é"

    def guess(content: bytes) -> str | None:
        return "latin-1" if b"\xe9" in content else None

    guessed = zephyr.Response(200, content=body, default_encoding=guess)
    assert guessed.encoding == "latin-1"
    assert guessed.text == "é"


def test_encoding_can_be_set_until_text_is_read() -> None:
    response = zephyr.Response(200, content="é".encode("latin-1"))
    response.encoding = "latin-1"
    assert response.text == "é"
    with pytest.raises(ValueError, match="encoding"):
        response.encoding = "utf-8"


def test_invalid_text_is_replaced_not_raised() -> None:
    response = zephyr.Response(200, content=b"ok \xff")
    assert response.text == "ok \ufffd"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"]
)
def test_json_detects_unicode_encodings(encoding: str) -> None:
    body = json.dumps({"name": "zéphyr"}, ensure_ascii=False).encode(encoding)
    assert zephyr.Response(200, content=body).json() == {"name": "zéphyr"}


def test_json_passes_keyword_arguments() -> None:
    response = zephyr.Response(200, content=b'{"a": 1.5}')
    assert response.json(parse_float=str) == {"a": "1.5"}


def test_links() -> None:
    header = '<https://api.example/p2>; rel="next", <https://api.example/p9>; rel="last"'
    response = zephyr.Response(200, headers={"Link": header})
    assert response.links["next"] == {"url": "https://api.example/p2", "rel": "next"}
    assert response.links["last"]["url"] == "https://api.example/p9"
    assert zephyr.Response(200).links == {}


def test_cookies_from_set_cookie() -> None:
    response = zephyr.Response(
        200,
        headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")],
        request=make_request(),
    )
    assert dict(response.cookies) == {"a": "1", "b": "2"}


def test_streaming_response_must_be_read_first() -> None:
    response = zephyr.Response(200, stream=ChunkStream(b"ab", b"cd"))
    with pytest.raises(zephyr.ResponseNotRead):
        _ = response.content
    assert response.read() == b"abcd"
    assert response.content == b"abcd"
    assert response.is_closed
    assert response.num_bytes_downloaded == 4


def test_iter_bytes_with_chunk_size() -> None:
    response = zephyr.Response(200, stream=ChunkStream(b"abc", b"defg", b"h"))
    assert list(response.iter_bytes(chunk_size=3)) == [b"abc", b"def", b"gh"]


def test_iter_bytes_of_read_content_and_chunk_size_validation() -> None:
    response = zephyr.Response(200, content=b"abcdef")
    assert list(response.iter_bytes()) == [b"abcdef"]
    assert list(response.iter_bytes(4)) == [b"abcd", b"ef"]
    with pytest.raises(ValueError, match="chunk_size"):
        list(response.iter_bytes(0))


def test_iter_text_and_iter_lines_across_chunk_boundaries() -> None:
    body = "line one\r\nlíne two\nthree".encode()
    cut = body.index("í".encode()) + 1  # split inside the two-byte character
    response = zephyr.Response(200, stream=ChunkStream(body[:8], body[8:cut], body[cut:]))
    assert list(response.iter_lines()) == ["line one", "líne two", "three"]


def test_iter_text_chunk_size() -> None:
    response = zephyr.Response(200, stream=ChunkStream(b"abcdefg"))
    assert list(response.iter_text(chunk_size=3)) == ["abc", "def", "g"]


def test_iter_raw_keeps_content_encoding() -> None:
    compressed = gzip.compress(b"hello")
    response = zephyr.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=ChunkStream(compressed)
    )
    assert b"".join(response.iter_raw()) == compressed


def test_gzip_body_is_decoded() -> None:
    compressed = gzip.compress(b"hello " * 1000)
    response = zephyr.Response(
        200,
        headers={"Content-Encoding": "gzip"},
        stream=ChunkStream(compressed[:10], compressed[10:]),
    )
    assert response.read() == b"hello " * 1000
    assert response.num_bytes_downloaded == len(compressed)


def test_stacked_encodings_are_undone_in_order() -> None:
    body = zlib.compress(gzip.compress(b"stacked"))
    response = zephyr.Response(
        200, headers={"Content-Encoding": "gzip, deflate"}, stream=ChunkStream(body)
    )
    assert response.read() == b"stacked"


def test_corrupt_body_raises_decoding_error_with_request() -> None:
    request = make_request()
    response = zephyr.Response(
        200,
        headers={"Content-Encoding": "gzip"},
        stream=ChunkStream(b"not gzip at all"),
        request=request,
    )
    with pytest.raises(zephyr.DecodingError) as info:
        response.read()
    assert info.value.request is request


def test_stream_consumed_and_closed() -> None:
    response = zephyr.Response(200, stream=ChunkStream(b"x"))
    list(response.iter_raw())
    with pytest.raises(zephyr.StreamConsumed):
        list(response.iter_raw())

    closed = zephyr.Response(200, stream=ChunkStream(b"x"))
    closed.close()
    with pytest.raises(zephyr.StreamClosed):
        list(closed.iter_raw())


def test_close_closes_the_stream_once() -> None:
    stream = ChunkStream(b"x")
    response = zephyr.Response(200, stream=stream)
    response.close()
    assert stream.closed
    assert response.is_closed


def test_sync_iteration_of_async_stream_is_refused() -> None:
    response = zephyr.Response(200, stream=AsyncChunkStream(b"x"))
    with pytest.raises(RuntimeError, match="aiter_raw"):
        list(response.iter_raw())
    with pytest.raises(RuntimeError, match="aclose"):
        response.close()


def test_async_reading() -> None:
    async def main() -> None:
        stream = AsyncChunkStream(b"one\ntw", b"o\nthree")
        response = zephyr.Response(200, stream=stream)
        assert [line async for line in response.aiter_lines()] == ["one", "two", "three"]
        assert stream.closed
        with pytest.raises(zephyr.StreamConsumed):
            await response.aread()

        response = zephyr.Response(200, stream=AsyncChunkStream(b"ab", b"cd"))
        assert await response.aread() == b"abcd"
        assert [c async for c in response.aiter_bytes(3)] == [b"abc", b"d"]

        response = zephyr.Response(200, stream=AsyncChunkStream(b"xyz"))
        assert [t async for t in response.aiter_text(2)] == ["xy", "z"]

        response = zephyr.Response(200, stream=AsyncChunkStream(b"raw"))
        assert [r async for r in response.aiter_raw()] == [b"raw"]

        sync_response = zephyr.Response(200, stream=ChunkStream(b"x"))
        with pytest.raises(RuntimeError, match="iter_raw"):
            await sync_response.aread()

    asyncio.run(main())


def test_async_gzip_decoding_and_aclose() -> None:
    async def main() -> None:
        stream = AsyncChunkStream(gzip.compress(b"zipped"))
        response = zephyr.Response(200, headers={"Content-Encoding": "gzip"}, stream=stream)
        assert await response.aread() == b"zipped"
        closing = AsyncChunkStream(b"x")
        response = zephyr.Response(200, stream=closing)
        await response.aclose()
        assert closing.closed

    asyncio.run(main())


def test_pickle_a_read_response() -> None:
    response = zephyr.Response(200, content=b"body", request=make_request())
    copy = pickle.loads(pickle.dumps(response))
    assert copy.status_code == 200
    assert copy.content == b"body"
    assert copy.headers == response.headers
    assert copy.request.url == response.request.url
    assert copy.is_closed
    with pytest.raises(zephyr.StreamConsumed):
        list(copy.iter_raw())


def test_pickle_an_unread_response() -> None:
    response = zephyr.Response(200, stream=ChunkStream(b"x"))
    copy = pickle.loads(pickle.dumps(response))
    with pytest.raises(zephyr.ResponseNotRead):
        _ = copy.content
    with pytest.raises(zephyr.StreamClosed):
        copy.read()


def test_history_and_next_request() -> None:
    first = zephyr.Response(301)
    response = zephyr.Response(200, history=[first])
    assert response.history == [first]
    assert response.next_request is None


def test_too_many_stacked_encodings_is_a_decoding_error_with_request() -> None:
    request = make_request()
    response = zephyr.Response(
        200,
        headers={"Content-Encoding": ", ".join(["gzip"] * 6)},
        stream=ChunkStream(b""),
        request=request,
    )
    with pytest.raises(zephyr.DecodingError) as info:
        response.read()
    assert info.value.request is request


# -- streams that hand over a body that has all arrived (`_complete_body`) ---------------------


class _CompleteSyncStream(zephyr.SyncByteStream):
    """A transport's stream whose body came whole; iterating or closing it is a test failure."""

    def __init__(self, body: bytes | None) -> None:
        self.body = body
        self.iterated = False
        self.closed = False

    def _complete_body(self) -> bytes | None:
        return self.body

    def __iter__(self) -> Iterator[bytes]:
        self.iterated = True
        if self.body is None:
            yield b"stre"
            yield b"amed"

    def close(self) -> None:
        self.closed = True


class _CompleteAsyncStream(zephyr.AsyncByteStream):
    def __init__(self, body: bytes | None) -> None:
        self.body = body
        self.iterated = False
        self.closed = False

    def _complete_body(self) -> bytes | None:
        return self.body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.iterated = True
        if self.body is None:
            yield b"stre"
            yield b"amed"

    async def aclose(self) -> None:
        self.closed = True


def test_read_takes_a_complete_body_without_iterating() -> None:
    stream = _CompleteSyncStream(b"whole")
    response = zephyr.Response(200, stream=stream)
    assert response.read() == b"whole"
    assert response.content == b"whole"
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.num_bytes_downloaded == 5
    # The stream closed itself when it handed the body over.
    assert not stream.iterated
    assert not stream.closed
    response.close()
    assert not stream.closed
    with pytest.raises(zephyr.StreamConsumed):
        list(response.iter_raw())


def test_aread_takes_a_complete_body_without_iterating() -> None:
    stream = _CompleteAsyncStream(b"whole")
    response = zephyr.Response(200, stream=stream)
    assert asyncio.run(response.aread()) == b"whole"
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.num_bytes_downloaded == 5
    assert not stream.iterated
    assert not stream.closed
    asyncio.run(response.aclose())
    assert not stream.closed


def test_an_empty_complete_body_is_a_body() -> None:
    stream = _CompleteAsyncStream(b"")
    response = zephyr.Response(204, stream=stream)
    assert asyncio.run(response.aread()) == b""
    assert response.is_closed
    assert not stream.iterated


def test_a_body_not_yet_complete_is_iterated_as_usual() -> None:
    sync_stream = _CompleteSyncStream(None)
    response = zephyr.Response(200, stream=sync_stream)
    assert response.read() == b"streamed"
    assert sync_stream.iterated
    assert sync_stream.closed

    async_stream = _CompleteAsyncStream(None)
    async_response = zephyr.Response(200, stream=async_stream)
    assert asyncio.run(async_response.aread()) == b"streamed"
    assert async_stream.iterated
    assert async_stream.closed


def test_a_complete_body_is_still_decoded() -> None:
    # Content-Encoding takes the decoding path, which iterates: the raw body is not the content.
    compressed = gzip.compress(b"plain text")
    headers = {"Content-Encoding": "gzip"}

    class GzipStream(_CompleteAsyncStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            self.iterated = True
            yield compressed

    stream = GzipStream(compressed)
    response = zephyr.Response(200, headers=headers, stream=stream)
    assert asyncio.run(response.aread()) == b"plain text"
    assert stream.iterated


def test_a_complete_body_times_the_response_when_a_client_sent_it() -> None:
    response = zephyr.Response(200, stream=_CompleteAsyncStream(b"x"))
    response._sent_at = 0.0  # what a client sets as it sends the request
    asyncio.run(response.aread())
    assert response.elapsed > datetime.timedelta(0)

    untimed = zephyr.Response(200, stream=_CompleteAsyncStream(b"x"))
    asyncio.run(untimed.aread())
    with pytest.raises(RuntimeError, match="elapsed"):
        _ = untimed.elapsed


def test_a_byte_stream_hands_over_its_body() -> None:
    stream = zephyr.ByteStream(b"in memory")
    assert stream._complete_body() == b"in memory"
    response = zephyr.Response(200, stream=stream)
    assert asyncio.run(response.aread()) == b"in memory"
    assert response.is_closed


def test_response_headers_are_a_copy_of_the_headers_given() -> None:
    headers = zephyr.Headers({"a": "1"})
    response = zephyr.Response(200, headers=headers)
    headers["b"] = "2"
    assert "b" not in response.headers
    response.headers["c"] = "3"
    assert "c" not in headers
    assert response.headers.raw == [(b"a", b"1"), (b"c", b"3")]


def test_from_transport_sets_what_the_constructor_sets() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"Content-Length", b"2")]
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
    stream = zephyr.ByteStream(b"hi")
    quick = zephyr.Response._from_transport(200, zephyr.Headers._from_raw(raw), stream, extensions)
    built = zephyr.Response(
        200, headers=zephyr.Headers._from_raw(raw), stream=stream, extensions=extensions
    )
    assert vars(quick).keys() == vars(built).keys()
    for name in vars(built):
        if name not in ("headers", "extensions"):
            assert getattr(quick, name) == getattr(built, name), name
    assert quick.headers.raw == built.headers.raw
    assert quick.extensions is extensions  # taken, not copied
    assert quick.read() == b"hi"
    assert quick.http_version == "HTTP/1.1"
    assert quick.reason_phrase == "OK"
