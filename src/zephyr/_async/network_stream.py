"""`AsyncNetworkStream`: the raw connection under a response, for protocols past HTTP/1.1.

After `101 Switching Protocols` (a WebSocket, h2c) the caller owns the connection and speaks
the new protocol over `read`/`write`; `response.extensions["network_stream"]` holds this object.
For other responses it is still there, as in HTTPX, for `get_extra_info` (the peer's address,
the TLS object); reading or writing it would corrupt the pooled connection, so `read` refuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import AsyncHTTP11Connection

__all__ = ["AsyncNetworkStream"]


class AsyncNetworkStream:
    """read / write / aclose over an upgraded connection. The bytes that came in the same read
    as the 101 response's head are read out first."""

    __slots__ = ("_connection",)

    def __init__(self, connection: AsyncHTTP11Connection) -> None:
        self._connection = connection

    async def read(self, max_bytes: int = 65536, timeout: float | None = None) -> bytes:
        """Up to `max_bytes` bytes; b"" once the peer has closed. ReadTimeout after `timeout`."""
        return await self._connection.read_raw(max_bytes, timeout)

    async def write(self, data: bytes, timeout: float | None = None) -> None:
        """Write `data`; WriteTimeout if the peer does not take it within `timeout`."""
        await self._connection.write_all(data, timeout)

    async def aclose(self) -> None:
        self._connection.close()

    def get_extra_info(self, info: str) -> Any:
        """Details of the connection: "socket", "ssl_object", "client_addr", "server_addr",
        "is_readable"; None for anything else."""
        connection = self._connection
        if info == "socket":
            return connection.get_extra_info("socket")
        if info == "ssl_object":
            return connection.get_extra_info("ssl_object")
        if info == "client_addr":
            return connection.get_extra_info("sockname")
        if info == "server_addr":
            return connection.get_extra_info("peername")
        if info == "is_readable":
            return connection.is_readable()
        return None
