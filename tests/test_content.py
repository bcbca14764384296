"""Request and response bodies: headers, streams, re-iteration and precedence."""

from __future__ import annotations

import asyncio
import io
import json
import math
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zephyr._content import (
    CHUNK_SIZE,
    encode_request,
    encode_response,
    get_multipart_boundary_from_content_type,
    peek_remaining_length,
)
from zephyr._exceptions import LocalProtocolError, StreamConsumed
from zephyr._streams import AsyncByteStream, ByteStream, SyncByteStream


def sync_side(stream: Any) -> SyncByteStream:
    assert isinstance(stream, SyncByteStream)
    return stream


def read_sync(stream: Any) -> bytes:
    return b"".join(sync_side(stream))


def read_async(stream: Any) -> bytes:
    assert isinstance(stream, AsyncByteStream)

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in stream])

    return asyncio.run(collect())


def read_both(stream: Any) -> bytes:
    """The body as seen by the sync side, checked equal to the async side's."""
    body = read_sync(stream)
    assert read_async(stream) == body
    return body


class CountingBytesIO(io.BytesIO):
    """A BytesIO that records the size asked of every read()."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_sizes: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.read_sizes.append(size)
        return super().read(size)


class CountingFileIO(io.FileIO):
    """A real file (fstat works on it) that records the size asked of every read()."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.read_sizes: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.read_sizes.append(size)
        data = super().read(size)
        assert data is not None
        return data


# -- empty and in-memory bodies ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{}, {"data": {}}, {"files": {}}, {"data": {}, "files": {}}, {"json": None}]
)
def test_no_body_gives_no_headers_and_an_empty_byte_stream(kwargs: dict[str, Any]) -> None:
    headers, stream = encode_request(**kwargs)
    assert headers == {}
    assert isinstance(stream, ByteStream)
    assert list(sync_side(stream)) == []
    assert read_both(stream) == b""


def test_bytes_content_is_passed_through_without_a_copy() -> None:
    body = b"Hello, world!" * 1000
    headers, stream = encode_request(content=body)
    assert headers == {"Content-Length": str(len(body))}
    assert isinstance(stream, ByteStream)
    (chunk,) = list(sync_side(stream))
    assert chunk is body
    assert read_both(stream) == body


def test_empty_bytes_content_has_no_content_length() -> None:
    headers, stream = encode_request(content=b"")
    assert headers == {}
    assert read_both(stream) == b""


def test_str_content_is_utf8_and_its_length_counts_bytes() -> None:
    headers, stream = encode_request(content="héllo ✓")
    body = "héllo ✓".encode()
    assert headers == {"Content-Length": str(len(body))}
    assert len(body) == 10
    assert read_both(stream) == body


@pytest.mark.parametrize("value", [bytearray(b"abc"), memoryview(b"abc")])
def test_bytes_like_content_is_accepted(value: Any) -> None:
    headers, stream = encode_request(content=value)
    assert headers == {"Content-Length": "3"}
    assert read_both(stream) == b"abc"


@pytest.mark.parametrize("value", [123, 1.5, object(), None.__class__])
def test_unsupported_content_type_is_refused_naming_the_type(value: Any) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        encode_request(content=value)
    with pytest.raises(TypeError, match=type(value).__name__):
        encode_response(content=value)


# -- sync iterables ------------------------------------------------------------------------


def test_generator_content_is_chunked_and_single_use() -> None:
    def hello_world() -> Iterator[bytes]:
        yield b"Hello, "
        yield b"world!"

    headers, stream = encode_request(content=hello_world())
    assert headers == {"Transfer-Encoding": "chunked"}
    assert isinstance(stream, SyncByteStream)
    assert not isinstance(stream, AsyncByteStream)
    assert list(sync_side(stream)) == [b"Hello, ", b"world!"]
    with pytest.raises(StreamConsumed):
        list(sync_side(stream))


def test_plain_iterator_content_is_single_use_too() -> None:
    headers, stream = encode_request(content=iter([b"a", b"b"]))
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_sync(stream) == b"ab"
    with pytest.raises(StreamConsumed):
        read_sync(stream)


