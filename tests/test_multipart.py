"""multipart/form-data bodies: exact bytes, lengths, streaming, re-iteration and refusals."""

from __future__ import annotations

import asyncio
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zephyr._content import (
    CHUNK_SIZE,
    encode_request,
    get_multipart_boundary_from_content_type,
)
from zephyr._exceptions import LocalProtocolError, StreamConsumed
from zephyr._multipart import MultipartStream, format_form_param
from zephyr._streams import AsyncByteStream, SyncByteStream


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


def encode(
    data: Any = None, files: Any = None, boundary: bytes = b"XyZ"
) -> tuple[dict[str, str], bytes]:
    """Headers and body; the body read by both sides, which must agree."""
    headers, stream = encode_request(data=data, files=files, boundary=boundary)
    assert isinstance(stream, MultipartStream)
    body = read_sync(stream)
    assert read_async(stream) == body
    if "Content-Length" in headers:
        assert headers["Content-Length"] == str(len(body))
    return headers, body


def parse_parts(body: bytes, boundary: bytes) -> list[tuple[bytes, bytes]]:
    """(header block, content) of each part, split the way RFC 2046 section 5.1.1 frames them."""
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    inner = body[len(boundary) + 4 : -(len(boundary) + 8)]
    parts = []
    for part in inner.split(b"\r\n--" + boundary + b"\r\n"):
        header_block, _, content = part.partition(b"\r\n\r\n")
        parts.append((header_block, content))
    return parts


