"""The sync HTTP/2 driver keeps reading while its writes are stalled (RELIABILITY: nothing hangs).

A server may answer a request before reading its body, and stop reading while its own writes
are blocked. If the client, uploading, only waits for the socket to become writable, both
sides wait on each other until the write timeout. These servers do exactly that, over small
socket buffers on both sides so that the stall is certain: the response (as large as the
client's stream window, so that flow control cannot stop it) is written with one blocking
`sendall` before a byte of the body is read, and the server's receive windows are as large
as HTTP/2 allows, so that the upload is held back by the socket only.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from h2.settings import SettingCodes

import zephyr
from h2_scripted_server import H2Request, H2ScriptedConnection, H2ScriptedServer
from zephyr.testing._certs import certificate_files

MiB = 1024 * 1024
RESPONSE_SIZE = 8 * MiB  # the client's stream receive window (`HTTP2Connection`)
BODY_SIZE = 32 * MiB
BUFFER = 64 * 1024  # SO_SNDBUF / SO_RCVBUF on both sides
WAIT = 30.0  # backstops only: with the fix every case takes well under a second or two
FRAME = 16_384  # the client keeps the default SETTINGS_MAX_FRAME_SIZE

_MAX_WINDOW = 2**31 - 1
BIG_WINDOWS = {SettingCodes.INITIAL_WINDOW_SIZE: _MAX_WINDOW}

RESPONSE = (b"response" * (RESPONSE_SIZE // 8))[:RESPONSE_SIZE]
BODY = (b"request-body" * (BODY_SIZE // 12 + 1))[:BODY_SIZE]
BODY_DIGEST = hashlib.sha256(BODY).hexdigest()


def stalling_server(
    received: list[tuple[int, str]], *, tls: bool = False, extra: Callable[..., None] | None = None
) -> H2ScriptedServer:
    """A server that, on the HEADERS of a POST, writes the whole response (blocking) before
    it reads the body; then reads the body, noting its size and digest in `received`.
    GETs (when `extra` serves them) are answered with their path."""

    def script(conn: H2ScriptedConnection) -> None:
        post: H2Request | None = None
        while not conn.closed_by_client:
            for request in list(conn.requests.values()):
                if request.stream_id in conn.answered:
                    continue
                if request.method == "POST":
                    post = request
                    answer_in_full(conn, request.stream_id)
                elif request.ended:
                    conn.respond(request.stream_id, body=request.path.encode())
            if post is not None and post.ended and not received:
                received.append((len(post.body), hashlib.sha256(post.body).hexdigest()))
            try:
                conn.receive(WAIT)
            except TimeoutError:
                return

    return H2ScriptedServer(
        script,
        tls=tls,
        initial_settings=BIG_WINDOWS,
        connection_window=_MAX_WINDOW,
        socket_buffer=BUFFER,
    )


def answer_in_full(conn: H2ScriptedConnection, stream_id: int) -> None:
    """The response's HEADERS and every DATA frame, in one blocking write."""
    conn.answered.add(stream_id)
    conn.h2.send_headers(
        stream_id, [(b":status", b"200"), (b"content-length", str(RESPONSE_SIZE).encode())]
    )
    for start in range(0, RESPONSE_SIZE, FRAME):
        end = start + FRAME
        conn.h2.send_data(stream_id, RESPONSE[start:end], end_stream=end >= RESPONSE_SIZE)
    conn.flush()


def wait_for(received: list[tuple[int, str]]) -> None:
    """Until the server has noted the whole body (it reads the last of it after we sent it)."""
    deadline = time.monotonic() + WAIT
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)


def small_buffer_client(server: H2ScriptedServer, *, tls: bool, **kwargs: object) -> zephyr.Client:
    transport = zephyr.HTTPTransport(
        http1=False,
        http2=True,
        verify=certificate_files().ca_path if tls else True,
        socket_options=[
            (socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER),
            (socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER),
        ],
        **kwargs,  # type: ignore[arg-type]
    )
    return zephyr.Client(transport=transport, timeout=zephyr.Timeout(WAIT))


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_upload_goes_on_while_the_server_writes_a_response_it_sends_before_reading(
    tls: bool,
) -> None:
    received: list[tuple[int, str]] = []
    with stalling_server(received, tls=tls) as server:
        url = server.url.replace("http://", "https://") if tls else server.url
        with small_buffer_client(server, tls=tls) as client:
            started = time.monotonic()
            response = client.post(url + "upload", content=BODY)
            elapsed = time.monotonic() - started
            assert response.status_code == 200
            assert response.http_version == "HTTP/2"
            assert len(response.content) == RESPONSE_SIZE
            assert response.content == RESPONSE
            wait_for(received)
        assert received == [(BODY_SIZE, BODY_DIGEST)]
        assert server.errors == []
    # Far below the write timeout: nothing waited for it.
    assert elapsed < WAIT / 2


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
def test_other_threads_requests_are_served_while_one_thread_uploads(tls: bool) -> None:
    """A thread that only reads (GETs on the same connection) is not harmed: the uploading
    thread and the readers share the reader role while the upload is stalled. Over TLS, the
    stalled writer and the reading threads take turns in the one TLS object (`tls_lock`)."""
    received: list[tuple[int, str]] = []
    with stalling_server(received, tls=tls) as server:
        client = small_buffer_client(server, tls=tls, limits=zephyr.Limits(max_connections=1))
        base = server.url.replace("http://", "https://") if tls else server.url
        with client:
            done = threading.Event()

            def upload() -> bytes:
                try:
                    return client.post(base + "upload", content=BODY).content
                finally:
                    done.set()

            def fetch(index: int) -> list[str]:
                texts: list[str] = []
                while not done.is_set() or not texts:
                    texts.append(client.get(f"{base}get/{index}").text)
                return texts

            with ThreadPoolExecutor(max_workers=4) as pool:
                uploaded = pool.submit(upload)
                fetched = [pool.submit(fetch, index) for index in range(3)]
                assert uploaded.result(timeout=WAIT) == RESPONSE
                for index, future in enumerate(fetched):
                    texts = future.result(timeout=WAIT)
                    assert texts
                    assert set(texts) == {f"/get/{index}"}
            wait_for(received)
        assert received == [(BODY_SIZE, BODY_DIGEST)]
        assert server.accepted == 1
        assert server.errors == []


def test_a_server_that_neither_reads_nor_writes_still_times_the_upload_out() -> None:
    """The writer reads while it waits, but the write timeout still bounds the wait."""
    release = threading.Event()

    def script(conn: H2ScriptedConnection) -> None:
        conn.wait_until(lambda: bool(conn.requests), timeout=WAIT)
        release.wait(WAIT)  # reads nothing, writes nothing
        conn.drain(timeout=WAIT)

    server = H2ScriptedServer(
        script, initial_settings=BIG_WINDOWS, connection_window=_MAX_WINDOW, socket_buffer=BUFFER
    )
    with server:
        transport = zephyr.HTTPTransport(
            http1=False,
            http2=True,
            socket_options=[
                (socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER),
                (socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER),
            ],
        )
        with zephyr.Client(transport=transport, timeout=zephyr.Timeout(WAIT, write=1.0)) as client:
            started = time.monotonic()
            try:
                with pytest.raises(zephyr.WriteTimeout, match="writing the request"):
                    client.post(server.url + "upload", content=BODY)
            finally:
                release.set()
            assert time.monotonic() - started < WAIT / 2
        assert server.errors == []
