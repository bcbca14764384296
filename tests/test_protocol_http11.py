"""The sans-I/O HTTP/1.1 core: every response case fed whole and one byte at a time.

RELIABILITY.md items 8-14 are marked by number where they are tested.
"""

from __future__ import annotations

import array
import itertools
import tracemalloc
from collections.abc import Iterable

import pytest

from zephyr._exceptions import LocalProtocolError, RemoteProtocolError
from zephyr._protocol.events import (
    ConnectionUpgraded,
    DataReceived,
    Event,
    InformationalResponseReceived,
    ResponseEnded,
    ResponseReceived,
)
from zephyr._protocol.http11 import HTTP11Connection
from zephyr._protocol.http11_request import request_framing, serialise_head

HOST = [(b"Host", b"example.com")]


def sent(method: bytes = b"GET", **limits: int) -> HTTP11Connection:
    """A connection with a complete request (no body) sent."""
    connection = HTTP11Connection(**limits)
    connection.send_request_head(method, b"/", HOST)
    assert connection.end_request() == b""
    return connection


def merged(events: list[Event]) -> list[Event]:
    """Adjacent DataReceived joined: a split feed delivers the body in more pieces."""
    result: list[Event] = []
    for event in events:
        if isinstance(event, DataReceived) and result and isinstance(result[-1], DataReceived):
            result[-1] = DataReceived(result[-1].data + event.data)
        else:
            result.append(event)
    return result


def feed_whole(connection: HTTP11Connection, data: bytes, eof: bool) -> list[Event]:
    events = connection.receive_data(data)
    if eof:
        events += connection.receive_eof()
    return events


def feed_bytewise(connection: HTTP11Connection, data: bytes, eof: bool) -> list[Event]:
    events: list[Event] = []
    for index in range(len(data)):
        events += connection.receive_data(data[index : index + 1])
    if eof:
        events += connection.receive_eof()
    return events


def parse(
    data: bytes, method: bytes = b"GET", eof: bool = False, **limits: int
) -> tuple[list[Event], bool]:
    """Events (bodies merged) and reusability; asserts whole and byte-wise feeds agree."""
    whole, bytewise = sent(method, **limits), sent(method, **limits)
    events = merged(feed_whole(whole, data, eof))
    assert merged(feed_bytewise(bytewise, data, eof)) == events
    assert whole.is_reusable == bytewise.is_reusable
    return events, whole.is_reusable


def parse_error(data: bytes, match: str, method: bytes = b"GET", eof: bool = False) -> None:
    """Both feeds must fail with RemoteProtocolError, and the connection is not reusable."""
    for feed in (feed_whole, feed_bytewise):
        connection = sent(method)
        with pytest.raises(RemoteProtocolError, match=match):
            feed(connection, data, eof)
        assert not connection.is_reusable


def fed_until_error(connection: HTTP11Connection, reads: Iterable[bytes]) -> tuple[int, str]:
    """Feed reads until one fails: return the bytes fed (the failing read included) and why."""
    fed = 0
    for data in reads:
        fed += len(data)
        try:
            connection.receive_data(data)
        except RemoteProtocolError as error:
            assert not connection.is_reusable
            return fed, str(error)
    pytest.fail("no RemoteProtocolError")


def ok_head(*headers: bytes, status: bytes = b"200 OK", version: bytes = b"1.1") -> bytes:
    return b"HTTP/" + version + b" " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers)


# -- framing ------------------------------------------------------------------------------


def test_content_length_body() -> None:
    events, reusable = parse(ok_head(b"Content-Length: 5") + b"\r\nhello")
    assert events == [
        ResponseReceived(200, b"OK", "HTTP/1.1", [(b"Content-Length", b"5")]),
        DataReceived(b"hello"),
        ResponseEnded(),
    ]
    assert reusable


def test_empty_content_length_body() -> None:
    events, reusable = parse(ok_head(b"Content-Length: 0") + b"\r\n")
    assert events[1:] == [ResponseEnded()]
    assert reusable


def test_chunked_body_with_extensions_and_trailers() -> None:
    data = ok_head(b"Transfer-Encoding: chunked") + (
        b'\r\n5;name=value;q="a \\" b"\r\nhello\r\n1;x\r\n,\r\n6\r\n world\r\n'
        b"0;last\r\nChecksum: abc\r\nX-Trailer: 1\r\n\r\n"
    )
    events, reusable = parse(data)
    # Trailers are read and dropped: never mixed into the headers already handed out.
    assert events == [
        ResponseReceived(200, b"OK", "HTTP/1.1", [(b"Transfer-Encoding", b"chunked")]),
        DataReceived(b"hello, world"),
        ResponseEnded(),
    ]
    assert reusable


def test_chunked_transfer_coding_name_is_case_insensitive() -> None:
    events, _ = parse(ok_head(b"transfer-encoding: Chunked") + b"\r\n2\r\nhi\r\n0\r\n\r\n")
    assert events[1:] == [DataReceived(b"hi"), ResponseEnded()]


def test_close_delimited_body_ends_at_eof() -> None:
    data = ok_head(b"Content-Type: text/plain") + b"\r\nuntil the end"
    events, reusable = parse(data, eof=True)
    assert events[1:] == [DataReceived(b"until the end"), ResponseEnded()]
    assert not reusable


def test_close_delimited_body_is_not_ended_before_eof() -> None:
    connection = sent()
    events = connection.receive_data(ok_head() + b"\r\nsome")
    assert events[1:] == [DataReceived(b"some")]
    assert not connection.is_reusable
    assert connection.receive_eof() == [ResponseEnded()]