def test_list_content_can_be_iterated_again() -> None:
    headers, stream = encode_request(content=[b"a", b"bc"])
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_sync(stream) == b"abc"
    assert read_sync(stream) == b"abc"


def test_empty_chunks_are_dropped_so_they_cannot_end_a_chunked_body() -> None:
    _, stream = encode_request(content=[b"", b"a", b"", b"b", b""])
    assert list(sync_side(stream)) == [b"a", b"b"]


def test_str_chunk_in_an_iterable_is_refused_as_httpx_does() -> None:
    # HTTPX never encodes str chunks: they fail when the body is read. Here the error says why.
    _, stream = encode_request(content=iter(["text"]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"str chunk.*encode"):
        read_sync(stream)


def test_non_bytes_chunk_is_refused_naming_its_type() -> None:
    _, stream = encode_request(content=[b"ok", 42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="int"):
        read_sync(stream)


def test_bytes_like_chunks_become_bytes() -> None:
    _, stream = encode_request(content=[bytearray(b"ab"), memoryview(b"cd")])  # type: ignore[list-item]
    chunks = list(sync_side(stream))
    assert chunks == [b"ab", b"cd"]
    assert all(type(chunk) is bytes for chunk in chunks)


# -- async iterables -----------------------------------------------------------------------


def test_async_generator_content_is_chunked_async_only_and_single_use() -> None:
    async def hello_world() -> AsyncIterator[bytes]:
        yield b"Hello, "
        yield b""
        yield b"world!"

    headers, stream = encode_request(content=hello_world())
    assert headers == {"Transfer-Encoding": "chunked"}
    assert isinstance(stream, AsyncByteStream)
    assert not isinstance(stream, SyncByteStream)
    assert read_async(stream) == b"Hello, world!"
    with pytest.raises(StreamConsumed):
        read_async(stream)


def test_async_reiterable_content_can_be_iterated_again() -> None:
    class Chunks:
        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._chunks()

        async def _chunks(self) -> AsyncIterator[bytes]:
            yield b"a"
            yield b"b"

    _, stream = encode_request(content=Chunks())
    assert read_async(stream) == b"ab"
    assert read_async(stream) == b"ab"


def test_async_file_like_is_read_with_aread_in_chunks() -> None:
    class AsyncFile:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)
            self.read_sizes: list[int | None] = []

        async def aread(self, size: int) -> bytes:
            self.read_sizes.append(size)
            return self._data.read(size)

        def __aiter__(self) -> AsyncIterator[bytes]:  # pragma: no cover - must not be used
            raise AssertionError("an object with aread() is read, not iterated")

    data = os.urandom(CHUNK_SIZE * 2 + 5)
    source = AsyncFile(data)
    headers, stream = encode_request(content=source)
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_async(stream) == data
    assert source.read_sizes == [CHUNK_SIZE] * 4
    with pytest.raises(StreamConsumed):
        read_async(stream)


def test_async_str_chunk_is_refused() -> None:
    async def text() -> AsyncIterator[str]:
        yield "text"

    _, stream = encode_request(content=text())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str chunk"):
        read_async(stream)


# -- files ---------------------------------------------------------------------------------


def test_bytesio_content_has_a_length_and_can_be_sent_again() -> None:
    headers, stream = encode_request(content=io.BytesIO(b"Hello, world!"))
    assert headers == {"Content-Length": "13"}
    assert isinstance(stream, SyncByteStream)
    assert not isinstance(stream, AsyncByteStream)
    assert read_sync(stream) == b"Hello, world!"
    assert read_sync(stream) == b"Hello, world!"


def test_file_content_is_sent_from_its_current_position() -> None:
    file = io.BytesIO(b"Hello, world!")
    file.seek(7)
    headers, stream = encode_request(content=file)
    assert headers == {"Content-Length": "6"}
    assert read_sync(stream) == b"world!"
    # Sent again from where it was given, not from byte 0.
    assert read_sync(stream) == b"world!"


def test_real_file_is_streamed_in_chunks_never_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * CHUNK_SIZE + 123)
    path.write_bytes(data)
    with CountingFileIO(path) as file:
        file.seek(100)
        headers, stream = encode_request(content=file)
        assert headers == {"Content-Length": str(len(data) - 100)}
        chunks = list(sync_side(stream))
        assert b"".join(chunks) == data[100:]
        assert len(chunks) == 4
        # Every read is bounded, and the announced length spares the final read that finds EOF.
        assert file.read_sizes == [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 23]


