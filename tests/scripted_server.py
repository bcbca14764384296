"""Scripted raw-socket servers for fault tests: a listening socket and a script per connection.

    def script(conn: ScriptedConnection) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhel")
        conn.close()                      # truncated body, then EOF

    with ScriptedServer(script) as server:
        ... server.url, server.accepted, server.peak_open ...

Each accepted connection runs `script(conn)` in a thread of its own, so several clients can be
served at once. The server counts what tests assert on: connections accepted, open now, and the
most open at once. Everything is closed on exit (the tests run under `-W error`, where an
unclosed socket is a failure).

`respond(*responses)` builds the common script "answer each request with the next response,
keep the connection open"; `keep_alive_server(response)` answers every request forever.
`close_after_second_request` closes a kept-alive connection as its second request arrives
(RELIABILITY.md 21). `full_backlog_listener()` gives an address whose connects hang (for
ConnectTimeout) without a packet leaving the machine.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType

__all__ = [
    "ScriptedConnection",
    "ScriptedServer",
    "close_after_second_request",
    "full_backlog_listener",
    "keep_alive_server",
    "read_request",
    "respond",
]

Script = Callable[["ScriptedConnection"], None]

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"


class ScriptedConnection:
    """One accepted connection, as the script sees it."""

    def __init__(self, sock: socket.socket, server: ScriptedServer) -> None:
        self.sock = sock
        self.server = server
        self._buffer = b""
        self.requests: list[bytes] = []  # heads read so far, for assertions

    def recv(self, size: int = 65536) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        return self.sock.recv(size)

    def read_until(self, marker: bytes) -> bytes:
        """Bytes up to and including `marker`; b"" if the client closed first."""
        while marker not in self._buffer:
            data = self.sock.recv(65536)
            if not data:
                return b""
            self._buffer += data
        end = self._buffer.index(marker) + len(marker)
        data, self._buffer = self._buffer[:end], self._buffer[end:]
        return data

    def read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            data = self.sock.recv(65536)
            if not data:
                break
            self._buffer += data
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def read_request(self) -> tuple[bytes, bytes] | None:
        """(head, body) of the next request, or None when the client closed the connection."""
        head = self.read_until(b"\r\n\r\n")
        if not head:
            return None
        self.requests.append(head)
        body = b""
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            body = self._read_chunked()
        elif b"content-length:" in lower:
            start = lower.index(b"content-length:") + len(b"content-length:")
            length = int(lower[start : lower.index(b"\r\n", start)].strip())
            body = self.read_exactly(length)
        return head, body

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size_line = self.read_until(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                self.read_until(b"\r\n")  # no trailers from our client: just the final CRLF
                return body
            body += self.read_exactly(size)
            self.read_until(b"\r\n")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class ScriptedServer:
    """A thread that accepts connections and plays `script` on each one.

    family: AF_INET (default, 127.0.0.1), AF_INET6 (::1) or AF_UNIX (`uds` then names the
    socket file, made in a temporary directory when not given). tls: a server SSLContext.
    """

    def __init__(
        self,
        script: Script,
        *,
        family: socket.AddressFamily = socket.AF_INET,
        tls: ssl.SSLContext | None = None,
        uds: str | None = None,
    ) -> None:
        self.script = script
        self.family = family
        self.tls = tls
        self.accepted = 0
        self.open_now = 0
        self.peak_open = 0
        self.errors: list[BaseException] = []
        self.peer_addresses: list[object] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.uds = uds
        self._listener = self._listen()
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    def _listen(self) -> socket.socket:
        listener = socket.socket(self.family, socket.SOCK_STREAM)
        if self.family == socket.AF_UNIX:
            if self.uds is None:
                self._tempdir = tempfile.TemporaryDirectory()
                self.uds = os.path.join(self._tempdir.name, "server.sock")
            listener.bind(self.uds)
        else:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            host = "::1" if self.family == socket.AF_INET6 else "127.0.0.1"
            listener.bind((host, 0))
        listener.listen(128)
        listener.settimeout(0.05)  # the accept loop checks `_stopping` this often
        return listener

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        if self.family == socket.AF_UNIX:
            return f"{scheme}://localhost/"
        host = "[::1]" if self.family == socket.AF_INET6 else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}/"

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with self._lock:
                self.accepted += 1
                self.open_now += 1
                self.peak_open = max(self.peak_open, self.open_now)
                self.peer_addresses.append(address)
                self._sockets.add(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn: ScriptedConnection | None = None
        try:
            if self.tls is not None:
                wrapped = self.tls.wrap_socket(sock, server_side=True)
                with self._lock:
                    self._sockets.discard(sock)
                    self._sockets.add(wrapped)
                sock = wrapped
            conn = ScriptedConnection(sock, self)
            self.script(conn)
        except (OSError, ValueError) as exc:
            if not self._stopping.is_set():
                self.errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            with self._lock:
                self.open_now -= 1
                self._sockets.discard(sock)

    def close(self) -> None:
        self._stopping.set()
        self._accept_thread.join()
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            # Wakes a script blocked in recv(); its thread then closes the socket itself.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_request(conn: ScriptedConnection) -> tuple[bytes, bytes] | None:
    return conn.read_request()


def respond(*responses: bytes, then_close: bool = False) -> Script:
    """A script: answer each request with the next response; keep the connection open after
    the last (until the client closes it), or close it when `then_close`."""

    def script(conn: ScriptedConnection) -> None:
        for response in responses:
            if conn.read_request() is None:
                return
            conn.send(response)
        if then_close:
            conn.close()
            return
        while conn.read_request() is not None:
            pass  # unexpected extra requests get no answer; the test will notice

    return script


def keep_alive_server(response: bytes = OK_RESPONSE) -> Script:
    """A script: answer every request on the connection with `response`, until EOF."""

    def script(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.send(response)

    return script


def close_after_second_request(conn: ScriptedConnection) -> None:
    """A script. First connection: answer one request, read the next and close without a
    byte of response. Later connections: answer every request with `OK_RESPONSE`."""
    conn.read_request()
    conn.send(OK_RESPONSE)
    if conn.server.accepted == 1:
        conn.read_request()
        conn.close()
        return
    while conn.read_request() is not None:
        conn.send(OK_RESPONSE)


@contextlib.contextmanager
def full_backlog_listener() -> Iterator[tuple[str, int]]:
    """An address on loopback whose connects hang: a listener that never accepts, with its
    backlog filled. Linux drops the SYNs of a full accept queue (the client retries them), so a
    connect there times out, like one to a blackholed address, and no packet leaves the host.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            with contextlib.suppress(BlockingIOError):
                filler.connect(address)
        time.sleep(0.05)  # let the handshakes that fit complete and fill the queue
        yield address
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