@pytest.mark.parametrize(
    "framing",
    [b"Content-Length: 5", b"Transfer-Encoding: chunked", b"X-No-Framing: 1"],
)
def test_head_response_ends_at_its_head(framing: bytes) -> None:
    events, reusable = parse(ok_head(framing) + b"\r\n", method=b"HEAD")
    name, _, value = framing.partition(b": ")
    assert events == [ResponseReceived(200, b"OK", "HTTP/1.1", [(name, value)]), ResponseEnded()]
    assert reusable  # 12: no hang, and nothing left over to poison the next response


def test_head_response_then_next_request_on_the_same_connection() -> None:
    connection = sent(b"HEAD")
    connection.receive_data(ok_head(b"Content-Length: 5") + b"\r\n")
    connection.start_next_cycle()
    connection.send_request_head(b"GET", b"/", HOST)
    connection.end_request()
    events = connection.receive_data(ok_head(b"Content-Length: 5") + b"\r\nhello")
    assert events[1:] == [DataReceived(b"hello"), ResponseEnded()]
    assert connection.is_reusable


def test_head_response_followed_by_a_body_is_not_reusable() -> None:
    events, reusable = parse(ok_head(b"Content-Length: 5") + b"\r\nhello", method=b"HEAD")
    assert [type(event) for event in events] == [ResponseReceived, ResponseEnded]
    assert not reusable


def test_head_response_ends_at_its_first_empty_line_however_split() -> None:
    # The head is fed to llhttp up to its end and no further, wherever the reads split it:
    # a body sent anyway, blank lines in it included, is never parsed as anything.
    data = b"\r\n" + ok_head(b"Content-Length: 12") + b"\r\nab\r\n\r\ncdHTTP/1.1 200 OK\r\n\r\n"
    for cut in range(len(data) + 1):
        connection = sent(b"HEAD")
        events = connection.receive_data(data[:cut]) + connection.receive_data(data[cut:])
        assert events == [
            ResponseReceived(200, b"OK", "HTTP/1.1", [(b"Content-Length", b"12")]),
            ResponseEnded(),
        ]
        assert not connection.is_reusable


def test_head_response_after_informational_response() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + ok_head(b"Content-Length: 9") + b"\r\n"
    events, reusable = parse(data, method=b"HEAD")
    assert [type(event) for event in events] == [
        InformationalResponseReceived,
        ResponseReceived,
        ResponseEnded,
    ]
    assert reusable


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_no_body_statuses(status: bytes) -> None:
    events, reusable = parse(ok_head(b"Content-Length: 5", status=status) + b"\r\n")
    assert [type(event) for event in events] == [ResponseReceived, ResponseEnded]
    assert reusable


def test_informational_responses_are_reported_and_skipped() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        + ok_head(b"Content-Length: 2")
        + b"\r\nok"
    )
    events, reusable = parse(data)
    assert events == [
        InformationalResponseReceived(100, b"Continue", []),
        InformationalResponseReceived(
            103, b"Early Hints", [(b"Link", b"</style.css>; rel=preload")]
        ),
        ResponseReceived(200, b"OK", "HTTP/1.1", [(b"Content-Length", b"2")]),
        DataReceived(b"ok"),
        ResponseEnded(),
    ]
    assert reusable


def test_informational_responses_up_to_the_limit() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + ok_head(b"Content-Length: 0") + b"\r\n"
    events, _ = parse(data, max_informational_responses=3)
    assert len(events) == 5


def test_endless_informational_responses() -> None:  # 13
    continues = itertools.repeat(b"HTTP/1.1 100 Continue\r\n\r\n", 1000)
    fed, error = fed_until_error(sent(), continues)
    assert "max_informational_responses" in error
    assert fed == 51 * len(b"HTTP/1.1 100 Continue\r\n\r\n")
    parse_error(b"HTTP/1.1 100 Continue\r\n\r\n" * 51, "informational")


def test_informational_response_with_a_body() -> None:
    parse_error(b"HTTP/1.1 150 Odd\r\nContent-Length: 3\r\n\r\nabc", "with a body")


def test_switching_protocols() -> None:
    data = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    for trailing in (b"", b"\x81\x05hello"):
        whole = sent()
        events = whole.receive_data(data + trailing)
        headers = [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]
        assert events == [ConnectionUpgraded(101, b"Switching Protocols", headers, trailing)]
        assert not whole.is_reusable
        bytewise = sent()
        events = feed_bytewise(bytewise, data, eof=False)
        assert events == [ConnectionUpgraded(101, b"Switching Protocols", headers, b"")]
        with pytest.raises(LocalProtocolError):
            bytewise.receive_data(trailing)  # the new protocol's bytes are not ours


def test_switching_protocols_without_upgrade_header() -> None:
    parse_error(b"HTTP/1.1 101 Switching Protocols\r\n\r\nxyz", "Upgrade")


def test_connect_tunnel() -> None:
    for trailing in (b"", b"\x16\x03\x01tls"):
        connection = sent(b"CONNECT")
        events = connection.receive_data(b"HTTP/1.1 200 Connection established\r\n\r\n" + trailing)
        assert events == [ConnectionUpgraded(200, b"Connection established", [], trailing)]
        assert not connection.is_reusable


