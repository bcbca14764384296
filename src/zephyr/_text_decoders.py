"""The text, line and chunk decoders behind `Response.iter_text()`, `iter_lines()` and the
`chunk_size=` of every `iter_*()`."""

from __future__ import annotations

import codecs
from typing import AnyStr, Generic

__all__ = ["ByteChunker", "LineDecoder", "TextChunker", "TextDecoder"]


class TextDecoder:
    """Bytes to text, incrementally: a character split across chunks comes out whole.

    Undecodable bytes become U+FFFD, as in HTTPX.
    """

    __slots__ = ("_decoder",)

    def __init__(self, encoding: str = "utf-8") -> None:
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def decode(self, data: bytes) -> str:
        return self._decoder.decode(data)

    def flush(self) -> str:
        return self._decoder.decode(b"", True)


# The line boundaries of str.splitlines(), on which HTTPX's iter_lines() splits.
_LINE_BOUNDARIES = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


class LineDecoder:
    """Text to lines, incrementally, line endings stripped.

    The lines are those `str.splitlines()` finds in the whole text, however it is chunked.
    A "\\r\\n" split across chunks is one line ending, so a trailing "\\r" is held back
    until the next chunk shows whether a "\\n" follows.
    """

    __slots__ = ("_held_cr", "_partial")

    def __init__(self) -> None:
        self._partial: list[str] = []  # pieces of an unfinished line, joined once, not +=
        self._held_cr = False

    def decode(self, text: str) -> list[str]:
        if self._held_cr:
            text = "\r" + text
            self._held_cr = False
        if text.endswith("\r"):
            text = text[:-1]
            self._held_cr = True
        if not text:
            return []
        ends_with_boundary = text[-1] in _LINE_BOUNDARIES
        lines = text.splitlines()
        if self._partial:
            self._partial.append(lines[0])
            if len(lines) == 1 and not ends_with_boundary:
                return []
            lines[0] = "".join(self._partial)
            self._partial = []
        if not ends_with_boundary:
            self._partial.append(lines.pop())
        return lines

    def flush(self) -> list[str]:
        if not self._partial and not self._held_cr:
            return []
        line = "".join(self._partial)
        self._partial = []
        self._held_cr = False
        return [line]


class _Chunker(Generic[AnyStr]):
    """Re-cuts a stream into chunks of exactly `chunk_size` (the last may be short).

    With `chunk_size=None`, non-empty chunks pass through unchanged.
    """

    __slots__ = ("_buffered", "_chunk_size", "_empty", "_parts")

    def __init__(self, chunk_size: int | None, empty: AnyStr) -> None:
        self._chunk_size = chunk_size
        self._empty: AnyStr = empty
        self._parts: list[AnyStr] = []  # an unfinished chunk, joined once it is complete
        self._buffered = 0

    def decode(self, content: AnyStr) -> list[AnyStr]:
        size = self._chunk_size
        if size is None:
            return [content] if content else []
        chunks = []
        start = 0
        if self._buffered:
            start = size - self._buffered
            if len(content) < start:
                self._parts.append(content)
                self._buffered += len(content)
                return []
            self._parts.append(content[:start])
            chunks.append(self._empty.join(self._parts))
            self._parts = []
            self._buffered = 0
        whole_end = start + (len(content) - start) // size * size
        # Slicing copies, except that a full slice is the object itself.
        chunks.extend(content[i : i + size] for i in range(start, whole_end, size))
        if whole_end < len(content):
            self._parts.append(content[whole_end:])
            self._buffered = len(content) - whole_end
        return chunks

    def flush(self) -> list[AnyStr]:
        if not self._buffered:
            return []
        rest = self._empty.join(self._parts)
        self._parts = []
        self._buffered = 0
        return [rest]


class ByteChunker(_Chunker[bytes]):
    __slots__ = ()

    def __init__(self, chunk_size: int | None = None) -> None:
        super().__init__(chunk_size, b"")


class TextChunker(_Chunker[str]):
    __slots__ = ()

    def __init__(self, chunk_size: int | None = None) -> None:
        super().__init__(chunk_size, "")
