"""Byte streams: the bodies of requests and responses as the transports see them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

__all__ = ["AsyncByteStream", "ByteStream", "SyncByteStream"]


class SyncByteStream:
    """A body to be iterated with `for chunk in stream`; subclass it for your own transports."""

    def __iter__(self) -> Iterator[bytes]:
        raise NotImplementedError("A SyncByteStream subclass must implement __iter__().")
        yield b""  # pragma: no cover -- makes this a generator for type checkers

    def close(self) -> None:
        """Release whatever the stream holds (a connection, a file)."""


class AsyncByteStream:
    """A body to be iterated with `async for chunk in stream`."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError("An AsyncByteStream subclass must implement __aiter__().")
        yield b""  # pragma: no cover

    async def aclose(self) -> None:
        """Release whatever the stream holds."""


class ByteStream(SyncByteStream, AsyncByteStream):
    """A body held in memory: usable by both the sync and the async side."""

    __slots__ = ("_body",)

    def __init__(self, body: bytes) -> None:
        self._body = body

    # An empty body yields no chunk at all: a zero-length chunk would end a chunked body.
    def __iter__(self) -> Iterator[bytes]:
        if self._body:
            yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body

    def __repr__(self) -> str:
        return f"<ByteStream [{len(self._body)} bytes]>"