def test_refused_connect_is_an_ordinary_response() -> None:
    data = ok_head(b"Content-Length: 6", status=b"407 Proxy Authentication Required")
    events, reusable = parse(data + b"\r\ndenied", method=b"CONNECT")
    assert events[1:] == [DataReceived(b"denied"), ResponseEnded()]
    assert isinstance(events[0], ResponseReceived)
    assert events[0].status_code == 407
    assert reusable


def test_keep_alive_sequence_of_responses() -> None:
    connection = HTTP11Connection()
    for index in range(5):
        body = b"response %d" % index
        connection.send_request_head(b"GET", b"/%d" % index, HOST)
        connection.end_request()
        response = ok_head(b"Content-Length: %d" % len(body)) + b"\r\n" + body
        assert connection.receive_data(response)[1:] == [DataReceived(body), ResponseEnded()]
        assert connection.is_reusable
        connection.start_next_cycle()


def test_content_length_body_reads_are_handed_out_uncopied() -> None:
    # After the head, a read that is all body is the event's data itself: a large body is
    # copied by nobody here (llhttp's callback would copy each read into a new `bytes`).
    connection = sent()
    first = connection.receive_data(ok_head(b"Content-Length: 300000") + b"\r\n" + b"a" * 1000)
    assert first[1:] == [DataReceived(b"a" * 1000)]
    middle = b"b" * 262144
    [event] = connection.receive_data(middle)
    assert isinstance(event, DataReceived)
    assert event.data is middle
    last = b"c" * (300000 - 1000 - 262144)
    assert connection.receive_data(b"") == []
    [event, end] = connection.receive_data(last)
    assert isinstance(event, DataReceived)
    assert event.data is last
    assert end == ResponseEnded()
    assert connection.is_reusable
    connection.start_next_cycle()  # llhttp never saw the body's end: a fresh parser
    connection.send_request_head(b"GET", b"/", HOST)
    connection.end_request()
    events = connection.receive_data(ok_head(b"Content-Length: 2") + b"\r\nok")
    assert events[1:] == [DataReceived(b"ok"), ResponseEnded()]
    assert connection.is_reusable


@pytest.mark.parametrize(("extra", "reusable"), [(b"", True), (b"\r\n\r\n", True), (b"X", False)])
def test_content_length_body_ending_inside_a_later_read(extra: bytes, reusable: bool) -> None:
    connection = sent()
    assert connection.receive_data(ok_head(b"Content-Length: 6") + b"\r\nab")[1:] == [
        DataReceived(b"ab")
    ]
    assert connection.receive_data(b"cdef" + extra) == [DataReceived(b"cdef"), ResponseEnded()]
    assert connection.is_reusable is reusable


def test_reads_may_be_memoryviews_of_a_reused_buffer() -> None:
    # A driver may parse straight from its receive buffer: every event holds `bytes` of its
    # own, so overwriting the buffer afterwards changes nothing already reported. Large reads
    # are parsed from the view itself, small ones copied first: both kinds are here.
    big = bytes(range(256)) * 160  # 40 KiB
    sized = ok_head(b"Content-Length: %d" % (2 * len(big))) + b"\r\n" + big + big
    chunked = (
        ok_head(b"Transfer-Encoding: chunked")
        + b"\r\n%x\r\n" % len(big)
        + big
        + b"\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"
    )
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
    cases = [
        (b"GET", [sized[:100], sized[100:30000], sized[30000:]]),
        (b"GET", [sized + b"X"]),
        (b"GET", [chunked[:20000], chunked[20000:]]),
        (b"GET", [chunked[:60], chunked[60:]]),
        (b"HEAD", [sized]),
        (b"GET", [ok_head(b"Connection: close") + b"\r\n" + big]),
        (b"GET", [upgrade + big]),
    ]
    for method, reads in cases:
        expected = sent(method)
        wanted = [event for data in reads for event in expected.receive_data(data)]
        connection = sent(method)
        buffer = bytearray(len(sized) + 1)
        got: list[Event] = []
        for data in reads:
            buffer[: len(data)] = data
            got += connection.receive_data(memoryview(buffer)[: len(data)])
            buffer[:] = b"\xff" * len(buffer)
        assert got == wanted
        for event in got:
            for field in ("data", "reason_phrase", "trailing_data"):
                assert type(getattr(event, field, b"")) is bytes
        assert connection.is_reusable == expected.is_reusable


def test_reads_of_other_buffer_types_are_measured_in_bytes() -> None:
    data = ok_head(b"Content-Length: 4") + b"\r\nabcd"
    assert len(data) % 2 == 0
    interleaved = bytes(
        byte for pair in zip(data, b"\x00" * len(data), strict=True) for byte in pair
    )
    reads: list[object] = [
        memoryview(data).cast("B", (1, len(data))),  # 2-D
        memoryview(interleaved)[::2],  # not contiguous
        memoryview(array.array("H", data)),  # 2-byte items: len() would count half the bytes
        bytearray(data),
    ]
    for read in reads:
        connection = sent()
        events = connection.receive_data(read)  # type: ignore[arg-type]
        assert events[1:] == [DataReceived(b"abcd"), ResponseEnded()]
        assert connection.is_reusable


