"""zephyr: a fast HTTP client for Python, with the API HTTPX users know.

import zephyr
response = zephyr.get("https://example.org/")
"""

from .__version__ import __version__
from ._config import Limits, Timeout
from ._cookies import Cookies
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
from ._status_codes import codes
from ._streams import AsyncByteStream, ByteStream, SyncByteStream
from ._urls import URL, QueryParams

__all__ = [
    "AsyncByteStream",
    "ByteStream",
    "CloseError",
    "ConnectError",
    "ConnectTimeout",
    "CookieConflict",
    "Cookies",
    "DecodingError",
    "HTTPError",
    "HTTPStatusError",
    "Headers",
    "InvalidURL",
    "Limits",
    "LocalProtocolError",
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
    "StreamClosed",
    "StreamConsumed",
    "StreamError",
    "SyncByteStream",
    "Timeout",
    "TimeoutException",
    "TooManyRedirects",
    "TransportError",
    "URL",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
    "ZephyrError",
    "__version__",
    "codes",
]

# Exceptions and classes report themselves as `zephyr.X`, not `zephyr._module.X`.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("zephyr._"):
        _obj.__module__ = "zephyr"
del _name, _obj
