"""The transport interface: the seam between a client and the network.

A transport turns one `Request` into one `Response` whose body is still unread: its stream
(a `SyncByteStream` or an `AsyncByteStream`) holds the connection, and closing the stream
releases it. Everything below this interface is replaceable: the socket transports, the
`MockTransport`, WSGI/ASGI, proxies, a user's own.

What a transport puts in `Response.extensions`:
    http_version    bytes, b"HTTP/1.1" or b"HTTP/2"
    reason_phrase   bytes, as received (HTTP/1.1 only)
    network_stream  after 101 Switching Protocols: the raw connection (read/write/close)
    timing          seconds spent in each phase: dns (name resolution), connect (the TCP
                    or Unix-socket connect), tls (the handshake), request_sent (writing the
                    request), first_byte (from the request written to the first byte of the
                    response); dns, connect and tls are absent when the connection was reused

What it reads from `Request.extensions`:
    timeout         {"connect": s, "read": s, "write": s, "pool": s}, each float or None
    sni_hostname    the TLS server name to send, when it is not the URL's host
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from .._request import Request
from .._response import Response

__all__ = ["AsyncBaseTransport", "BaseTransport"]

T = TypeVar("T", bound="BaseTransport")
A = TypeVar("A", bound="AsyncBaseTransport")


class BaseTransport:
    """A blocking transport: subclasses implement `handle_request` (and `close`)."""

    def __enter__(self: T) -> T:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def handle_request(self, request: Request) -> Response:
        """Send `request`; return a response whose stream is a `SyncByteStream`, unread."""
        raise NotImplementedError("The 'handle_request' method must be implemented.")

    def close(self) -> None:
        """Release every resource (connections) the transport holds."""


class AsyncBaseTransport:
    """An asyncio transport: subclasses implement `handle_async_request` (and `aclose`)."""

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()

    async def handle_async_request(self, request: Request) -> Response:
        """Send `request`; return a response whose stream is an `AsyncByteStream`, unread."""
        raise NotImplementedError("The 'handle_async_request' method must be implemented.")

    async def aclose(self) -> None:
        """Release every resource the transport holds."""