@pytest.mark.parametrize(
    "reads",
    [
        # The final response is not the read's first message: its own version counts.
        [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"],
        # A read that starts with "HTTP/1.1 " in the middle of a head.
        [b"HTTP/1.0 200 OK\r\nX: ", b"HTTP/1.1 y\r\nContent-Length: 0\r\n\r\n"],
        # Blank lines before the status line.
        [b"\r\nHTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"],
    ],
)
def test_http_version_of_a_final_response_after_other_bytes(reads: list[bytes]) -> None:
    connection = sent()
    events = [event for data in reads for event in connection.receive_data(data)]
    final = events[-2]
    assert isinstance(final, ResponseReceived)
    assert final.http_version == "HTTP/1.0"
    assert not connection.is_reusable  # HTTP/1.0 without keep-alive


# -- status line and headers --------------------------------------------------------------


def test_header_names_keep_their_case_and_values_lose_trailing_whitespace() -> None:
    data = ok_head(b"X-MiXeD-CaSe:   value \t", b"Empty:", b"Content-Length: 0") + b"\r\n"
    events, _ = parse(data)
    assert isinstance(events[0], ResponseReceived)
    assert events[0].headers == [
        (b"X-MiXeD-CaSe", b"value"),
        (b"Empty", b""),
        (b"Content-Length", b"0"),
    ]


def test_obs_text_in_a_header_value_is_kept() -> None:
    events, _ = parse(ok_head(b"X-Latin: caf\xe9\tau lait", b"Content-Length: 0") + b"\r\n")
    assert isinstance(events[0], ResponseReceived)
    assert events[0].headers[0] == (b"X-Latin", b"caf\xe9\tau lait")


@pytest.mark.parametrize(
    ("status_line", "status_code", "reason"),
    [
        (b"HTTP/1.1 200 OK", 200, b"OK"),
        (b"HTTP/1.1 200 \r\n", 200, b""),
        (b"HTTP/1.1 200", 200, b""),
        (b"HTTP/1.1 404 Not Found Here", 404, b"Not Found Here"),
        (b"HTTP/1.1 599 \xe9t\xe9", 599, b"\xe9t\xe9"),
    ],
)
def test_status_line(status_line: bytes, status_code: int, reason: bytes) -> None:
    data = status_line.removesuffix(b"\r\n") + b"\r\nContent-Length: 0\r\n\r\n"
    events, _ = parse(data)
    assert events[0] == ResponseReceived(
        status_code, reason, "HTTP/1.1", [(b"Content-Length", b"0")]
    )


@pytest.mark.parametrize(
    "status_line",
    [
        b"HTTP/2.0 200 OK",
        b"HTTP/0.9 200 OK",
        b"HTTP/1.2 200 OK",
        b"HTTP/1.1 099 Low",
        b"HTTP/1.1 20 OK",
    ],
)
def test_unacceptable_status_lines(status_line: bytes) -> None:
    parse_error(status_line + b"\r\nContent-Length: 0\r\n\r\n", "HTTP version|status code")


def test_connection_close_is_not_reusable() -> None:
    for value in (b"close", b"Close", b"keep-alive, close", b"upgrade,  CLOSE "):
        events, reusable = parse(ok_head(b"Connection: " + value, b"Content-Length: 0") + b"\r\n")
        assert events[-1] == ResponseEnded()
        assert not reusable


def test_http_1_0_needs_keep_alive_to_be_reusable() -> None:
    events, reusable = parse(ok_head(b"Content-Length: 1", version=b"1.0") + b"\r\nx")
    assert isinstance(events[0], ResponseReceived)
    assert events[0].http_version == "HTTP/1.0"
    assert not reusable
    for value in (b"keep-alive", b"Keep-Alive", b"foo, keep-alive"):
        head = ok_head(b"Connection: " + value, b"Content-Length: 1", version=b"1.0")
        _, reusable = parse(head + b"\r\nx")
        assert reusable


def test_http_1_1_keep_alive_header_is_reusable() -> None:
    _, reusable = parse(ok_head(b"Connection: keep-alive", b"Content-Length: 0") + b"\r\n")
    assert reusable


# -- RELIABILITY.md 8: chunked framing ----------------------------------------------------


@pytest.mark.parametrize(
    ("chunks", "match"),
    [
        (b"5\r\nhelloXX0\r\n\r\n", "chunk data"),  # data not followed by CRLF
        (b"5\r\nhello\n0\r\n\r\n", "chunk data"),  # bare LF after data
        (b"5\nhello\r\n0\r\n\r\n", "chunk size"),  # bare LF after size
        (b"zz\r\nhello\r\n0\r\n\r\n", "chunk size"),  # not hex
        (b"-5\r\nhello\r\n0\r\n\r\n", "chunk size"),
        (b"5 \r\nhello\r\n0\r\n\r\n", "chunk size"),
        (b"0x5\r\nhello\r\n0\r\n\r\n", "chunk size"),
        (b"1" * 17 + b"\r\nhello\r\n0\r\n\r\n", "overflow"),  # more than 64 bits
        (b"fffffffffffffffff\r\n", "overflow"),
    ],
)
def test_malformed_chunked_framing(chunks: bytes, match: str) -> None:
    parse_error(ok_head(b"Transfer-Encoding: chunked") + b"\r\n" + chunks, match)


# -- RELIABILITY.md 9: Transfer-Encoding and Content-Length -------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        [b"Transfer-Encoding: gzip"],
        [b"Transfer-Encoding: chunked, gzip"],
        [b"Transfer-Encoding: gzip, chunked"],
        [b"Transfer-Encoding: identity"],
        [b"Transfer-Encoding: chunked, chunked"],
        [b"Transfer-Encoding: gzip", b"Transfer-Encoding: chunked"],
        [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
        [b"Transfer-Encoding: chunked", b"Content-Length: 5"],
        [b"Content-Length: 5", b"Transfer-Encoding: chunked"],
    ],
)
def test_transfer_encoding_other_than_chunked_alone(headers: list[bytes]) -> None:
    parse_error(ok_head(*headers) + b"\r\n5\r\nhello\r\n0\r\n\r\n", "Transfer-Encoding")


