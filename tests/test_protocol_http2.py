"""The sans-I/O HTTP/2 core, driven against a real h2 server connection in memory.

Misbehaviour that h2's server API will not produce (a GOAWAY it does not close on, a window
overflow, endless CONTINUATION frames) is written as frames with hyperframe, between the
server's own bytes. RELIABILITY.md items 6 and 17 are marked where they are tested.

The core runs on jh2 when it is installed, on h2 otherwise (`_h2lib`); the server here is
always h2. Run this file under each: ``ZEPHYR_HTTP2_LIBRARY=h2`` and ``ZEPHYR_HTTP2_LIBRARY=jh2``.
"""

from __future__ import annotations

import array
import importlib.util
import os
import pathlib
import random
import subprocess
import sys
import tracemalloc
from typing import Any

import pytest
from h2 import events as h2_events
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hpack import NeverIndexedHeaderTuple
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from zephyr._exceptions import LocalProtocolError, RemoteProtocolError
from zephyr._protocol import _h2lib, http2, http2_h2
from zephyr._protocol.events import (
    ConnectionTerminated,
    HTTP2Event,
    PingAcknowledged,
    SettingsChanged,
    StreamDataReceived,
    StreamEnded,
    StreamInformationalResponseReceived,
    StreamReset,
    StreamResponseReceived,
    StreamTrailersReceived,
    WindowUpdated,
)
from zephyr._protocol.http2 import (
    CANCEL,
    FLOW_CONTROL_ERROR,
    NO_ERROR,
    PROTOCOL_ERROR,
    REFUSED_STREAM,
    HTTP2Connection,
)

MiB = 1024 * 1024
HOST = [(b"Host", b"example.com")]


class Peers:
    """A zephyr client and a real h2 server, connected in memory, preface exchanged."""

    def __init__(self, client: HTTP2Connection | None = None, **server_options: Any) -> None:
        self.client = client if client is not None else HTTP2Connection()
        self.server = H2Connection(
            H2Configuration(client_side=False, header_encoding=None, **server_options)
        )
        self.server.initiate_connection()
        self.settings_seen = self.server.receive_data(self.client.initiate())
        self.first_events = self.client.receive_data(self.server.data_to_send())
        self.to_server()  # our SETTINGS ACK

    def to_server(self) -> list[Any]:
        return self.server.receive_data(self.client.data_to_send())

    def to_client(self, extra: bytes = b"", *, bytewise: bool = False) -> list[HTTP2Event]:
        data = self.server.data_to_send() + extra
        if not bytewise:
            return self.client.receive_data(data)
        events: list[HTTP2Event] = []
        for index in range(len(data)):
            events += self.client.receive_data(data[index : index + 1])
        return events

    def get(self, path: bytes = b"/", headers: list[tuple[bytes, bytes]] | None = None) -> int:
        """Send a GET; return its stream id once the server has it."""
        stream_id = self.client.send_request(
            b"GET",
            b"https",
            b"example.com",
            path,
            HOST if headers is None else headers,
            end_stream=True,
        )
        received = [e for e in self.to_server() if isinstance(e, h2_events.RequestReceived)]
        assert [e.stream_id for e in received] == [stream_id]
        return stream_id

    def respond(
        self,
        stream_id: int,
        body: bytes = b"",
        *,
        status: bytes = b"200",
        headers: list[tuple[bytes, bytes]] | None = None,
        end_stream: bool = True,
    ) -> None:
        fields = [(b":status", status)]
        fields += [(b"content-length", str(len(body)).encode())] if headers is None else headers
        self.server.send_headers(stream_id, fields, end_stream=end_stream and not body)
        if body:
            self.server.send_data(stream_id, body, end_stream=end_stream)


def of_type(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def merged(events: list[HTTP2Event]) -> list[HTTP2Event]:
    """Adjacent data of a stream joined: a split feed delivers a body in more pieces."""
    result: list[HTTP2Event] = []
    for event in events:
        previous = result[-1] if result else None
        if (
            isinstance(event, StreamDataReceived)
            and isinstance(previous, StreamDataReceived)
            and previous.stream_id == event.stream_id
        ):
            result[-1] = StreamDataReceived(
                event.stream_id,
                previous.data + event.data,
                previous.flow_controlled_length + event.flow_controlled_length,
            )
        else:
            result.append(event)
    return result


def frame_bytes(*frames: Any) -> bytes:
    return b"".join(frame.serialize() for frame in frames)


# -- the connection ---------------------------------------------------------------------------


def test_preface_announces_large_windows_no_push_and_the_header_list_limit() -> None:
    peers = Peers()
    (settings,) = of_type(peers.settings_seen, h2_events.RemoteSettingsChanged)
    announced = {code: change.new_value for code, change in settings.changed_settings.items()}
    assert announced[SettingCodes.ENABLE_PUSH] == 0
    assert announced[SettingCodes.INITIAL_WINDOW_SIZE] == 8 * MiB
    assert announced[SettingCodes.MAX_HEADER_LIST_SIZE] == 256 * 1024
    # The connection's window is grown by WINDOW_UPDATE (RFC 9113 §6.9.2): 16 MiB.
    assert peers.server.outbound_flow_control_window == 16 * MiB
    stream_id = peers.get()
    assert peers.server.local_flow_control_window(stream_id) == 8 * MiB
    assert peers.first_events == [SettingsChanged(max_concurrent_streams=100)]


def test_window_sizes_are_configurable_and_checked() -> None:
    peers = Peers(HTTP2Connection(initial_window_size=100_000, connection_window_size=65_535))
    assert peers.server.outbound_flow_control_window == 65_535
    assert peers.server.local_flow_control_window(peers.get()) == 65_535  # the smaller one
    with pytest.raises(ValueError):
        HTTP2Connection(connection_window_size=1000)
    with pytest.raises(ValueError):
        HTTP2Connection(initial_window_size=2**31)


def test_ping_from_the_server_is_answered() -> None:
    peers = Peers()
    peers.server.ping(b"12345678")
    assert peers.to_client() == []  # answered, not reported
    (ack,) = of_type(peers.to_server(), h2_events.PingAckReceived)
    assert ack.ping_data == b"12345678"


def test_our_ping_is_acknowledged() -> None:
    peers = Peers()
    data = peers.client.ping()
    assert len(data) == 8
    peers.to_server()
    assert peers.to_client() == [PingAcknowledged(data)]
    assert peers.client.ping(b"abcdefgh") == b"abcdefgh"


def test_max_concurrent_streams_from_settings_limits_available_streams() -> None:
    peers = Peers()
    assert peers.client.available_streams == 100  # assumed until the server says otherwise
    peers.server.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 10})
    assert peers.to_client() == [SettingsChanged(max_concurrent_streams=10)]
    peers.to_server()
    assert peers.client.available_streams == 10
    stream_ids = [peers.get() for _ in range(10)]
    assert peers.client.available_streams == 0
    assert peers.client.active_streams == 10
    with pytest.raises(LocalProtocolError, match="10 concurrent streams"):
        peers.client.send_request(b"GET", b"https", b"example.com", b"/", HOST, end_stream=True)
    assert peers.client.data_to_send() == b""
    peers.respond(stream_ids[3])
    events = peers.to_client()
    assert events[-1] == StreamEnded(stream_ids[3])
    assert peers.client.available_streams == 1
    peers.get()  # takes the freed slot


