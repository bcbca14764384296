"""Content decoding and the text, line and chunk decoders (zephyr._decoders).

The properties: any split of the input decodes like the whole; output comes in bounded
chunks, with bounded memory, even from a bomb; corrupt or cut-short input is a
DecodingError and nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import itertools
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterable, Iterator

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zephyr._decoders import (
    BrotliDecoder,
    ContentDecoder,
    DeflateDecoder,
    GZipDecoder,
    IdentityDecoder,
    MultiDecoder,
    ZStandardDecoder,
    accept_encoding_header,
    build_decoder,
    supported_encodings,
)
from zephyr._exceptions import DecodingError
from zephyr._text_decoders import ByteChunker, LineDecoder, TextChunker, TextDecoder

MiB = 1024 * 1024


def gzip_encode(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zlib_encode(data: bytes) -> bytes:
    return zlib.compress(data)


def raw_deflate_encode(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def brotli_encode(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=5))


def zstd_encode(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data))


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip_encode,
    "deflate": zlib_encode,
    "br": brotli_encode,
    "zstd": zstd_encode,
}
DECODERS: dict[str, Callable[..., ContentDecoder]] = {
    "gzip": GZipDecoder,
    "deflate": DeflateDecoder,
    "br": BrotliDecoder,
    "zstd": ZStandardDecoder,
}
CODINGS = sorted(ENCODERS)


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def decode_all(decoder: ContentDecoder, pieces: Iterable[bytes]) -> list[bytes]:
    chunks: list[bytes] = []
    for piece in pieces:
        chunks.extend(decoder.decode(piece))
    chunks.extend(decoder.flush())
    return chunks


def compressible(draw_bytes: bytes, repeat: int) -> bytes:
    return draw_bytes * repeat


payloads = st.builds(compressible, st.binary(max_size=300), st.integers(1, 200))
cut_lists = st.lists(st.integers(min_value=0), max_size=12)


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("coding", CODINGS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=payloads, cuts=cut_lists, max_chunk=st.sampled_from([1, 7, 100, 4096, 65536]))
def test_any_split_decodes_like_the_whole(
    coding: str, data: bytes, cuts: list[int], max_chunk: int
) -> None:
    encoded = ENCODERS[coding](data)
    whole = decode_all(DECODERS[coding](max_chunk=max_chunk), [encoded])
    split = decode_all(DECODERS[coding](max_chunk=max_chunk), split_at(encoded, cuts))
    assert b"".join(whole) == b"".join(split) == data
    assert all(0 < len(chunk) <= max_chunk for chunk in whole + split)


@pytest.mark.parametrize("coding", CODINGS)
def test_one_byte_at_a_time(coding: str) -> None:
    data = os.urandom(3000) + b"abc" * 20000
    encoded = ENCODERS[coding](data)
    chunks = decode_all(DECODERS[coding](), [encoded[i : i + 1] for i in range(len(encoded))])
    assert b"".join(chunks) == data


@settings(max_examples=30, deadline=None)
@given(data=payloads, cuts=cut_lists)
def test_raw_deflate_is_accepted_too(data: bytes, cuts: list[int]) -> None:
    encoded = raw_deflate_encode(data)
    assert b"".join(decode_all(DeflateDecoder(), split_at(encoded, cuts))) == data


@pytest.mark.parametrize("coding", CODINGS)
def test_empty_body_is_not_an_error(coding: str) -> None:
    # HEAD, 204 and 304 responses carry Content-Encoding but no body.
    decoder = DECODERS[coding]()
    assert list(decoder.decode(b"")) == []
    assert list(decoder.flush()) == []


@pytest.mark.parametrize("coding", CODINGS)
def test_empty_content_round_trips(coding: str) -> None:
    assert decode_all(DECODERS[coding](), [ENCODERS[coding](b"")]) == []


# --- gzip members ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(members=st.lists(payloads, min_size=1, max_size=6), cuts=cut_lists)
def test_concatenated_gzip_members_are_all_decoded(members: list[bytes], cuts: list[int]) -> None:
    encoded = b"".join(gzip_encode(member) for member in members)
    chunks = decode_all(GZipDecoder(max_chunk=1000), split_at(encoded, cuts))
    assert b"".join(chunks) == b"".join(members)


def test_thousands_of_empty_gzip_members_decode_in_linear_time() -> None:
    # urllib3 re-fed the rest of the body after each member: quadratic, minutes for this.
    empty_member = gzip_encode(b"")
    body = empty_member * 200_000  # 4 MB
    started = time.perf_counter()
    assert decode_all(GZipDecoder(), [body]) == []
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("junk", [b"\x00" * 8, b"\x1f", b"trailing junk", b"\x1f\x8b\x08junk"])
def test_junk_after_a_complete_gzip_member_is_ignored(junk: bytes) -> None:
    encoded = gzip_encode(b"payload") + junk
    assert b"".join(decode_all(GZipDecoder(), [encoded])) == b"payload"
    one_by_one = [encoded[i : i + 1] for i in range(len(encoded))]
    assert b"".join(decode_all(GZipDecoder(), one_by_one)) == b"payload"


def test_a_cut_later_gzip_member_that_produced_output_is_an_error() -> None:
    second = gzip_encode(os.urandom(5000))
    decoder = GZipDecoder()
    output = b"".join(b"".join(decoder.decode(part)) for part in (gzip_encode(b"a"), second[:-8]))
    assert output.startswith(b"a")
    assert len(output) > 1
    with pytest.raises(DecodingError, match="gzip"):
        list(decoder.flush())


def test_x_gzip_is_gzip() -> None:
    decoder = build_decoder(["x-gzip"])
    assert isinstance(decoder, GZipDecoder)
    assert b"".join(decode_all(decoder, [gzip_encode(b"hello")])) == b"hello"


# --- deflate -----------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [zlib_encode, raw_deflate_encode])
def test_deflate_variant_is_recognised_from_bytes_arriving_one_by_one(
    encode: Callable[[bytes], bytes],
) -> None:
    encoded = encode(b"hello deflate")
    decoder = DeflateDecoder()
    assert b"".join(decode_all(decoder, [encoded[:1], encoded[1:2], encoded[2:]])) == (
        b"hello deflate"
    )


def test_deflate_body_of_one_byte_is_truncated() -> None:
    decoder = DeflateDecoder()
    assert list(decoder.decode(b"\x78")) == []
    with pytest.raises(DecodingError, match="deflate"):
        list(decoder.flush())


def test_bytes_after_the_end_of_a_checksummed_zlib_stream_are_ignored() -> None:
    encoded = zlib_encode(b"hello") + b"more"
    assert b"".join(decode_all(DeflateDecoder(), [encoded, b"and more"])) == b"hello"


@pytest.mark.parametrize("later", [True, False])
def test_bytes_after_the_end_of_a_raw_deflate_stream_are_an_error(later: bool) -> None:
    # Without a checksum, leftovers are the only sign that the bytes were misread.
    encoded = raw_deflate_encode(b"hello")
    pieces = [encoded, b"more"] if later else [encoded + b"more"]
    with pytest.raises(DecodingError, match="bytes after its end"):
        decode_all(DeflateDecoder(), pieces)


def test_a_damaged_zlib_header_is_not_passed_off_as_raw_deflate() -> None:
    encoded = bytearray(zlib_encode(b""))
    encoded[0] ^= 0x03  # the header check fails, so the bytes are tried as raw deflate
    with pytest.raises(DecodingError, match="deflate"):
        decode_all(DeflateDecoder(), [bytes(encoded)])


# --- zstd frames -------------------------------------------------------------------------


def skippable_frame(payload: bytes, nibble: int = 0) -> bytes:
    return struct.pack("<II", 0x184D2A50 | nibble, len(payload)) + payload


def zstd_streamed(data: bytes, **params: int) -> bytes:
    """A frame as a streaming encoder writes it: no content size, often several blocks."""
    compression_params = zstandard.ZstdCompressionParameters(**params) if params else None
    compressor = zstandard.ZstdCompressor(compression_params=compression_params)
    stream = compressor.compressobj()
    return bytes(stream.compress(data) + stream.flush())


@settings(max_examples=30, deadline=None)
@given(frames=st.lists(payloads, min_size=1, max_size=5), cuts=cut_lists, data=st.data())
def test_zstd_frames_of_every_kind_decode_in_sequence(
    frames: list[bytes], cuts: list[int], data: st.DataObject
) -> None:
    encoded = b""
    for index, payload in enumerate(frames):
        kind = data.draw(st.sampled_from(["checksum", "plain", "streamed", "skippable"]))
        if kind == "checksum":
            encoded += zstd_encode(payload)
        elif kind == "plain":
            encoded += zstandard.ZstdCompressor(write_content_size=False).compress(payload)
        elif kind == "streamed":
            encoded += zstd_streamed(payload)
        else:
            encoded += skippable_frame(payload[:50], nibble=index)
            frames[index] = b""
    chunks = decode_all(ZStandardDecoder(max_chunk=5000), split_at(encoded, cuts))
    assert b"".join(chunks) == b"".join(frames)


def test_empty_zstd_frames_and_blocks_end_cleanly() -> None:
    empty_frame = zstandard.ZstdCompressor(write_content_size=False).compress(b"")
    body = empty_frame * 20_000 + skippable_frame(b"")
    started = time.perf_counter()
    assert decode_all(ZStandardDecoder(), [body]) == []
    assert time.perf_counter() - started < 2.0


def test_zstd_window_over_8_mib_is_refused_as_rfc_9659_allows() -> None:
    assert b"".join(decode_all(ZStandardDecoder(), [zstd_streamed(b"x", window_log=23)])) == b"x"
    with pytest.raises(DecodingError, match="zstd") as caught:
        decode_all(ZStandardDecoder(), [zstd_streamed(b"x", window_log=24)])
    assert isinstance(caught.value.__cause__, zstandard.ZstdError)


def test_junk_after_a_zstd_frame_is_an_error() -> None:
    with pytest.raises(DecodingError, match="not a zstd frame"):
        decode_all(ZStandardDecoder(), [zstd_encode(b"hello") + b"junk"])


def test_a_zstd_frame_that_needs_a_dictionary_is_an_error() -> None:
    # HTTP's "zstd" coding has no dictionaries (those are another coding, "dcz").
    samples: list[bytes | bytearray | memoryview] = [
        b"sample %d of a repetitive record format " % i * 8 for i in range(200)
    ]
    dictionary = zstandard.train_dictionary(1024, samples)
    compressor = zstandard.ZstdCompressor(dict_data=dictionary, write_dict_id=True)
    with pytest.raises(DecodingError, match="zstd") as caught:
        decode_all(ZStandardDecoder(), [compressor.compress(samples[0])])
    assert isinstance(caught.value.__cause__, zstandard.ZstdError)


def test_a_reserved_zstd_block_type_is_an_error() -> None:
    with pytest.raises(DecodingError, match="reserved block type"):
        decode_all(ZStandardDecoder(), [b"\x28\xb5\x2f\xfd\x00\x00\x07\x00\x00"])


# --- errors ------------------------------------------------------------------------------


CORRUPT = {
    "gzip": (b"\x1f\x8b\x08\x00garbage-garbage-garbage", zlib.error),
    "deflate": (b"\x78\x9c\xff\xff\xff\xff\xff\xff", zlib.error),
    "br": (b"\xff\xff\xff\xff\xff\xff\xff\xff", brotli.error),
    # A frame header, then a last compressed block of 4 bytes that are not one.
    "zstd": (b"\x28\xb5\x2f\xfd\x00\x00\x25\x00\x00\xff\xff\xff\xff", zstandard.ZstdError),
}


@pytest.mark.parametrize("coding", CODINGS)
def test_corrupt_input_is_a_decoding_error_naming_the_coding_and_its_cause(coding: str) -> None:
    body, library_error = CORRUPT[coding]
    with pytest.raises(
        DecodingError, match=rf"^{coding}: the compressed data is invalid"
    ) as caught:
        decode_all(DECODERS[coding](), [body])
    assert isinstance(caught.value.__cause__, library_error)


@pytest.mark.parametrize("coding", CODINGS)
@settings(max_examples=25, deadline=None)
@given(data=payloads, cut=st.integers(min_value=1))
def test_a_body_cut_short_fails_at_flush(coding: str, data: bytes, cut: int) -> None:
    encoded = ENCODERS[coding](data)
    prefix = encoded[: cut % len(encoded)]
    assume(prefix)
    decoder = DECODERS[coding]()
    decoded = b"".join(decoder.decode(prefix))  # valid as far as it goes
    assert data.startswith(decoded)
    with pytest.raises(DecodingError, match=coding):
        list(decoder.flush())


@pytest.mark.parametrize("coding", CODINGS)
@settings(max_examples=60, deadline=None)
@given(data=payloads, flips=st.lists(st.tuples(st.integers(0), st.integers(1, 255)), max_size=3))
def test_damaged_input_gives_the_data_or_a_decoding_error_only(
    coding: str, data: bytes, flips: list[tuple[int, int]]
) -> None:
    damaged = bytearray(ENCODERS[coding](data))
    for position, mask in flips:
        damaged[position % len(damaged)] ^= mask
    try:
        output = b"".join(decode_all(DECODERS[coding](max_chunk=512), [bytes(damaged)]))
    except DecodingError:
        return
    # gzip, zlib and our zstd frames carry a checksum, so damage cannot pass unnoticed
    # unless it hit bytes the coding ignores (such as gzip's timestamp). brotli has no
    # checksum: a damaged literal is simply a different literal.
    if coding != "br":
        assert output == data


@pytest.mark.parametrize("coding", CODINGS)
@settings(max_examples=60, deadline=None)
@given(noise=st.binary(min_size=1, max_size=200))
def test_random_bytes_give_nothing_but_decoding_errors(coding: str, noise: bytes) -> None:
    with contextlib.suppress(DecodingError):
        decode_all(DECODERS[coding](max_chunk=256), [noise])


# --- build_decoder -----------------------------------------------------------------------


@pytest.mark.parametrize("values", [[], ["identity"], ["unknown-coding"], [" Identity ", ""]])
def test_identity_and_unknown_codings_pass_the_body_through(values: list[str]) -> None:
    decoder = build_decoder(values)
    assert isinstance(decoder, IdentityDecoder)
    body = os.urandom(200_000)
    chunks = decode_all(decoder, [body, b"", b"tail"])
    assert chunks[0] is body  # not copied, nor cut: it is in memory already
    assert chunks[1:] == [b"tail"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["GZip"], GZipDecoder),
        ([" BR "], BrotliDecoder),
        (["ZSTD"], ZStandardDecoder),
        (["Deflate"], DeflateDecoder),
        (["identity", "gzip"], GZipDecoder),
        (["gzip", "unknown"], GZipDecoder),  # HTTPX passes over what it cannot decode
        (["gzip, br"], MultiDecoder),
    ],
)
def test_build_decoder_picks_by_name_ignoring_case(
    values: list[str], expected: type[ContentDecoder]
) -> None:
    assert type(build_decoder(values)) is expected


@settings(max_examples=30, deadline=None)
@given(
    codings=st.lists(st.sampled_from(CODINGS), min_size=1, max_size=5),
    data=payloads,
    cuts=cut_lists,
)
def test_stacked_codings_are_undone_in_reverse_order(
    codings: list[str], data: bytes, cuts: list[int]
) -> None:
    encoded = data
    for coding in codings:  # the header lists codings in the order they were applied
        encoded = ENCODERS[coding](encoded)
    decoder = build_decoder([", ".join(codings)], max_chunk=300)
    chunks = decode_all(decoder, split_at(encoded, cuts))
    assert b"".join(chunks) == data
    assert all(len(chunk) <= 300 for chunk in chunks)


def test_multi_decoder_takes_children_in_the_order_applied() -> None:
    encoded = brotli_encode(gzip_encode(b"layered"))
    decoder = MultiDecoder([GZipDecoder(), BrotliDecoder()])
    assert b"".join(decode_all(decoder, [encoded])) == b"layered"


def test_a_cut_inner_coding_fails_the_whole_chain_at_flush() -> None:
    encoded = brotli_encode(gzip_encode(os.urandom(1000))[:-4])
    with pytest.raises(DecodingError, match="gzip"):
        decode_all(build_decoder(["gzip", "br"]), [encoded])


@pytest.mark.parametrize(
    "values", [["gzip"] * 6, ["gzip, gzip", "gzip, gzip, gzip, gzip"], ["identity"] * 6]
)
def test_more_than_five_codings_are_refused(values: list[str]) -> None:
    with pytest.raises(DecodingError, match="Too many content codings"):
        build_decoder(values)


def test_five_codings_are_decoded() -> None:
    encoded = b"five"
    for _ in range(5):
        encoded = gzip_encode(encoded)
    assert b"".join(decode_all(build_decoder(["gzip"] * 5), [encoded])) == b"five"


def test_supported_encodings_and_the_accept_encoding_header() -> None:
    assert supported_encodings() == ("gzip", "deflate", "br", "zstd")
    assert accept_encoding_header() == "gzip, deflate, br, zstd"
    assert accept_encoding_header() is accept_encoding_header()  # computed once


def run_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_optional_packages_load_only_when_a_decoder_needs_them() -> None:
    code = (
        "import sys\n"
        "from zephyr._decoders import accept_encoding_header, build_decoder\n"
        "accept_encoding_header()\n"
        "loaded = lambda: sorted({'brotli', 'zstandard'} & set(sys.modules))\n"
        "print(loaded())\n"
        "build_decoder(['br'])\n"
        "print(loaded())\n"
    )
    assert run_python(code).splitlines() == ["[]", "['brotli']"]


def test_br_without_brotli_is_neither_advertised_nor_decoded() -> None:
    code = (
        "import sys\n"
        "sys.modules['brotli'] = None  # what an absent package looks like to import\n"
        "from zephyr._decoders import accept_encoding_header, build_decoder\n"
        "print(accept_encoding_header())\n"
        "print(type(build_decoder(['br'])).__name__)\n"
    )
    assert run_python(code).splitlines() == ["gzip, deflate, zstd", "IdentityDecoder"]


# --- bombs: bounded output and memory ------------------------------------------------------


def zlib_bomb(wbits: int, size: int) -> bytes:
    compressor = zlib.compressobj(1, wbits=wbits)
    zeros = bytes(MiB)
    return b"".join([compressor.compress(zeros) for _ in range(size // MiB)] + [compressor.flush()])


def brotli_bomb(size: int) -> bytes:
    compressor = brotli.Compressor(quality=1)
    zeros = bytes(MiB)
    return b"".join([compressor.process(zeros) for _ in range(size // MiB)] + [compressor.finish()])


BOMBS: dict[str, Callable[[int], bytes]] = {
    "gzip": lambda size: zlib_bomb(zlib.MAX_WBITS | 16, size),
    "deflate": lambda size: zlib_bomb(zlib.MAX_WBITS, size),
    "br": brotli_bomb,
    "zstd": lambda size: bytes(zstandard.ZstdCompressor(level=1).compress(bytes(size))),
}


@functools.cache
def bomb_of_200_mib(coding: str) -> bytes:
    return BOMBS[coding](200 * MiB)


def network_reads(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("read_size", [65536, 1 << 30], ids=["streamed", "one-read"])
def test_a_200_mib_bomb_streams_in_bounded_memory(coding: str, read_size: int) -> None:
    bomb = bomb_of_200_mib(coding)
    decoder = DECODERS[coding]()
    started = time.perf_counter()
    tracemalloc.start()
    try:
        total = largest = 0
        for piece in network_reads(bomb, read_size):
            for chunk in decoder.decode(piece):
                total += len(chunk)
                largest = max(largest, len(chunk))
        for _ in decoder.flush():
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 200 * MiB
    assert largest == 65536
    assert peak < 2 * MiB
    assert time.perf_counter() - started < 2.0


def test_a_10_gib_bomb_costs_nothing_when_the_consumer_stops_early() -> None:
    member = gzip.compress(bytes(64 * MiB), compresslevel=9)
    bomb = member * 160  # 10 GiB once decoded, ~10 MB on the wire, arriving in one read
    started = time.perf_counter()
    chunks = GZipDecoder().decode(bomb)
    first = next(chunks)
    del chunks
    assert len(first) == 65536
    assert time.perf_counter() - started < 1.0  # all of it would take many seconds


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_a_stacked_bomb_stays_bounded(coding: str) -> None:
    inner = BOMBS[coding](64 * MiB)
    bomb = brotli_encode(inner)
    tracemalloc.start()
    try:
        total = 0
        for chunk in decode_all_lazily(build_decoder([coding, "br"]), [bomb]):
            total += len(chunk)
            assert len(chunk) <= 65536
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 64 * MiB
    assert peak < 2 * MiB


def decode_all_lazily(decoder: ContentDecoder, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.decode(piece)
    yield from decoder.flush()


# --- text --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(),
    cuts=cut_lists,
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32", "gb18030", "shift_jis"]),
)
def test_characters_split_across_chunks_decode_whole(
    text: str, cuts: list[int], encoding: str
) -> None:
    try:
        encoded = text.encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    decoder = TextDecoder(encoding)
    decoded = "".join(decoder.decode(piece) for piece in split_at(encoded, cuts))
    assert decoded + decoder.flush() == text


def test_text_decoder_replaces_what_it_cannot_decode() -> None:
    decoder = TextDecoder()
    assert decoder.decode(b"caf\xc3") == "caf"  # waits for the rest of the character
    assert decoder.decode(b"\xa9 \xff!") == "\xe9 \ufffd!"
    assert decoder.decode(b"\xe2\x82") == ""
    assert decoder.flush() == "\ufffd"  # a character cut off by the end of the body


def test_text_decoder_default_is_utf8() -> None:
    assert TextDecoder().decode("žluťoučký".encode()) == "žluťoučký"


# --- lines -------------------------------------------------------------------------------


def decode_lines(pieces: Iterable[str]) -> list[str]:
    decoder = LineDecoder()
    lines: list[str] = []
    for piece in pieces:
        lines.extend(decoder.decode(piece))
    return lines + decoder.flush()


line_text = st.lists(
    st.sampled_from(["a", "bc", "\n", "\r", "\r\n", "\x0c", "\x1e", "\u2028"]), max_size=10
).map("".join)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(line_text, max_size=8))
def test_lines_are_those_of_splitlines_however_the_text_is_chunked(parts: list[str]) -> None:
    assert decode_lines(parts) == "".join(parts).splitlines()


@pytest.mark.parametrize(
    ("pieces", "lines"),
    [
        (["one\ntwo\n"], ["one", "two"]),
        (["one\r\ntwo\r\n"], ["one", "two"]),
        (["one\rtwo\r"], ["one", "two"]),
        (["one\r", "\ntwo"], ["one", "two"]),  # \r\n split across chunks: one line end
        (["one\r", "", "\n", "two"], ["one", "two"]),
        (["one\r", "\r", "\n"], ["one", ""]),
        (["par", "tial", " line"], ["partial line"]),  # trailing text comes out on flush
        (["a\n", "\n", "b"], ["a", "", "b"]),
        (["\r"], [""]),
        ([""], []),
        ([], []),
    ],
)
def test_line_endings(pieces: list[str], lines: list[str]) -> None:
    assert decode_lines(pieces) == lines


def test_lines_come_out_as_soon_as_they_end() -> None:
    decoder = LineDecoder()
    assert decoder.decode("first\nsec") == ["first"]
    assert decoder.decode("ond\r") == []  # a \n may follow
    assert decoder.decode("third") == ["second"]
    assert decoder.flush() == ["third"]
    assert decoder.flush() == []


# --- chunkers ----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(pieces=st.lists(st.binary(max_size=40)), size=st.integers(1, 17))
def test_byte_chunker_cuts_exact_sizes(pieces: list[bytes], size: int) -> None:
    chunker = ByteChunker(size)
    chunks = [chunk for piece in pieces for chunk in chunker.decode(piece)]
    rest = chunker.flush()
    assert all(len(chunk) == size for chunk in chunks)
    assert len(rest) <= 1
    assert all(0 < len(chunk) < size for chunk in rest)
    assert b"".join(chunks + rest) == b"".join(pieces)


@settings(max_examples=100, deadline=None)
@given(pieces=st.lists(st.text(max_size=40)), size=st.integers(1, 17))
def test_text_chunker_cuts_exact_sizes(pieces: list[str], size: int) -> None:
    chunker = TextChunker(size)
    chunks = [chunk for piece in pieces for chunk in chunker.decode(piece)]
    rest = chunker.flush()
    assert all(len(chunk) == size for chunk in chunks)
    assert len(rest) <= 1
    assert all(0 < len(chunk) < size for chunk in rest)
    assert "".join(chunks + rest) == "".join(pieces)


@pytest.mark.parametrize("chunker", [ByteChunker(), ByteChunker(None)])
def test_byte_chunker_without_size_passes_chunks_through(chunker: ByteChunker) -> None:
    piece = b"x" * 1000
    assert chunker.decode(piece)[0] is piece
    assert chunker.decode(b"") == []
    assert chunker.flush() == []


def test_text_chunker_without_size_passes_chunks_through() -> None:
    chunker = TextChunker()
    assert chunker.decode("abc") == ["abc"]
    assert chunker.decode("") == []
    assert chunker.flush() == []


def test_chunk_size_one() -> None:
    assert ByteChunker(1).decode(b"abc") == [b"a", b"b", b"c"]
    assert TextChunker(1).decode("ab") == ["a", "b"]


def test_chunkers_join_across_pieces_and_do_not_copy_an_exact_fit() -> None:
    chunker = ByteChunker(4)
    assert chunker.decode(b"ab") == []
    assert chunker.decode(b"cdefghij") == [b"abcd", b"efgh"]
    exact = b"klmn"
    assert chunker.decode(b"") == []
    assert chunker.flush() == [b"ij"]
    assert chunker.decode(exact)[0] is exact
    text_chunker = TextChunker(3)
    assert text_chunker.decode("a") == []
    assert text_chunker.decode("b") == []
    assert text_chunker.decode("cdefg") == ["abc", "def"]
    assert text_chunker.flush() == ["g"]