def test_file_reads_happen_lazily_as_the_body_is_consumed() -> None:
    file = CountingBytesIO(os.urandom(5 * CHUNK_SIZE))
    _, stream = encode_request(content=file)
    assert file.read_sizes == []
    iterator = iter(sync_side(stream))
    next(iterator)
    assert file.read_sizes == [CHUNK_SIZE]


def test_pipe_content_is_chunked_and_single_use() -> None:
    read_fd, write_fd = os.pipe()
    data = os.urandom(10_000)
    os.write(write_fd, data)
    os.close(write_fd)
    with open(read_fd, "rb") as pipe:
        # A pipe's fstat size is 0: it must not become `Content-Length: 0`.
        assert peek_remaining_length(pipe) is None
        headers, stream = encode_request(content=pipe)
        assert headers == {"Transfer-Encoding": "chunked"}
        assert read_sync(stream) == data
        with pytest.raises(StreamConsumed):
            read_sync(stream)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_proc_file_reporting_size_zero_is_chunked_not_empty() -> None:
    # procfs says st_size == 0 for files that have content, and cannot seek to their end.
    with open("/proc/self/status", "rb") as status:
        headers, stream = encode_request(content=status)
        assert headers == {"Transfer-Encoding": "chunked"}
        assert b"Pid:" in read_sync(stream)


def test_empty_regular_file_has_content_length_zero(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with open(path, "rb") as file:
        headers, stream = encode_request(content=file)
        assert headers == {"Content-Length": "0"}
        assert read_sync(stream) == b""


def test_file_like_without_tell_is_chunked() -> None:
    class Reader:
        def __init__(self) -> None:
            self._parts = [b"abc", b"def"]

        def read(self, size: int) -> bytes:
            return self._parts.pop(0) if self._parts else b""

    headers, stream = encode_request(content=Reader())  # type: ignore[arg-type]
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_sync(stream) == b"abcdef"


def test_file_that_shrinks_after_encoding_raises_instead_of_sending_short() -> None:
    file = io.BytesIO(b"0123456789")
    headers, stream = encode_request(content=file)
    assert headers == {"Content-Length": "10"}
    file.truncate(4)
    with pytest.raises(LocalProtocolError, match="6 bytes short"):
        read_sync(stream)


def test_file_that_grows_after_encoding_sends_only_the_announced_bytes() -> None:
    file = io.BytesIO(b"0123456789")
    _, stream = encode_request(content=file)
    file.seek(0, os.SEEK_END)
    file.write(b"extra")
    file.seek(0)
    assert read_sync(stream) == b"0123456789"


def test_text_mode_file_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.txt"
    path.write_text("hello")
    with open(path, encoding="utf-8") as text_file, pytest.raises(TypeError, match="text mode"):
        encode_request(content=text_file)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text mode"):
        encode_request(content=io.StringIO("hello"))  # type: ignore[arg-type]


def test_peek_remaining_length_of_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    with open(path, "rb") as file:
        assert peek_remaining_length(file) == 1000
        file.read(10)
        assert peek_remaining_length(file) == 990
        # Peeking does not move the file.
        assert file.tell() == 10
    assert peek_remaining_length(object()) is None


# -- data= as raw content (deprecated) -------------------------------------------------------


def test_data_bytes_is_content_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="content="):
        headers, stream = encode_request(data=b"Hello, world!")  # type: ignore[arg-type]
    assert headers == {"Content-Length": "13"}
    assert read_both(stream) == b"Hello, world!"