def test_settings_without_a_stream_limit_lift_the_assumed_one() -> None:
    server_said_nothing = Peers()  # h2's server announces MAX_CONCURRENT_STREAMS 100 ...
    assert server_said_nothing.client.available_streams == 100
    peers = Peers()
    peers.server.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
    peers.to_client()
    assert peers.client.available_streams == 1000


def test_larger_initial_window_from_the_server_reports_window_growth() -> None:
    peers = Peers()
    peers.server.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 65_535 + 1000})
    assert peers.to_client() == [
        SettingsChanged(max_concurrent_streams=100),
        WindowUpdated(0, 1000),
    ]


def test_close_queues_goaway_and_refuses_new_requests() -> None:
    peers = Peers()
    peers.client.close()
    (terminated,) = of_type(peers.to_server(), h2_events.ConnectionTerminated)
    assert terminated.error_code == NO_ERROR
    assert peers.client.is_closed
    assert peers.client.available_streams == 0
    with pytest.raises(LocalProtocolError, match="closed"):
        peers.client.send_request(b"GET", b"https", b"example.com", b"/", HOST, end_stream=True)
    peers.client.close()  # idempotent
    assert peers.client.receive_data(b"anything") == []


def test_eof_closes_the_connection() -> None:
    peers = Peers()
    peers.client.receive_eof()
    assert peers.client.is_closed
    assert peers.client.available_streams == 0


# -- requests and responses -------------------------------------------------------------------


@pytest.mark.parametrize("bytewise", [False, True])
def test_get_round_trip(bytewise: bool) -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.respond(stream_id, b"hello", headers=[(b"content-length", b"5"), (b"server", b"h2")])
    events = merged(peers.to_client(bytewise=bytewise))
    assert events == [
        StreamResponseReceived(
            stream_id, 200, "HTTP/2", [(b"content-length", b"5"), (b"server", b"h2")]
        ),
        StreamDataReceived(stream_id, b"hello", 5),
        StreamEnded(stream_id),
    ]
    assert peers.client.active_streams == 0
    peers.client.acknowledge_received_data(stream_id, 5)
    assert peers.client.available_streams == 100


def test_response_without_body() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.respond(stream_id, status=b"204", headers=[])
    assert peers.to_client() == [
        StreamResponseReceived(stream_id, 204, "HTTP/2", []),
        StreamEnded(stream_id),
    ]
    assert peers.client.active_streams == 0


def test_post_with_body() -> None:
    peers = Peers()
    client = peers.client
    stream_id = client.send_request(
        b"POST",
        b"https",
        b"example.com",
        b"/upload",
        [*HOST, (b"Content-Length", b"11"), (b"Content-Type", b"text/plain")],
        end_stream=False,
    )
    assert client.send_data(stream_id, b"hello ", end_stream=False) == 6
    assert client.send_data(stream_id, memoryview(b"world"), end_stream=True) == 5
    events = peers.to_server()
    (request,) = of_type(events, h2_events.RequestReceived)
    assert request.headers == [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":authority", b"example.com"),
        (b":path", b"/upload"),
        (b"content-length", b"11"),
        (b"content-type", b"text/plain"),
    ]
    assert b"".join(e.data for e in of_type(events, h2_events.DataReceived)) == b"hello world"
    assert of_type(events, h2_events.StreamEnded)
    peers.respond(stream_id, b"ok")
    assert [type(e) for e in peers.to_client()] == [
        StreamResponseReceived,
        StreamDataReceived,
        StreamEnded,
    ]


def test_end_stream_after_the_body() -> None:
    peers = Peers()
    stream_id = peers.client.send_request(
        b"PUT", b"https", b"example.com", b"/", HOST, end_stream=False
    )
    peers.client.send_data(stream_id, b"abc", end_stream=False)
    peers.client.end_stream(stream_id)
    events = peers.to_server()
    assert b"".join(e.data for e in of_type(events, h2_events.DataReceived)) == b"abc"
    assert of_type(events, h2_events.StreamEnded)
    with pytest.raises(LocalProtocolError, match="not open for sending"):
        peers.client.send_data(stream_id, b"more", end_stream=False)


@pytest.mark.parametrize("bytewise", [False, True])
def test_hundred_concurrent_streams_interleaved(bytewise: bool) -> None:
    peers = Peers()
    stream_ids = [peers.get(f"/{n}".encode()) for n in range(100)]
    assert peers.client.active_streams == 100
    rng = random.Random(1)
    order = stream_ids[:]
    rng.shuffle(order)
    for stream_id in order:
        peers.server.send_headers(stream_id, [(b":status", b"200")])
    # Each body in three pieces, the pieces of all streams shuffled together.
    pieces = [(stream_id, part) for stream_id in stream_ids for part in range(3)]
    rng.shuffle(pieces)
    sent: dict[int, int] = dict.fromkeys(stream_ids, 0)
    for stream_id, _ in pieces:
        sent[stream_id] += 1
        body = f"stream {stream_id} part {sent[stream_id]};".encode()
        peers.server.send_data(stream_id, body, end_stream=sent[stream_id] == 3)
    events = peers.to_client(bytewise=bytewise)
    bodies: dict[int, bytes] = dict.fromkeys(stream_ids, b"")
    ended = []
    for event in events:
        if isinstance(event, StreamDataReceived):
            bodies[event.stream_id] += event.data
            peers.client.acknowledge_received_data(event.stream_id, event.flow_controlled_length)
        elif isinstance(event, StreamEnded):
            ended.append(event.stream_id)
    assert sorted(ended) == stream_ids
    for stream_id in stream_ids:
        assert bodies[stream_id] == b"".join(
            f"stream {stream_id} part {part};".encode() for part in (1, 2, 3)
        )
    assert len(of_type(events, StreamResponseReceived)) == 100
    assert peers.client.active_streams == 0


def test_many_rounds_keep_h2_state_small() -> None:
    peers = Peers()
    for _ in range(20):
        stream_ids = [peers.get() for _ in range(50)]
        for stream_id in stream_ids:
            peers.respond(stream_id, b"x")
        for event in peers.to_client():
            if isinstance(event, StreamDataReceived):
                peers.client.acknowledge_received_data(event.stream_id, 1)
        peers.to_server()
    assert peers.client.active_streams == 0
    assert len(peers.client._streams) == 0
    # Closed streams are forgotten in batches: h2 never holds more than a few batches.
    assert len(peers.client._h2.streams) <= 2 * 64 + 50


def test_informational_response_then_final() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"103"), (b"link", b"</s.css>")])
    peers.respond(stream_id, b"")
    assert peers.to_client() == [
        StreamInformationalResponseReceived(stream_id, 103, [(b"link", b"</s.css>")]),
        StreamResponseReceived(stream_id, 200, "HTTP/2", [(b"content-length", b"0")]),
        StreamEnded(stream_id),
    ]