@pytest.mark.parametrize("ows", [b" ", b"  "])
def test_chunked_followed_by_spaces_is_chunked(ows: bytes) -> None:
    data = ok_head(b"Transfer-Encoding: chunked" + ows) + b"\r\n5\r\nhello\r\n0\r\n\r\n"
    events, reusable = parse(data)
    assert events[1:] == [DataReceived(b"hello"), ResponseEnded()]
    assert reusable


@pytest.mark.parametrize("ows", [b"\t", b" \t", b"\t "])
def test_chunked_followed_by_a_tab_is_refused(ows: bytes) -> None:  # 9
    # llhttp frames such a body as close-delimited: it would be streamed out with its chunk
    # framing, the response then waiting for an EOF a keep-alive server never sends.
    data = ok_head(b"Transfer-Encoding: chunked" + ows) + b"\r\n5\r\nhello\r\n0\r\n\r\n"
    parse_error(data, "Unsupported Transfer-Encoding")


def test_transfer_encoding_in_http_1_0() -> None:
    data = ok_head(b"Transfer-Encoding: chunked", version=b"1.0") + b"\r\n0\r\n\r\n"
    parse_error(data, "HTTP/1.0")


@pytest.mark.parametrize(
    "headers",
    [
        [b"Content-Length: +5"],
        [b"Content-Length: -0"],
        [b"Content-Length: 1,2"],
        [b"Content-Length: 5, 6"],
        [b"Content-Length: 5, 5"],
        [b"Content-Length: 0x5"],
        [b"Content-Length: 5a"],
        [b"Content-Length: " + b"1" + b"0" * 21],
        [b"Content-Length: 5", b"Content-Length: 6"],
        # Stricter than RFC 9110 §8.6 allows (identical duplicates may be accepted): llhttp's
        # choice, kept — no honest server repeats the header.
        [b"Content-Length: 5", b"Content-Length: 5"],
    ],
)
def test_malformed_or_conflicting_content_length(headers: list[bytes]) -> None:
    parse_error(ok_head(*headers) + b"\r\nhello", "Content-Length")


# -- RELIABILITY.md 10: control characters and folding ------------------------------------


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x0b", b"\x1f", b"\x7f", b"\r"])
def test_control_characters_in_header_values(control: bytes) -> None:
    data = ok_head(b"X-Bad: a" + control + b"b", b"Content-Length: 0") + b"\r\n"
    parse_error(data, "Malformed HTTP/1.1 response: .*header value")


@pytest.mark.parametrize(
    "headers",
    [
        [b"X-Folded: first", b" continued", b"Content-Length: 0"],
        [b"X-Folded: first", b"\tcontinued", b"Content-Length: 0"],
        [b" Content-Length: 5"],  # a fold on the first header line
        [b"\tX-Injected: 1", b"Content-Length: 0"],
    ],
)
def test_obs_fold_is_an_error_never_a_new_header(headers: list[bytes]) -> None:
    parse_error(ok_head(*headers) + b"\r\n", "whitespace|space after start line|header token")


@pytest.mark.parametrize(
    "line", [b"Bad Name: x", b"Bad\x01: x", b": no name", b"NoColon", b"Name : x"]
)
def test_malformed_header_names(line: bytes) -> None:
    parse_error(ok_head(line, b"Content-Length: 0") + b"\r\n", "Invalid header token")


def test_bare_lf_line_endings() -> None:
    parse_error(b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "expected CR")
    parse_error(b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", "expected CR")


# -- RELIABILITY.md 11: TLS bytes where a status line should be ---------------------------


def test_tls_bytes_fail_immediately() -> None:
    connection = sent()
    with pytest.raises(RemoteProtocolError, match="TLS"):
        connection.receive_data(b"\x16")  # one byte: no waiting for more
    connection = sent()
    with pytest.raises(RemoteProtocolError, match="TLS"):
        connection.receive_data(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    assert not connection.is_reusable


def test_garbage_instead_of_a_status_line() -> None:
    parse_error(b"SSH-2.0-OpenSSH_9.6\r\n", "Malformed")
    parse_error(b"http/1.1 200 OK\r\n\r\n", "Malformed")


# -- RELIABILITY.md 12: truncation --------------------------------------------------------


def test_body_shorter_than_content_length_then_eof() -> None:
    parse_error(ok_head(b"Content-Length: 10") + b"\r\nhello", "5 of 10", eof=True)


def test_eof_mid_chunked_body() -> None:
    data = ok_head(b"Transfer-Encoding: chunked") + b"\r\n5\r\nhello\r\n"
    parse_error(data, "chunked", eof=True)
    parse_error(data + b"0\r\nTrailer: x\r\n", "chunked", eof=True)


def test_eof_mid_headers() -> None:
    parse_error(b"HTTP/1.1 200 OK\r\nContent-Le", "headers", eof=True)


def test_eof_without_a_response() -> None:
    connection = sent()
    with pytest.raises(RemoteProtocolError, match="without sending a response"):
        connection.receive_eof()
    assert not connection.is_reusable
    parse_error(b"HTTP/1.1 100 Continue\r\n\r\n", "without sending a response", eof=True)


def test_eof_after_a_complete_response() -> None:
    connection = sent()
    connection.receive_data(ok_head(b"Content-Length: 0") + b"\r\n")
    assert connection.receive_eof() == []
    assert not connection.is_reusable


def test_eof_on_an_idle_connection() -> None:
    connection = HTTP11Connection()
    assert connection.receive_eof() == []
    assert not connection.is_reusable
    with pytest.raises(LocalProtocolError):
        connection.start_next_cycle()
    with pytest.raises(LocalProtocolError):
        connection.send_request_head(b"GET", b"/", HOST)


def test_start_next_cycle_on_a_fresh_connection_does_nothing() -> None:
    connection = HTTP11Connection()
    connection.start_next_cycle()
    assert connection.is_reusable
    assert connection.send_request_head(b"GET", b"/", HOST).startswith(b"GET / ")


# -- RELIABILITY.md 13: bounded heads ------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        b"HTTP/1.1 200 OK\r\nX-Endless: ",  # a header value
        b"HTTP/1.1 200 OK\r\nX-Endless",  # a header name
        b"HTTP/1.1 200 ",  # the reason phrase
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: ",  # a trailer
    ],
)
def test_endless_header_line(prefix: bytes) -> None:
    limit = 1000
    connection = sent(max_header_line_size=limit)
    fed, error = fed_until_error(connection, [prefix, *itertools.repeat(b"a" * 100, 100)])
    assert "max_header_line_size" in error
    assert fed <= len(prefix) + limit + 100  # refused as soon as a read passes the limit


