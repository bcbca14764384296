"""Per-response cost of the HTTP/1.1 core, against a bare httptools loop doing the least work.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_http11.py [responses]

Every small-response loop parses the same keep-alive response (a ~100-byte JSON body,
nginx-like headers), fed whole, as a socket read usually delivers it:
- "response only": `receive_data` of that response, the request state reset around it;
- "request head only": `send_request_head` + `end_request`, the response state reset around it;
- the cycles: a whole request on one connection (serialise a request head with one header, or
  five as a client sends, end the request, parse the response, start the next cycle).

The large-body loops feed 256 KiB reads (the sync transport's read size) of a 64 MiB body,
Content-Length (each read handed out as is) and chunked (16 KiB chunks, de-chunked by llhttp),
as the sync transport reads: into one reused buffer (a copy here, as `recv_into` would), then
either copied out as `bytes` (what the transport does now) or passed as a memoryview of it.
Run on a quiet machine: every figure is the best of several rounds, interleaved, so that a
busy neighbour inflates them all alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httptools

from zephyr._protocol.events import DataReceived, ResponseEnded
from zephyr._protocol.http11 import HTTP11Connection

BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Server: nginx/1.24.0\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"Connection: keep-alive\r\n"
    b"\r\n" + BODY
)
REQUEST_HEADERS = [
    (b"Host", b"127.0.0.1:8080"),
    (b"Accept", b"*/*"),
    (b"Accept-Encoding", b"gzip, deflate"),
    (b"Connection", b"keep-alive"),
    (b"User-Agent", b"python-zephyr/0.1"),
]
READ_SIZE = 256 * 1024
LARGE_READS = 256  # 64 MiB per body
CHUNK_SIZE = 16 * 1024


def bare_httptools(count: int) -> None:
    """The floor: llhttp with callbacks that only collect what a client needs."""

    class Collector:
        def __init__(self) -> None:
            self.headers: list[tuple[bytes, bytes]] = []
            self.body: list[bytes] = []
            self.done = False

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name, value))

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            self.done = True

    collector = Collector()
    parser = httptools.HttpResponseParser(collector)
    for _ in range(count):
        collector.headers = []
        collector.body = []
        collector.done = False
        parser.feed_data(RESPONSE)
        assert collector.done
        parser.get_status_code()


def response_only(count: int) -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"GET", b"/", REQUEST_HEADERS)
    connection.end_request()
    receive = connection.receive_data
    # The response and request states a finished cycle leaves behind, put back for the next.
    receiving, sending = connection._receiving, connection._sending
    reset = connection._reset_request_state
    for _ in range(count):
        events = receive(RESPONSE)
        assert type(events[1]) is DataReceived
        reset(b"GET")
        connection._receiving = receiving
        connection._sending = sending


def request_head_only(count: int) -> None:
    connection = HTTP11Connection()
    head = connection.send_request_head
    end = connection.end_request
    receiving, sending = connection._receiving, connection._sending
    for _ in range(count):
        head(b"GET", b"/", REQUEST_HEADERS)
        end()
        connection._receiving = receiving
        connection._sending = sending


def zephyr_minimal_request(count: int) -> None:
    connection = HTTP11Connection()
    connection.send_request_head(b"GET", b"/", REQUEST_HEADERS)
    connection.end_request()
    head = connection.send_request_head
    for _ in range(count):
        events = connection.receive_data(RESPONSE)
        assert type(events[1]) is DataReceived
        connection.start_next_cycle()
        head(b"GET", b"/", [(b"Host", b"h")])  # the cheapest valid request
        connection.end_request()


def zephyr_five_header_request(count: int) -> None:
    connection = HTTP11Connection()
    for _ in range(count):
        connection.send_request_head(b"GET", b"/", REQUEST_HEADERS)
        connection.end_request()
        events = connection.receive_data(RESPONSE)
        assert type(events[1]) is DataReceived
        assert connection.is_reusable
        connection.start_next_cycle()


def large_body_reads(chunked: bool, view: bool) -> Callable[[], tuple[float, int]]:
    """One 64 MiB response in 256 KiB reads: µs per read, and how many reads came out as the
    very `bytes` object fed (handed out uncopied)."""
    if chunked:
        framed = b"%x\r\n%s\r\n" % (CHUNK_SIZE, b"x" * CHUNK_SIZE)
        wire = framed * (READ_SIZE * LARGE_READS // CHUNK_SIZE) + b"0\r\n\r\n"
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    else:
        wire = b"x" * (READ_SIZE * LARGE_READS)
        head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(wire)
    reads = [wire[start : start + READ_SIZE] for start in range(0, len(wire), READ_SIZE)]
    buffer = bytearray(READ_SIZE)
    window = memoryview(buffer)

    def run() -> tuple[float, int]:
        connection = HTTP11Connection()
        connection.send_request_head(b"GET", b"/", [(b"Host", b"h")])
        connection.end_request()
        connection.receive_data(head)
        received = uncopied = 0
        started = time.perf_counter()
        for wire_read in reads:
            size = len(wire_read)
            buffer[:size] = wire_read  # what the transport's recv_into does
            data = window[:size] if view else window[:size].tobytes()
            events = connection.receive_data(data)
            for event in events:
                if type(event) is DataReceived:
                    received += len(event.data)
                    uncopied += event.data is data
        elapsed = time.perf_counter() - started
        assert type(events[-1]) is ResponseEnded
        assert received == READ_SIZE * LARGE_READS
        return elapsed / len(reads) * 1e6, uncopied

    return run


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = 10
    print(f"{len(RESPONSE)}-byte keep-alive response; best of {rounds} rounds of {count}")
    loops: list[tuple[str, Callable[[int], None]]] = [
        ("bare httptools loop", bare_httptools),
        ("response only", response_only),
        ("request head only (5 hdrs)", request_head_only),
        ("cycle, 1-header request", zephyr_minimal_request),
        ("cycle, 5-header request", zephyr_five_header_request),
    ]
    best = dict.fromkeys([label for label, _ in loops], float("inf"))
    for _ in range(rounds):
        for label, loop in loops:
            started = time.perf_counter()
            loop(count)
            best[label] = min(best[label], (time.perf_counter() - started) / count * 1e6)
    for label, _ in loops:
        print(f"  {label:28} {best[label]:6.2f} µs")
    print(f"{READ_SIZE // 1024} KiB reads of a {READ_SIZE * LARGE_READS >> 20} MiB body")
    for label, chunked, view in [
        ("Content-Length, bytes", False, False),
        ("Content-Length, memoryview", False, True),
        ("chunked 16 KiB, bytes", True, False),
        ("chunked 16 KiB, memoryview", True, True),
    ]:
        run = large_body_reads(chunked, view)
        per_read, uncopied = min(run() for _ in range(5))
        rate = READ_SIZE / per_read / 1e3  # bytes per µs = MB/s; / 1e3 = GB/s
        print(
            f"  {label:28} {per_read:7.2f} µs/read  {rate:6.2f} GB/s"
            f"  {uncopied}/{LARGE_READS} reads uncopied"
        )


if __name__ == "__main__":
    main()
