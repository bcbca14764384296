"""Content decoding (RFC 9110 §8.4): gzip, deflate, br and zstd, with bounded output.

The text, line and chunk decoders behind `iter_text()` and friends are in `_text_decoders.py`.

Content decoders are incremental and bounded: `decode()` returns a lazy iterator handing
out decompressed data at most `max_chunk` bytes at a time, so a decompression bomb streams
in constant memory and a consumer that stops iterating stops the work (RELIABILITY.md
item 15). Exhaust each iterator before the next `decode()` or `flush()` on the same
decoder: the decompressor's state advances as it is iterated.

`flush()` comes once, at the end of the body, and raises `DecodingError` if the stream was
cut short. No decoder here holds output back, so it only checks that the stream is whole.

brotli and zstandard load when the first decoder that needs them is built, never at module
import (they take ~4 ms and ~13 ms to import).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from functools import cache
from importlib.util import find_spec
from typing import Any

from ._exceptions import DecodingError

DEFAULT_MAX_CHUNK = 65536

# urllib3 CVE-2025-66418: a chain of codings multiplies the work a server can demand.
MAX_STACKED_CODINGS = 5

# Compressed input is fed at most this much at a time. With capped output, zlib copies the
# unconsumed input aside on every call: an unbounded feed would make a bomb that arrives
# in one big chunk cost O(input x output) in copies.
_INPUT_SLICE = 16384

# After a gzip member ends, the next is fed in small, doubling slices: zlib copies the rest
# of the slice into `unused_data` at each member end, and keeping that copy in proportion
# to the member's own size makes thousands of empty members linear (RELIABILITY.md 16).
_MEMBER_FIRST_SLICE = 64

# RFC 9659: for the HTTP "zstd" coding, encoders MUST NOT need a window over 8 MiB, and
# browsers refuse larger ones; so do we, which bounds the decoder's own memory.
_ZSTD_MAX_WINDOW = 8 * 1024 * 1024

_NOTHING: tuple[bytes, ...] = ()


class ContentDecoder:
    """Undoes one content coding, incrementally (the rules are in the module docstring)."""

    __slots__ = ()

    def decode(self, data: bytes) -> Iterator[bytes]:
        raise NotImplementedError  # pragma: no cover

    def flush(self) -> Iterator[bytes]:
        raise NotImplementedError  # pragma: no cover


class IdentityDecoder(ContentDecoder):
    """No coding: chunks pass through as they are, not copied.

    Nor are they cut to `max_chunk`: they are in memory already, nothing is amplified.
    """

    __slots__ = ()

    def decode(self, data: bytes) -> Iterator[bytes]:
        return iter((data,)) if data else iter(_NOTHING)

    def flush(self) -> Iterator[bytes]:
        return iter(_NOTHING)


def _corrupt(coding: str, exc: Exception) -> DecodingError:
    return DecodingError(f"{coding}: the compressed data is invalid ({exc})")


def _truncated(coding: str) -> DecodingError:
    return DecodingError(f"{coding}: the body ended before the end of the compressed data")


def _cut(out: bytes, max_chunk: int) -> Iterator[bytes]:
    for start in range(0, len(out), max_chunk):
        yield out[start : start + max_chunk]


class _ZlibDecoder(ContentDecoder):
    """gzip and deflate: zlib, fed in slices, its output capped at `max_chunk`."""

    __slots__ = ("_inflater", "_max_chunk", "_output_seen")

    def __init__(self, inflater: Any, max_chunk: int) -> None:
        self._inflater = inflater
        self._max_chunk = max_chunk
        self._output_seen = False

    def _inflate(self, piece: memoryview | bytes) -> Generator[bytes, None, int]:
        """Feeds `piece` to the inflater, yielding at most `max_chunk` bytes at a time.

        Returns how many bytes of `piece` belonged to the stream: all of them, unless the
        stream ended inside `piece`. Raises `zlib.error` for corrupt data.
        """
        inflater, max_chunk = self._inflater, self._max_chunk
        pending: memoryview | bytes = piece
        while True:
            out = inflater.decompress(pending, max_chunk)
            if out:
                self._output_seen = True
                yield out
            if inflater.eof:
                return len(piece) - len(inflater.unused_data)
            pending = inflater.unconsumed_tail
            # A full `out` may leave output inside zlib with all input consumed (the rest
            # of a long match): only a short one proves that nothing is left.
            if not pending and len(out) < max_chunk:
                return len(piece)


class GZipDecoder(_ZlibDecoder):
    """gzip (RFC 1952), including several concatenated members.

    Bytes after a complete member that do not make a valid member (padding, junk) are
    ignored, as urllib3 and browsers do; an error in the first member, or in a later one
    that has produced output, is a `DecodingError`.
    """

    __slots__ = ("_feed_size", "_ignore_rest", "_member_fed", "_members_done")

    def __init__(self, *, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        super().__init__(zlib.decompressobj(zlib.MAX_WBITS | 16), max_chunk)
        self._member_fed = False
        self._members_done = 0
        self._ignore_rest = False
        self._feed_size = _INPUT_SLICE

    def decode(self, data: bytes) -> Iterator[bytes]:
        # A body that fits one feed is sliced whole, which returns the bytes themselves.
        view = memoryview(data) if len(data) > self._feed_size else data
        pos, end = 0, len(data)
        while pos < end and not self._ignore_rest:
            piece = view[pos : pos + self._feed_size]
            self._member_fed = True
            try:
                consumed = yield from self._inflate(piece)
            except zlib.error as exc:
                if not self._members_done or self._output_seen:
                    raise _corrupt("gzip", exc) from exc
                self._ignore_rest = True  # junk after a complete member
            else:
                pos += consumed
                if self._inflater.eof:
                    self._start_next_member()
                elif consumed == len(piece):
                    self._feed_size = min(self._feed_size * 2, _INPUT_SLICE)

    def _start_next_member(self) -> None:
        self._members_done += 1
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._member_fed = False
        self._output_seen = False
        self._feed_size = _MEMBER_FIRST_SLICE

    def flush(self) -> Iterator[bytes]:
        # Stray bytes after a complete member that never produced output are junk too.
        in_member = self._member_fed and not self._ignore_rest
        if in_member and (self._output_seen or not self._members_done):
            raise _truncated("gzip")
        return iter(_NOTHING)


def _is_zlib_header(head: bytes) -> bool:
    # RFC 1950 §2.2: method 8 (deflate), window <= 32 KiB, CMF*256 + FLG divisible by 31.
    cmf, flg = head[0], head[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


class DeflateDecoder(_ZlibDecoder):
    """deflate: RFC 9110 means zlib-wrapped (RFC 1950), but some servers send it raw
    (RFC 1951); the first two bytes tell which.

    Bytes after the end of a zlib stream are ignored, as HTTPX does: its checksum vouched
    for the data. After a raw stream, which has no checksum, they are an error: they are
    what is left when a damaged zlib header made us read a zlib stream as raw.
    """

    __slots__ = ("_head", "_raw")

    def __init__(self, *, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        super().__init__(None, max_chunk)  # chosen once the first two bytes are here
        self._head = b""
        self._raw = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflater is None:
            data = self._head + data if self._head else data
            if len(data) < 2:
                self._head = data
                return
            self._head = b""
            self._raw = not _is_zlib_header(data)
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS if self._raw else zlib.MAX_WBITS)
        view = memoryview(data)
        pos, end = 0, len(data)
        try:
            while pos < end and not self._inflater.eof:
                pos += yield from self._inflate(view[pos : pos + _INPUT_SLICE])
        except zlib.error as exc:
            raise _corrupt("deflate", exc) from exc
        if pos < end and self._raw:
            raise DecodingError("deflate: the compressed data is invalid (bytes after its end)")

    def flush(self) -> Iterator[bytes]:
        if self._head or (self._inflater is not None and not self._inflater.eof):
            raise _truncated("deflate")
        return iter(_NOTHING)


class BrotliDecoder(ContentDecoder):
    """br (RFC 7932), through the output-limited streaming API of brotli >= 1.2."""

    __slots__ = ("_decompressor", "_error", "_fed", "_max_chunk")

    def __init__(self, *, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        try:
            import brotli
        except ImportError as exc:
            raise DecodingError(f"br: brotli cannot be imported ({exc})") from exc
        if not hasattr(brotli.Decompressor, "can_accept_more_data"):
            # Older versions have no output limit: a small body could expand without bound.
            raise DecodingError("br: brotli >= 1.2 is needed to decode with bounded memory")
        self._max_chunk = max_chunk
        self._decompressor: Any = brotli.Decompressor()
        self._error: type[Exception] = brotli.error
        self._fed = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        max_chunk = self._max_chunk
        for pos in range(0, len(data), _INPUT_SLICE):
            self._fed = True
            piece: memoryview | bytes = view[pos : pos + _INPUT_SLICE]
            # The limit is soft (brotli grows its buffer in blocks), hence `_cut`. Output
            # that reached it may not be all there is, even with all input taken: ask again
            # with empty input (all brotli accepts while it holds unconsumed input) until
            # a short output shows it is drained.
            while True:
                out = self._process(piece)
                if len(out) <= max_chunk:
                    if out:
                        yield out
                else:
                    yield from _cut(out, max_chunk)
                if len(out) < max_chunk and self._decompressor.can_accept_more_data():
                    break
                if not out:
                    raise DecodingError("br: the decoder stopped making progress")
                piece = b""

    def _process(self, piece: memoryview | bytes) -> bytes:
        try:
            out: bytes = self._decompressor.process(piece, output_buffer_limit=self._max_chunk)
        except self._error as exc:
            raise _corrupt("br", exc) from exc
        return out

    def flush(self) -> Iterator[bytes]:
        if self._fed and not self._decompressor.is_finished():
            raise _truncated("br")
        return iter(_NOTHING)


# Zstandard frame layout (RFC 8878 §3.1), as much as it takes to find block and frame ends.
_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_SKIPPABLE_MAGIC = 0x184D2A50  # its low 4 bits are free
_ZSTD_DICT_ID_SIZES = (0, 1, 2, 4)
_ZSTD_CONTENT_SIZE_SIZES = (0, 2, 4, 8)
_ZSTD_RLE_BLOCK = 1
_ZSTD_RESERVED_BLOCK = 3

# Walker states: collecting a fixed-size header, or passing over bytes it need not read;
# and what follows the bytes passed over.
_MAGIC, _SKIPPABLE_SIZE, _DESCRIPTOR, _BLOCK_HEADER, _PASS = range(5)
_HEADER_SIZES = (4, 4, 1, 3)
_THEN_BLOCK_HEADER, _THEN_BLOCK_END, _THEN_FRAME_END = range(3)


class _ZstdFrameWalker:
    """Follows the frames and blocks of a zstd stream without decoding them.

    `advance()` stops at every block end and frame end: fed up to those points, the
    decompressor has at most one block to output, and a block regenerates at most 128 KiB
    (RFC 8878 §3.1.1.2.4). At the end of the body, `at_frame_start` says whether the last
    frame was complete.
    """

    __slots__ = ("_checksum", "_header", "_last_block", "_state", "_then", "_to_pass")

    def __init__(self) -> None:
        self._state = _MAGIC
        self._header = bytearray()
        self._to_pass = 0
        self._then = _THEN_FRAME_END
        self._checksum = False
        self._last_block = False

    @property
    def at_frame_start(self) -> bool:
        return self._state == _MAGIC and not self._header

    def advance(self, data: memoryview, pos: int) -> int:
        """Walks from `pos` to the next block or frame end, or to the end of `data`."""
        end = len(data)
        while pos < end:
            if self._state == _PASS:
                step = min(self._to_pass, end - pos)
                pos += step
                self._to_pass -= step
                if self._to_pass == 0 and self._after_pass():
                    return pos
                continue
            size = _HEADER_SIZES[self._state]
            want = size - len(self._header)
            self._header += data[pos : pos + want]
            pos = min(pos + want, end)
            if len(self._header) == size:
                header = int.from_bytes(self._header, "little")
                self._header.clear()
                if self._read_header(header):
                    return pos
        return pos

    def _pass(self, size: int, then: int) -> bool:
        self._state, self._to_pass, self._then = _PASS, size, then
        # With nothing to pass over (an empty block or skippable frame), move on at once,
        # so that a frame ending right here is seen as complete.
        return self._after_pass() if size == 0 else False

    def _read_header(self, header: int) -> bool:
        """Acts on a complete header; True when that completed a block or a frame."""
        if self._state == _MAGIC:
            if header == _ZSTD_MAGIC:
                self._state = _DESCRIPTOR
            elif header & 0xFFFFFFF0 == _ZSTD_SKIPPABLE_MAGIC:
                self._state = _SKIPPABLE_SIZE
            else:
                raise DecodingError("zstd: the compressed data is invalid (not a zstd frame)")
            return False
        if self._state == _SKIPPABLE_SIZE:
            return self._pass(header, _THEN_FRAME_END)
        if self._state == _DESCRIPTOR:
            single_segment = bool(header & 0x20)
            self._checksum = bool(header & 0x04)
            content_size = _ZSTD_CONTENT_SIZE_SIZES[header >> 6] or int(single_segment)
            window = 0 if single_segment else 1
            size = window + _ZSTD_DICT_ID_SIZES[header & 0x03] + content_size
            return self._pass(size, _THEN_BLOCK_HEADER)
        block_type = header >> 1 & 0x03
        if block_type == _ZSTD_RESERVED_BLOCK:
            raise DecodingError("zstd: the compressed data is invalid (reserved block type)")
        self._last_block = bool(header & 0x01)
        return self._pass(1 if block_type == _ZSTD_RLE_BLOCK else header >> 3, _THEN_BLOCK_END)

    def _after_pass(self) -> bool:
        """Moves on after bytes passed over; True when they ended a block or a frame."""
        if self._then == _THEN_BLOCK_HEADER:
            self._state = _BLOCK_HEADER
            return False
        if self._then == _THEN_BLOCK_END and not self._last_block:
            self._state = _BLOCK_HEADER
        elif self._then == _THEN_BLOCK_END and self._checksum:
            self._pass(4, _THEN_FRAME_END)
        else:
            self._state = _MAGIC
        return True


class ZStandardDecoder(ContentDecoder):
    """zstd (RFC 8878): any number of frames, windows up to 8 MiB (RFC 9659).

    zstandard's push API returns all the output of its input at once, so the input is cut
    at block ends (see `_ZstdFrameWalker`) to keep each call's output within 128 KiB.
    """

    __slots__ = ("_dctx", "_error", "_fed", "_frame", "_max_chunk", "_walker")

    def __init__(self, *, max_chunk: int = DEFAULT_MAX_CHUNK) -> None:
        try:
            import zstandard
        except ImportError as exc:
            raise DecodingError(f"zstd: zstandard cannot be imported ({exc})") from exc
        self._max_chunk = max_chunk
        self._dctx: Any = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
        self._error: type[Exception] = zstandard.ZstdError
        self._frame: Any = None
        self._walker = _ZstdFrameWalker()
        self._fed = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        walker, max_chunk = self._walker, self._max_chunk
        pos, end = 0, len(data)
        while pos < end:
            self._fed = True
            if walker.at_frame_start:
                self._frame = self._dctx.decompressobj()
            cut = walker.advance(view, pos)
            try:
                out: bytes = self._frame.decompress(view[pos:cut])
            except self._error as exc:
                raise _corrupt("zstd", exc) from exc
            pos = cut
            if len(out) <= max_chunk:
                if out:
                    yield out
            else:
                yield from _cut(out, max_chunk)

    def flush(self) -> Iterator[bytes]:
        if self._fed and not self._walker.at_frame_start:
            raise _truncated("zstd")
        return iter(_NOTHING)


class MultiDecoder(ContentDecoder):
    """Several codings, `children` in the order they were applied (header order).

    They are undone in reverse (RFC 9110 §8.4.1). Each stage hands the next chunks of at
    most `max_chunk`, so the whole chain stays bounded. Unlike a single decoder's, this
    `flush()` raises as it is iterated: each stage flushes after the ones before it.
    """

    __slots__ = ("_stages",)

    def __init__(self, children: Sequence[ContentDecoder]) -> None:
        self._stages = tuple(reversed(children))

    def decode(self, data: bytes) -> Iterator[bytes]:
        return self._decode_from(0, data)

    def _decode_from(self, index: int, data: bytes) -> Iterator[bytes]:
        stage = self._stages[index]
        if index + 1 == len(self._stages):
            yield from stage.decode(data)
        else:
            for chunk in stage.decode(data):
                yield from self._decode_from(index + 1, chunk)

    def flush(self) -> Iterator[bytes]:
        # What a stage still holds goes through the stages after it; then they flush.
        for index, stage in enumerate(self._stages, start=1):
            for chunk in stage.flush():
                if index < len(self._stages):
                    yield from self._decode_from(index, chunk)
                else:
                    yield chunk


_IDENTITY = IdentityDecoder()

_DECODERS: dict[str, Callable[..., ContentDecoder]] = {
    "gzip": GZipDecoder,
    "x-gzip": GZipDecoder,  # RFC 9110 §8.4.1.3: a recipient SHOULD treat it as gzip
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
    "zstd": ZStandardDecoder,
}


@cache
def supported_encodings() -> tuple[str, ...]:
    """The codings this installation decodes, most preferred first.

    The optional packages are looked for, not imported (import time matters).
    """
    codings = ["gzip", "deflate"]
    if find_spec("brotli") is not None:
        codings.append("br")
    if find_spec("zstandard") is not None:
        codings.append("zstd")
    return tuple(codings)


@cache
def accept_encoding_header() -> str:
    """The default `Accept-Encoding` value, e.g. "gzip, deflate, br, zstd"."""
    return ", ".join(supported_encodings())


@cache
def _decoder_classes() -> dict[str, Callable[..., ContentDecoder]]:
    decodable = {"x-gzip", *supported_encodings()}
    return {name: cls for name, cls in _DECODERS.items() if name in decodable}


def _codings(content_encoding: list[str]) -> list[str]:
    codings = []
    for value in content_encoding:
        for coding in value.split(",") if "," in value else (value,):
            coding = coding.strip().lower()
            if coding:
                codings.append(coding)
    return codings


def build_decoder(
    content_encoding: list[str], *, max_chunk: int = DEFAULT_MAX_CHUNK
) -> ContentDecoder:
    """The decoder for a response's `Content-Encoding` values, in header order.

    "identity" and codings we cannot decode are passed over, as HTTPX does; more than
    `MAX_STACKED_CODINGS` codings are refused.
    """
    if not content_encoding:
        return _IDENTITY
    classes = _decoder_classes()
    if len(content_encoding) == 1 and content_encoding[0] in classes:  # the usual case
        return classes[content_encoding[0]](max_chunk=max_chunk)
    codings = _codings(content_encoding)
    if len(codings) > MAX_STACKED_CODINGS:
        raise DecodingError(
            f"Too many content codings ({len(codings)}): at most {MAX_STACKED_CODINGS} are "
            "decoded, to bound the work one response can demand"
        )
    decoders = [classes[c](max_chunk=max_chunk) for c in codings if c in classes]
    if not decoders:
        return _IDENTITY
    return decoders[0] if len(decoders) == 1 else MultiDecoder(decoders)