def test_header_line_at_the_limit_is_accepted() -> None:
    line = b"X-Long: " + b"v" * (1000 - 8)
    events, _ = parse(ok_head(line, b"Content-Length: 0") + b"\r\n", max_header_line_size=1000)
    assert isinstance(events[0], ResponseReceived)


@pytest.mark.parametrize(
    "head",
    [
        ok_head(b"X-Long: " + b"v" * 993, b"Content-Length: 0"),
        ok_head(b"X-" + b"n" * 997 + b": v", b"Content-Length: 0"),
        ok_head(status=b"200 " + b"r" * 988) + b"Content-Length: 0\r\n",
        b"HTTP/1.1 100 Continue\r\n" + b"X-Long: " + b"v" * 993 + b"\r\n",
    ],
)
def test_complete_header_line_over_the_limit(head: bytes) -> None:
    # Refused however the reads fall: a line that arrives whole is no more acceptable.
    data = head + b"\r\n" + ok_head(b"Content-Length: 0") + b"\r\n"
    for feed in (feed_whole, feed_bytewise):
        connection = sent(max_header_line_size=1000)
        with pytest.raises(RemoteProtocolError, match="max_header_line_size"):
            feed(connection, data, eof=False)
    # Split in two reads after the line: still refused.
    _, error = fed_until_error(sent(max_header_line_size=1000), [head, b"\r\n"])
    assert "max_header_line_size" in error


def test_default_header_line_limit() -> None:
    connection = sent()
    with pytest.raises(RemoteProtocolError, match="max_header_line_size"):
        connection.receive_data(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000)


def test_too_many_headers() -> None:
    headers = [b"X-H%d: v" % index for index in range(20)]
    events, _ = parse(ok_head(*headers) + b"\r\n", eof=True, max_header_count=20)
    assert isinstance(events[0], ResponseReceived)
    assert len(events[0].headers) == 20
    for feed in (feed_whole, feed_bytewise):
        connection = sent(max_header_count=19)
        with pytest.raises(RemoteProtocolError, match="max_header_count"):
            feed(connection, ok_head(*headers) + b"\r\n", eof=False)


def test_endless_headers_fail_while_arriving() -> None:
    lines = (b"X-H%d: v\r\n" % index for index in range(100_000))
    fed, error = fed_until_error(sent(), itertools.chain([b"HTTP/1.1 200 OK\r\n"], lines))
    assert "max_header_count" in error
    assert fed < 201 * 15  # one read past the limit, not the 100 000 on offer


def test_too_many_trailers() -> None:
    trailers = b"".join(b"T%d: v\r\n" % index for index in range(11))
    data = ok_head(b"Transfer-Encoding: chunked") + b"\r\n0\r\n" + trailers + b"\r\n"
    for feed in (feed_whole, feed_bytewise):
        connection = sent(max_header_count=10)
        with pytest.raises(RemoteProtocolError, match="max_header_count"):
            feed(connection, data, eof=False)


# -- RELIABILITY.md 14: nothing preallocated ----------------------------------------------


def test_huge_content_length_allocates_nothing() -> None:
    connection = sent()
    tracemalloc.start()
    try:
        events = connection.receive_data(ok_head(b"Content-Length: 10000000000") + b"\r\nhello")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events[1:] == [DataReceived(b"hello")]
    assert peak < 64 * 1024
    with pytest.raises(RemoteProtocolError, match="5 of 10000000000"):
        connection.receive_eof()


# -- bytes nobody asked for ----------------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [b"X", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b"\x16\x03\x01", b"\r\nX"]
)
def test_extra_bytes_after_a_response(extra: bytes) -> None:
    events, reusable = parse(ok_head(b"Content-Length: 2") + b"\r\nok" + extra)
    assert events[1:] == [DataReceived(b"ok"), ResponseEnded()]  # no error, no second response
    assert not reusable


