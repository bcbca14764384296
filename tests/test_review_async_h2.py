"""Review of the asyncio HTTP/2 driver: bugs found, each shown by a test that fails until it is
fixed (strict xfail, so that the suite stays green and a fix shows up as XPASS).

Each test bounds its waits (pool timeouts of a fraction of a second), so a bug makes it fail,
never hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from hyperframe.frame import GoAwayFrame

import test_async_cancellation
import zephyr
from h2_scripted_server import H2ScriptedConnection, H2ScriptedServer, serve_all
from test_async_http2 import h2c_transport, wait_until
from zephyr import Limits, Request
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr.testing._certs import certificate_files

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]

# The fixture running each test on the default event loop and on uvloop.
run = test_async_cancellation.run

TIMEOUTS = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 0.5}


def get(url: str, **timeouts: float) -> Request:
    return Request("GET", url, extensions={"timeout": {**TIMEOUTS, **timeouts}})


# -- 1. a draining connection whose last stream is given up never closes ---------------------


def test_draining_connection_closes_once_its_last_stream_is_abandoned(run: Runner[None]) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        if conn.index == 0:
            conn.wait_until(lambda: 1 in conn.requests)
            conn.goaway(last_stream_id=1)  # stream 1 goes on; no new streams here
            conn.drain(timeout=3)  # a server that leaves closing to the client
        else:
            serve_all(conn)

    async def main(server: H2ScriptedServer) -> None:
        async with h2c_transport(limits=Limits(max_connections=1)) as transport:
            task = asyncio.ensure_future(transport.handle_async_request(get(server.url + "held")))
            await wait_until(
                lambda: bool(server.connections) and 1 in server.connections[0].requests,
                "the request reached the server",
            )
            await wait_until(lambda: len(transport._index) == 0, "GOAWAY took it out of the index")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The draining connection has nothing left in flight: it should close and give
            # its slot back, so the next request opens a new connection.
            response = await transport.handle_async_request(get(server.url + "next"))
            assert await response.aread() == b"/next"

    with H2ScriptedServer(script) as server:
        run(main(server))


# -- 2. idle HTTP/2 connections are never evicted for another origin ---------------------------


def test_an_idle_http2_connection_makes_room_for_another_origin(run: Runner[None]) -> None:
    async def main(a: H2ScriptedServer, b: H2ScriptedServer) -> None:
        limits = Limits(max_connections=1, keepalive_expiry=0.2)
        async with h2c_transport(limits=limits) as transport:
            response = await transport.handle_async_request(get(a.url + "one"))
            assert await response.aread() == b"/one"
            await asyncio.sleep(0.3)  # idle, and past its keep-alive expiry too
            # HTTP/1.1 evicts the LRU idle connection here; HTTP/2 should do as well.
            response = await transport.handle_async_request(get(b.url + "two"))
            assert await response.aread() == b"/two"

    with H2ScriptedServer(serve_all) as a, H2ScriptedServer(serve_all) as b:
        run(main(a, b))


# -- 3. waiting for a stream ignores a pool slot that frees up -------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="_multiplexed_connection: with the pool full and the origin's connections at "
    "capacity the request waits in the index for a stream only, not for 'whichever comes "
    "first: a stream or a slot' (docs/architecture.md); a slot freed meanwhile is ignored",
)
def test_a_slot_freed_while_waiting_for_a_stream_is_used(run: Runner[None]) -> None:
    close_b = threading.Event()

    def script_a(conn: H2ScriptedConnection) -> None:
        if conn.index == 0:
            conn.wait_until(lambda: 1 in conn.requests)
            conn.drain(timeout=3)  # stream 1 is never answered
        else:
            serve_all(conn)

    def script_b(conn: H2ScriptedConnection) -> None:
        conn.wait_requests(1)  # never answered: B's connection is busy, not idle
        close_b.wait(5)
        conn.sock.shutdown(socket.SHUT_RDWR)  # B's connection goes: a pool slot frees up

    async def main(a: H2ScriptedServer, b: H2ScriptedServer) -> None:
        async with h2c_transport(limits=Limits(max_connections=2)) as transport:
            held = asyncio.ensure_future(transport.handle_async_request(get(a.url + "held")))
            await wait_until(lambda: a.accepted == 1, "A's first connection")
            held_b = asyncio.ensure_future(transport.handle_async_request(get(b.url + "b")))
            await wait_until(lambda: b.accepted == 1, "B's connection")
            # The pool is full (A at its 1 stream, B busy: nothing to evict); A's second
            # request waits.
            second = asyncio.ensure_future(
                transport.handle_async_request(get(a.url + "second", pool=1.0))
            )
            await asyncio.sleep(0.1)
            close_b.set()
            await wait_until(lambda: transport.pool.total == 1, "B's slot was freed")
            try:
                response = await second
                assert await response.aread() == b"/second"
            finally:
                for task in (held, held_b):
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

    with (
        H2ScriptedServer(script_a, max_concurrent_streams=1) as a,
        H2ScriptedServer(script_b) as b,
    ):
        run(main(a, b))


# -- 4. a private exception escapes from a body read -----------------------------------------


def test_goaway_below_a_stream_whose_response_started_raises_a_zephyr_error(
    run: Runner[None],
) -> None:
    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.send_head(request.stream_id, 100)
        conn.h2.send_data(request.stream_id, b"x" * 10)
        conn.flush()
        time.sleep(0.1)
        conn.goaway(last_stream_id=0)  # contradicts the head it sent: a broken server
        conn.drain(timeout=3)

    async def main(server: H2ScriptedServer) -> None:
        async with (
            zephyr.AsyncClient(http1=False, http2=True, timeout=2) as client,
            client.stream("GET", server.url + "x") as response,
        ):
            with pytest.raises(zephyr.ZephyrError):
                async for _ in response.aiter_raw():
                    pass

    with H2ScriptedServer(script) as server:
        run(main(server))


# -- 5. a connection that dies during the hand-over leaks its pool slot ----------------------


class _OneWriteTLSServer:
    """TLS 1.2 with ALPN h2 over memory BIOs, so that the end of the handshake and the
    server's first frames (SETTINGS, then GOAWAY: a server shutting down) leave in one write,
    and so reach the client in one read."""

    def __init__(self) -> None:
        files = certificate_files()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert_path, files.key_path)
        context.set_alpn_protocols(["h2"])
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}/"
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self._context.wrap_bio(incoming, outgoing, server_side=True)
        sock.settimeout(5)
        with sock, contextlib.suppress(OSError):
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if pending := outgoing.read():
                        sock.sendall(pending)
                    data = sock.recv(65536)
                    if not data:
                        return
                    incoming.write(data)
            h2 = H2Connection(H2Configuration(client_side=False))
            h2.initiate_connection()
            goaway = GoAwayFrame(0)
            goaway.last_stream_id = 0
            tls.write(h2.data_to_send() + goaway.serialize())
            sock.sendall(outgoing.read())
            while sock.recv(65536):
                pass

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)


def test_a_connection_closed_during_the_alpn_hand_over_gives_its_slot_back() -> None:
    async def main(server: _OneWriteTLSServer) -> None:
        async with AsyncHTTPTransport(
            http2=True, verify=certificate_files().ca_path, limits=Limits(max_connections=1)
        ) as transport:
            for _ in range(2):
                with pytest.raises(zephyr.ConnectError, match="did not start HTTP/2"):
                    await transport.handle_async_request(get(server.url + "x"))
            assert transport.pool.total == 0

    server = _OneWriteTLSServer()
    try:
        with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
            runner.run(main(server))
    finally:
        server.close()