def test_data_str_and_iterables_are_content_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="content="):
        headers, stream = encode_request(data="text")  # type: ignore[arg-type]
    assert (headers, read_sync(stream)) == ({"Content-Length": "4"}, b"text")

    with pytest.warns(DeprecationWarning, match="content="):
        headers, stream = encode_request(data=iter([b"a", b"b"]))  # type: ignore[arg-type]
    assert (headers, read_sync(stream)) == ({"Transfer-Encoding": "chunked"}, b"ab")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"z"

    with pytest.warns(DeprecationWarning, match="content="):
        headers, stream = encode_request(data=chunks())  # type: ignore[arg-type]
    assert (headers, read_async(stream)) == ({"Transfer-Encoding": "chunked"}, b"z")


# -- url-encoded forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "body"),
    [
        ({"Hello": "world!"}, b"Hello=world%21"),
        ({"example": True}, b"example=true"),
        ({"example": False}, b"example=false"),
        ({"example": None}, b"example="),
        ({"example": ["a", 1, True]}, b"example=a&example=1&example=true"),
        ({"example": ("a", 2.5)}, b"example=a&example=2.5"),
        ({"a b": "c d/e&f=g"}, b"a+b=c+d%2Fe%26f%3Dg"),
        ({"name": "é✓"}, b"name=%C3%A9%E2%9C%93"),
        ({"a": "1", "b": []}, b"a=1"),
        ({"raw": b"\x00\xff"}, b"raw=%00%FF"),
    ],
)
def test_urlencoded_data(data: dict[str, Any], body: bytes) -> None:
    headers, stream = encode_request(data=data)
    assert headers == {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert isinstance(stream, ByteStream)
    assert read_both(stream) == body


form_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(form_text, st.one_of(form_text, st.lists(form_text, max_size=3))))
def test_urlencoded_data_round_trips(data: dict[str, str | list[str]]) -> None:
    headers, stream = encode_request(data=data)
    if not data:
        assert headers == {}
        return
    body = read_sync(stream)
    assert headers["Content-Length"] == str(len(body))
    expected = [
        (key, item)
        for key, value in data.items()
        for item in (value if isinstance(value, list) else [value])
    ]
    assert parse_qsl(body.decode("ascii"), keep_blank_values=True) == expected


# -- JSON ----------------------------------------------------------------------------------