def test_extra_bytes_in_a_later_read() -> None:
    connection = sent()
    connection.receive_data(ok_head(b"Content-Length: 0") + b"\r\n")
    assert connection.is_reusable
    assert connection.receive_data(b"HTTP/1.1 200 OK\r\n") == []
    assert not connection.is_reusable
    with pytest.raises(LocalProtocolError):
        connection.start_next_cycle()


def test_extra_bytes_after_connection_close() -> None:
    events, reusable = parse(ok_head(b"Connection: close", b"Content-Length: 0") + b"\r\nX")
    assert events[-1] == ResponseEnded()
    assert not reusable


def test_blank_lines_between_responses_are_ignored() -> None:
    # llhttp skips CR/LF before a status line (RFC 9112 §2.2 allows it), so they are harmless.
    _, reusable = parse(ok_head(b"Content-Length: 0") + b"\r\n\r\n\r\n")
    assert reusable
    connection = HTTP11Connection()
    assert connection.receive_data(b"\r\n") == []
    assert connection.is_reusable


def test_bytes_before_any_request() -> None:
    connection = HTTP11Connection()
    assert connection.receive_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n") == []
    assert not connection.is_reusable


def test_response_before_the_request_was_fully_sent() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"POST", b"/upload", [*HOST, (b"Content-Length", b"100")])
    connection.send_body(b"x" * 10)
    data = ok_head(b"Content-Length: 0", status=b"413 Content Too Large") + b"\r\n"
    events = connection.receive_data(data)
    assert [type(event) for event in events] == [ResponseReceived, ResponseEnded]
    assert not connection.is_reusable
    with pytest.raises(LocalProtocolError):
        connection.start_next_cycle()


def test_receiving_after_a_failure_is_refused() -> None:
    connection = sent()
    with pytest.raises(RemoteProtocolError):
        connection.receive_data(b"garbage\r\n")
    with pytest.raises(LocalProtocolError):
        connection.receive_data(b"more")


# -- sending -------------------------------------------------------------------------------


def test_request_head_serialisation() -> None:
    connection = HTTP11Connection()
    head = connection.send_request_head(
        b"GET",
        b"/path?query=1",
        [(b"Host", b"example.com"), (b"X-Case", b"Keep\tTabs \xe9"), (b"Accept", b"*/*")],
    )
    assert head == (
        b"GET /path?query=1 HTTP/1.1\r\nHost: example.com\r\nX-Case: Keep\tTabs \xe9\r\n"
        b"Accept: */*\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (b"GET\r\n", b"/", HOST),
        (b"GE T", b"/", HOST),
        (b"", b"/", HOST),
        (b"G\x00T", b"/", HOST),
        (b"GET", b"/a b", HOST),
        (b"GET", b"/a\tb", HOST),
        (b"GET", b"/\r\nX-Injected: 1", HOST),
        (b"GET", b"/\n", HOST),
        (b"GET", b"/\x00", HOST),
        (b"GET", b"/\x7f", HOST),
        (b"GET", b"", HOST),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\r\nX-Injected: 1")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\rb")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\nb")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\x00b")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\x01b")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\x7fb")]),
        (b"GET", b"/", [*HOST, (b"X-Bad\r\nX-Injected", b"1")]),
        (b"GET", b"/", [*HOST, (b"X-Bad:", b"1")]),
        (b"GET", b"/", [*HOST, (b"X Bad", b"1")]),
        (b"GET", b"/", [*HOST, (b"", b"1")]),
        (b"GET", b"/", [*HOST, (b"X-\xe9", b"1")]),
        (b"GET", b"/", []),  # no Host
        (b"GET", b"/", [*HOST, (b"host", b"other.example")]),
        (b"POST", b"/", [*HOST, (b"Content-Length", b"+5")]),
        (b"POST", b"/", [*HOST, (b"Content-Length", b"1,2")]),
        (b"POST", b"/", [*HOST, (b"Content-Length", b"five")]),
        (b"POST", b"/", [*HOST, (b"Content-Length", b"5"), (b"Content-Length", b"6")]),
        (b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"gzip")]),
        (b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"chunked, gzip")]),
        (
            b"POST",
            b"/",
            [*HOST, (b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"chunked")],
        ),
        (b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5")]),
    ],
)
def test_request_heads_refused_before_anything_is_written(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    connection = HTTP11Connection()
    with pytest.raises(LocalProtocolError):
        connection.send_request_head(method, target, headers)
    # Refused means nothing happened: the connection is as good as new.
    assert connection.is_reusable
    assert connection.send_request_head(b"GET", b"/", HOST).startswith(b"GET / HTTP/1.1\r\n")


def _triples(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes, bytes]]:
    # As `Headers._list` keeps them: (name, lower-case name, value).
    return [(name, name.lower(), value) for name, value in headers]


