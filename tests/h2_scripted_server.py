"""Scripted raw HTTP/2 servers, built on `h2` server-side, for fault tests of HTTP/2 clients.

    def script(conn: H2ScriptedConnection) -> None:
        (request,) = conn.wait_requests(1)
        conn.goaway(last_stream_id=0)          # the request was not processed

    with H2ScriptedServer(script) as server:   # h2c by prior knowledge; tls=True for ALPN h2
        client = zephyr.Client(http1=False, http2=True)
        client.get(server.url + "x")

Each accepted connection runs the script in a thread of its own (through `ScriptedServer`),
with `conn.index` counting connections from 0, so a script can misbehave on the first
connection and serve the retry on the next. Everything is closed on exit (`-W error`).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType

from h2 import events as h2_events
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.exceptions import ProtocolError
from h2.settings import SettingCodes, Settings
from hyperframe.frame import GoAwayFrame

from scripted_server import ScriptedConnection, ScriptedServer

__all__ = ["H2Request", "H2ScriptedConnection", "H2ScriptedServer", "raw_frame", "serve_all"]

_WAIT = 5.0  # bound on every wait of a script: a broken client fails a test, never hangs it


def raw_frame(frame_type: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame built by hand (RFC 9113 §4.1: a 24-bit length, type, flags, a 31-bit stream
    id, then the payload), for what h2 would refuse to send; write it with `send_raw`."""
    header = len(payload).to_bytes(3, "big") + bytes((frame_type, flags))
    return header + (stream_id & 0x7FFF_FFFF).to_bytes(4, "big") + payload


