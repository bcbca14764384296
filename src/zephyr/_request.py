"""`Request`: a method, a URL, headers and a body, ready for a transport."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._content import encode_request, get_multipart_boundary_from_content_type
from ._cookies import Cookies
from ._exceptions import LocalProtocolError, RequestNotRead, StreamClosed
from ._headers import Headers
from ._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._types import (
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    URLTypes,
)
from ._urls import URL

__all__ = ["Request", "UnattachedStream"]

# RFC 9110 §9.1: a method is a token (§5.6.2).
_METHOD_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# The stream of every request without a body: a ByteStream holds no state, so one serves all.
_EMPTY_STREAM = ByteStream(b"")

# RFC 9110 §8.6: a user agent SHOULD send Content-Length in a request that has no body when the
# method defines a meaning for an enclosed body; servers commonly answer 411 otherwise.
_METHODS_EXPECTING_BODY = frozenset(("POST", "PUT", "PATCH"))


class UnattachedStream(SyncByteStream, AsyncByteStream):
    """The stream of a request or response that was pickled: its body is gone."""

    def __iter__(self) -> Iterator[bytes]:
        raise StreamClosed()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise StreamClosed()
        yield b""  # pragma: no cover


# Methods already checked, as given -> as sent. Bounded: a stream of distinct methods costs
# speed, never memory.
_checked_methods: dict[str, str] = {
    name: name for name in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
}
_CHECKED_METHODS_LIMIT = 64


def _normalize_method(method: str | bytes) -> str:
    if type(method) is str:
        checked = _checked_methods.get(method)
        if checked is not None:
            return checked
    if isinstance(method, bytes):
        method = method.decode("ascii", errors="replace")
    elif not isinstance(method, str):
        raise TypeError(f"A request method must be str or bytes, not {type(method).__name__}.")
    upper = method.upper()
    if _METHOD_TOKEN.fullmatch(upper) is None:
        # Refused here, before a byte is written: a CR, LF or space in the method would let the
        # caller's input rewrite the request line (urllib3 CVE-2019-11236's family).
        raise LocalProtocolError(
            f"Invalid HTTP method {method[:50]!r}: it must be an RFC 9110 token."
        )
    if type(method) is str and len(_checked_methods) < _CHECKED_METHODS_LIMIT:
        _checked_methods[method] = upper
    return upper


class Request:
    """An HTTP request.

    Request("GET", "https://example.org/", params={"q": "x"}, headers={"Accept": "*/*"})

    The URL's own query string is kept and `params` are merged into it. `Host` and the body's
    framing headers (`Content-Length` or `Transfer-Encoding: chunked`) are added unless given.
    """

    def __init__(
        self,
        method: str | bytes,
        url: URLTypes,
        *,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: Any | None = None,
        stream: SyncByteStream | AsyncByteStream | None = None,
        extensions: RequestExtensions | None = None,
    ) -> None:
        self.method = _normalize_method(method)
        # A URL is immutable: an existing one is shared, not copied.
        self.url = url if type(url) is URL else URL(url)
        if params is not None:
            self.url = self.url.copy_merge_params(params)
        self.headers = Headers(headers)
        self.extensions: dict[str, Any] = {} if extensions is None else dict(extensions)

        if cookies:
            Cookies(cookies).set_cookie_header(self)

        if stream is None:
            if content is None and data is None and files is None and json is None:
                # No body at all, as in most requests: what encode_request() returns for it.
                self._add_automatic_headers()
                self.stream: SyncByteStream | AsyncByteStream = _EMPTY_STREAM
                self._content = b""
                return
            # Only a multipart body has a boundary, and only files= makes one.
            content_type = self.headers.get("content-type") if files else None
            boundary = get_multipart_boundary_from_content_type(
                content_type.encode(self.headers.encoding) if content_type else None
            )
            body_headers, body_stream = encode_request(
                content=content, data=data, files=files, json=json, boundary=boundary
            )
            if files and content_type is not None and boundary is None:
                # A hand-set "multipart/form-data" without a boundary would leave the server
                # unable to split the body: name the boundary the body was built with.
                self.headers["Content-Type"] = body_headers["Content-Type"]
            self._prepare(body_headers)
            self.stream = body_stream
            if isinstance(body_stream, ByteStream):
                # An in-memory body is its own content: no read() needed to inspect it.
                self._content = body_stream._body
        else:
            # A stream handed in directly (by a transport or a proxy) comes with its headers.
            self.stream = stream
            if isinstance(stream, ByteStream):
                self._content = stream._body

    @classmethod
    def _without_body(
        cls, method: str, url: URL, headers: Headers, extensions: dict[str, Any]
    ) -> Request:
        """`Request(method, url, headers=headers, extensions=extensions)` for what a client
        builds most: no body, no params, no cookies. `headers` is copied as the constructor
        copies it; `extensions` is taken, not copied (the caller made it for this request).
        Without the constructor's eleven keyword arguments and their tests: 1.3 -> 0.7 us."""
        request = object.__new__(cls)
        request.method = _normalize_method(method)
        request.url = url
        request.headers = headers._copy()
        request.extensions = extensions
        request._add_automatic_headers()
        request.stream = _EMPTY_STREAM
        request._content = b""
        return request

    def _prepare(self, body_headers: dict[str, str]) -> None:
        headers = self.headers
        for name, value in body_headers.items():
            # A user-supplied Content-Length wins over chunked framing (HTTPX does the same).
            if name.lower() == "transfer-encoding" and "content-length" in headers:
                continue
            headers.setdefault(name, value)
        self._add_automatic_headers()

    def _add_automatic_headers(self) -> None:
        """`Host` and, for a method that expects a body, `Content-Length` unless given."""
        headers = self.headers
        auto: list[tuple[bytes, bytes, bytes]] = []
        if not headers._has(b"host") and self.url._parts.host:
            auto.append((b"Host", b"host", self.url.netloc))
        if (
            self.method in _METHODS_EXPECTING_BODY
            and not headers._has(b"content-length")
            and not headers._has(b"transfer-encoding")
        ):
            auto.append((b"Content-Length", b"content-length", b"0"))
        if auto:
            # Host goes first, as clients conventionally send it (RFC 9112 §3.2 recommends it).
            headers._insert_raw_at_front(auto)

    @property
    def content(self) -> bytes:
        try:
            return self._content
        except AttributeError:
            raise RequestNotRead() from None

    def read(self) -> bytes:
        """Read a streaming body into memory, so that it can be sent again (redirects, auth)."""
        if not hasattr(self, "_content"):
            if not isinstance(self.stream, SyncByteStream):
                raise TypeError("Request.read() needs a sync stream; use `await request.aread()`.")
            self._content = b"".join(self.stream)
            self.stream = ByteStream(self._content)
        return self._content

    async def aread(self) -> bytes:
        if not hasattr(self, "_content"):
            if not isinstance(self.stream, AsyncByteStream):
                raise TypeError("Request.aread() needs an async stream; use `request.read()`.")
            self._content = b"".join([part async for part in self.stream])
            self.stream = ByteStream(self._content)
        return self._content

    def __repr__(self) -> str:
        return f"<Request({self.method!r}, {str(self.url)!r})>"

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("extensions", "stream")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.extensions = {}
        content = state.get("_content")
        self.stream = UnattachedStream() if content is None else ByteStream(content)