def test_endless_informational_responses_are_a_stream_error() -> None:
    peers = Peers(HTTP2Connection(max_informational_responses=3))
    stream_id = peers.get()
    for _ in range(4):
        peers.server.send_headers(stream_id, [(b":status", b"100")])
    events = peers.to_client()
    assert len(of_type(events, StreamInformationalResponseReceived)) == 3
    (reset,) = of_type(events, StreamReset)
    assert "max_informational_responses" in reset.reason


def test_trailers() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.respond(stream_id, b"body", headers=[], end_stream=False)
    peers.server.send_headers(stream_id, [(b"grpc-status", b"0")], end_stream=True)
    assert peers.to_client() == [
        StreamResponseReceived(stream_id, 200, "HTTP/2", []),
        StreamDataReceived(stream_id, b"body", 4),
        StreamTrailersReceived(stream_id, [(b"grpc-status", b"0")]),
        StreamEnded(stream_id),
    ]


def test_padded_data_reports_its_flow_controlled_length() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200")])
    peers.server.send_data(stream_id, b"abc", pad_length=10)
    peers.server.send_data(stream_id, b"", end_stream=True, pad_length=20)  # padding only
    assert peers.to_client() == [
        StreamResponseReceived(stream_id, 200, "HTTP/2", []),
        StreamDataReceived(stream_id, b"abc", 3 + 10 + 1),
        StreamEnded(stream_id),
    ]


# -- request headers (RELIABILITY.md item 6) ----------------------------------------------------


def test_request_headers_are_translated_from_http1_style() -> None:
    peers = Peers()
    headers = [
        (b"Host", b"virtual.example:8443"),
        (b"Accept", b"*/*"),
        (b"Connection", b"keep-alive, Upgrade"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Proxy-Connection", b"keep-alive"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Upgrade", b"h2c"),
        (b"TE", b"gzip"),
        (b"X-Custom", b"  padded value\t"),
        (b"Authorization", b"Bearer secret"),
        (b"Cookie", b"a=1"),
        (b"Cookie", b"long=" + b"x" * 40),
    ]
    stream_id = peers.client.send_request(
        b"GET", b"https", b"example.com", b"/p?q=1", headers, end_stream=True
    )
    (request,) = of_type(peers.to_server(), h2_events.RequestReceived)
    assert request.stream_id == stream_id
    assert request.headers == [
        (b":method", b"GET"),
        (b":scheme", b"https"),
        (b":authority", b"virtual.example:8443"),  # the Host header's value
        (b":path", b"/p?q=1"),
        (b"accept", b"*/*"),
        (b"x-custom", b"padded value"),
        (b"authorization", b"Bearer secret"),
        (b"cookie", b"a=1; long=" + b"x" * 40),  # h2's server joins cookies
    ]
    by_name = {header[0]: header for header in request.headers}
    # RFC 7541 §7.1.3: credentials and short cookies never enter the compression context.
    assert isinstance(by_name[b"authorization"], NeverIndexedHeaderTuple)


def test_te_trailers_is_kept() -> None:
    peers = Peers()
    peers.client.send_request(
        b"POST", b"https", b"a", b"/", [(b"TE", b"Trailers")], end_stream=True
    )
    (request,) = of_type(peers.to_server(), h2_events.RequestReceived)
    assert (b"te", b"trailers") in request.headers


def test_connect_request_has_only_method_and_authority() -> None:
    peers = Peers()
    peers.client.send_request(
        b"CONNECT",
        b"https",
        b"proxy.example:443",
        b"",
        [(b"Host", b"target:443")],
        end_stream=False,
    )
    (request,) = of_type(peers.to_server(), h2_events.RequestReceived)
    assert request.headers == [(b":method", b"CONNECT"), (b":authority", b"target:443")]


@pytest.mark.parametrize(
    ("method", "path", "headers", "match"),
    [
        (b"GET", b"/", [(b"X", b"a\r\nInjected: yes")], "'x'"),
        (b"GET", b"/", [(b"X", b"a\nb")], "CR, LF and NUL"),
        (b"GET", b"/", [(b"X", b"a\rb")], "CR, LF and NUL"),
        (b"GET", b"/", [(b"X", b"a\x00b")], "CR, LF and NUL"),
        (b"GET", b"/", [(b"Host", b"evil\r\n")], "':authority'"),
        (b"GET", b"/a\r\nb", [], "CR, LF and NUL"),
        (b"GET", b"/a b", [], "Invalid request path"),
        (b"GET", b"/a\tb", [], "Invalid request path"),
        (b"GET", b"", [], "Invalid request path"),
        (b"GE T", b"/", [], "Invalid method"),
        (b"GET\r\n", b"/", [], "Invalid method"),
        (b"GET", b"/", [(b"Bad Name", b"v")], "not an HTTP token"),
        (b"GET", b"/", [(b":path", b"/other")], "not an HTTP token"),
        (b"GET", b"/", [(b"X\r\nY", b"v")], "not an HTTP token"),
        (b"GET", b"/", [(b"Host", b"a"), (b"host", b"b")], "More than one Host"),
        (b"GET", b"/", [(b"Content-Length", b"-1")], "Invalid Content-Length"),
        (b"GET", b"/", [(b"Content-Length", b"1"), (b"Content-Length", b"2")], "Conflicting"),
    ],
)
def test_unsafe_requests_are_refused_before_a_byte_is_queued(
    method: bytes, path: bytes, headers: list[tuple[bytes, bytes]], match: str
) -> None:
    peers = Peers()
    with pytest.raises(LocalProtocolError, match=match):
        peers.client.send_request(method, b"https", b"example.com", path, headers, end_stream=True)
    assert peers.client.data_to_send() == b""
    assert peers.client.active_streams == 0
    peers.get()  # the connection is unharmed


def test_request_content_length_is_enforced() -> None:
    peers = Peers()
    client = peers.client
    with pytest.raises(LocalProtocolError, match="Too little data"):
        client.send_request(
            b"POST", b"https", b"a", b"/", [(b"Content-Length", b"3")], end_stream=True
        )
    too_much = client.send_request(
        b"POST", b"https", b"a", b"/", [(b"Content-Length", b"3")], end_stream=False
    )
    with pytest.raises(LocalProtocolError, match="Too much data"):
        client.send_data(too_much, b"abcd", end_stream=True)
    too_little = client.send_request(
        b"POST", b"https", b"a", b"/", [(b"Content-Length", b"3")], end_stream=False
    )
    client.send_data(too_little, b"ab", end_stream=False)
    with pytest.raises(LocalProtocolError, match="Too little data"):
        client.end_stream(too_little)
    # Both streams were reset, the connection is fine.
    resets = of_type(peers.to_server(), h2_events.StreamReset)
    assert [(e.stream_id, e.error_code) for e in resets] == [
        (too_much, CANCEL),
        (too_little, CANCEL),
    ]
    assert client.active_streams == 0
    peers.get()


# -- flow control ------------------------------------------------------------------------------


