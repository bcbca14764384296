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

    def _complete_body(self) -> bytes | None:
        """The whole body at once, if all of it is already here and none of it has been read:
        the stream is then spent and closed, as after `close()`. None: iterate it as usual.

        For a response whose body came with its head (most small ones), `Response.read()`
        takes it without the iteration protocol. A transport's stream offers it; the default
        never has a body ready.
        """
        return None


class AsyncByteStream:
    """A body to be iterated with `async for chunk in stream`."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise NotImplementedError("An AsyncByteStream subclass must implement __aiter__().")
        yield b""  # pragma: no cover

    async def aclose(self) -> None:
        """Release whatever the stream holds."""

    def _complete_body(self) -> bytes | None:
        """The whole body at once, if all of it is already here and none of it has been read:
        the stream is then spent and closed, as after `aclose()`. None: iterate it as usual.

        For a response whose body came with its head (most small ones), `Response.aread()`
        takes it without an async iteration and an `aclose()` (~12 % of the async client's
        instructions per request, measured). A transport's stream offers it; the default never
        has a body ready.
        """
        return None


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

    def _complete_body(self) -> bytes | None:
        return self._body

    def __repr__(self) -> str:
        return f"<ByteStream [{len(self._body)} bytes]>"
