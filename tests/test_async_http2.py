"""HTTP/2 on asyncio, the parts only the async transport has: cancellation and backpressure.

The end-to-end behaviour both clients share is in test_http2_client.py. Here: a task cancelled
at any point of an HTTP/2 exchange resets its stream (the server sees RST_STREAM CANCEL) and
leaves the connection serving the others (RELIABILITY.md 25); a consumer that does not read
holds the server back through flow control; thousands of requests with random cancellations
over multiplexed connections, each completed one matched to its own response. Every test
runs on the default event loop and on uvloop.

`H2Server` is a small HTTP/2 server of our own over a raw socket (h2 in server mode, a thread
per connection) that records the frames it receives, so that a test can see exactly what the
client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

import test_async_cancellation
from zephyr import Limits, Request
from zephyr._exceptions import ConnectError, ReadTimeout
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr.testing import TestServer

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
CANCEL = 0x8


# The fixture running each test on the default event loop and on uvloop.
run = test_async_cancellation.run


def get(url: str, **kwargs: Any) -> Request:
    return Request("GET", url, extensions={"timeout": TIMEOUTS}, **kwargs)


def h2c_transport(**kwargs: Any) -> AsyncHTTPTransport:
    return AsyncHTTPTransport(http1=False, http2=True, **kwargs)


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.005)


def assert_pool_clean(transport: AsyncHTTPTransport) -> None:
    """No request in flight, nobody waiting: what is left is idle or shared with no stream."""
    pool = transport.pool
    assert pool.waiting_count == 0
    for connection in pool.in_use:
        assert not getattr(connection, "streams", None), "a stream was left in flight"
        assert connection.protocol.active_streams == 0


# -- a recording HTTP/2 server --------------------------------------------------------------


class H2Server:
    """HTTP/2 with prior knowledge on loopback; the response depends on the path:

    /hold        no response at all (the client gives up)
    /partial     the head and 1 KiB of body, then nothing
    /big/{n}     n bytes, as fast as the client's windows allow
    /upload      reads the request body; answers with its size
    /upload-stall  reads the request body but never gives credit back
    anything     200 with the path as body
    """

    def __init__(self, *, initial_window_size: int | None = None) -> None:
        self.initial_window_size = initial_window_size
        self.frames: list[Any] = []  # h2 events received, every connection
        self.connections = 0
        self.big_sent = 0  # bytes of /big bodies sent
        self.big_stalled = threading.Event()  # a /big body waits for flow-control credit
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._stopping = False

    def __enter__(self) -> H2Server:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close() does not)
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)

    def resets(self) -> list[tuple[int, int]]:
        with self._lock:
            return [
                (event.stream_id, event.error_code)
                for event in self.frames
                if isinstance(event, h2.events.StreamReset)
            ]

    def streams_of(self, path: str) -> list[int]:
        """The ids of the streams that carried requests for `path`."""
        with self._lock:
            return [
                event.stream_id
                for event in self.frames
                if isinstance(event, h2.events.RequestReceived)
                and dict(event.headers or [])[b":path"] == path.encode()
            ]

    def window_updates(self, stream_id: int) -> int:
        with self._lock:
            return sum(
                1
                for event in self.frames
                if isinstance(event, h2.events.WindowUpdated) and event.stream_id == stream_id
            )

    def _accept(self) -> None:
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        conn = h2.connection.H2Connection(config)
        conn.initiate_connection()
        if self.initial_window_size is not None:
            conn.update_settings(
                {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.initial_window_size}
            )
        sock.sendall(conn.data_to_send())
        big: dict[int, int] = {}  # stream id -> bytes left to send
        uploads: dict[int, int] = {}
        stalled: set[int] = set()
        with sock:
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                try:
                    events = conn.receive_data(data)
                except h2.exceptions.ProtocolError:
                    return
                for event in events:
                    with self._lock:
                        self.frames.append(event)
                    if isinstance(event, h2.events.RequestReceived):
                        headers = dict(event.headers or [])
                        path = headers[b":path"].decode()
                        stream_id = event.stream_id
                        if path == "/hold":
                            continue
                        if path == "/upload":
                            uploads[stream_id] = 0
                            continue
                        if path == "/upload-stall":
                            stalled.add(stream_id)
                            continue
                        if path == "/partial":
                            conn.send_headers(stream_id, [(b":status", b"200")])
                            conn.send_data(stream_id, b"x" * 1024)
                        elif path.startswith("/big/"):
                            conn.send_headers(stream_id, [(b":status", b"200")])
                            big[stream_id] = int(path[5:])
                        else:
                            body = path.encode()
                            conn.send_headers(
                                stream_id,
                                [
                                    (b":status", b"200"),
                                    (b"content-length", str(len(body)).encode()),
                                ],
                            )
                            conn.send_data(stream_id, body, end_stream=True)
                    elif isinstance(event, h2.events.DataReceived):
                        if event.stream_id in stalled:
                            continue
                        if event.stream_id in uploads:
                            uploads[event.stream_id] += len(event.data)
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        size = uploads.pop(event.stream_id, None)
                        if size is not None:
                            conn.send_headers(event.stream_id, [(b":status", b"200")])
                            conn.send_data(event.stream_id, str(size).encode(), end_stream=True)
                    elif isinstance(event, h2.events.StreamReset):
                        big.pop(event.stream_id, None)
                for stream_id in list(big):
                    left = big[stream_id]
                    while left:
                        window = min(
                            conn.local_flow_control_window(stream_id),
                            conn.max_outbound_frame_size,
                            left,
                        )
                        if not window:
                            self.big_stalled.set()
                            break
                        conn.send_data(stream_id, b"b" * window, end_stream=window == left)
                        left -= window
                        self.big_sent += window
                    if left:
                        big[stream_id] = left
                    else:
                        del big[stream_id]
                try:
                    sock.sendall(conn.data_to_send())
                except OSError:
                    return


@pytest.fixture
def h2_server() -> Iterator[H2Server]:
    with H2Server() as server:
        yield server


# -- cancellation resets the stream, and only the stream ------------------------------------


def test_cancelled_while_waiting_for_the_head_resets_the_stream(
    run: Runner[None], h2_server: H2Server
) -> None:
    async def main() -> None:
        async with h2c_transport() as transport:
            task = asyncio.ensure_future(
                transport.handle_async_request(get(h2_server.url + "/hold"))
            )
            await wait_until(
                lambda: any(isinstance(f, h2.events.RequestReceived) for f in h2_server.frames),
                "the request reached the server",
            )
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_until(lambda: bool(h2_server.resets()), "RST_STREAM reached the server")
            assert h2_server.resets() == [(1, CANCEL)]
            # The connection goes on serving.
            response = await transport.handle_async_request(get(h2_server.url + "/after"))
            assert await response.aread() == b"/after"
            assert response.extensions["http_version"] == b"HTTP/2"
            assert h2_server.connections == 1
            assert transport.pool.total == 1
            assert_pool_clean(transport)

    run(main())


def test_cancelled_mid_body_resets_the_stream_only(run: Runner[None], h2_server: H2Server) -> None:
    async def main() -> None:
        async with h2c_transport() as transport:
            holding = asyncio.ensure_future(
                transport.handle_async_request(get(h2_server.url + "/hold"))
            )
            await wait_until(lambda: bool(h2_server.streams_of("/hold")), "the held request")
            [held] = h2_server.streams_of("/hold")
            response = await transport.handle_async_request(get(h2_server.url + "/partial"))
            [partial] = h2_server.streams_of("/partial")

            async def read_all() -> None:
                async for _ in response.aiter_raw():
                    pass

            reader = asyncio.ensure_future(read_all())
            await asyncio.sleep(0.05)
            reader.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reader
            await wait_until(lambda: bool(h2_server.resets()), "RST_STREAM")
            assert h2_server.resets() == [(partial, CANCEL)]
            # The request still waiting on its own stream was not disturbed.
            assert not holding.done()
            response = await transport.handle_async_request(get(h2_server.url + "/next"))
            assert await response.aread() == b"/next"
            holding.cancel()
            with pytest.raises(asyncio.CancelledError):
                await holding
            await wait_until(lambda: (held, CANCEL) in h2_server.resets(), "RST_STREAM")
            assert h2_server.connections == 1
            assert_pool_clean(transport)

    run(main())


def test_response_closed_early_resets_the_stream(run: Runner[None], h2_server: H2Server) -> None:
    async def main() -> None:
        async with h2c_transport() as transport:
            response = await transport.handle_async_request(get(h2_server.url + "/partial"))
            await response.aclose()
            await wait_until(lambda: (1, CANCEL) in h2_server.resets(), "RST_STREAM on stream 1")
            response = await transport.handle_async_request(get(h2_server.url + "/again"))
            assert await response.aread() == b"/again"
            assert h2_server.connections == 1
            assert_pool_clean(transport)

    run(main())


def test_cancelled_mid_upload_resets_the_stream(run: Runner[None]) -> None:
    # The server grants 1,000 bytes of window per stream: the upload stalls, waiting for credit.
    async def main(server: H2Server) -> None:
        async with h2c_transport() as transport:
            request = Request(
                "POST",
                server.url + "/upload-stall",
                content=b"u" * 100_000,
                extensions={"timeout": TIMEOUTS},
            )
            task = asyncio.ensure_future(transport.handle_async_request(request))
            await wait_until(
                lambda: any(isinstance(f, h2.events.DataReceived) for f in server.frames),
                "the upload started",
            )
            await asyncio.sleep(0.02)
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_until(lambda: (1, CANCEL) in server.resets(), "RST_STREAM on stream 1")
            response = await transport.handle_async_request(get(server.url + "/fine"))
            assert await response.aread() == b"/fine"
            assert server.connections == 1
            assert_pool_clean(transport)

    with H2Server(initial_window_size=1000) as server:
        run(main(server))


def test_read_timeout_fails_one_stream_only(run: Runner[None], h2_server: H2Server) -> None:
    async def main() -> None:
        async with h2c_transport() as transport:
            quick = Request(
                "GET", h2_server.url + "/hold", extensions={"timeout": {**TIMEOUTS, "read": 0.05}}
            )
            holding = asyncio.ensure_future(
                transport.handle_async_request(get(h2_server.url + "/hold"))
            )
            await wait_until(lambda: bool(h2_server.streams_of("/hold")), "the held request")
            with pytest.raises(ReadTimeout, match=r"Timed out reading the response after 0\.05 s"):
                await transport.handle_async_request(quick)
            await wait_until(lambda: bool(h2_server.resets()), "RST_STREAM")
            assert h2_server.resets() == [(3, CANCEL)]  # the timed-out one; the other goes on
            assert not holding.done()
            response = await transport.handle_async_request(get(h2_server.url + "/ok"))
            assert await response.aread() == b"/ok"
            holding.cancel()
            with pytest.raises(asyncio.CancelledError):
                await holding

    run(main())


# -- flow control --------------------------------------------------------------------------


def test_slow_consumer_holds_the_server_back(run: Runner[None], h2_server: H2Server) -> None:
    size = 12 * 1024 * 1024  # more than a stream's window (8 MiB)

    async def main() -> None:
        async with h2c_transport() as transport:
            response = await transport.handle_async_request(get(f"{h2_server.url}/big/{size}"))
            # Nobody reads: the server runs out of credit and waits.
            await wait_until(h2_server.big_stalled.is_set, "the server ran out of window")
            sent = h2_server.big_sent
            await asyncio.sleep(0.05)
            assert h2_server.big_sent == sent < size
            assert h2_server.window_updates(1) == 0  # no credit for bytes nobody consumed
            # Reading gives the credit back as the bytes are taken: the rest follows.
            received = 0
            async for chunk in response.aiter_raw():
                received += len(chunk)
            assert received == size
            assert h2_server.window_updates(1) > 0
            assert_pool_clean(transport)

    run(main())


def test_prior_knowledge_against_an_http11_server_is_a_connect_error(run: Runner[None]) -> None:
    # h2c with prior knowledge against a server that only speaks HTTP/1.1: a clear error.
    async def main(server: Any) -> None:
        async with h2c_transport() as transport:
            with pytest.raises(ConnectError, match="did not start HTTP/2"):
                await transport.handle_async_request(get(server.url + "/get"))
            assert_pool_clean(transport)
            assert transport.pool.total == 0

    with _http11_only_server() as server:
        run(main(server))


def _http11_only_server() -> Any:
    return _Http11Server()


class _Http11Server:
    """Answers anything with an HTTP/1.1 400 and closes, as an HTTP/1.1-only server does
    when it gets the HTTP/2 preface."""

    def __enter__(self) -> Any:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with sock:
                try:
                    sock.recv(65536)
                    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass


# -- many requests, random cancellations ----------------------------------------------------


@pytest.fixture(scope="module")
def tls_h2_server() -> Iterator[TestServer]:
    # 10 streams per connection: 64 requests in flight spread over 7 connections, which
    # exercises the waits for a stream, and keeps each connection under hypercorn's 1,000
    # requests (after which it sends GOAWAY and leaves streams it accepted unanswered).
    with TestServer(tls=True, h2_max_concurrent_streams=10) as server:
        yield server


def test_random_cancellations_over_shared_connections(
    run: Runner[None], tls_h2_server: TestServer
) -> None:
    count = int(os.environ.get("ZEPHYR_H2_CANCEL_REQUESTS", "2000"))
    rng = random.Random(5)
    limits = Limits(max_connections=8, max_keepalive_connections=8)
    server = tls_h2_server

    async def main() -> None:
        async with AsyncHTTPTransport(
            verify=server.ca_path, http2=True, limits=limits
        ) as transport:
            outcomes = {"completed": 0, "cancelled": 0}

            async def one(request_id: int) -> None:
                url = f"{server.url}/echo-id/{request_id}"
                response = await transport.handle_async_request(get(url))
                try:
                    if rng.random() < 0.3:
                        await asyncio.sleep(0)
                    body = await response.aread()
                finally:
                    await response.aclose()
                assert response.extensions["http_version"] == b"HTTP/2"
                assert response.headers["x-echo-id"] == str(request_id)
                assert json.loads(body) == {"id": str(request_id)}

            await test_async_cancellation.cancel_randomly(one, count, rng, outcomes)
            assert outcomes["completed"] + outcomes["cancelled"] == count
            assert outcomes["completed"] > count // 4
            assert outcomes["cancelled"] > count // 10
            assert_pool_clean(transport)
            # 64 in flight, 10 per connection: never more than 7 connections, each of them
            # alive and shared (in the multiplexing index), none left over from a failure.
            assert 1 <= transport.pool.total <= 7
            assert len(transport._index) == transport.pool.total
            results = await asyncio.gather(
                *(
                    transport.handle_async_request(get(f"{server.url}/echo-id/after-{n}"))
                    for n in range(32)
                )
            )
            bodies = [json.loads(await response.aread())["id"] for response in results]
            assert bodies == [f"after-{n}" for n in range(32)]
            assert transport.pool.total <= 7
            assert_pool_clean(transport)

    run(main())
