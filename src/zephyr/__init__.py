"""zephyr: a fast HTTP client for Python, with the API HTTPX users know.

import zephyr
response = zephyr.get("https://example.org/")
"""

import typing

from .__version__ import __version__
from ._api import delete, get, head, options, patch, post, put, request, stream
from ._async_client import AsyncClient
from ._auth import Auth, BasicAuth, BearerAuth, DigestAuth, FunctionAuth, NetRCAuth
from ._client import Client
from ._client_base import ClientClosed
from ._config import Limits, Timeout
from ._cookies import Cookies
from ._defaults import USE_CLIENT_DEFAULT, UseClientDefault
from ._exceptions import (
    CloseError,
    ConnectError,
    ConnectTimeout,
    CookieConflict,
    DecodingError,
    HTTPError,
    HTTPStatusError,
    InvalidURL,
    LocalProtocolError,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RequestError,
    RequestNotRead,
    ResponseNotRead,
    ResponseTooLarge,
    StreamClosed,
    StreamConsumed,
    StreamError,
    TimeoutException,
    TooManyRedirects,
    TransportError,
    UnsupportedProtocol,
    WriteError,
    WriteTimeout,
    ZephyrError,
)
from ._headers import Headers
from ._request import Request
from ._response import Response
from ._retry import Retry
from ._status_codes import codes
from ._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._transports import AsyncBaseTransport, BaseTransport, MockTransport
from ._urls import URL, QueryParams

if typing.TYPE_CHECKING:
    from ._ssl import create_ssl_context
    from ._transports.async_http import AsyncHTTPTransport
    from ._transports.http import HTTPTransport

__all__ = [
    "AsyncBaseTransport",
    "AsyncByteStream",
    "AsyncClient",
    "AsyncHTTPTransport",
    "Auth",
    "BaseTransport",
    "BasicAuth",
    "BearerAuth",
    "ByteStream",
    "Client",
    "ClientClosed",
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "Cookies",
    "DecodingError",
    "DigestAuth",
    "FunctionAuth",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTransport",
    "Headers",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
    "MockTransport",
    "NetRCAuth",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "QueryParams",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Request",
    "RequestError",
    "RequestNotRead",
    "Response",
    "ResponseNotRead",
    "ResponseTooLarge",
    "Retry",
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "SyncByteStream",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "URL",
    "USE_CLIENT_DEFAULT",
    "UnsupportedProtocol",
    "UseClientDefault",
    "WriteError",
    "WriteTimeout",
    "ZephyrError",
    "__version__",
    "codes",
    "create_ssl_context",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "stream",
]

# Exceptions and classes report themselves as `zephyr.X`, not `zephyr._module.X`.
for _name in __all__:
    _obj = globals().get(_name)
    if isinstance(_obj, type) and _obj.__module__.startswith("zephyr._"):
        _obj.__module__ = "zephyr"
del _name, _obj


def __getattr__(name: str) -> typing.Any:
    # HTTPTransport pulls in sockets, ssl and the HTTP/1.1 core: loaded on first use, so that
    # `import zephyr` stays cheap (DESIGN.md: import is cheap).
    if name == "HTTPTransport":
        from ._transports.http import HTTPTransport

        HTTPTransport.__module__ = "zephyr"
        return HTTPTransport
    if name == "AsyncHTTPTransport":
        from ._transports.async_http import AsyncHTTPTransport

        AsyncHTTPTransport.__module__ = "zephyr"
        return AsyncHTTPTransport
    if name == "create_ssl_context":  # as HTTPX's; `ssl` loads on first use, as above
        from ._ssl import create_ssl_context

        return create_ssl_context
    raise AttributeError(f"module 'zephyr' has no attribute {name!r}")
