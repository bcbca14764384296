"""`Response`: status, headers and a body that is read whole or streamed."""

from __future__ import annotations

import codecs
import datetime
import json as jsonlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from ._config import DEFAULT_MAX_RESPONSE_SIZE
from ._content import encode_response
from ._cookies import Cookies
from ._decoders import ContentDecoder, build_decoder
from ._exceptions import (
    HTTPStatusError,
    RequestError,
    ResponseNotRead,
    ResponseTooLarge,
    StreamClosed,
    StreamConsumed,
)
from ._headers import Headers
from ._request import Request, UnattachedStream
from ._status_codes import codes
from ._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._text_decoders import ByteChunker, LineDecoder, TextChunker, TextDecoder
from ._types import HeaderTypes, ResponseContent, ResponseExtensions
from ._urls import URL

__all__ = ["Response"]

_REDIRECT_STATUS_CODES = frozenset((301, 302, 303, 307, 308))

_perf_counter = time.perf_counter


def _is_known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _content_type_params(value: str) -> dict[str, str]:
    """The parameters of a Content-Type value (RFC 9110 §8.3.1), names lower-cased."""
    params: dict[str, str] = {}
    for part in value.split(";")[1:]:
        name, sep, param_value = part.partition("=")
        if sep:
            params[name.strip().lower()] = param_value.strip().strip('"')
    return params


def _parse_links(value: str) -> list[dict[str, str]]:
    """Split a Link header (RFC 8288) into dicts with "url" and the link's parameters."""
    links: list[dict[str, str]] = []
    for entry in value.split(","):
        target, _, params = entry.strip().partition(";")
        url = target.strip().strip("<>").strip()
        if not url:
            continue
        link = {"url": url}
        for param in params.split(";"):
            name, sep, param_value = param.partition("=")
            if sep:
                link[name.strip().lower()] = param_value.strip().strip("'\"")
        links.append(link)
    return links