def test_json_is_compact_utf8() -> None:
    headers, stream = encode_request(json={"Hello": "wörld!", "list": [1, 2.5, None, True]})
    body = '{"Hello":"wörld!","list":[1,2.5,null,true]}'.encode()
    assert headers == {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    assert isinstance(stream, ByteStream)
    assert read_both(stream) == body


@pytest.mark.parametrize(
    ("value", "body"), [(0, b"0"), (False, b"false"), ("", b'""'), ([], b"[]")]
)
def test_falsy_json_values_are_still_sent(value: Any, body: bytes) -> None:
    headers, stream = encode_request(json=value)
    assert headers == {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    assert read_sync(stream) == body


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_json_refuses_nan_and_infinity_clearly(number: float) -> None:
    with pytest.raises(ValueError, match="NaN, Infinity"):
        encode_request(json={"value": [number]})
    with pytest.raises(ValueError, match="NaN, Infinity"):
        encode_response(json=number)


def test_json_circular_reference_is_a_value_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="json="):
        encode_request(json=loop)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | form_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(form_text, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(json_values.filter(lambda value: value is not None))  # json=None means "no JSON body"
def test_json_round_trips_and_length_matches(value: Any) -> None:
    headers, stream = encode_request(json=value)
    body = read_sync(stream)
    assert headers["Content-Length"] == str(len(body))
    assert json.loads(body) == value


# -- precedence ----------------------------------------------------------------------------


def test_content_wins_over_everything() -> None:
    headers, stream = encode_request(
        content=b"raw", data={"a": "1"}, files={"f": b"x"}, json={"j": 1}
    )
    assert headers == {"Content-Length": "3"}
    assert read_sync(stream) == b"raw"


def test_files_win_over_json_and_take_data_as_extra_fields() -> None:
    headers, stream = encode_request(
        data={"a": "1"}, files={"f": b"x"}, json={"j": 1}, boundary=b"B"
    )
    assert headers["Content-Type"] == "multipart/form-data; boundary=B"
    assert read_both(stream) == (
        b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="upload"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nx\r\n"
        b"--B--\r\n"
    )


def test_data_wins_over_json() -> None:
    headers, stream = encode_request(data={"a": "1"}, json={"j": 1})
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert read_sync(stream) == b"a=1"


def test_empty_files_fall_back_to_data_and_empty_data_to_json() -> None:
    headers, stream = encode_request(data={"a": "1"}, files={})
    assert (headers["Content-Type"], read_sync(stream)) == (
        "application/x-www-form-urlencoded",
        b"a=1",
    )
    headers, stream = encode_request(data={}, json=[1])
    assert (headers["Content-Type"], read_sync(stream)) == ("application/json", b"[1]")


def test_deprecated_raw_data_wins_even_over_content() -> None:
    # HTTPX looks at a non-mapping data= first; zephyr keeps that order.
    with pytest.warns(DeprecationWarning, match="content="):
        headers, stream = encode_request(content=b"content", data=b"data")  # type: ignore[arg-type]
    assert read_sync(stream) == b"data"
    assert headers == {"Content-Length": "4"}


# -- responses -----------------------------------------------------------------------------


def test_response_empty() -> None:
    headers, stream = encode_response()
    assert headers == {}
    assert read_both(stream) == b""


def test_response_bytes_without_copy() -> None:
    body = b"Hello, world!"
    headers, stream = encode_response(content=body)
    assert headers == {"Content-Length": "13"}
    assert next(iter(sync_side(stream))) is body


@pytest.mark.parametrize(
    ("kwargs", "content_type"),
    [
        ({"text": "héllo"}, "text/plain; charset=utf-8"),
        ({"html": "<p>héllo</p>"}, "text/html; charset=utf-8"),
    ],
)
def test_response_text_and_html(kwargs: dict[str, str], content_type: str) -> None:
    headers, stream = encode_response(**kwargs)
    body = next(iter(kwargs.values())).encode()
    assert headers == {"Content-Length": str(len(body)), "Content-Type": content_type}
    assert read_both(stream) == body


def test_response_empty_text_still_has_its_content_type() -> None:
    headers, stream = encode_response(text="")
    assert headers == {"Content-Length": "0", "Content-Type": "text/plain; charset=utf-8"}
    assert read_sync(stream) == b""


def test_response_json_is_compact() -> None:
    headers, stream = encode_response(json={"a": ["é", 1]})
    body = '{"a":["é",1]}'.encode()
    assert headers == {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    assert read_both(stream) == body


def test_response_precedence_content_text_html_json() -> None:
    assert read_sync(encode_response(b"c", "t", "h", 1)[1]) == b"c"
    assert read_sync(encode_response(None, "t", "h", 1)[1]) == b"t"
    assert read_sync(encode_response(None, None, "h", 1)[1]) == b"h"
    assert read_sync(encode_response(None, None, None, 1)[1]) == b"1"


def test_response_iterators() -> None:
    headers, stream = encode_response(content=iter([b"a", b"b"]))
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_sync(stream) == b"ab"
    with pytest.raises(StreamConsumed):
        read_sync(stream)

    async def chunks() -> AsyncIterator[bytes]:
        yield b"c"

    headers, stream = encode_response(content=chunks())
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_async(stream) == b"c"


# -- boundary from a Content-Type header -------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (None, None),
        (b"", None),
        (b"text/plain; boundary=abc", None),
        (b"multipart/form-data", None),
        (b"multipart/form-data; charset=utf-8", None),
        (b"multipart/form-data; boundary=abc", b"abc"),
        (b"multipart/form-data;boundary=abc", b"abc"),
        (b'multipart/form-data; boundary="a b:c"', b"a b:c"),
        (b"Multipart/Form-Data; BOUNDARY=AbC", b"AbC"),
        (b"multipart/form-data; charset=utf-8; boundary=xyz ", b"xyz"),
        (b"multipart/form-data-x; boundary=abc", None),
    ],
)
def test_get_multipart_boundary_from_content_type(
    content_type: bytes | None, boundary: bytes | None
) -> None:
    assert get_multipart_boundary_from_content_type(content_type) == boundary
