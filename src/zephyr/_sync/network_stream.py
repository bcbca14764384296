"""`SyncNetworkStream`: the raw connection under a response, for protocols past HTTP/1.1.

After `101 Switching Protocols` (a WebSocket, h2c) the caller owns the socket and speaks the
new protocol over `read`/`write`; `response.extensions["network_stream"]` holds this object.
For other responses it is still there, as in HTTPX, for `get_extra_info` (the peer's address,
the TLS object); reading or writing it would corrupt the pooled connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import SyncHTTP11Connection

__all__ = ["SyncNetworkStream"]


class SyncNetworkStream:
    """read / write / close over a connection's socket; `buffered` is read out first (the
    bytes that came in the same read as the 101 response's head)."""

    __slots__ = ("_buffered", "_connection")

    def __init__(self, connection: SyncHTTP11Connection, buffered: bytes) -> None:
        self._connection = connection
        self._buffered = buffered

    def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` bytes; b"" once the peer has closed. ReadTimeout after `timeout`."""
        if self._buffered:
            data, self._buffered = self._buffered[:max_bytes], self._buffered[max_bytes:]
            return data
        return self._connection.read_raw(max_bytes, timeout)

    def write(self, data: bytes, timeout: float | None = None) -> None:
        self._connection.write_raw(data, timeout)

    def close(self) -> None:
        self._connection.close()

    def get_extra_info(self, info: str) -> Any:
        """Details of the connection: "socket", "ssl_object", "client_addr", "server_addr",
        "is_readable"; None for anything else."""
        sock = self._connection.sock
        if info == "socket":
            return sock
        if info == "ssl_object":
            return getattr(sock, "_sslobj", None) if self._connection.tls else None
        if info == "client_addr":
            return sock.getsockname()
        if info == "server_addr":
            return sock.getpeername()
        if info == "is_readable":
            return not self._connection.is_idle_alive()
        return None