def test_upload_respects_the_servers_window() -> None:
    peers = Peers()  # h2's server keeps the default 65,535-byte windows
    client = peers.client
    body = bytes(range(256)) * 1024  # 256 KiB
    stream_id = client.send_request(b"POST", b"https", b"a", b"/", HOST, end_stream=False)
    received = bytearray()
    offset = 0
    blocked = 0
    while offset < len(body):
        accepted = client.send_data(stream_id, body[offset:], end_stream=True)
        offset += accepted
        if offset < len(body):
            blocked += 1
            assert client.send_data(stream_id, body[offset:], end_stream=True) == 0
        for event in peers.to_server():
            if isinstance(event, h2_events.DataReceived):
                assert len(event.data) <= peers.server.max_inbound_frame_size
                received += event.data
                peers.server.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
        if offset < len(body):
            assert of_type(peers.to_client(), WindowUpdated)  # credit: the driver sends more
    assert bytes(received) == body
    assert blocked >= 3  # 256 KiB cannot pass a 64 KiB window in one go


def test_upload_in_one_call_is_split_into_frames() -> None:
    peers = Peers(HTTP2Connection())
    peers.server.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 1 * MiB})
    peers.server.increment_flow_control_window(1 * MiB)
    peers.to_client()
    stream_id = peers.client.send_request(b"PUT", b"https", b"a", b"/", HOST, end_stream=False)
    assert peers.client.send_data(stream_id, bytes(100_000), end_stream=True) == 100_000
    events = peers.to_server()
    sizes = [len(event.data) for event in of_type(events, h2_events.DataReceived)]
    assert sum(sizes) == 100_000
    assert max(sizes) == 16_384
    assert of_type(events, h2_events.StreamEnded)


def test_download_waits_for_consumption() -> None:
    window = 65_535
    peers = Peers(HTTP2Connection(initial_window_size=window, connection_window_size=4 * window))
    client, server = peers.client, peers.server
    stream_id = peers.get()
    server.send_headers(stream_id, [(b":status", b"200")])
    # The server can send one stream window's worth, then nothing until we consume.
    assert server.local_flow_control_window(stream_id) == window
    sent = 0
    while server.local_flow_control_window(stream_id):
        chunk = min(16_384, server.local_flow_control_window(stream_id))
        server.send_data(stream_id, bytes(chunk))
        sent += chunk
    assert sent == window
    events = of_type(peers.to_client(), StreamDataReceived)
    assert sum(e.flow_controlled_length for e in events) == window
    peers.to_server()
    assert server.local_flow_control_window(stream_id) == 0  # not consumed: no credit
    for event in events:
        client.acknowledge_received_data(stream_id, event.flow_controlled_length)
    peers.to_server()
    # h2 batches WINDOW_UPDATEs: at least half the window comes back, and the server resumes.
    assert server.local_flow_control_window(stream_id) >= window // 2


def test_large_download_across_many_frames() -> None:
    peers = Peers()
    client, server = peers.client, peers.server
    stream_id = peers.get()
    body = random.Random(2).randbytes(20 * MiB)  # more than both windows
    server.send_headers(stream_id, [(b":status", b"200"), (b"content-length", b"%d" % len(body))])
    received = []
    offset = 0
    while True:
        while offset < len(body) and server.local_flow_control_window(stream_id):
            size = min(16_384, server.local_flow_control_window(stream_id), len(body) - offset)
            server.send_data(stream_id, body[offset : offset + size], end_stream=False)
            offset += size
        if offset == len(body):
            server.end_stream(stream_id)
        events = peers.to_client()
        for event in events:
            if isinstance(event, StreamDataReceived):
                received.append(event.data)
                client.acknowledge_received_data(stream_id, event.flow_controlled_length)
        peers.to_server()
        if StreamEnded(stream_id) in events:
            break
    assert b"".join(received) == body
    assert client.active_streams == 0
    assert not client._streams


def test_reset_hands_unread_credit_back_to_the_connection() -> None:
    window = 65_535
    peers = Peers(HTTP2Connection(initial_window_size=window, connection_window_size=2 * window))
    server = peers.server
    stream_id = peers.get()
    server.send_headers(stream_id, [(b":status", b"200")])
    for _ in range(4):
        server.send_data(stream_id, bytes(16_383))
    server.send_data(stream_id, bytes(3))
    assert of_type(peers.to_client(), StreamDataReceived)
    assert server.outbound_flow_control_window == window  # half the connection's is used
    peers.client.reset_stream(stream_id)  # abandoned unread
    events = peers.to_server()
    assert [(e.stream_id, e.error_code) for e in of_type(events, h2_events.StreamReset)] == [
        (stream_id, CANCEL)
    ]
    assert server.outbound_flow_control_window == 2 * window
    assert peers.client.active_streams == 0
    peers.client.reset_stream(stream_id)  # idempotent
    peers.client.acknowledge_received_data(stream_id, 100)  # ignored: handed back already


def test_data_after_our_reset_is_absorbed() -> None:
    peers = Peers()
    first, second = peers.get(), peers.get()
    peers.client.reset_stream(first)
    peers.respond(first, b"late body")  # crossed our RST_STREAM on the wire
    peers.respond(second, b"ok")
    events = peers.to_client()
    assert {getattr(e, "stream_id", None) for e in events} == {second}


def test_abandoning_a_finished_response_hands_back_its_credit() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.respond(stream_id, b"x" * 1000)
    peers.to_client()
    peers.client.reset_stream(stream_id)  # closed before reading: nothing sent, credit back
    assert not peers.client._streams
    assert peers.client.data_to_send() == b""


# -- a misbehaving server (RELIABILITY.md item 17) ------------------------------------------


def test_response_header_list_over_the_limit_is_a_connection_error() -> None:
    peers = Peers(HTTP2Connection(max_header_list_size=16 * 1024))
    stream_id = peers.get()
    fields = [(b":status", b"200")] + [(b"x-%d" % n, b"v" * 1000) for n in range(20)]
    peers.server.send_headers(stream_id, fields, end_stream=True)
    with pytest.raises(RemoteProtocolError, match="max_header_list_size"):
        peers.to_client()
    (goaway,) = of_type(peers.to_server(), h2_events.ConnectionTerminated)
    assert goaway.error_code == ErrorCodes.ENHANCE_YOUR_CALM
    assert peers.client.is_closed
    assert peers.client.available_streams == 0
    assert peers.client.receive_data(b"more") == []


@pytest.mark.parametrize("block", [b"\x00", b"\x0f", b"\x40", b"\x00\x81", b"\xbe"])
def test_a_header_block_that_cannot_be_decoded_fails_the_connection(block: bytes) -> None:
    # Truncated literals and integers, an index past the table: the first three make jh2's
    # native decoder panic (jh2 reports that panic as a ProtocolError).
    peers = Peers()
    stream_id = peers.get()
    frame = HeadersFrame(stream_id, data=block, flags=["END_HEADERS"])
    with pytest.raises(RemoteProtocolError):
        peers.client.receive_data(frame.serialize())
    assert of_type(peers.to_server(), h2_events.ConnectionTerminated)


class PanicException(BaseException):
    """What pyo3 raises for a panic in native code; a BaseException."""


class PanickingDecoder:
    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def decode(self, data: bytes, raw: bool = False) -> Any:
        raise PanicException("attempt to add with overflow")


