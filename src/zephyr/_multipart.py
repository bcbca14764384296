"""`multipart/form-data` request bodies (RFC 7578): text fields first, then files.

The body is built once into a list of segments: runs of small in-memory pieces are joined into
one `bytes`, large in-memory values are kept as they are (no copy), and each file is a
`FileByteStream` read in 64 KiB pieces when the body is sent, never read whole. Files are read
synchronously on both the sync and the async side, as HTTPX does.

Names, filenames and part headers are checked before any byte is produced: CR, LF or NUL in any
of them would let a caller's value end a header line early and forge headers or whole parts
(aiohttp CVE-2023-49082, urllib3 CVE-2020-26137), so they are refused with `ValueError`.
"""

from __future__ import annotations

import io
import mimetypes
import os
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import PurePath
from typing import Any

from ._content import CHUNK_SIZE, FileByteStream, get_multipart_boundary_from_content_type
from ._exceptions import StreamConsumed
from ._streams import AsyncByteStream, SyncByteStream
from ._types import RequestFiles

__all__ = ["MultipartStream", "format_form_param", "get_multipart_boundary_from_content_type"]

# The HTML5 multipart/form-data encoding that browsers and HTTPX apply to names and filenames:
# '"' becomes %22, a backslash is doubled, C0 controls except ESC are percent-encoded.
_FORM_PARAM_ESCAPES = str.maketrans(
    {'"': "%22", "\\": "\\\\", **{chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}}
)

# RFC 9110 section 5.6.2: a header field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# In-memory pieces shorter than this are copied into one joined segment: a copy that small costs
# less than handing the transport one more chunk (one more chunk frame or write). Longer values
# are yielded as the very object given.
_JOIN_LIMIT = CHUNK_SIZE


def _refuse_line_breaks(value: str, what: str, field: str) -> None:
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(
            f"The {what} {value!r} of multipart field {field!r} contains CR, LF or NUL, "
            "which could forge headers or parts; refusing to send it."
        )


def format_form_param(name: str, value: str) -> bytes:
    """`name="value"` for a Content-Disposition header, escaped as HTML5 forms are."""
    return f'{name}="{value.translate(_FORM_PARAM_ESCAPES)}"'.encode()


def _data_part(name: object, value: object) -> tuple[bytes, bytes]:
    """The header block and body of one text field."""
    if not isinstance(name, str):
        raise TypeError(f"Invalid type for name. Expected str, got {type(name)}: {name!r}")
    _refuse_line_breaks(name, "name", name)
    if value is True:
        body = b"true"
    elif value is False:
        body = b"false"
    elif value is None:
        body = b""
    elif isinstance(value, bytes):
        body = value
    elif isinstance(value, str):
        body = value.encode("utf-8")
    elif isinstance(value, int | float):
        body = str(value).encode("ascii")
    else:
        raise TypeError(
            f"Invalid type for value. Expected primitive type, got {type(value)}: {value!r}"
        )
    header = b"".join(
        (b"Content-Disposition: form-data; ", format_form_param("name", name), b"\r\n\r\n")
    )
    return header, body


def _guess_content_type(filename: str | None) -> str | None:
    if not filename:
        return None
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _unpack_file_value(name: str, value: Any) -> tuple[str | None, Any, str | None, Any]:
    """(filename, content, content_type, headers) from the forms `files=` accepts."""
    if not isinstance(value, tuple):
        path = getattr(value, "name", None)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        # A file object's name is a path: only its last component is the form's filename.
        filename = PurePath(path).name if isinstance(path, str) else "upload"
        return filename, value, None, None
    if len(value) == 2:
        return value[0], value[1], None, None
    if len(value) == 3:
        return value[0], value[1], value[2], None
    if len(value) == 4:
        return value[0], value[1], value[2], value[3]
    raise ValueError(
        f"The files= value for field {name!r} is a tuple of {len(value)} items; expected "
        "(filename, content), (filename, content, content_type) or "
        "(filename, content, content_type, headers)."
    )


def _file_body(name: str, content: Any) -> bytes | FileByteStream:
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, bytearray | memoryview):
        return bytes(content)
    if isinstance(content, io.StringIO):
        raise TypeError("Multipart file uploads require 'io.BytesIO', not 'io.StringIO'.")
    if isinstance(content, io.TextIOBase):
        raise TypeError("Multipart file uploads must be opened in binary mode, not text mode.")
    if not hasattr(content, "read"):
        raise TypeError(
            f"The files= content for field {name!r} is a {type(content).__name__}; expected "
            "bytes, str or a file opened in binary mode."
        )
    # HTTPX sends a multipart file from its beginning, wherever it was left.
    return FileByteStream(content, from_start=True)


