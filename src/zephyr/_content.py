"""Request and response bodies: turn `content=`, `data=`, `files=` and `json=` into a stream.

Each encoder returns the headers the body needs (`Content-Length` when the size is known,
otherwise `Transfer-Encoding: chunked`, and `Content-Type` where one applies) together with
the stream the transports will iterate. In-memory bodies become a `ByteStream` holding the very
object given (no copy); iterables and files are wrapped so that they are read lazily.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from json import JSONEncoder
from typing import Any
from urllib.parse import quote_plus

from ._exceptions import LocalProtocolError, StreamConsumed
from ._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._types import RequestContent, RequestData, RequestFiles, ResponseContent

__all__ = [
    "CHUNK_SIZE",
    "AsyncIteratorByteStream",
    "FileByteStream",
    "IteratorByteStream",
    "encode_json_body",
    "encode_request",
    "encode_response",
    "get_multipart_boundary_from_content_type",
    "peek_remaining_length",
]

# Files are read in 64 KiB pieces (HTTPX's size): large enough that the per-read cost is lost
# in the noise, small enough that an upload never holds much of a file in memory.
CHUNK_SIZE = 65_536

# One encoder for every call: `json.dumps` with non-default options builds a new JSONEncoder
# each time. Compact separators and raw UTF-8 keep the body small (HTTPX 0.28 does the same);
# RFC 8259 §6 has no NaN or Infinity, so they are refused rather than sent as invalid JSON.
_JSON_ENCODER = JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

# The characters quote_plus leaves alone (RFC 3986 unreserved): a value made only of them is
# its own encoding.
_FORM_SAFE = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def _position_and_end(file: Any) -> tuple[int, int] | None:
    """Where `file` stands and where it ends, found without reading it; None if unknowable."""
    try:
        position: int = file.tell()
    except (AttributeError, OSError):
        return None
    try:
        status = os.fstat(file.fileno())
    except (AttributeError, OSError):
        status = None
    # st_size is the size only of a regular file (a block device reports 0, though seeking to
    # its end finds its size), and not of every one: Linux /proc files report 0 and have content.
    if status is not None and stat.S_ISREG(status.st_mode) and status.st_size:
        return position, status.st_size
    try:
        end: int = file.seek(0, os.SEEK_END)
        file.seek(position)
    except (AttributeError, OSError):
        return None
    return position, end


def peek_remaining_length(file: Any) -> int | None:
    """The number of bytes left in `file` from its current position, without reading it.

    None when that cannot be known: a pipe, a socket, a stream that cannot tell or seek.
    """
    extent = _position_and_end(file)
    return None if extent is None else max(extent[1] - extent[0], 0)


def _describe_file(file: Any) -> str:
    name = getattr(file, "name", None)
    return repr(name) if isinstance(name, str | bytes) else f"<{type(file).__name__}>"


def _as_bytes(chunk: object, source: str) -> bytes:
    """Accept a chunk that is not exactly `bytes` if it is bytes-like; refuse anything else.

    HTTPX passes such chunks on and fails later in the transport; failing here names the source.
    """
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    hint = " (encode text to bytes first)" if isinstance(chunk, str) else ""
    raise TypeError(f"{source} produced a {type(chunk).__name__} chunk; expected bytes{hint}.")


class FileByteStream(SyncByteStream):
    """A binary file object, read in `CHUNK_SIZE` pieces.

    Read from where the file stood when given, or from its beginning with `from_start=True`
    (what HTTPX does for multipart files). When the file can seek, every iteration starts again
    from there, so the body can be sent twice (a redirect, a retry); otherwise a second
    iteration raises `StreamConsumed`.
    """

    __slots__ = ("_file", "_seek_first", "_started", "length", "start")

    def __init__(self, file: Any, *, from_start: bool = False) -> None:
        self._file = file
        self._started = False
        extent = _position_and_end(file)
        # start None: the file cannot seek. length None: unknown, read to EOF; an int is the
        # number of bytes this stream promises (it goes into Content-Length).
        self.start: int | None = None
        self.length: int | None = None
        if extent is not None:
            self.start = 0 if from_start else extent[0]
            self.length = max(extent[1] - self.start, 0)
        self._seek_first = from_start and self.start is not None

    @property
    def rewindable(self) -> bool:
        return self.start is not None

    def __iter__(self) -> Iterator[bytes]:
        if self._started or self._seek_first:
            if self.start is None:
                raise StreamConsumed()
            self._file.seek(self.start)
        self._started = True
        read = self._file.read
        remaining = self.length
        if remaining is None:
            while chunk := read(CHUNK_SIZE):
                yield chunk if chunk.__class__ is bytes else _as_bytes(chunk, "A file's read()")
            return
        # The length was announced in Content-Length: send exactly that many bytes. Reading no
        # further also saves the final empty read() that would only find EOF.
        while remaining > 0:
            chunk = read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise LocalProtocolError(
                    f"The file {_describe_file(self._file)} ended {remaining} bytes short of "
                    f"the {self.length} bytes announced in Content-Length; did it shrink?"
                )
            if chunk.__class__ is not bytes:
                chunk = _as_bytes(chunk, "A file's read()")
            remaining -= len(chunk)
            if remaining < 0:
                raise LocalProtocolError(
                    f"The file {_describe_file(self._file)}'s read() returned more bytes "
                    "than were asked for."
                )
            yield chunk


class IteratorByteStream(SyncByteStream):
    """A body from a sync iterable of bytes, sent with chunked framing.

    A list or another re-iterable can be iterated again; an iterator (a generator included)
    only once, as a second pass would silently send an empty body.
    """

    __slots__ = ("_iterable", "_single_use", "_started")

    def __init__(self, iterable: Iterable[bytes]) -> None:
        self._iterable = iterable
        self._single_use = isinstance(iterable, Iterator)
        self._started = False

    def __iter__(self) -> Iterator[bytes]:
        if self._started and self._single_use:
            raise StreamConsumed()
        self._started = True
        for chunk in self._iterable:
            if chunk.__class__ is not bytes:
                chunk = _as_bytes(chunk, "The content iterable")
            # An empty chunk carries nothing, and in chunked framing it would end the body.
            if chunk:
                yield chunk


class AsyncIteratorByteStream(AsyncByteStream):
    """A body from an async iterable of bytes (or an object with `aread`), sent chunked."""

    __slots__ = ("_iterable", "_single_use", "_started")

    def __init__(self, iterable: AsyncIterable[bytes]) -> None:
        self._iterable = iterable
        self._single_use = isinstance(iterable, AsyncIterator) or hasattr(iterable, "aread")
        self._started = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._started and self._single_use:
            raise StreamConsumed()
        self._started = True
        aread = getattr(self._iterable, "aread", None)
        if aread is not None and not isinstance(self._iterable, AsyncByteStream):
            # An async file-like object (HTTPX's contract): read it in pieces.
            while chunk := await aread(CHUNK_SIZE):
                yield chunk if chunk.__class__ is bytes else _as_bytes(chunk, "aread()")
            return
        async for chunk in self._iterable:
            if chunk.__class__ is not bytes:
                chunk = _as_bytes(chunk, "The content async iterable")
            if chunk:
                yield chunk


def _in_memory(body: bytes) -> tuple[dict[str, str], ByteStream]:
    # An empty body needs no header: the Request adds `Content-Length: 0` where the method wants it.
    return ({"Content-Length": str(len(body))} if body else {}), ByteStream(body)


def _encode_content(
    content: object,
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    if isinstance(content, bytes):
        return _in_memory(content)
    if isinstance(content, str):
        return _in_memory(content.encode("utf-8"))
    if isinstance(content, bytearray | memoryview):
        return _in_memory(bytes(content))
    if isinstance(content, io.TextIOBase):
        raise TypeError(
            f"content= was given a file opened in text mode ({type(content).__name__}); "
            "open it in binary mode ('rb') instead."
        )
    is_file = hasattr(content, "read") and not isinstance(content, SyncByteStream | AsyncByteStream)
    # A sync file also iterates (by lines), and an async file (aiofiles) has `read` but only
    # `__aiter__`: the sync side wins only for objects that are sync.
    if is_file and not isinstance(content, AsyncIterable):
        stream = FileByteStream(content)
        if stream.length is None:
            return {"Transfer-Encoding": "chunked"}, stream
        return {"Content-Length": str(stream.length)}, stream
    if isinstance(content, Iterable):
        return {"Transfer-Encoding": "chunked"}, IteratorByteStream(content)
    if isinstance(content, AsyncIterable):
        return {"Transfer-Encoding": "chunked"}, AsyncIteratorByteStream(content)
    raise TypeError(
        f"Unexpected type for 'content': {type(content).__name__}. Expected bytes, str, "
        "a binary file, an iterable of bytes or an async iterable of bytes."
    )


def _form_value(value: object) -> str | bytes:
    # HTTPX's spelling of primitives in forms: JSON-like booleans, None as an empty value.
    if value.__class__ is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, str | bytes):
        return value
    return str(value)


def _quote_form(value: str | bytes) -> str:
    # Most keys and many values need no escaping: one match costs under half of quote_plus.
    if value.__class__ is str and _FORM_SAFE(value):
        return value
    return quote_plus(value)


def _encode_urlencoded(data: Mapping[Any, Any]) -> tuple[dict[str, str], ByteStream]:
    pairs: list[str] = []
    append = pairs.append
    for key, value in data.items():
        prefix = _quote_form(_form_value(key)) + "="
        if isinstance(value, list | tuple):
            for item in value:
                append(prefix + _quote_form(_form_value(item)))
        else:
            append(prefix + _quote_form(_form_value(value)))
    # quote_plus leaves only ASCII behind.
    body = "&".join(pairs).encode("ascii")
    headers = {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return headers, ByteStream(body)


def encode_json_body(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON, refusing NaN and Infinity."""
    try:
        text = _JSON_ENCODER.encode(value)
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise ValueError(
                "json= cannot hold NaN, Infinity or -Infinity: JSON has no such numbers "
                "(RFC 8259 section 6). Replace them (for example with None) before sending."
            ) from exc
        raise ValueError(f"json= could not be encoded: {exc}") from exc
    return text.encode("utf-8")