def test_a_panic_in_native_hpack_is_a_connection_error_not_a_base_exception() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.client._h2.decoder = PanickingDecoder(peers.client._h2.decoder)
    peers.server.send_headers(stream_id, [(b":status", b"200")], end_stream=True)
    with pytest.raises(RemoteProtocolError, match="COMPRESSION_ERROR"):
        peers.to_client()
    assert peers.client.is_closed
    (goaway,) = of_type(peers.to_server(), h2_events.ConnectionTerminated)
    assert goaway.error_code == ErrorCodes.COMPRESSION_ERROR


def test_other_base_exceptions_from_the_library_are_not_swallowed() -> None:
    peers = Peers()
    stream_id = peers.get()
    decoder = PanickingDecoder(peers.client._h2.decoder)
    decoder.decode = lambda data, raw=False: (_ for _ in ()).throw(KeyboardInterrupt())  # type: ignore[method-assign]
    peers.client._h2.decoder = decoder
    peers.server.send_headers(stream_id, [(b":status", b"200")], end_stream=True)
    with pytest.raises(KeyboardInterrupt):
        peers.to_client()


def test_a_stream_window_the_server_does_not_announce_is_65535() -> None:
    # RFC 9113 §6.5.2: SETTINGS_INITIAL_WINDOW_SIZE is 65,535 until the server says otherwise,
    # as it may never do; jh2 alone would assume 6 MiB and overrun the server's window.
    client = HTTP2Connection()
    client.initiate()
    settings = SettingsFrame(0, settings={SettingsFrame.MAX_CONCURRENT_STREAMS: 100})
    grow = WindowUpdateFrame(0, window_increment=MiB)  # the connection's window only
    client.receive_data(settings.serialize() + grow.serialize())
    stream_id = client.send_request(b"POST", b"https", b"a", b"/", HOST, end_stream=False)
    assert client.send_data(stream_id, bytes(MiB), end_stream=False) == 65_535


def test_hpack_bomb_is_bounded_by_the_decoded_size() -> None:
    # One 4 KiB field enters the dynamic table, then a block refers to it 200 times: ~1 KiB
    # on the wire, 800 KiB decoded.
    peers = Peers()
    stream_id = peers.get()
    big = (b"x-big", b"v" * 4000)
    peers.server.send_headers(stream_id, [(b":status", b"103"), big])
    peers.to_client()
    peers.server.send_headers(stream_id, [(b":status", b"200")] + [big] * 200, end_stream=True)
    wire = peers.server.data_to_send()
    assert len(wire) < 2000
    with pytest.raises(RemoteProtocolError, match="max_header_list_size"):
        peers.client.receive_data(wire)


def test_endless_continuation_frames_are_bounded() -> None:
    peers = Peers()
    stream_id = peers.get()
    headers = HeadersFrame(stream_id, data=b"\x88")  # :status 200, and no END_HEADERS
    continuation = ContinuationFrame(stream_id, data=b"\x40" + b"\x00" * 16_000).serialize()
    sent = 0

    def endless_continuation() -> None:
        nonlocal sent
        while sent < 10_000:
            sent += 1
            peers.client.receive_data(continuation)

    tracemalloc.start()
    try:
        peers.client.receive_data(headers.serialize())
        with pytest.raises(RemoteProtocolError, match="continuation"):
            endless_continuation()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent <= 65
    assert peak < 4 * MiB


def test_connection_window_overflow_is_a_flow_control_error() -> None:
    peers = Peers()
    peers.get()
    overflow = WindowUpdateFrame(0, window_increment=2**31 - 1)
    with pytest.raises(RemoteProtocolError, match="FLOW_CONTROL_ERROR"):
        peers.to_client(frame_bytes(overflow))
    (goaway,) = of_type(peers.to_server(), h2_events.ConnectionTerminated)
    assert goaway.error_code == ErrorCodes.FLOW_CONTROL_ERROR


def test_stream_window_overflow_resets_that_stream_only() -> None:
    peers = Peers()
    first, second = peers.get(), peers.get()
    overflow = WindowUpdateFrame(first, window_increment=2**31 - 1)
    events = peers.to_client(frame_bytes(overflow))
    assert events == [
        StreamReset(
            first,
            FLOW_CONTROL_ERROR,
            False,
            "Stream reset after the server broke the protocol on it: FLOW_CONTROL_ERROR (0x3).",
        )
    ]
    peers.respond(second, b"fine")
    assert StreamEnded(second) in peers.to_client()


def test_data_beyond_our_window_is_a_flow_control_error() -> None:
    window = 65_535
    peers = Peers(HTTP2Connection(initial_window_size=window, connection_window_size=4 * window))
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200")])
    frames = [DataFrame(stream_id, data=bytes(16_384)) for _ in range(5)]  # 80 KiB > 64 KiB
    with pytest.raises(RemoteProtocolError, match="FLOW_CONTROL_ERROR"):
        peers.to_client(frame_bytes(*frames))


def test_body_longer_than_content_length_resets_that_stream_only() -> None:
    peers = Peers()
    liar, honest = peers.get(), peers.get()
    # Still open: the stream is reset (a stream the server has ended cannot be).
    peers.respond(liar, b"0123456789", headers=[(b"content-length", b"5")], end_stream=False)
    peers.respond(honest, b"ok")
    events = peers.to_client()
    (reset,) = of_type(events, StreamReset)
    assert (reset.stream_id, reset.error_code, reset.remote) == (liar, PROTOCOL_ERROR, False)
    assert "longer than its content-length" in reset.reason
    assert [type(e) for e in events if getattr(e, "stream_id", None) == liar] == [
        StreamResponseReceived,
        StreamReset,
    ]
    assert StreamEnded(honest) in events
    server_events = peers.to_server()
    assert [(e.stream_id, e.error_code) for e in of_type(server_events, h2_events.StreamReset)] == [
        (liar, PROTOCOL_ERROR)
    ]
    assert peers.client.active_streams == 0
    peers.get()  # the connection carries on


def test_body_split_past_content_length_drops_what_follows() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200"), (b"content-length", b"4")])
    for piece in (b"ab", b"cd", b"ef", b"gh"):
        peers.server.send_data(stream_id, piece)
    events = peers.to_client()
    assert [type(e) for e in events] == [
        StreamResponseReceived,
        StreamDataReceived,
        StreamDataReceived,
        StreamReset,
    ]


@pytest.mark.parametrize("trailers", [False, True])
def test_body_shorter_than_content_length_is_a_stream_error(trailers: bool) -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.respond(stream_id, b"abc", headers=[(b"content-length", b"10")], end_stream=not trailers)
    if trailers:
        peers.server.send_headers(stream_id, [(b"x-t", b"1")], end_stream=True)
    events = peers.to_client()
    assert "shorter than its content-length: received 3 of 10" in events[-1].reason  # type: ignore[union-attr]
    assert not of_type(events, StreamEnded)
    assert peers.client.active_streams == 0


def test_headers_ending_the_stream_with_a_content_length_is_a_stream_error() -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(
        stream_id, [(b":status", b"200"), (b"content-length", b"10")], end_stream=True
    )
    assert isinstance(peers.to_client()[-1], StreamReset)


@pytest.mark.parametrize("status", [b"204", b"304"])
def test_no_content_responses_may_announce_a_length(status: bytes) -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", status), (b"content-length", b"100")])
    peers.server.end_stream(stream_id)  # an empty DATA frame with END_STREAM (RFC 9113 §8.1.1)
    assert peers.to_client()[-1] == StreamEnded(stream_id)