@pytest.mark.parametrize(
    "headers",
    [
        HOST,
        [(b"Host", b"example.com"), (b"X-Case", b"Keep\tTabs \xe9"), (b"Accept", b"*/*")],
        [(b"X-First", b"1"), *HOST, (b"Date", b"today"), (b"Link", b"<x>")],  # 4-byte names
        [*HOST, (b"Content-Length", b"5")],
        [*HOST, (b"content-length", b" 5 "), (b"Content-Length", b"5")],
        [*HOST, (b"Transfer-Encoding", b"Chunked")],
        [*HOST, (b"X-Transfer-Encodin", b"gzip"), (b"Content-Lengths", b"7")],  # near misses
    ],
)
def test_request_head_from_triples_is_the_head_from_pairs(
    headers: list[tuple[bytes, bytes]],
) -> None:
    head, framing = serialise_head(b"POST", b"/upload?x=1", headers)
    triple_head, triple_framing = serialise_head(b"POST", b"/upload?x=1", _triples(headers))
    assert triple_head == head
    # Pairs are picked by the length of their names, triples by name: the same framing.
    assert request_framing(triple_framing) == request_framing(framing)
    assert {name.lower() for name, _ in triple_framing} <= {
        b"host",
        b"content-length",
        b"transfer-encoding",
    }
    # Through the connection, as the transports send `Headers`' triples: the same request.
    by_pairs, by_triples = HTTP11Connection(), HTTP11Connection()
    assert by_triples.send_request_head(b"POST", b"/upload?x=1", _triples(headers)) == (  # type: ignore[arg-type]
        by_pairs.send_request_head(b"POST", b"/upload?x=1", headers)
    )
    assert _send_body(by_triples, b"12345") == _send_body(by_pairs, b"12345")


def _send_body(connection: HTTP11Connection, body: bytes) -> object:
    try:
        return [*connection.send_body(body), connection.end_request()]
    except LocalProtocolError as exc:
        return str(exc)


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (b"GE T", b"/", HOST),
        (b"GET", b"/a b", HOST),
        (b"GET", b"/\r\nX-Injected: 1", HOST),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\r\nX-Injected: 1")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\x00b")]),
        (b"GET", b"/", [*HOST, (b"X-Bad", b"a\x7fb")]),
        (b"GET", b"/", [*HOST, (b"X-Bad\r\nX-Injected", b"1")]),
        (b"GET", b"/", [*HOST, (b"X Bad", b"1")]),
        (b"GET", b"/", [(b"X-Only", b"1")]),  # no Host
        (b"GET", b"/", [*HOST, (b"HOST", b"other.example")]),
        (b"POST", b"/", [*HOST, (b"Content-Length", b"five")]),
        (b"POST", b"/", [*HOST, (b"content-length", b"5"), (b"Content-Length", b"6")]),
        (b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"gzip")]),
        (b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5")]),
    ],
)
def test_request_heads_from_triples_refused_as_from_pairs(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(LocalProtocolError) as from_pairs:
        HTTP11Connection().send_request_head(method, target, headers)
    connection = HTTP11Connection()
    with pytest.raises(LocalProtocolError) as from_triples:
        connection.send_request_head(method, target, _triples(headers))  # type: ignore[arg-type]
    assert str(from_triples.value) == str(from_pairs.value)
    assert connection.is_reusable


def test_content_length_body_is_passed_through_uncopied() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"PUT", b"/", [*HOST, (b"content-length", b"10")])
    first, second = b"hello", memoryview(bytearray(b"world"))
    assert connection.send_body(b"") == []
    [piece] = connection.send_body(first)
    assert piece is first
    [piece] = connection.send_body(second)
    assert piece is second
    assert connection.end_request() == b""


def test_content_length_overrun_and_underrun() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"PUT", b"/", [*HOST, (b"Content-Length", b"3")])
    with pytest.raises(LocalProtocolError, match="Too much"):
        connection.send_body(b"four")
    assert not connection.is_reusable
    connection = HTTP11Connection()
    connection.send_request_head(b"PUT", b"/", [*HOST, (b"Content-Length", b"3")])
    connection.send_body(b"ab")
    with pytest.raises(LocalProtocolError, match="Too little"):
        connection.end_request()


def test_no_framing_headers_means_no_body() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"POST", b"/", HOST)
    with pytest.raises(LocalProtocolError, match="Too much"):
        connection.send_body(b"x")


def test_chunked_body_framing() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"POST", b"/", [*HOST, (b"Transfer-Encoding", b"Chunked")])
    data = b"x" * 300
    pieces = connection.send_body(data)
    assert pieces == [b"12c\r\n", data, b"\r\n"]
    assert pieces[1] is data
    assert connection.send_body(b"") == []  # an empty chunk would end the body
    view = memoryview(array.array("i", [1, 2, 3]))  # 3 items, 12 bytes
    assert connection.send_body(view)[0] == b"c\r\n"
    assert connection.end_request() == b"0\r\n\r\n"


def test_identical_duplicate_content_length_is_sent() -> None:
    connection = HTTP11Connection()
    headers = [*HOST, (b"Content-Length", b"2"), (b"Content-Length", b"2")]
    connection.send_request_head(b"POST", b"/", headers)
    assert connection.send_body(b"ok") == [b"ok"]


def test_request_state_errors() -> None:
    connection = HTTP11Connection()
    with pytest.raises(LocalProtocolError):
        connection.send_body(b"x")
    with pytest.raises(LocalProtocolError):
        connection.end_request()
    connection.send_request_head(b"GET", b"/", HOST)
    with pytest.raises(LocalProtocolError):
        connection.send_request_head(b"GET", b"/", HOST)
    connection.end_request()
    with pytest.raises(LocalProtocolError):
        connection.end_request()
    with pytest.raises(LocalProtocolError):
        connection.start_next_cycle()  # the response has not arrived


def test_reusable_only_once_the_request_is_sent() -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"POST", b"/", [*HOST, (b"Content-Length", b"2")])
    connection.receive_data(ok_head(b"Content-Length: 0") + b"\r\n")
    assert not connection.is_reusable  # the body is still owed
    connection.send_body(b"ok")
    connection.end_request()
    assert connection.is_reusable
    connection.start_next_cycle()
