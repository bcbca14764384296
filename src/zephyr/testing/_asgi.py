"""The ASGI 3 vocabulary of the test server: a buffered request, and responses that send themselves.

Nothing here knows about endpoints; `_app.py` turns an ASGI scope plus its body into a
`Request`, a handler returns a `Response` or a `StreamingResponse`, and that object writes
itself out through the ASGI `send` callable.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

__all__ = [
    "HTTPException",
    "Message",
    "Receive",
    "Request",
    "Response",
    "Scope",
    "Send",
    "StreamingResponse",
    "is_safe_header",
    "json_response",
    "parse_pairs",
    "redirect_response",
    "render_json",
    "text_response",
]

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]


class HTTPException(Exception):
    """Raised by a handler to answer with an error status and a short plain-text reason."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or []


class Request:
    """One HTTP request, its body already read in full."""

    __slots__ = (
        "_query_args",
        "body",
        "client_host",
        "headers",
        "http_version",
        "method",
        "path",
        "path_params",
        "query_string",
        "raw_path",
        "scheme",
        "server",
    )

    def __init__(self, scope: Scope, body: bytes) -> None:
        self.method: str = scope["method"]
        self.scheme: str = scope.get("scheme", "http")
        self.http_version: str = scope.get("http_version", "1.1")
        self.path: str = scope["path"]
        self.raw_path: bytes = scope.get("raw_path") or self.path.encode("utf-8")
        self.query_string: bytes = scope.get("query_string", b"")
        self.headers: list[tuple[bytes, bytes]] = [
            (bytes(name).lower(), bytes(value)) for name, value in scope.get("headers", [])
        ]
        client = scope.get("client")
        self.client_host: str = client[0] if client else "127.0.0.1"
        self.server: tuple[str, int] | None = scope.get("server")
        self.body = body
        self.path_params: dict[str, str] = {}
        self._query_args: list[tuple[str, str]] | None = None

    def header(self, name: str) -> str | None:
        """The value of header `name` (any case); repeated headers are joined with commas."""
        wanted = name.lower().encode("latin-1")
        values = [value for key, value in self.headers if key == wanted]
        if not values:
            return None
        return b",".join(values).decode("latin-1")

    @property
    def query_args(self) -> list[tuple[str, str]]:
        """The query string as ordered (name, value) pairs, blanks kept, UTF-8 decoded."""
        if self._query_args is None:
            self._query_args = parse_pairs(self.query_string)
        return self._query_args

    def query_value(self, name: str, default: str | None = None) -> str | None:
        """The first value of query argument `name`, or `default`."""
        for key, value in self.query_args:
            if key == name:
                return value
        return default

    @property
    def host(self) -> str:
        """The authority the client asked for: the Host header, else the address we serve on."""
        host = self.header("host")
        if host:
            return host
        if self.server is None:
            return "localhost"
        address, port = self.server[0], self.server[1]
        if ":" in address:
            address = f"[{address}]"
        return f"{address}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def target(self) -> str:
        """The request-target as the client sent it: raw path, then `?query` if any."""
        target = self.raw_path.decode("latin-1")
        if self.query_string:
            target += "?" + self.query_string.decode("latin-1")
        return target

    @property
    def url(self) -> str:
        return self.base_url + self.target


def parse_pairs(encoded: bytes) -> list[tuple[str, str]]:
    """Parse `a=1&b=2` (a query string or an urlencoded body) into decoded pairs."""
    # Percent-escapes are UTF-8 (RFC 3986 section 2.5); undecodable bytes become U+FFFD
    # rather than errors, so that the echo shows what arrived.
    text = encoded.decode("utf-8", "replace")
    return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")


class Response:
    """A response whose body is in memory; Content-Length is always set."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers or [])
        if content_type is not None:
            self.headers.insert(0, ("Content-Type", content_type))

    async def send_to(self, send: Send) -> None:
        headers = [*self.headers, ("Content-Length", str(len(self.body)))]
        await send(
            {"type": "http.response.start", "status": self.status, "headers": encode(headers)}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class StreamingResponse:
    """A response sent as it is produced: one ASGI body message per chunk.

    Without a Content-Length in `headers` HTTP/1.1 frames it with chunked encoding, which is
    exactly what the streaming endpoints want clients to exercise.
    """

    __slots__ = ("chunks", "headers", "status")

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        *,
        status: int = 200,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.chunks = chunks
        self.headers = list(headers or [])

    async def send_to(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status, "headers": encode(self.headers)}
        )
        async for chunk in self.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    # Header values are latin-1 on the wire (RFC 9110 section 5.5); anything else is a bug
    # in an endpoint, and should fail loudly rather than be mangled.
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


_TOKEN_CHARACTERS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def is_safe_header(name: str, value: str) -> bool:
    """Whether (name, value) can go on the wire as is: a token name, a latin-1 value without
    control characters (RFC 9110 section 5.5) -- so no CR/LF can split one header into two."""
    if not name or not _TOKEN_CHARACTERS.issuperset(name):
        return False
    return all(
        character == "\t" or (" " <= character <= "\xff" and character != "\x7f")
        for character in value
    )


def render_json(payload: Any) -> bytes:
    """JSON as httpbin writes it: indented, keys sorted, a trailing newline."""
    return json.dumps(payload, indent=2, sort_keys=True).encode("ascii") + b"\n"


def json_response(
    payload: Any, *, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(
        render_json(payload), status=status, headers=headers, content_type="application/json"
    )


def text_response(
    text: str,
    *,
    status: int = 200,
    content_type: str = "text/plain; charset=utf-8",
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    return Response(text.encode("utf-8"), status=status, headers=headers, content_type=content_type)


def redirect_response(location: str, status: int = 302) -> Response:
    # An empty body with a Location: clients must not depend on a redirect's body.
    return Response(b"", status=status, headers=[("Location", location)])