class Response:
    """An HTTP response.

    Built by transports with a `stream`, or by hand with `content=`, `text=`, `html=` or
    `json=` (then it is read at once). Bodies are decoded from their Content-Encoding as they
    are read; `encoding` decides how `text` decodes bytes.
    """

    _content: bytes  # set once the body has been read
    _elapsed: datetime.timedelta | float  # float: seconds, not yet made a timedelta
    # perf_counter() when a client sent the request: closing the response sets `elapsed`. (A
    # wrapper around the stream did that, at an object and a call per response.)
    _sent_at: float | None = None
    # The most bytes `read()` collects, decoded (Limits.max_response_size; sys.maxsize: no
    # limit). A client with another limit sets it on each of its responses.
    _max_size: int = DEFAULT_MAX_RESPONSE_SIZE

    def __init__(
        self,
        status_code: int,
        *,
        headers: HeaderTypes | None = None,
        content: ResponseContent | None = None,
        text: str | None = None,
        html: str | None = None,
        json: Any = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        request: Request | None = None,
        extensions: ResponseExtensions | None = None,
        history: Sequence[Response] | None = None,
        default_encoding: str | Callable[[bytes], str | None] = "utf-8",
    ) -> None:
        self.status_code = status_code
        # A transport's Headers, as every response from a client has: the quick copy.
        self.headers = headers._copy() if type(headers) is Headers else Headers(headers)
        self._request = request
        # Set by a client following redirects by hand (follow_redirects=False).
        self.next_request: Request | None = None
        self.extensions: dict[str, Any] = {} if extensions is None else dict(extensions)
        self.history = [] if history is None else list(history)
        self.is_closed = False
        self.is_stream_consumed = False
        self.default_encoding = default_encoding
        self._num_bytes_downloaded = 0

        if stream is None:
            body_headers, body_stream = encode_response(content, text, html, json)
            for name, value in body_headers.items():
                self.headers.setdefault(name, value)
            self.stream: SyncByteStream | AsyncByteStream = body_stream
            if isinstance(body_stream, ByteStream):
                self._max_size = sys.maxsize  # made here: in memory already
                # In-memory bodies are read at once, so .content works without read().
                self.read()
        else:
            self.stream = stream

    @classmethod
    def _from_transport(
        cls,
        status_code: int,
        headers: Headers,
        stream: SyncByteStream | AsyncByteStream,
        extensions: dict[str, Any],
    ) -> Response:
        """`Response(status_code, headers=headers, stream=stream, extensions=extensions)` for a
        transport that made `headers` and `extensions` for this response alone: they are taken,
        not copied, and the constructor's keyword handling is skipped (~8 % of the async
        client's instructions per request, measured). Sets what `__init__` sets."""
        response = object.__new__(cls)
        response.status_code = status_code
        response.headers = headers
        response._request = None
        response.next_request = None
        response.extensions = extensions
        response.history = []
        response.is_closed = False
        response.is_stream_consumed = False
        response.default_encoding = "utf-8"
        response._num_bytes_downloaded = 0
        response.stream = stream
        return response

    # -- status and metadata -------------------------------------------------------------

    @property
    def elapsed(self) -> datetime.timedelta:
        """Time from sending the request to the response being closed (set by the client)."""
        try:
            elapsed = self._elapsed
        except AttributeError:
            raise RuntimeError(
                "'.elapsed' may only be accessed after the response has been read or closed."
            ) from None
        if isinstance(elapsed, float):
            elapsed = self._elapsed = datetime.timedelta(seconds=elapsed)
        return elapsed

    @elapsed.setter
    def elapsed(self, elapsed: datetime.timedelta) -> None:
        self._elapsed = elapsed

    def _set_elapsed_seconds(self, seconds: float) -> None:
        """Set `elapsed` in seconds; the timedelta is built only if `elapsed` is read (building
        it for every response cost ~0.3 us, measured, and few callers ever look)."""
        self._elapsed = seconds

    @property
    def request(self) -> Request:
        if self._request is None:
            raise RuntimeError("The request instance has not been set on this response.")
        return self._request

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value

    @property
    def http_version(self) -> str:
        version: bytes | str = self.extensions.get("http_version", b"HTTP/1.1")
        return version.decode("ascii", errors="ignore") if isinstance(version, bytes) else version

    @property
    def reason_phrase(self) -> str:
        reason = self.extensions.get("reason_phrase")
        if not reason:
            # Servers may send an empty reason (RFC 9112 §4: it is optional); show the standard one.
            return codes.get_reason_phrase(self.status_code)
        return reason.decode("ascii", errors="ignore") if isinstance(reason, bytes) else reason

    @property
    def url(self) -> URL:
        return self.request.url

    @property
    def is_informational(self) -> bool:
        return codes.is_informational(self.status_code)

    @property
    def is_success(self) -> bool:
        return codes.is_success(self.status_code)

    @property
    def is_redirect(self) -> bool:
        return codes.is_redirect(self.status_code)

    @property
    def is_client_error(self) -> bool:
        return codes.is_client_error(self.status_code)

    @property
    def is_server_error(self) -> bool:
        return codes.is_server_error(self.status_code)

    @property
    def is_error(self) -> bool:
        return codes.is_error(self.status_code)

    @property
    def has_redirect_location(self) -> bool:
        return self.status_code in _REDIRECT_STATUS_CODES and "location" in self.headers

    def raise_for_status(self) -> Response:
        """Return the response if it is 2xx; otherwise raise HTTPStatusError."""
        if self._request is None:
            raise RuntimeError(
                "Cannot call `raise_for_status` as the request instance has not been set on "
                "this response."
            )
        if self.is_success:
            return self
        kind = {1: "Informational response", 3: "Redirect response", 4: "Client error"}.get(
            self.status_code // 100, "Server error" if self.is_server_error else "Error response"
        )
        message = f"{kind} '{self.status_code} {self.reason_phrase}' for url '{self.url}'"
        if self.has_redirect_location:
            message += f"\nRedirect location: '{self.headers['location']}'"
        message += (
            "\nFor more information check: "
            f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{self.status_code}"
        )
        raise HTTPStatusError(message, request=self._request, response=self)

    @property
    def cookies(self) -> Cookies:
        if not hasattr(self, "_cookies"):
            self._cookies = Cookies()
            self._cookies.extract_cookies(self)
        return self._cookies

    @property
    def links(self) -> dict[str, dict[str, str]]:
        """The Link header's links, keyed by their `rel` (or their URL when they have none)."""
        header = self.headers.get("link")
        if not header:
            return {}
        return {link.get("rel") or link["url"]: link for link in _parse_links(header)}

    @property
    def num_bytes_downloaded(self) -> int:
        return self._num_bytes_downloaded

    # -- body and text -------------------------------------------------------------------

    @property
    def content(self) -> bytes:
        try:
            return self._content
        except AttributeError:
            raise ResponseNotRead() from None

    @property
    def charset_encoding(self) -> str | None:
        """The charset named by the Content-Type header, if any."""
        content_type = self.headers.get("content-type")
        if content_type is None:
            return None
        return _content_type_params(content_type).get("charset")

    @property
    def encoding(self) -> str | None:
        """How `text` decodes the body: the Content-Type charset, else `default_encoding`."""
        if not hasattr(self, "_encoding"):
            encoding = self.charset_encoding
            if encoding is None or not _is_known_encoding(encoding):
                if isinstance(self.default_encoding, str):
                    encoding = self.default_encoding
                elif hasattr(self, "_content"):
                    encoding = self.default_encoding(self._content)
            self._encoding = encoding or "utf-8"
        return self._encoding

    @encoding.setter
    def encoding(self, value: str) -> None:
        if hasattr(self, "_text"):
            raise ValueError(
                "Setting encoding after `text` has been accessed is not allowed: the text was "
                "already decoded with the previous encoding."
            )
        self._encoding = value

    @property
    def text(self) -> str:
        if not hasattr(self, "_text"):
            content = self.content
            if not content:
                self._text = ""
            else:
                decoder = TextDecoder(encoding=self.encoding or "utf-8")
                self._text = decoder.decode(content) + decoder.flush()
        return self._text

    def json(self, **kwargs: Any) -> Any:
        """Parse the body as JSON; UTF-8, -16 and -32 (with or without a BOM) are detected."""
        return jsonlib.loads(self.content, **kwargs)

    def _content_decoder(self) -> ContentDecoder:
        if not hasattr(self, "_decoder"):
            self._decoder = build_decoder(
                self.headers.get_list("content-encoding", split_commas=True)
            )
        return self._decoder

    # -- sync reading ----------------------------------------------------------------------
    #
    # Errors from the stream are RequestErrors without a request (a transport's stream does
    # not know which request it serves): each `except RequestError` below names it. One
    # try/except costs nothing until it fires; `request_context`, a context manager, cost
    # ~0.8 us per use, three times per response (measured).

    def _is_identity_coded(self) -> bool:
        """True when the body is its own decoding: no Content-Encoding, no decoder built."""
        return not hasattr(self, "_decoder") and not self.headers._has(b"content-encoding")

    def read(self) -> bytes:
        """Read and decode the whole body into memory."""
        if hasattr(self, "_content"):  # not try/except: a miss raising costs ~0.3 us more
            return self._content
        if self._is_identity_coded():
            # The usual case, without iter_bytes' layers of generators, chunkers, decoders and
            # context managers: a 100-byte body is read in 0.8 us instead of 6.6 (measured).
            self._content = self._read_raw()
        else:
            self._content = self._read_decoded()
        return self._content

    def _too_large(self) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"The response body is larger than Limits.max_response_size ({self._max_size} "
            "bytes, decoded): read() stopped there and closed the response. Stream it instead "
            "(client.stream() and iter_bytes()), or raise the limit: "
            "Client(limits=zephyr.Limits(max_response_size=...)).",
            request=self._request,
        )

    def _read_decoded(self) -> bytes:
        """`b"".join(self.iter_bytes())`, stopping past `_max_size` bytes."""
        limit = self._max_size
        chunks: list[bytes] = []
        size = 0
        iterator = self.iter_bytes()
        for chunk in iterator:
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
        getattr(iterator, "close", _nothing)()  # the stream underneath gives up its connection
        self.close()
        raise self._too_large()

    def _sync_stream_for_reading(self) -> SyncByteStream:
        """The stream, checked and marked as consumed: what iter_raw() starts with."""
        if self.is_stream_consumed:
            raise StreamConsumed()
        if self.is_closed:
            raise StreamClosed()
        stream = self.stream
        if not isinstance(stream, SyncByteStream):
            raise RuntimeError(
                "Attempted to call a sync iterator on an async stream: use `aiter_raw()`."
            )
        self.is_stream_consumed = True
        self._num_bytes_downloaded = 0
        return stream

    def _read_raw(self) -> bytes:
        """`b"".join(self.iter_raw())`, as a plain loop."""
        stream = self._sync_stream_for_reading()
        body = stream._complete_body()
        if body is not None:
            # All here already: the stream is spent and closed, so the response is too.
            self._num_bytes_downloaded = len(body)
            self._mark_closed()
            if len(body) > self._max_size:
                raise self._too_large()
            return body
        chunks: list[bytes] = []
        limit = self._max_size
        try:
            for raw in stream:
                self._num_bytes_downloaded += len(raw)
                if self._num_bytes_downloaded > limit:
                    break
                chunks.append(raw)
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise
        self.close()
        if self._num_bytes_downloaded > limit:
            raise self._too_large()
        return b"".join(chunks)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The decoded body, in chunks of `chunk_size` bytes (as they come when None)."""
        if hasattr(self, "_content"):
            yield from _chunks_of(self._content, chunk_size)
            return
        if chunk_size is None and self._is_identity_coded():
            yield from self.iter_raw()
            return
        chunker = ByteChunker(chunk_size)
        try:
            decoder = self._content_decoder()
            for raw in self.iter_raw():
                for decoded in decoder.decode(raw):
                    yield from chunker.decode(decoded)
            for decoded in decoder.flush():
                yield from chunker.decode(decoded)
            yield from chunker.flush()
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        """The body decoded to text with `encoding`, incrementally."""
        decoder = TextDecoder(encoding=self.encoding or "utf-8")
        chunker = TextChunker(chunk_size)
        for data in self.iter_bytes():
            text = decoder.decode(data)
            if text:
                yield from chunker.decode(text)
        text = decoder.flush()
        if text:
            yield from chunker.decode(text)
        yield from chunker.flush()

    def iter_lines(self) -> Iterator[str]:
        """The body's lines, without their line endings."""
        decoder = LineDecoder()
        for text in self.iter_text():
            yield from decoder.decode(text)
        yield from decoder.flush()

    def iter_raw(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body as it came off the wire, still content-encoded."""
        stream = self._sync_stream_for_reading()
        try:
            if chunk_size is None:
                for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    if raw:  # an empty chunk is no chunk (what ByteChunker(None) does)
                        yield raw
            else:
                chunker = ByteChunker(chunk_size)
                for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    yield from chunker.decode(raw)
                yield from chunker.flush()
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise
        self.close()

    def _mark_closed(self) -> None:
        """Mark the response closed, and time it (`elapsed`) if a client sent its request."""
        self.is_closed = True
        if self._sent_at is not None:
            self._elapsed = _perf_counter() - self._sent_at

    def close(self) -> None:
        """Close the response and release its connection (unread bytes are discarded)."""
        stream = self.stream
        if not isinstance(stream, SyncByteStream):
            raise RuntimeError("Attempted to call a sync close on an async stream: use `aclose()`.")
        if not self.is_closed:
            self._mark_closed()
            try:
                stream.close()
            except RequestError as exc:
                if exc._request is None:
                    exc._request = self._request
                raise

    # -- async reading ---------------------------------------------------------------------

    async def aread(self) -> bytes:
        if hasattr(self, "_content"):
            return self._content
        if self._is_identity_coded():
            self._content = await self._aread_raw()
        else:
            self._content = await self._aread_decoded()
        return self._content

    async def _aread_decoded(self) -> bytes:
        """`b"".join([part async for part in self.aiter_bytes()])`, stopping past `_max_size`
        bytes."""
        limit = self._max_size
        chunks: list[bytes] = []
        size = 0
        iterator = self.aiter_bytes()
        async for chunk in iterator:
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()  # the stream underneath gives up its connection
        await self.aclose()
        raise self._too_large()

    def _async_stream_for_reading(self) -> AsyncByteStream:
        """The stream, checked and marked as consumed: what aiter_raw() starts with."""
        if self.is_stream_consumed:
            raise StreamConsumed()
        if self.is_closed:
            raise StreamClosed()
        stream = self.stream
        if not isinstance(stream, AsyncByteStream):
            raise RuntimeError(
                "Attempted to call an async iterator on a sync stream: use `iter_raw()`."
            )
        self.is_stream_consumed = True
        self._num_bytes_downloaded = 0
        return stream

    async def _aread_raw(self) -> bytes:
        """`b"".join([chunk async for chunk in self.aiter_raw()])`, as a plain loop."""
        stream = self._async_stream_for_reading()
        body = stream._complete_body()
        if body is not None:
            # All here already: the stream is spent and closed, so the response is too.
            self._num_bytes_downloaded = len(body)
            self._mark_closed()
            if len(body) > self._max_size:
                raise self._too_large()
            return body
        chunks: list[bytes] = []
        limit = self._max_size
        iterator = stream.__aiter__()
        try:
            async for raw in iterator:
                self._num_bytes_downloaded += len(raw)
                if self._num_bytes_downloaded > limit:
                    break
                chunks.append(raw)
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise
        if self._num_bytes_downloaded > limit:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()  # the stream underneath gives up its connection
            await self.aclose()
            raise self._too_large()
        await self.aclose()
        return b"".join(chunks)

    async def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        if hasattr(self, "_content"):
            for chunk in _chunks_of(self._content, chunk_size):
                yield chunk
            return
        if chunk_size is None and self._is_identity_coded():
            async for chunk in self.aiter_raw():
                yield chunk
            return
        chunker = ByteChunker(chunk_size)
        try:
            decoder = self._content_decoder()
            async for raw in self.aiter_raw():
                for decoded in decoder.decode(raw):
                    for chunk in chunker.decode(decoded):
                        yield chunk
            for decoded in decoder.flush():
                for chunk in chunker.decode(decoded):
                    yield chunk
            for chunk in chunker.flush():
                yield chunk
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise

    async def aiter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        decoder = TextDecoder(encoding=self.encoding or "utf-8")
        chunker = TextChunker(chunk_size)
        async for data in self.aiter_bytes():
            for chunk in chunker.decode(decoder.decode(data)):
                yield chunk
        for chunk in chunker.decode(decoder.flush()):
            yield chunk
        for chunk in chunker.flush():
            yield chunk

    async def aiter_lines(self) -> AsyncIterator[str]:
        decoder = LineDecoder()
        async for text in self.aiter_text():
            for line in decoder.decode(text):
                yield line
        for line in decoder.flush():
            yield line

    async def aiter_raw(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        stream = self._async_stream_for_reading()
        try:
            if chunk_size is None:
                async for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    if raw:  # an empty chunk is no chunk (what ByteChunker(None) does)
                        yield raw
            else:
                chunker = ByteChunker(chunk_size)
                async for raw in stream:
                    self._num_bytes_downloaded += len(raw)
                    for chunk in chunker.decode(raw):
                        yield chunk
                for chunk in chunker.flush():
                    yield chunk
        except RequestError as exc:
            if exc._request is None:
                exc._request = self._request
            raise
        await self.aclose()

    async def aclose(self) -> None:
        stream = self.stream
        if not isinstance(stream, AsyncByteStream):
            raise RuntimeError("Attempted to call an async close on a sync stream: use `close()`.")
        if not self.is_closed:
            self._mark_closed()
            try:
                await stream.aclose()
            except RequestError as exc:
                if exc._request is None:
                    exc._request = self._request
                raise

    # -- context managers, repr, pickling --------------------------------------------------

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason_phrase}]>"

    def __getstate__(self) -> dict[str, Any]:
        excluded = ("extensions", "stream", "is_closed", "_decoder")
        return {k: v for k, v in self.__dict__.items() if k not in excluded}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.is_closed = True
        self.extensions = {}
        self.stream = UnattachedStream()


def _nothing() -> None:
    pass


def _chunks_of(content: bytes, chunk_size: int | None) -> Iterator[bytes]:
    if not content:
        return
    if chunk_size is None or chunk_size >= len(content):
        yield content
        return
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of bytes, not {chunk_size}.")
    for start in range(0, len(content), chunk_size):
        yield content[start : start + chunk_size]