def test_response_to_head_has_no_body() -> None:
    peers = Peers()
    head = peers.client.send_request(b"HEAD", b"https", b"a", b"/", HOST, end_stream=True)
    peers.to_server()
    peers.server.send_headers(head, [(b":status", b"200"), (b"content-length", b"1000")])
    peers.server.end_stream(head)
    assert peers.to_client()[-1] == StreamEnded(head)
    with_body = peers.client.send_request(b"HEAD", b"https", b"a", b"/", HOST, end_stream=True)
    peers.to_server()
    peers.respond(with_body, b"surprise")
    (reset,) = of_type(peers.to_client(), StreamReset)
    assert reset.reason == "Response to a HEAD request with a body."


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ([(b"server", b"x")], "':status'"),
        ([(b":status", b"20")], "Invalid ':status'"),
        ([(b":status", b"abc")], "Invalid ':status'"),
        ([(b":status", b"200"), (b":status", b"200")], "pseudo-header"),
        ([(b":status", b"200"), (b":path", b"/")], "pseudo-header"),
        ([(b":status", b"200"), (b"Server", b"x")], "Invalid header name"),
        ([(b":status", b"200"), (b"bad name", b"x")], "Invalid header name"),
        ([(b":status", b"200"), (b"x", b"a\r\nset-cookie: evil")], "CR, LF or NUL"),
        ([(b":status", b"200"), (b"x", b"a\x00")], "CR, LF or NUL"),
        ([(b":status", b"200"), (b"connection", b"close")], "Connection-specific"),
        ([(b":status", b"200"), (b"transfer-encoding", b"chunked")], "Connection-specific"),
        ([(b":status", b"200"), (b"content-length", b"+5")], "Invalid content-length"),
        ([(b":status", b"200"), (b"content-length", b"1" * 19)], "Invalid content-length"),
        ([(b":status", b"200"), (b"content-length", b"1"), (b"content-length", b"2")], "Conf"),
        ([(b":status", b"101")], "101 Switching Protocols"),
    ],
)
def test_malformed_responses_are_stream_errors(
    fields: list[tuple[bytes, bytes]], match: str
) -> None:
    # A server that validates nothing, so that it sends what it is given.
    peers = Peers(
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
        validate_inbound_headers=False,
    )
    bad, good = peers.get(), peers.get()
    peers.server.send_headers(bad, fields)
    peers.respond(good, b"ok")
    events = peers.to_client()
    (reset,) = of_type(events, StreamReset)
    assert reset.stream_id == bad
    assert reset.error_code == PROTOCOL_ERROR
    assert match in reset.reason
    assert events[-1] == StreamEnded(good)
    server_resets = of_type(peers.to_server(), h2_events.StreamReset)
    assert [(e.stream_id, e.error_code) for e in server_resets] == [(bad, PROTOCOL_ERROR)]


def test_a_malformed_response_that_ended_its_stream_is_not_reset() -> None:
    peers = Peers(validate_outbound_headers=False, normalize_outbound_headers=False)
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200"), (b"X", b"y")], end_stream=True)
    (reset,) = of_type(peers.to_client(), StreamReset)
    assert reset.stream_id == stream_id
    assert peers.client.data_to_send() == b""  # RFC 9113 §5.1: nothing on a closed stream
    assert peers.client.active_streams == 0


def test_malformed_trailers_are_a_stream_error() -> None:
    peers = Peers(validate_outbound_headers=False, normalize_outbound_headers=False)
    stream_id = peers.get()
    peers.respond(stream_id, b"x", headers=[], end_stream=False)
    peers.server.send_headers(stream_id, [(b":status", b"200")], end_stream=True)
    (reset,) = of_type(peers.to_client(), StreamReset)
    assert "pseudo-header" in reset.reason


def test_rst_stream_from_the_server_is_a_stream_error_only() -> None:
    peers = Peers()
    refused, failed, fine = peers.get(), peers.get(), peers.get()
    peers.server.reset_stream(refused, REFUSED_STREAM)
    peers.server.reset_stream(failed, ErrorCodes.INTERNAL_ERROR)
    peers.respond(fine, b"ok")
    events = peers.to_client()
    resets = of_type(events, StreamReset)
    assert [(e.stream_id, e.error_code, e.remote) for e in resets] == [
        (refused, REFUSED_STREAM, True),
        (failed, ErrorCodes.INTERNAL_ERROR, True),
    ]
    assert "REFUSED_STREAM" in resets[0].reason
    assert "may be retried" in resets[0].reason
    assert "INTERNAL_ERROR" in resets[1].reason
    assert events[-1] == StreamEnded(fine)
    assert peers.client.active_streams == 0


def test_early_response_then_rst_no_error_stops_the_upload() -> None:
    # RFC 9113 §8.1: a server may answer before the request body is sent, then RST_STREAM
    # with NO_ERROR to stop the upload.
    peers = Peers()
    stream_id = peers.client.send_request(b"POST", b"https", b"a", b"/", HOST, end_stream=False)
    peers.to_server()
    peers.respond(stream_id, b"too big", status=b"413")
    peers.server.reset_stream(stream_id, NO_ERROR)
    events = peers.to_client()
    assert [type(e) for e in events] == [
        StreamResponseReceived,
        StreamDataReceived,
        StreamEnded,
        StreamReset,
    ]
    assert events[-1].error_code == NO_ERROR  # type: ignore[union-attr]
    assert peers.client.active_streams == 0
    with pytest.raises(LocalProtocolError):
        peers.client.send_data(stream_id, b"more", end_stream=True)


def test_goaway_mid_flight_streams_above_the_last_id_are_unprocessed() -> None:
    peers = Peers()
    stream_ids = [peers.get() for _ in range(5)]  # 1, 3, 5, 7, 9
    goaway = GoAwayFrame(0, last_stream_id=3, error_code=NO_ERROR, additional_data=b"bye")
    events = peers.to_client(frame_bytes(goaway))
    assert events == [ConnectionTerminated(NO_ERROR, 3, b"bye", (5, 7, 9))]
    client = peers.client
    assert client.is_goaway_received
    assert client.last_stream_id_processed == 3
    assert client.available_streams == 0
    assert client.active_streams == 2
    assert not client.is_closed
    with pytest.raises(LocalProtocolError, match="GOAWAY"):
        client.send_request(b"GET", b"https", b"a", b"/", HOST, end_stream=True)
    # Streams at or below the last id carry on to the end (RFC 9113 §6.8; h2 issue #1181).
    peers.respond(stream_ids[0], b"one")
    peers.respond(stream_ids[1], b"three")
    events = peers.to_client()
    assert [e for e in events if isinstance(e, StreamEnded)] == [StreamEnded(1), StreamEnded(3)]
    assert client.is_closed  # nothing left in flight


def test_goaway_from_a_real_server() -> None:
    peers = Peers()
    first = peers.get()
    peers.server.close_connection(ErrorCodes.INTERNAL_ERROR, last_stream_id=0)
    assert peers.to_client() == [ConnectionTerminated(ErrorCodes.INTERNAL_ERROR, 0, b"", (first,))]
    assert peers.client.is_closed


