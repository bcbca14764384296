"""Sequential GETs on one pooled `HTTPTransport`, against a tiny keep-alive server.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_transport_seq.py [requests] [rounds]

The server is a raw-socket loop in a separate process (so that it does not compete for this
process's GIL) answering every request with the same ~100-byte JSON response. Each loop sends
`requests` GETs one after the other on one keep-alive connection and reads every body; the
best of `rounds` rounds is reported. Beside zephyr:

- "bare socket + httptools": the floor, a blocking socket, `sendall` of a fixed request,
  `recv_into` a reused buffer, llhttp parsing: no client around it;
- urllib3 (a `PoolManager`, `preload_content=True`), when it is installed.

This is a micro benchmark of the transport on loopback; the peer comparisons of record are
BENCHMARKS.md's, against nginx.
"""

from __future__ import annotations

import multiprocessing
import socket
import sys
import time
from collections.abc import Callable

BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Server: micro\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)


def serve(listener: socket.socket) -> None:
    """Answer each request head (GETs carry no body) with RESPONSE, on every connection."""
    import threading

    def handle(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
                count = pending.count(b"\r\n\r\n")
                if count:
                    pending = pending[pending.rindex(b"\r\n\r\n") + 4 :]
                    conn.sendall(RESPONSE * count)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def bench_bare(url: str, count: int) -> None:
    import httptools

    host, port = url.split("//")[1].rstrip("/").split(":")
    request = f"GET /small HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    class Done:
        done = False

        def on_message_complete(self) -> None:
            self.done = True

    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = bytearray(256 * 1024)
    view = memoryview(buffer)
    with sock:
        for _ in range(count):
            sock.sendall(request)
            callbacks = Done()
            parser = httptools.HttpResponseParser(callbacks)
            while not callbacks.done:
                size = sock.recv_into(buffer)
                parser.feed_data(view[:size].tobytes())


def bench_zephyr(url: str, count: int) -> None:
    from zephyr import Request
    from zephyr._transports.http import HTTPTransport

    timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    target = url + "small"
    with HTTPTransport() as transport:
        for _ in range(count):
            response = transport.handle_request(
                Request("GET", target, extensions={"timeout": timeout})
            )
            response.read()


def bench_urllib3(url: str, count: int) -> None:
    import urllib3

    target = url + "small"
    with urllib3.PoolManager(maxsize=1) as pool:
        for _ in range(count):
            pool.request("GET", target, timeout=5.0).data  # noqa: B018


def run(name: str, bench: Callable[[str, int], None], url: str, count: int, rounds: int) -> None:
    bench(url, min(count, 300))  # warm up: imports, caches, the first connection
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        bench(url, count)
        best = min(best, time.perf_counter() - started)
    print(f"{name:<28} {count / best:>9,.0f} req/s")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    server = multiprocessing.get_context("fork").Process(target=serve, args=(listener,))
    server.daemon = True
    server.start()
    listener.close()
    try:
        print(f"{count} sequential GETs, best of {rounds} rounds")
        run("bare socket + httptools", bench_bare, url, count, rounds)
        run("zephyr HTTPTransport", bench_zephyr, url, count, rounds)
        try:
            import urllib3  # noqa: F401
        except ImportError:
            print(f"{'urllib3':<28} not installed: skipped")
        else:
            run("urllib3 PoolManager", bench_urllib3, url, count, rounds)
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    main()
