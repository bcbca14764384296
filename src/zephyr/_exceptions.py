"""The exception hierarchy: HTTPX's names and bases, so that `except httpx.X` keeps working.

ZephyrError                 (zephyr's root: everything zephyr raises on purpose)
├── HTTPError
│   ├── RequestError
│   │   ├── TransportError
│   │   │   ├── TimeoutException
│   │   │   │   ├── ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout
│   │   │   ├── NetworkError
│   │   │   │   ├── ConnectError, ReadError, WriteError, CloseError
│   │   │   ├── ProtocolError
│   │   │   │   ├── LocalProtocolError, RemoteProtocolError
│   │   │   ├── ProxyError
│   │   │   └── UnsupportedProtocol
│   │   ├── DecodingError
│   │   ├── ResponseTooLarge (zephyr's: a body over Limits.max_response_size)
│   │   └── TooManyRedirects
│   └── HTTPStatusError
├── InvalidURL
├── CookieConflict
└── StreamError (also a RuntimeError)
    ├── StreamConsumed, StreamClosed, ResponseNotRead, RequestNotRead
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Request, Response


class ZephyrError(Exception):
    """Base class of every exception zephyr raises deliberately."""


class HTTPError(ZephyrError):
    """Base class for `RequestError` and `HTTPStatusError`.

    Carries the request it concerns, when there is one, as `.request`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._request: Request | None = None

    @property
    def request(self) -> Request:
        if self._request is None:
            raise RuntimeError("The .request property has not been set.")
        return self._request

    @request.setter
    def request(self, request: Request) -> None:
        self._request = request


class RequestError(HTTPError):
    """An error while issuing a request: the transport failed, or the flow gave up."""

    def __init__(self, message: str, *, request: Request | None = None) -> None:
        super().__init__(message)
        # A transport may raise without a request at hand; the client fills it in.
        self._request = request


class TransportError(RequestError):
    """An error at the transport layer."""


class TimeoutException(TransportError):
    """A timeout fired."""


class ConnectTimeout(TimeoutException):
    """Timed out while establishing a connection."""


class ReadTimeout(TimeoutException):
    """Timed out while receiving data from the server."""


class WriteTimeout(TimeoutException):
    """Timed out while sending data to the server."""


class PoolTimeout(TimeoutException):
    """Timed out waiting for a connection from the pool."""


class NetworkError(TransportError):
    """A failure of the network connection."""


class ConnectError(NetworkError):
    """Failed to establish a connection."""


class ReadError(NetworkError):
    """Failed to receive data from the network."""


class WriteError(NetworkError):
    """Failed to send data over the network."""


class CloseError(NetworkError):
    """Failed to close a connection."""


class ProxyError(TransportError):
    """A proxy could not be used."""


class UnsupportedProtocol(TransportError):
    """The URL's scheme is not one the transport can speak (or it has none)."""


class ProtocolError(TransportError):
    """The HTTP protocol was violated."""


class LocalProtocolError(ProtocolError):
    """We were about to violate the protocol: the request is refused before it is sent."""


class RemoteProtocolError(ProtocolError):
    """The server violated the protocol."""


class DecodingError(RequestError):
    """The response body could not be decoded with its Content-Encoding."""


class ResponseTooLarge(RequestError):
    """`read()` met a body larger, decoded, than `Limits.max_response_size`: the response was
    closed. Stream it (`client.stream()`, `iter_bytes()`), or raise the limit.

    A RequestError, not a TransportError: the transport worked; it is the client that refuses
    to hold the body in memory.
    """


class TooManyRedirects(RequestError):
    """More redirects than the client's `max_redirects` allows."""


class HTTPStatusError(HTTPError):
    """Raised by `Response.raise_for_status()` for 1xx, 3xx, 4xx and 5xx responses."""

    def __init__(self, message: str, *, request: Request, response: Response) -> None:
        super().__init__(message)
        self.request = request
        self.response = response


class InvalidURL(ZephyrError):
    """A URL that cannot be parsed or is not acceptable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CookieConflict(ZephyrError):
    """A cookie name matched more than one cookie; give a domain or path to choose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamError(ZephyrError, RuntimeError):
    """A stream was used in a way that is not possible: these are programming errors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class StreamConsumed(StreamError):
    def __init__(self) -> None:
        super().__init__(
            "Attempted to read or stream content, but the content has already been streamed. "
            "A request or response body given as an iterator can only be read once; read it "
            "into memory first (`.read()`) if it must be used again."
        )


class StreamClosed(StreamError):
    def __init__(self) -> None:
        super().__init__("Attempted to read or stream content, but the stream has been closed.")


class ResponseNotRead(StreamError):
    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming response content without having called `read()`."
        )


class RequestNotRead(StreamError):
    def __init__(self) -> None:
        super().__init__(
            "Attempted to access streaming request content without having called `read()`."
        )


@contextlib.contextmanager
def request_context(request: Request | None = None) -> Iterator[None]:
    """Attach `request` to any RequestError raised inside that does not name one yet.

    Transports and stream iterators raise without knowing which request they serve; the layer
    that does know wraps them in this.
    """
    try:
        yield
    except RequestError as exc:
        if request is not None and exc._request is None:
            exc._request = request
        raise