class H2Request:
    """A request as the server received it."""

    def __init__(self, stream_id: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.stream_id = stream_id
        self.headers = {name.decode(): value.decode() for name, value in headers}
        self.body = bytearray()
        self.ended = False

    @property
    def path(self) -> str:
        return self.headers[":path"]

    @property
    def method(self) -> str:
        return self.headers[":method"]


class H2ScriptedConnection:
    """One accepted connection: the server side of h2, read and written by the script."""

    def __init__(
        self,
        sock: socket.socket,
        index: int,
        *,
        max_concurrent_streams: int | None,
        initial_settings: dict[SettingCodes, int] | None = None,
        connection_window: int | None = None,
    ) -> None:
        self.sock = sock
        self.index = index
        self.h2 = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        if initial_settings is not None:
            # In the server's first SETTINGS frame, in force from the start (no ACK awaited).
            self.h2.local_settings = Settings(client=False, initial_values=initial_settings)
        settings = {}
        if max_concurrent_streams is not None:
            settings[SettingCodes.MAX_CONCURRENT_STREAMS] = max_concurrent_streams
        self.h2.initiate_connection()
        if connection_window is not None:
            # The connection's receive window (RFC 9113 §6.9.2: only WINDOW_UPDATE grows it).
            self.h2.increment_flow_control_window(connection_window - 65_535)
        if settings:
            self.h2.update_settings(settings)
        self.requests: dict[int, H2Request] = {}
        self.ping_acks: list[bytes] = []
        self.window_updates: dict[int, int] = {}  # stream id (0: connection) -> total credit
        self.resets: dict[int, int] = {}  # stream id -> error code, from the client
        self.closed_by_client = False
        self.answered: set[int] = set()  # streams responded to or reset by the script
        self.flush()

    # -- I/O --------------------------------------------------------------------------------

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def receive(self, timeout: float = _WAIT) -> list[object]:
        """One read from the client, processed; [] (and `closed_by_client`) at EOF."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, ssl.SSLError):
            data = b""
        if not data:
            self.closed_by_client = True
            return []
        events = self.h2.receive_data(data)
        for event in events:
            self._note(event)
        self.flush()
        return events

    def _note(self, event: object) -> None:
        if isinstance(event, h2_events.RequestReceived):
            self.requests[event.stream_id] = H2Request(event.stream_id, list(event.headers))
        elif isinstance(event, h2_events.DataReceived):
            request = self.requests.get(event.stream_id)
            if request is not None:
                request.body += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2_events.StreamEnded):
            request = self.requests.get(event.stream_id)
            if request is not None:
                request.ended = True
        elif isinstance(event, h2_events.WindowUpdated):
            stream_id = event.stream_id or 0
            self.window_updates[stream_id] = self.window_updates.get(stream_id, 0) + (
                event.delta or 0
            )
        elif isinstance(event, h2_events.PingAckReceived):
            self.ping_acks.append(event.ping_data or b"")
        elif isinstance(event, h2_events.StreamReset):
            self.resets[event.stream_id] = int(event.error_code)

    def wait_requests(self, count: int, timeout: float = _WAIT) -> list[H2Request]:
        """Read until `count` complete requests (END_STREAM seen) arrived; in stream order."""
        deadline = time.monotonic() + timeout
        while sum(r.ended for r in self.requests.values()) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed_by_client:
                raise AssertionError(
                    f"expected {count} requests, got {len(self.requests)} (connection {self.index})"
                )
            self.receive(remaining)
        return sorted((r for r in self.requests.values() if r.ended), key=lambda r: r.stream_id)[
            :count
        ]

    def wait_until(self, condition: Callable[[], bool], timeout: float = _WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed_by_client:
                raise AssertionError("the client did not do what the script waited for")
            self.receive(remaining)

    def drain(self, timeout: float = _WAIT) -> None:
        """Read (and answer PINGs, SETTINGS) until the client closes the connection."""
        deadline = time.monotonic() + timeout
        while not self.closed_by_client and time.monotonic() < deadline:
            try:
                self.receive(deadline - time.monotonic())
            except (TimeoutError, ProtocolError):
                return

    # -- answers ----------------------------------------------------------------------------

    def respond(
        self,
        stream_id: int,
        status: int = 200,
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """A complete response; the body must fit the client's window (small bodies do)."""
        self.answered.add(stream_id)
        fields = [(b":status", str(status).encode()), (b"content-length", str(len(body)).encode())]
        fields += headers or []
        self.h2.send_headers(stream_id, fields, end_stream=not body)
        if body:
            self.h2.send_data(stream_id, body, end_stream=True)
        self.flush()

    def send_head(self, stream_id: int, content_length: int) -> None:
        self.answered.add(stream_id)
        self.h2.send_headers(
            stream_id, [(b":status", b"200"), (b"content-length", str(content_length).encode())]
        )
        self.flush()

    def send_body(
        self,
        stream_id: int,
        total: int,
        *,
        pattern: bytes = b"0123456789abcdef" * 1024,
        until_blocked: bool = False,
    ) -> int:
        """Send `total` bytes of `pattern` repeated, as flow control allows, reading the
        client's WINDOW_UPDATEs while the window is shut. `until_blocked`: return as soon
        as the window is shut. Returns the bytes sent."""
        sent = 0
        chunk = len(pattern)
        while sent < total:
            window = min(
                self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size
            )
            if window <= 0:
                if until_blocked:
                    return sent
                self.receive()
                if self.closed_by_client:
                    return sent
                continue
            size = min(window, chunk, total - sent)
            self.h2.send_data(stream_id, pattern[:size], end_stream=sent + size == total)
            sent += size
            self.flush()
        return sent

    def goaway(self, last_stream_id: int, error_code: int = 0) -> None:
        """Send GOAWAY as a raw frame: h2 would refuse to answer the processed streams after
        its own, and answering them after a GOAWAY is the point of a graceful one."""
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream_id
        frame.error_code = error_code
        self.flush()
        self.sock.sendall(frame.serialize())

    def reset(self, stream_id: int, error_code: int) -> None:
        self.answered.add(stream_id)
        self.h2.reset_stream(stream_id, error_code=error_code)
        self.flush()

    def ping(self, data: bytes) -> None:
        self.h2.ping(data)
        self.flush()

    def send_raw(self, data: bytes) -> None:
        """Write `data` as it is (hand-built frames, see `raw_frame`), after what h2 queued.
        h2 knows nothing of it: frames that change its state (a header block, which moves the
        HPACK context) leave h2 out of step with the client."""
        self.flush()
        self.sock.sendall(data)


H2Script = Callable[[H2ScriptedConnection], None]


def serve_all(conn: H2ScriptedConnection) -> None:
    """A well-behaved script: answer every request with its path, until the client leaves."""
    while not conn.closed_by_client:
        for request in list(conn.requests.values()):
            if request.ended and request.stream_id not in conn.answered:
                conn.respond(request.stream_id, body=request.path.encode())
        try:
            conn.receive()
        except (TimeoutError, ProtocolError):
            return


class H2ScriptedServer:
    """A `ScriptedServer` whose connections speak HTTP/2 (h2c, or TLS with ALPN "h2")."""

    def __init__(
        self,
        script: H2Script,
        *,
        tls: bool = False,
        max_concurrent_streams: int | None = None,
        initial_settings: dict[SettingCodes, int] | None = None,
        connection_window: int | None = None,
        socket_buffer: int | None = None,
    ) -> None:
        """initial_settings, connection_window: the server's first SETTINGS and its
        connection receive window. socket_buffer: SO_SNDBUF and SO_RCVBUF of each accepted
        socket (small ones make a peer that stops reading block the other side's writes)."""
        self._script = script
        self._max_concurrent_streams = max_concurrent_streams
        self._initial_settings = initial_settings
        self._connection_window = connection_window
        self._socket_buffer = socket_buffer
        self._lock = threading.Lock()
        self._count = 0
        self.connections: list[H2ScriptedConnection] = []
        context = None
        if tls:
            from zephyr.testing._certs import certificate_files

            files = certificate_files()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(files.cert_path, files.key_path)
            context.set_alpn_protocols(["h2"])
        self.server = ScriptedServer(self._run, tls=context)
        self.url = self.server.url  # "http://127.0.0.1:<port>/"

    @property
    def accepted(self) -> int:
        return self.server.accepted

    @property
    def errors(self) -> list[BaseException]:
        return self.server.errors

    def _run(self, scripted: ScriptedConnection) -> None:
        with self._lock:
            index = self._count
            self._count += 1
        if self._socket_buffer is not None:
            for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                scripted.sock.setsockopt(socket.SOL_SOCKET, option, self._socket_buffer)
        # h2 reads the client's connection preface itself, with the first `receive()`.
        conn = H2ScriptedConnection(
            scripted.sock,
            index,
            max_concurrent_streams=self._max_concurrent_streams,
            initial_settings=self._initial_settings,
            connection_window=self._connection_window,
        )
        self.connections.append(conn)
        self._script(conn)

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> H2ScriptedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