def test_second_goaway_lowers_the_last_id() -> None:
    peers = Peers()
    stream_ids = [peers.get() for _ in range(3)]
    first = GoAwayFrame(0, last_stream_id=2**31 - 1, error_code=NO_ERROR)
    assert peers.to_client(frame_bytes(first)) == [
        ConnectionTerminated(NO_ERROR, 2**31 - 1, b"", ())
    ]
    second = GoAwayFrame(0, last_stream_id=stream_ids[0], error_code=NO_ERROR)
    assert peers.to_client(frame_bytes(second)) == [ConnectionTerminated(NO_ERROR, 1, b"", (3, 5))]
    raised = GoAwayFrame(0, last_stream_id=99, error_code=NO_ERROR)
    assert peers.to_client(frame_bytes(raised)) == [ConnectionTerminated(NO_ERROR, 1, b"", ())]


def test_rst_stream_for_a_stream_never_opened_is_ignored() -> None:
    peers = Peers()
    stream_id = peers.get()
    stray = RstStreamFrame(stream_id, error_code=CANCEL)
    peers.client.reset_stream(stream_id)
    assert peers.to_client(frame_bytes(stray)) == []


def test_server_push_is_refused() -> None:
    peers = Peers()
    stream_id = peers.get()
    with pytest.raises(Exception, match="push"):
        # h2's server itself refuses: we announced SETTINGS_ENABLE_PUSH 0 (RFC 9113 §8.4).
        peers.server.push_stream(stream_id, 2, [(b":method", b"GET"), (b":path", b"/x")])


def test_stream_ids_run_out() -> None:
    client = HTTP2Connection()
    Peers(client)
    client._next_stream_id = 2**31 - 3
    assert client.available_streams == 2
    client.send_request(b"GET", b"https", b"a", b"/", HOST, end_stream=True)
    client.send_request(b"GET", b"https", b"a", b"/", HOST, end_stream=True)
    assert client.available_streams == 0
    with pytest.raises(LocalProtocolError, match="stream identifiers"):
        client.send_request(b"GET", b"https", b"a", b"/", HOST, end_stream=True)


def test_upload_from_a_memoryview_of_wider_items() -> None:
    peers = Peers()
    body = array.array("i", range(10_000))  # 40,000 bytes in 4-byte items
    stream_id = peers.client.send_request(b"PUT", b"https", b"a", b"/", HOST, end_stream=False)
    sent = peers.client.send_data(stream_id, memoryview(body), end_stream=True)
    assert sent == 40_000
    events = peers.to_server()
    assert b"".join(e.data for e in of_type(events, h2_events.DataReceived)) == body.tobytes()


def test_many_streams_read_piecemeal_never_stall_on_withheld_credit() -> None:
    # Credit is handed to h2 in batches: whatever the number of streams, what is held back
    # must never leave the server without window while everything sent was consumed.
    window = 65_535
    client = HTTP2Connection(initial_window_size=window, connection_window_size=2 * window)
    peers = Peers(client)
    stream_ids = [peers.get() for _ in range(40)]
    remaining = dict.fromkeys(stream_ids, 20_000)
    for stream_id in stream_ids:
        peers.server.send_headers(stream_id, [(b":status", b"200")])
    while any(remaining.values()):
        progressed = False
        for stream_id in stream_ids:
            size = min(
                1000, remaining[stream_id], peers.server.local_flow_control_window(stream_id)
            )
            if size:
                remaining[stream_id] -= size
                peers.server.send_data(stream_id, bytes(size), end_stream=not remaining[stream_id])
                progressed = True
        for event in peers.to_client():
            if isinstance(event, StreamDataReceived):
                client.acknowledge_received_data(event.stream_id, event.flow_controlled_length)
        peers.to_server()
        assert progressed or any(
            peers.server.local_flow_control_window(s) for s in stream_ids if remaining[s]
        ), "the server has no window left although everything was consumed"
    assert client.active_streams == 0


def test_credit_is_batched_not_sent_per_acknowledgement() -> None:
    peers = Peers()  # 8 MiB stream windows: a stream's batch is 1 MiB
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200")])
    for _ in range(8):
        peers.server.send_data(stream_id, bytes(16_384))
    for event in of_type(peers.to_client(), StreamDataReceived):
        peers.client.acknowledge_received_data(stream_id, event.flow_controlled_length)
    assert peers.client.data_to_send() == b""  # 128 KiB consumed: nothing sent yet


def test_frame_log_line_no_longer_copies_the_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    if _h2lib.LIBRARY == "jh2":
        # jh2 formats no frame it receives: a download never reaches the formatter.
        def refuse(data: bytes | None) -> str:
            raise AssertionError("a received frame was formatted")

        monkeypatch.setattr(_h2lib.hyperframe_frame, "_raw_data_repr", refuse)
        peers = Peers()
        stream_id = peers.get()
        peers.respond(stream_id, bytes(16_000))
        kinds = [type(event) for event in merged(peers.to_client())]
        assert kinds == [StreamResponseReceived, StreamDataReceived, StreamEnded]
        return
    import hyperframe.frame

    assert hyperframe.frame._raw_data_repr is http2_h2._payload_repr
    frame = DataFrame(1, data=bytes(range(200)))
    assert repr(frame).endswith(": <hex:00010203040506070809...>")  # 20 hex digits, as before
    assert http2_h2._payload_repr(b"\x01\x02") == "<hex:0102>"
    assert http2_h2._payload_repr(b"") == "None"


def test_a_frame_announced_too_long_fails_before_it_is_buffered() -> None:
    peers = Peers()
    stream_id = peers.get()
    # A DATA frame header announcing 1 MiB (our SETTINGS_MAX_FRAME_SIZE is 16 KiB).
    header = (1024 * 1024).to_bytes(3, "big") + b"\x00\x00" + stream_id.to_bytes(4, "big")
    peers.client.receive_data(header + bytes(8000))  # not yet more than a frame may be
    with pytest.raises(RemoteProtocolError, match="FRAME_SIZE_ERROR"):
        peers.client.receive_data(bytes(9000))
    (goaway,) = of_type(peers.to_server(), h2_events.ConnectionTerminated)
    assert goaway.error_code == ErrorCodes.FRAME_SIZE_ERROR


def scripted_exchange(split: str) -> list[HTTP2Event]:
    """Many kinds of frames from a real server, fed whole, byte by byte or in random pieces."""
    peers = Peers(validate_outbound_headers=False, normalize_outbound_headers=False)
    server = peers.server
    ok, early, trailers, reset, bad, liar = (peers.get() for _ in range(6))
    server.send_headers(early, [(b":status", b"103"), (b"link", b"</a>")])
    peers.respond(ok, b"hello world")
    server.send_headers(trailers, [(b":status", b"200")])
    for _ in range(3):
        server.send_data(trailers, b"x" * 15_000)
    server.send_headers(trailers, [(b"x-checksum", b"1")], end_stream=True)
    server.reset_stream(reset, REFUSED_STREAM)
    server.send_headers(bad, [(b":status", b"200"), (b"Upper", b"case")])
    peers.respond(early, b"", status=b"204", headers=[])
    server.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 7})
    peers.respond(liar, b"too long", headers=[(b"content-length", b"3")], end_stream=False)
    server.ping(b"pingpong")
    wire = server.data_to_send()
    if split == "whole":
        pieces = [wire]
    elif split == "bytewise":
        pieces = [wire[i : i + 1] for i in range(len(wire))]
    else:
        rng = random.Random(split)
        cuts = sorted(rng.sample(range(1, len(wire)), 40))
        pieces = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    events: list[HTTP2Event] = []
    for piece in pieces:
        events += peers.client.receive_data(piece)
    return merged(events)