def _encode_json(value: Any) -> tuple[dict[str, str], ByteStream]:
    body = encode_json_body(value)
    return {"Content-Length": str(len(body)), "Content-Type": "application/json"}, ByteStream(body)


def _encode_text(text: str, content_type: str) -> tuple[dict[str, str], ByteStream]:
    body = text.encode("utf-8")
    return {"Content-Length": str(len(body)), "Content-Type": content_type}, ByteStream(body)


def encode_request(
    content: RequestContent | None = None,
    data: RequestData | None = None,
    files: RequestFiles | None = None,
    json: Any | None = None,
    boundary: bytes | None = None,
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    """The headers and stream for a request body; precedence content, files, data, json."""
    if data is not None and not isinstance(data, Mapping):
        # requests sends raw bodies with data=; HTTPX accepts that with a warning. Raw bodies
        # belong in content=, and data= keeps meaning form fields.
        warnings.warn(
            "Use 'content=<...>' to upload raw bytes/text content.",
            DeprecationWarning,
            stacklevel=2,
        )
        return _encode_content(data)
    if content is not None:
        return _encode_content(content)
    if files:
        # Imported here: _multipart builds on this module, and most requests carry no files.
        from ._multipart import MultipartStream

        multipart = MultipartStream(data or {}, files, boundary)
        return multipart.get_headers(), multipart
    if data:
        return _encode_urlencoded(data)
    if json is not None:
        return _encode_json(json)
    return {}, ByteStream(b"")


def encode_response(
    content: ResponseContent | None = None,
    text: str | None = None,
    html: str | None = None,
    json: Any | None = None,
) -> tuple[dict[str, str], SyncByteStream | AsyncByteStream]:
    """The headers and stream for a response built by hand; precedence content, text, html, json."""
    if content is not None:
        return _encode_content(content)
    if text is not None:
        return _encode_text(text, "text/plain; charset=utf-8")
    if html is not None:
        return _encode_text(html, "text/html; charset=utf-8")
    if json is not None:
        return _encode_json(json)
    return {}, ByteStream(b"")


def get_multipart_boundary_from_content_type(content_type: bytes | None) -> bytes | None:
    """The boundary named in a `multipart/form-data` Content-Type value, if there is one.

    Media types and parameter names are case-insensitive (RFC 2045 section 5.1); the boundary
    itself is kept as written, without its quotes.
    """
    if not content_type:
        return None
    media_type, _, parameters = content_type.partition(b";")
    if media_type.strip().lower() != b"multipart/form-data":
        return None
    for parameter in parameters.split(b";"):
        name, equals, value = parameter.partition(b"=")
        if equals and name.strip().lower() == b"boundary":
            value = value.strip()
            if len(value) >= 2 and value[:1] == value[-1:] == b'"':
                value = value[1:-1]
            return value
    return None
