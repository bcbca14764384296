"""Per-request cost of the HTTP/2 core, against bare h2 doing the least a client must.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_http2.py [rounds]

A client and a server connection talk in memory: each round the client opens 100 streams
(GET, five HTTP/1-style headers), the server answers each with a ~100-byte JSON body, the
client reads every event and acknowledges every body. Only the client's calls are timed.

The server encodes its response headers as nginx does (literals, Huffman-coded, never entered
in the dynamic table), so the client decodes every header of every response, as it must
against nginx; h2's own server would index them and make decoding look free.

`--library h2` or `--library jh2` picks the library the core runs on (by default jh2 when it
is installed, as in zephyr itself); the bare floor uses the same one. The server side is always
h2 and is not timed.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_http2.py --library h2 [rounds]
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

if "--library" in sys.argv:  # before zephyr's HTTP/2 core is imported: it chooses at import
    index = sys.argv.index("--library")
    os.environ["ZEPHYR_HTTP2_LIBRARY"] = sys.argv[index + 1]
    del sys.argv[index : index + 2]

import h2.config
import h2.connection
import h2.events
from hpack import NeverIndexedHeaderTuple

from zephyr._protocol import _h2lib
from zephyr._protocol.events import StreamDataReceived, StreamEnded
from zephyr._protocol.http2 import HTTP2Connection

BACKEND = f"{_h2lib.LIBRARY} {_h2lib.VERSION}"
# CPU time of this process, not the wall clock: on a shared machine other processes' load
# would otherwise show as our cost. Everything timed here is CPU-bound.
_clock = time.process_time
STREAMS_PER_ROUND = 100
BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
RESPONSE_HEADERS = [
    NeverIndexedHeaderTuple(name, value)
    for name, value in [
        (b":status", b"200"),
        (b"server", b"nginx/1.24.0"),
        (b"date", b"Mon, 01 Jan 2024 00:00:00 GMT"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
]
REQUEST_HEADERS = [
    (b"Host", b"localhost:8443"),
    (b"Accept", b"*/*"),
    (b"Accept-Encoding", b"gzip, deflate"),
    (b"Connection", b"keep-alive"),
    (b"User-Agent", b"python-zephyr/0.1"),
]
# What a bare h2 client sends for the same request: translated by hand, once.
BARE_REQUEST_HEADERS = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"localhost:8443"),
    (b":path", b"/small"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"user-agent", b"python-zephyr/0.1"),
]


def new_server() -> Any:
    server = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=False, header_encoding=None)
    )
    server.local_settings.max_concurrent_streams = 1000
    server.initiate_connection()
    return server


def serve(server: Any, data: bytes) -> bytes:
    for event in server.receive_data(data):
        if type(event) is h2.events.RequestReceived:
            server.send_headers(event.stream_id, RESPONSE_HEADERS)
            server.send_data(event.stream_id, BODY, end_stream=True)
    return bytes(server.data_to_send())


def bare_h2(rounds: int) -> float:
    """The floor: the library with validation off, headers ready to send, events counted."""
    client = _h2lib.H2Connection(
        _h2lib.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
    )
    server = new_server()
    client.initiate_connection()
    client.increment_flow_control_window(16 * 1024 * 1024 - 65535)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    pending = client.data_to_send()
    data_received = _h2lib.events.DataReceived
    stream_id = 1
    elapsed = 0.0
    for _ in range(rounds):
        started = _clock()
        for _ in range(STREAMS_PER_ROUND):
            client.send_headers(stream_id, BARE_REQUEST_HEADERS, end_stream=True)
            stream_id += 2
        requests = pending + client.data_to_send()
        elapsed += _clock() - started
        responses = serve(server, requests)
        started = _clock()
        bodies = 0
        for event in client.receive_data(responses):
            if isinstance(event, data_received):
                client.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                bodies += 1
        pending = client.data_to_send()
        elapsed += _clock() - started
        assert bodies == STREAMS_PER_ROUND
    return elapsed


def zephyr_core(rounds: int) -> float:
    """HTTP2Connection: translation and checks of every header, events per stream."""
    client = HTTP2Connection()
    server = new_server()
    server.receive_data(client.initiate())
    client.receive_data(server.data_to_send())
    pending = client.data_to_send()
    send_request = client.send_request
    acknowledge = client.acknowledge_received_data
    elapsed = 0.0
    for _ in range(rounds):
        started = _clock()
        for _ in range(STREAMS_PER_ROUND):
            send_request(
                b"GET", b"https", b"localhost:8443", b"/small", REQUEST_HEADERS, end_stream=True
            )
        requests = pending + client.data_to_send()
        elapsed += _clock() - started
        responses = serve(server, requests)
        started = _clock()
        ended = 0
        for event in client.receive_data(responses):
            if isinstance(event, StreamDataReceived):
                acknowledge(event.stream_id, event.flow_controlled_length)
            elif isinstance(event, StreamEnded):
                ended += 1
        pending = client.data_to_send()
        elapsed += _clock() - started
        assert ended == STREAMS_PER_ROUND
        assert client.active_streams == 0
    return elapsed


def download(megabytes: int) -> float:
    """One response of `megabytes` MiB, in 16 KiB DATA frames, consumed as it arrives."""
    client = HTTP2Connection()
    server = new_server()
    server.receive_data(client.initiate())
    client.receive_data(server.data_to_send())
    stream_id = client.send_request(b"GET", b"https", b"h", b"/big", [], end_stream=True)
    server.receive_data(client.data_to_send())
    server.send_headers(stream_id, [(b":status", b"200")])
    chunk = bytes(16384)
    remaining = megabytes * 1024 * 1024
    elapsed = 0.0
    while remaining:
        while remaining and server.local_flow_control_window(stream_id) >= len(chunk):
            remaining -= len(chunk)
            server.send_data(stream_id, chunk, end_stream=not remaining)
        wire = bytes(server.data_to_send())
        started = _clock()
        for start in range(0, len(wire), 262144):  # as a transport reads: 256 KiB at a time
            for event in client.receive_data(wire[start : start + 262144]):
                if isinstance(event, StreamDataReceived):
                    client.acknowledge_received_data(stream_id, event.flow_controlled_length)
        credit = client.data_to_send()
        elapsed += _clock() - started
        server.receive_data(credit)
    return elapsed


def measure(loop: Callable[[int], float], rounds: int) -> float:
    """Best of five runs, in microseconds per request."""
    loop(max(1, rounds // 10))  # warm up
    return min(loop(rounds) for _ in range(5)) / (rounds * STREAMS_PER_ROUND) * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print(
        f"{BACKEND}: {STREAMS_PER_ROUND} streams per round, {rounds} rounds per run, best of 5, "
        "client side only, CPU time"
    )
    for label, loop in [
        ("bare library, validation off", bare_h2),
        ("zephyr HTTP2Connection", zephyr_core),
    ]:
        print(f"  {label:28} {measure(loop, rounds):6.1f} µs/request")
    megabytes = 100
    seconds = min(download(megabytes) for _ in range(3))
    print(f"  {'download, 16 KiB frames':28} {megabytes / seconds:6.0f} MiB/s")


if __name__ == "__main__":
    main()