def test_any_split_of_the_bytes_gives_the_same_events() -> None:
    whole = scripted_exchange("whole")
    assert [type(e).__name__ for e in whole] == [
        "StreamInformationalResponseReceived",
        "StreamResponseReceived",
        "StreamDataReceived",
        "StreamEnded",
        "StreamResponseReceived",
        "StreamDataReceived",
        "StreamTrailersReceived",
        "StreamEnded",
        "StreamReset",
        "StreamReset",
        "StreamResponseReceived",
        "StreamEnded",
        "SettingsChanged",
        "StreamResponseReceived",
        "StreamReset",
    ]
    assert scripted_exchange("bytewise") == whole
    for seed in ("a", "b", "c"):
        assert scripted_exchange(seed) == whole


def library_chosen(variable: str | None) -> subprocess.CompletedProcess[str]:
    """Which library a fresh interpreter's core runs on, with ZEPHYR_HTTP2_LIBRARY so set."""
    env = dict(os.environ)
    env.pop("ZEPHYR_HTTP2_LIBRARY", None)
    if variable is not None:
        env["ZEPHYR_HTTP2_LIBRARY"] = variable
    src = pathlib.Path(http2_h2.__file__).parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")])
    code = (
        "from zephyr._protocol import _h2lib, http2\n"
        "base = type(http2.HTTP2Connection()._h2).__mro__[1]\n"
        "print(_h2lib.LIBRARY, base.__module__)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_jh2_when_installed_h2_otherwise() -> None:
    expected = "jh2" if importlib.util.find_spec("jh2") is not None else "h2"
    assert library_chosen(None).stdout.split() == [expected, f"{expected}.connection"]


def test_the_library_can_be_forced() -> None:
    assert library_chosen("h2").stdout.split() == ["h2", "h2.connection"]
    if importlib.util.find_spec("jh2") is not None:
        assert library_chosen("jh2").stdout.split() == ["jh2", "jh2.connection"]
    refused = library_chosen("hyper")
    assert refused.returncode != 0
    assert "ZEPHYR_HTTP2_LIBRARY must be 'h2' or 'jh2'" in refused.stderr


# -- the DATA fast path against h2 itself -------------------------------------------------------
# `HTTP2Connection.receive_data` cuts frames itself and takes plain DATA frames without h2.
# Setting `http2._DATA` to a type no frame has sends every frame to h2: the same bytes through
# both must give the same events, the same errors and the same bytes to send.


def _frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(3, "big")
        + bytes([kind, flags])
        + stream_id.to_bytes(4, "big")
        + payload
    )


def _data_scenario(name: str) -> tuple[list[Any], bytes]:
    """Run one scenario; return what the client reported (events, or the error) and sent."""
    peers = Peers()
    client, server = peers.client, peers.server
    a, b, c = peers.get(), peers.get(), peers.get()
    server.send_headers(a, [(b":status", b"200")])
    server.send_headers(b, [(b":status", b"200"), (b"content-length", b"10")])
    head = server.data_to_send()
    kb = bytes(1024)
    frames = {
        # Plain DATA, interleaved, then ended; the reader consumes as it goes.
        "plain": [
            _frame(0, 0, a, kb * 8),
            _frame(0, 0, b, b"x" * 5),
            _frame(0, 0, a, b""),
            _frame(0, 0x20, a, b"unknown flag"),
            _frame(0, 1, a, b"end"),
            _frame(0, 0, b, b"y" * 5),
            _frame(0, 1, b, b""),
        ],
        "padded": [_frame(0, 0x8, a, b"\x03abc\x00\x00\x00"), _frame(0, 0x8, a, b"\x09abc")],
        "too long for content-length": [_frame(0, 0, b, b"x" * 11), _frame(0, 0, b, b"more")],
        "before the response head": [_frame(0, 0, c, b"early")],
        "stream window exceeded": [_frame(0, 0, a, kb * 16)] * 512 + [_frame(0, 0, a, b"!")],
        "on stream 0": [_frame(0, 0, 0, b"x")],
        "on an idle stream": [_frame(0, 0, 101, b"x")],
        "on a stream reset by the server": [_frame(3, 0, a, bytes(4)), _frame(0, 0, a, b"x")],
        "during a header block": [_frame(1, 0, c, b"\x88"), _frame(0, 0, a, b"x")],
        "too large": [_frame(0, 0, a, bytes(16385))],
    }[name]
    # Reads cut at random, across frames; but where the core resets a stream mid-read, h2
    # alone would have taken the rest of that read's frames for the stream before the reset
    # and the fast path hands them to h2 after it (which then answers RST_STREAM, as it does
    # for any such frame in a later read): there, one frame per read.
    reads = [head, *frames] if name == "too long for content-length" else [head + b"".join(frames)]
    reported: list[Any] = []
    rng = random.Random(name)
    try:
        for wire in reads:
            position = 0
            while position < len(wire):
                step = rng.choice([1, 7, 100, 5000, 70_000])
                for event in client.receive_data(wire[position : position + step]):
                    reported.append(event)
                    if isinstance(event, StreamDataReceived):
                        client.acknowledge_received_data(
                            event.stream_id, event.flow_controlled_length
                        )
                position += step
    except RemoteProtocolError as error:
        reported.append(str(error))
    return reported, client.data_to_send()


@pytest.mark.parametrize(
    "name",
    [
        "plain",
        "padded",
        "too long for content-length",
        "before the response head",
        "stream window exceeded",
        "on stream 0",
        "on an idle stream",
        "on a stream reset by the server",
        "during a header block",
        "too large",
    ],
)
def test_the_data_fast_path_does_what_h2_does(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _data_scenario(name)
    monkeypatch.setattr(http2, "_DATA", -1)
    assert _data_scenario(name) == fast


def test_the_data_fast_path_is_taken_and_counts_like_h2(monkeypatch: pytest.MonkeyPatch) -> None:
    peers = Peers()
    stream_id = peers.get()
    peers.server.send_headers(stream_id, [(b":status", b"200")])
    peers.to_client()
    h2_connection = peers.client._h2
    stream_window = h2_connection.streams[stream_id]._inbound_window_manager
    before = (
        h2_connection._inbound_flow_control_window_manager.current_window_size,
        stream_window.current_window_size,
    )
    # h2 never sees the frame: its DATA handler would fail.
    monkeypatch.setattr(h2_connection, "_receive_data_frame", None)
    (event,) = peers.client.receive_data(_frame(0, 0, stream_id, b"abc"))
    assert event == StreamDataReceived(stream_id, b"abc", 3)
    assert (
        h2_connection._inbound_flow_control_window_manager.current_window_size,
        stream_window.current_window_size,
    ) == (before[0] - 3, before[1] - 3)
