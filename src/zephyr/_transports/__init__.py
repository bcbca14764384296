"""Transports: what turns a `Request` into a `Response` (see `base` for the interface).

`HTTPTransport` is imported lazily (PEP 562): it pulls in sockets, threading and the
HTTP/1.1 core, which a client built on a `MockTransport` never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import AsyncBaseTransport, BaseTransport
from .mock import MockTransport

if TYPE_CHECKING:
    from .http import HTTPTransport

__all__ = ["AsyncBaseTransport", "BaseTransport", "HTTPTransport", "MockTransport"]


def __getattr__(name: str) -> Any:
    if name == "HTTPTransport":
        from .http import HTTPTransport

        return HTTPTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