def _file_part_header(
    name: str, filename: str | None, content_type: str | None, headers: Any
) -> bytes:
    lines = [b"Content-Disposition: form-data; ", format_form_param("name", name)]
    if filename:
        _refuse_line_breaks(filename, "filename", name)
        lines += (b"; ", format_form_param("filename", filename))
    has_content_type = False
    for header_name, header_value in (headers or {}).items():
        if not isinstance(header_name, str) or not _TOKEN.fullmatch(header_name):
            raise ValueError(
                f"The part header name {header_name!r} of multipart field {name!r} "
                "is not a valid header name."
            )
        if not isinstance(header_value, str):
            raise TypeError(
                f"The part header {header_name!r} of multipart field {name!r} must be a str, "
                f"not {type(header_value).__name__}."
            )
        _refuse_line_breaks(header_value, f"{header_name} header value", name)
        has_content_type = has_content_type or header_name.lower() == "content-type"
        lines += (b"\r\n", header_name.encode("ascii"), b": ", header_value.encode("utf-8"))
    # A Content-Type among the part's headers wins over the tuple's or the guessed one (HTTPX).
    if content_type is not None and not has_content_type:
        _refuse_line_breaks(content_type, "content type", name)
        lines += (b"\r\nContent-Type: ", content_type.encode("utf-8"))
    lines.append(b"\r\n\r\n")
    return b"".join(lines)


def _file_part(name: object, value: Any) -> tuple[bytes, bytes | FileByteStream]:
    """The header block and body of one file field."""
    if not isinstance(name, str):
        raise TypeError(f"Invalid type for name. Expected str, got {type(name)}: {name!r}")
    _refuse_line_breaks(name, "name", name)
    filename, content, content_type, headers = _unpack_file_value(name, value)
    for what, text in (("filename", filename), ("content type", content_type)):
        if text is not None and not isinstance(text, str):
            raise TypeError(
                f"The {what} of multipart field {name!r} must be a str or None, "
                f"not {type(text).__name__}."
            )
    body = _file_body(name, content)
    if content_type is None:
        content_type = _guess_content_type(filename)
    return _file_part_header(name, filename, content_type, headers), body


def _iter_parts(
    data: Mapping[Any, Any], files: RequestFiles
) -> Iterator[tuple[bytes, bytes | FileByteStream]]:
    for name, value in data.items():
        if isinstance(value, list | tuple):
            for item in value:
                yield _data_part(name, item)
        else:
            yield _data_part(name, value)
    file_items = files.items() if isinstance(files, Mapping) else files
    for name, value in file_items:
        yield _file_part(name, value)


def _check_boundary(boundary: bytes) -> None:
    # The boundary ends up in the Content-Type header and in every delimiter line.
    if not boundary or b"\r" in boundary or b"\n" in boundary or b"\x00" in boundary:
        raise ValueError(f"Invalid multipart boundary {boundary!r}.")


def _parameter_value(boundary: bytes) -> str:
    # RFC 2045 section 5.1: a parameter value that is not a token must be a quoted-string.
    text = boundary.decode("latin-1")
    if _TOKEN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MultipartStream(SyncByteStream, AsyncByteStream):
    """A `multipart/form-data` body; iterable again as long as its files can seek."""

    __slots__ = ("_files", "_iterated", "_segments", "boundary", "content_length", "content_type")

    def __init__(
        self, data: Mapping[Any, Any], files: RequestFiles, boundary: bytes | None = None
    ) -> None:
        if boundary is None:
            boundary = os.urandom(16).hex().encode("ascii")
        else:
            _check_boundary(boundary)
        self.boundary = boundary
        self.content_type = "multipart/form-data; boundary=" + _parameter_value(boundary)
        self._segments: list[bytes | FileByteStream] = []
        self._files: list[FileByteStream] = []
        self._iterated = False
        # None when some file's length cannot be known in advance: the body is then sent chunked.
        self.content_length: int | None = self._build(data, files)

    def _build(self, data: Mapping[Any, Any], files: RequestFiles) -> int | None:
        delimiter = b"--" + self.boundary + b"\r\n"
        pending: list[bytes] = []
        length: int | None = 0
        for header, body in _iter_parts(data, files):
            pending += (delimiter, header)
            if isinstance(body, bytes) and len(body) < _JOIN_LIMIT:
                pending.append(body)
            else:
                self._flush(pending)
                self._segments.append(body)
                if isinstance(body, FileByteStream):
                    self._files.append(body)
                    file_length = body.length
                    length = None if length is None or file_length is None else length + file_length
            pending.append(b"\r\n")
        pending.append(b"--" + self.boundary + b"--\r\n")
        self._flush(pending)
        if length is None:
            return None
        return length + sum(len(s) for s in self._segments if isinstance(s, bytes))

    def _flush(self, pending: list[bytes]) -> None:
        if pending:
            self._segments.append(b"".join(pending))
            pending.clear()

    def get_headers(self) -> dict[str, str]:
        if self.content_length is None:
            return {"Transfer-Encoding": "chunked", "Content-Type": self.content_type}
        return {"Content-Length": str(self.content_length), "Content-Type": self.content_type}

    @property
    def rewindable(self) -> bool:
        """Whether the body can be produced again (every file in it can seek)."""
        return all(file.rewindable for file in self._files)

    def __iter__(self) -> Iterator[bytes]:
        # Refuse a second pass before producing a byte of it, not halfway through a part.
        if self._iterated and not self.rewindable:
            raise StreamConsumed()
        self._iterated = True
        for segment in self._segments:
            if isinstance(segment, bytes):
                yield segment
            else:
                yield from segment

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk

    def __repr__(self) -> str:
        return f"<MultipartStream boundary={self.boundary!r} content_length={self.content_length}>"
