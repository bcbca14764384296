"""Per-response cost of the HTTP/1.1 core, against a bare httptools loop doing the least work.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_http11.py [responses]

Every loop parses the same keep-alive response (a ~100-byte JSON body, nginx-like headers),
fed whole, as a socket read usually delivers it. The zephyr loops are whole request cycles on
one connection: serialise a request head (one header, or five as a client sends), end the
request, parse the response, start the next cycle.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httptools

from zephyr._protocol.events import DataReceived
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


def measure(loop: Callable[[int], None], count: int) -> float:
    """Best of five runs, in microseconds per response."""
    loop(count // 10)  # warm up
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        loop(count)
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(f"{len(RESPONSE)}-byte keep-alive response, {count} per run, best of 5")
    for label, loop in [
        ("bare httptools loop", bare_httptools),
        ("zephyr, 1-header request", zephyr_minimal_request),
        ("zephyr, 5-header request", zephyr_five_header_request),
    ]:
        print(f"  {label:28} {measure(loop, count):6.2f} µs/response")


if __name__ == "__main__":
    main()
