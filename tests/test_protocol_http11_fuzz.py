"""Property tests for the HTTP/1.1 core: any split of a valid response parses the same, and
no input, however broken, gets anything but RemoteProtocolError out of the parser.

test_fuzz_framing.py adds the catalogue of defects and their verdicts."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from fuzz_settings import fuzz, merged, split
from zephyr._exceptions import RemoteProtocolError
from zephyr._protocol.events import (
    ConnectionUpgraded,
    DataReceived,
    Event,
    InformationalResponseReceived,
    ResponseEnded,
    ResponseReceived,
)
from zephyr._protocol.http11 import HTTP11Connection

FAST = fuzz(150)  # 50 times more under `make fuzz`

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
FRAMING_NAMES = {b"content-length", b"transfer-encoding", b"connection"}
VISIBLE = bytes([*range(0x21, 0x7F), *range(0x80, 0x100)])

names = st.text(TCHARS, min_size=1, max_size=16).map(str.encode)
# Field values as the parser reports them: no whitespace at either end (RFC 9112 §5).
values = st.builds(
    lambda first, middle, last: first + middle + last if middle or last else first,
    st.sampled_from([bytes([b]) for b in VISIBLE]),
    st.binary(max_size=20).map(lambda raw: bytes(VISIBLE[b % len(VISIBLE)] for b in raw)),
    st.sampled_from([b"", b" x", b"\ty", b"z"]),
) | st.just(b"")
field_lines = st.lists(
    st.tuples(names, values).filter(lambda line: line[0].lower() not in FRAMING_NAMES),
    max_size=6,
)
reasons = st.sampled_from([b"", b"OK", b"Not Found", b"caf\xe9 ok", b"A\tB"])


@dataclass
class Response:
    """A valid response, and the events and reusability it must produce."""

    data: bytes
    events: list[Event]
    needs_eof: bool
    reusable: bool
    keep_alive: bool  # what the head allows, whatever the body
    body_on_the_wire: bool  # bytes after the final head, blank lines aside


def head_bytes(
    version: bytes, status: int, reason: bytes, headers: list[tuple[bytes, bytes]]
) -> bytes:
    lines = [b"HTTP/%s %d %s" % (version, status, reason)]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@st.composite
def chunked_bodies(draw: st.DrawFn, body: bytes) -> bytes:
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=4)))
    pieces = [body[start:stop] for start, stop in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    framed = []
    for piece in pieces:
        if not piece:
            continue
        extension = draw(st.sampled_from([b"", b";a=b", b';q="x y"', b";flag"]))
        size = draw(st.sampled_from([b"%x", b"%X", b"00%x"])) % len(piece)
        framed.append(size + extension + b"\r\n" + piece + b"\r\n")
    trailers = draw(field_lines)
    framed.append(b"0\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in trailers) + b"\r\n")
    return b"".join(framed)


@st.composite
def responses(draw: st.DrawFn) -> Response:
    events: list[Event] = []
    data = b""
    for _ in range(draw(st.integers(0, 2))):
        status, headers = draw(st.sampled_from([100, 102, 103])), draw(field_lines)
        reason = draw(reasons)
        data += head_bytes(b"1.1", status, reason, headers)
        events.append(InformationalResponseReceived(status, reason, headers))
    version = draw(st.sampled_from([b"1.1", b"1.0"]))
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 500, 599]))
    reason, headers, body = draw(reasons), draw(field_lines), draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked", "eof"]))
    if status in (204, 304):
        framing, body = "none", b""
    if framing == "chunked" and version == b"1.0":
        framing = "length"
    connection = draw(st.sampled_from([None, b"keep-alive", b"close", b"Keep-Alive, x"]))
    if connection is not None:
        headers = [*headers, (b"Connection", connection)]
    if framing == "length":
        headers = [*headers, (b"Content-Length", b"%d" % len(body))]
    elif framing == "chunked":
        headers = [*headers, (b"Transfer-Encoding", b"chunked")]
    wire_body = draw(chunked_bodies(body)) if framing == "chunked" else body
    data += head_bytes(version, status, reason, headers) + wire_body
    events.append(ResponseReceived(status, reason, "HTTP/" + version.decode(), headers))
    if body:
        events.append(DataReceived(body))
    events.append(ResponseEnded())
    tokens = connection.lower() if connection else b""
    keep_alive = b"close" not in tokens and (version == b"1.1" or b"keep-alive" in tokens)
    reusable = keep_alive and framing != "eof"
    # CR and LF alone after a head are what llhttp skips as blank lines: not a body.
    body_on_the_wire = bool(wire_body.strip(b"\r\n"))
    return Response(data, events, framing == "eof", reusable, keep_alive, body_on_the_wire)


def sent(method: bytes = b"GET") -> HTTP11Connection:
    connection = HTTP11Connection()
    connection.send_request_head(method, b"/", [(b"Host", b"example.com")])
    connection.end_request()
    return connection


def outcome(reads: list[bytes], eof: bool, method: bytes = b"GET") -> tuple[object, ...]:
    """What a connection makes of these reads: events (merged), reusability, or the error.
    Only RemoteProtocolError may escape: anything else fails the test."""
    connection = sent(method)
    events: list[Event] = []
    try:
        for data in reads:
            events += connection.receive_data(data)
        if eof:
            events += connection.receive_eof()
    except RemoteProtocolError:
        assert not connection.is_reusable
        return ("error",)
    check_event_order(events)
    return ("ok", merged(events), connection.is_reusable)


def check_event_order(events: list[Event]) -> None:
    """1xx responses, then one response (head, body, end), or an upgrade; nothing after."""
    kinds = [type(event) for event in events]
    while kinds and kinds[0] is InformationalResponseReceived:
        kinds.pop(0)
    if kinds and kinds[0] is ConnectionUpgraded:
        assert len(kinds) == 1
        return
    if kinds:
        assert kinds[0] is ResponseReceived
        body_and_end = kinds[1:]
        if ResponseEnded in body_and_end:
            assert body_and_end.index(ResponseEnded) == len(body_and_end) - 1
        assert all(kind in (DataReceived, ResponseEnded) for kind in body_and_end)


@FAST
@given(responses(), st.lists(st.integers(min_value=0), max_size=12))
def test_any_split_of_a_valid_response_parses_the_same(response: Response, cuts: list[int]) -> None:
    expected = ("ok", response.events, response.reusable)
    assert outcome([response.data], response.needs_eof) == expected
    assert outcome(split(response.data, cuts), response.needs_eof) == expected


@FAST
@given(responses(), st.lists(st.integers(min_value=0), max_size=6))
def test_head_responses_end_at_the_head(response: Response, cuts: list[int]) -> None:
    # The same bytes, answered to HEAD: the response ends at its head, and a body sent anyway
    # is bytes nobody asked for (no error, but the connection must not be reused).
    expected_events = [event for event in response.events if not isinstance(event, DataReceived)]
    reusable = response.keep_alive and not response.body_on_the_wire
    expected = ("ok", expected_events, reusable)
    assert outcome([response.data], eof=False, method=b"HEAD") == expected
    assert outcome(split(response.data, cuts), eof=False, method=b"HEAD") == expected


@FAST
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_arbitrary_bytes_only_raise_remote_protocol_error(
    data: bytes, cuts: list[int], eof: bool
) -> None:
    whole = outcome([data], eof)
    assert outcome(split(data, cuts), eof)[0] == whole[0]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(responses()).data)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from([0, 9, 10, 13, 32, 44, 58, 0x7F, 0xFF, *b"0aZ;-"]))
        if action == "insert":
            data.insert(position, byte)
        elif position < len(data):
            if action == "replace":
                data[position] = byte
            else:
                del data[position]
    return bytes(data)


@FAST
@given(mutated(), st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_mutated_responses_parse_the_same_however_split(
    data: bytes, cuts: list[int], eof: bool
) -> None:
    # Whole or split, a broken response is refused (or accepted) alike, with the same events.
    assert outcome(split(data, cuts), eof) == outcome([data], eof)


@FAST
@given(mutated(), st.booleans())
def test_mutated_responses_one_byte_at_a_time(data: bytes, eof: bool) -> None:
    reads = [data[index : index + 1] for index in range(len(data))]
    assert outcome(reads, eof) == outcome([data], eof)