class CountingBytesIO(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_sizes: list[int | None] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.read_sizes.append(size)
        return super().read(size)


class NonSeekableReader(io.RawIOBase):
    """A readable stream that can neither tell nor seek, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


# -- exact output --------------------------------------------------------------------------


def test_exact_body_for_fields_and_files(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n")
    with open(path, "rb") as report:
        headers, body = encode(
            data={"title": "Q3 ✓", "tags": ["x", "y"], "draft": False, "n": 7, "empty": None},
            files=[
                ("report", report),
                ("note", ("note.txt", b"plain text", None, {"X-Trace": "1"})),
                ("blob", (None, b"\x00\x01\xff")),
            ],
        )
    # RFC 7578: each part is a delimiter line, a Content-Disposition naming the field (and the
    # filename of a file), optional headers, an empty line and the content; the last delimiter
    # has two trailing hyphens.
    expected = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="title"\r\n'
        b"\r\n"
        b"Q3 \xe2\x9c\x93\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="tags"\r\n'
        b"\r\n"
        b"x\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="tags"\r\n'
        b"\r\n"
        b"y\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="draft"\r\n'
        b"\r\n"
        b"false\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="n"\r\n'
        b"\r\n"
        b"7\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="empty"\r\n'
        b"\r\n"
        b"\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="report"; filename="report.csv"\r\n'
        b"Content-Type: text/csv\r\n"
        b"\r\n"
        b"a,b\r\n1,2\r\n\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="note"; filename="note.txt"\r\n'
        b"X-Trace: 1\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"plain text\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="blob"\r\n'
        b"\r\n"
        b"\x00\x01\xff\r\n"
        b"--XyZ--\r\n"
    )
    assert body == expected
    assert headers == {
        "Content-Length": str(len(expected)),
        "Content-Type": "multipart/form-data; boundary=XyZ",
    }


def test_httpx_reference_lengths() -> None:
    # The byte counts HTTPX's own tests give for these forms.
    headers, _ = encode(files={"file": io.BytesIO(b"<file content>")}, boundary=b"+++")
    assert headers["Content-Length"] == "138"
    headers, _ = encode(
        data={"message": "Hello, world!"},
        files={"file": io.BytesIO(b"<file content>")},
        boundary=b"+++",
    )
    assert headers["Content-Length"] == "210"


def test_data_value_types() -> None:
    _, body = encode(data={"t": True, "b": b"\xff", "f": 1.5, "tup": ("1", 2)}, files={"x": b""})
    contents = [content for _, content in parse_parts(body, b"XyZ")]
    assert contents == [b"true", b"\xff", b"1.5", b"1", b"2", b""]


@pytest.mark.parametrize("name", [b"abc", 1, 2.3, None])
def test_data_name_must_be_str(name: Any) -> None:
    with pytest.raises(TypeError, match="Invalid type for name") as info:
        encode_request(data={name: "abc"}, files={"file": b"x"})
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("value", [object(), {"key": "value"}])
def test_data_value_must_be_primitive(value: Any) -> None:
    with pytest.raises(TypeError, match="Invalid type for value"):
        encode_request(data={"text": value}, files={"file": b"x"})


def test_file_field_name_must_be_str() -> None:
    with pytest.raises(TypeError, match="Invalid type for name"):
        encode_request(files=[(b"bytes-name", b"x")])  # type: ignore[list-item]


# -- file values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("example.json", "application/json"),
        ("example.txt", "text/plain"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_content_type_is_guessed_from_the_filename(filename: str, content_type: str) -> None:
    _, body = encode(files={"file": (filename, io.BytesIO(b"<content>"))})
    assert f"Content-Type: {content_type}\r\n".encode() in body


def test_explicit_content_type_wins_over_the_guess() -> None:
    _, body = encode(files={"file": ("a.txt", b"{}", "application/json")})
    ((header_block, _),) = parse_parts(body, b"XyZ")
    assert header_block.endswith(b"\r\nContent-Type: application/json")


@pytest.mark.parametrize("key", ["Content-Type", "content-type", "CONTENT-TYPE"])
@pytest.mark.parametrize("tuple_content_type", [None, "image/png"])
def test_content_type_in_part_headers_wins(key: str, tuple_content_type: str | None) -> None:
    part_headers = {key: "text/x-custom"}
    _, body = encode(files={"file": ("a.txt", b"x", tuple_content_type, part_headers)})
    ((header_block, _),) = parse_parts(body, b"XyZ")
    assert header_block == (
        b'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        + key.encode()
        + b": text/x-custom"
    )
    # The caller's mapping is left as it was.
    assert part_headers == {key: "text/x-custom"}


def test_no_filename_means_no_filename_and_no_guessed_type() -> None:
    _, body = encode(files={"file": (None, io.BytesIO(b"<content>"))})
    assert body == (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\n<content>\r\n--XyZ--\r\n'
    )


def test_filename_comes_from_the_file_name_last_component(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG")
    with open(path, "rb") as file:
        _, body = encode(files={"image": file})
    assert b'filename="photo.png"\r\nContent-Type: image/png\r\n' in body
    assert str(tmp_path).encode() not in body


@pytest.mark.parametrize("value", [b"bytes", io.BytesIO(b"bytes"), "bytes"])
def test_file_without_a_name_is_called_upload(value: Any) -> None:
    _, body = encode(files={"file": value})
    assert body == (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nbytes\r\n--XyZ--\r\n"
    )


def test_str_file_content_is_utf8() -> None:
    headers, body = encode(files={"file": ("a.txt", "héllo")})
    assert parse_parts(body, b"XyZ")[0][1] == "héllo".encode()
    assert headers["Content-Length"] == str(len(body))


def test_files_as_a_list_allow_repeated_names() -> None:
    _, body = encode(files=[("file", b"one"), ("file", b"two")])
    parts = parse_parts(body, b"XyZ")
    assert [content for _, content in parts] == [b"one", b"two"]
    assert all(b'name="file"' in header for header, _ in parts)


def test_empty_file_counts_zero_bytes() -> None:
    headers, body = encode(files={"file": ("e.bin", io.BytesIO(b""))})
    assert parse_parts(body, b"XyZ")[0][1] == b""
    assert headers["Content-Length"] == str(len(body))


@pytest.mark.parametrize("value", [("a",), ("a", b"x", "t/p", {}, "extra")])
def test_wrong_tuple_length_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match=f"tuple of {len(value)} items"):
        encode_request(files={"file": value})


def test_text_mode_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"'io\.BytesIO', not 'io\.StringIO'"):
        encode_request(files={"file": ("a.txt", io.StringIO("content"), "text/plain")})  # type: ignore[dict-item]
    path = tmp_path / "a.txt"
    path.write_text("content")
    with (
        open(path, encoding="utf-8") as text_file,
        pytest.raises(TypeError, match="binary mode, not text mode"),
    ):
        encode_request(files={"file": text_file})  # type: ignore[dict-item]


def test_unreadable_file_content_is_refused_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"'upload_here'.*int"):
        encode_request(files={"upload_here": ("a.bin", 42)})  # type: ignore[dict-item]


# -- escaping and refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("name", b'filename="name"'),
        ("n\u00e4me", b'filename="n\xc3\xa4me"'),
        ('say "hi"', b'filename="say %22hi%22"'),
        ("back\\slash", b'filename="back\\\\slash"'),
        ("hello\x1a\x1b\x1c\t", b'filename="hello%1A\x1b%1C%09"'),
    ],
)
def test_form_params_follow_html5_escaping(value: str, encoded: bytes) -> None:
    assert format_form_param("filename", value) == encoded


def test_names_and_filenames_are_escaped_in_the_body() -> None:
    _, body = encode(data={'a"b': "1"}, files={"c\\d": ('e"f.txt', b"x")})
    assert b'name="a%22b"\r\n' in body
    assert b'name="c\\\\d"; filename="e%22f.txt"\r\n' in body


BREAKERS = ["\r", "\n", "\x00", "\r\n"]


@pytest.mark.parametrize("breaker", BREAKERS)
def test_line_breaks_in_data_field_names_are_refused(breaker: str) -> None:
    name = f"field{breaker}Injected: yes"
    with pytest.raises(ValueError, match="CR, LF or NUL") as info:
        encode_request(data={name: "v"}, files={"f": b"x"})
    assert repr(name) in str(info.value)


@pytest.mark.parametrize("breaker", BREAKERS)
def test_line_breaks_in_file_field_names_are_refused(breaker: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        encode_request(files={f"f{breaker}x": b"x"})


@pytest.mark.parametrize("breaker", BREAKERS)
def test_line_breaks_in_filenames_are_refused_naming_the_field(breaker: str) -> None:
    with pytest.raises(ValueError, match=r"filename .* of multipart field 'upload'"):
        encode_request(files={"upload": (f"a{breaker}.txt", b"x")})


def test_line_breaks_in_a_file_objects_name_are_refused() -> None:
    file = io.BytesIO(b"x")
    file.name = "evil\r\nX-Injected: 1.txt"
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        encode_request(files={"upload": file})


@pytest.mark.parametrize("breaker", BREAKERS)
def test_line_breaks_in_content_types_are_refused(breaker: str) -> None:
    with pytest.raises(ValueError, match=r"content type .* of multipart field 'upload'"):
        encode_request(files={"upload": ("a.txt", b"x", f"text/plain{breaker}X-Injected: 1")})


@pytest.mark.parametrize("breaker", BREAKERS)
def test_line_breaks_in_part_header_values_are_refused(breaker: str) -> None:
    with pytest.raises(ValueError, match=r"X-Trace header value .* of multipart field 'upload'"):
        encode_request(files={"upload": ("a.txt", b"x", None, {"X-Trace": f"1{breaker}2"})})


@pytest.mark.parametrize("header_name", ["", "Bad Header", "X:Y", "X\r\nY", "Ä"])
def test_invalid_part_header_names_are_refused(header_name: str) -> None:
    with pytest.raises(ValueError, match="not a valid header name"):
        encode_request(files={"upload": ("a.txt", b"x", None, {header_name: "v"})})


def test_non_str_filename_and_header_values_are_refused() -> None:
    with pytest.raises(TypeError, match="filename"):
        encode_request(files={"f": (b"a.txt", b"x")})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="content type"):
        encode_request(files={"f": ("a.txt", b"x", b"text/plain")})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be a str"):
        encode_request(files={"f": ("a.txt", b"x", None, {"X-N": 1})})  # type: ignore[dict-item]


def test_other_control_characters_are_percent_encoded_not_refused() -> None:
    _, body = encode(files={"f\t": ("a\x01.txt", b"x")})
    assert b'name="f%09"; filename="a%01.txt"' in body


# -- boundary --------------------------------------------------------------------------------


def test_random_boundary_is_32_hex_digits_and_differs_each_time() -> None:
    headers, stream = encode_request(files={"f": b"x"})
    match = re.fullmatch(r"multipart/form-data; boundary=([0-9a-f]{32})", headers["Content-Type"])
    assert match is not None
    boundary = match.group(1).encode()
    assert read_sync(stream).startswith(b"--" + boundary + b"\r\n")
    other, _ = encode_request(files={"f": b"x"})
    assert other["Content-Type"] != headers["Content-Type"]


@pytest.mark.parametrize(
    ("boundary", "parameter"),
    [(b"+++", "+++"), (b"a b:c", '"a b:c"'), (b'q"\\', '"q\\"\\\\"')],
)
def test_boundary_is_quoted_in_content_type_when_not_a_token(
    boundary: bytes, parameter: str
) -> None:
    headers, body = encode(files={"f": b"x"}, boundary=boundary)
    assert headers["Content-Type"] == "multipart/form-data; boundary=" + parameter
    assert body.startswith(b"--" + boundary + b"\r\n")


@pytest.mark.parametrize("boundary", [b"+++", b"a b:c", b"----WebKitFormBoundary7MA4YWxk"])
def test_boundary_reads_back_from_the_content_type_it_produced(boundary: bytes) -> None:
    headers, _ = encode_request(files={"f": b"x"}, boundary=boundary)
    content_type = headers["Content-Type"].encode()
    assert get_multipart_boundary_from_content_type(content_type) == boundary


@pytest.mark.parametrize("boundary", [b"", b"a\r\nb", b"a\nb", b"a\x00b"])
def test_invalid_boundary_is_refused(boundary: bytes) -> None:
    with pytest.raises(ValueError, match="boundary"):
        encode_request(files={"f": b"x"}, boundary=boundary)


# -- length, chunking and streaming ------------------------------------------------------------


def test_unknown_file_size_means_chunked() -> None:
    headers, stream = encode_request(
        files={"f": ("a.bin", NonSeekableReader(b"HelloWorld"))},  # type: ignore[dict-item]
        boundary=b"B",
    )
    assert headers == {
        "Transfer-Encoding": "chunked",
        "Content-Type": "multipart/form-data; boundary=B",
    }
    assert read_sync(stream) == (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nHelloWorld\r\n--B--\r\n"
    )


def test_non_seekable_file_cannot_be_sent_twice_and_says_so_before_any_byte() -> None:
    _, stream = encode_request(files={"f": NonSeekableReader(b"data")})  # type: ignore[dict-item]
    read_sync(stream)
    iterator = iter(sync_side(stream))
    with pytest.raises(StreamConsumed):
        next(iterator)


def test_seekable_files_can_be_sent_again_sync_and_async(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(CHUNK_SIZE + 7))
    with open(path, "rb") as file:
        _, stream = encode_request(data={"a": "1"}, files={"f": file, "g": io.BytesIO(b"g")})
        first = read_sync(stream)
        assert read_sync(stream) == first
        assert read_async(stream) == first
        assert read_async(stream) == first


def test_file_is_sent_whole_even_if_partly_read_before_as_httpx_does() -> None:
    file = io.BytesIO(b"0123456789")
    file.read(4)
    headers, body = encode(files={"f": ("d.bin", file)})
    assert parse_parts(body, b"XyZ")[0][1] == b"0123456789"
    assert headers["Content-Length"] == str(len(body))


def test_files_are_streamed_in_bounded_reads() -> None:
    data = os.urandom(3 * CHUNK_SIZE + 10)
    file = CountingBytesIO(data)
    headers, stream = encode_request(files={"f": ("big.bin", file)}, boundary=b"B")
    assert file.read_sizes == []  # encoding reads nothing
    chunks = list(sync_side(stream))
    body = b"".join(chunks)
    assert parse_parts(body, b"B")[0][1] == data
    assert headers["Content-Length"] == str(len(body))
    # Four bounded reads for four pieces of the file, and no final read looking for EOF.
    assert file.read_sizes == [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE, 10]
    assert max(len(chunk) for chunk in chunks) <= CHUNK_SIZE + 200


def test_real_file_larger_than_a_chunk_is_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(4 * CHUNK_SIZE)
    path.write_bytes(data)

    class CountingFile(io.FileIO):
        reads = 0

        def read(self, size: int | None = -1, /) -> bytes:
            CountingFile.reads += 1
            assert size is not None
            assert 0 < size <= CHUNK_SIZE
            result = super().read(size)
            assert result is not None
            return result

    with CountingFile(path, "rb") as file:
        _, stream = encode_request(files={"f": file}, boundary=b"B")
        iterator = iter(sync_side(stream))
        assert next(iterator).startswith(b"--B\r\n")  # the headers, before any read
        assert CountingFile.reads == 0
        assert next(iterator) == data[:CHUNK_SIZE]
        assert CountingFile.reads == 1
        rest = b"".join(iterator)
    assert CountingFile.reads == 4
    assert rest.startswith(data[CHUNK_SIZE:])


def test_large_in_memory_values_are_yielded_without_a_copy() -> None:
    big = os.urandom(CHUNK_SIZE * 2)
    _, stream = encode_request(data={"small": "s"}, files={"f": ("a.bin", big)})
    assert any(chunk is big for chunk in sync_side(stream))


def test_small_pieces_are_joined_into_few_chunks() -> None:
    _, stream = encode_request(data={f"k{i}": "v" for i in range(50)}, files={"f": b"x"})
    assert len(list(sync_side(stream))) == 1


def test_file_shrinking_after_encoding_raises() -> None:
    file = io.BytesIO(b"0123456789")
    _, stream = encode_request(files={"f": file})
    file.truncate(3)
    with pytest.raises(LocalProtocolError, match="short"):
        read_sync(stream)


def test_async_iteration_reads_files_too() -> None:
    data = os.urandom(CHUNK_SIZE + 1)
    headers, stream = encode_request(files={"f": ("a.bin", io.BytesIO(data))}, boundary=b"B")
    body = read_async(stream)
    assert parse_parts(body, b"B")[0][1] == data
    assert headers["Content-Length"] == str(len(body))


# -- properties ------------------------------------------------------------------------------

field_names = st.text(st.characters(codec="utf-8", exclude_characters='\r\n\x00"\\'), max_size=10)
field_names = field_names.filter(lambda name: not any(ord(c) < 0x20 for c in name))
file_kinds = st.sampled_from(["bytes", "bytesio", "unknown-length"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(field_names, st.binary(max_size=300)), max_size=4),
    st.lists(st.tuples(field_names, st.binary(max_size=CHUNK_SIZE // 8), file_kinds), max_size=4),
)
def test_forms_round_trip_and_content_length_matches(
    fields: list[tuple[str, bytes]], uploads: list[tuple[str, bytes, str]]
) -> None:
    uploads = list(uploads)
    data: dict[str, list[bytes]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    files: list[tuple[str, Any]] = []
    for name, content, kind in uploads:
        source: Any = {
            "bytes": content,
            "bytesio": io.BytesIO(content),
            "unknown-length": NonSeekableReader(content),
        }[kind]
        files.append((name, ("file.bin", source)))
    if not files:
        files.append(("last", ("file.bin", b"")))
        uploads.append(("last", b"", "bytes"))

    headers, stream = encode_request(data=data, files=files, boundary=b"b0undary")
    body = read_sync(stream)
    if any(kind == "unknown-length" for _, _, kind in uploads):
        assert headers["Transfer-Encoding"] == "chunked"
    else:
        assert headers["Content-Length"] == str(len(body))

    expected = [(name, value) for name, values in data.items() for value in values]
    expected += [(name, content) for name, content, _ in uploads]
    parts = parse_parts(body, b"b0undary")
    assert [content for _, content in parts] == [content for _, content in expected]
    for (header_block, _), (name, _) in zip(parts, expected, strict=True):
        assert header_block.startswith(
            b"Content-Disposition: form-data; " + format_form_param("name", name)
        )
