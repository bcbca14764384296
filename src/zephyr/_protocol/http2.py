"""The sans-I/O HTTP/2 client core: many requests over one connection, framed by h2.

One `HTTP2Connection` per connection. It knows nothing of sockets, clocks or event loops;
the driver (blocking or asyncio):

- writes `initiate()` first: the connection preface, our SETTINGS, a connection WINDOW_UPDATE;
- opens a stream per request with `send_request`, sends its body with `send_data` (which takes
  what flow control allows and says how much) and `end_stream`;
- writes `data_to_send()` after calling anything, and feeds what it reads to `receive_data`,
  acting on the events (`events.HTTP2Event`), each naming its stream;
- calls `acknowledge_received_data` as a response body is *consumed*, and `reset_stream` to
  cancel a request or abandon a response;
- asks `available_streams` whether the connection can take another request.

Errors: a request that cannot be sent raises `LocalProtocolError` before a byte of it is
queued. A server that breaks the protocol on one stream gets that stream reset, reported as
`StreamReset` (the driver raises `RemoteProtocolError` for that request only). A connection
error raises `RemoteProtocolError` from `receive_data`; a GOAWAY is queued for the driver to
write before it closes the socket, and every stream is lost.

h2 does the framing, HPACK, flow-control bookkeeping and state machines: h2 itself, or its
fork jh2 when installed, whose HPACK is native code and which costs half as much per request
(`_h2lib` chooses; "h2" below means either). Its own header validation and normalisation are
switched off: they are per-byte loops in Python, and they miss what matters most to a client
(h2 sends CR, LF and NUL in header values).
`http2_headers` does instead what a client needs, in a pass or two done mostly in C.
The core cuts the received bytes into frames itself and keeps the DATA frames of a download
from h2 (`receive_data`): h2's per-frame parsing, events and state machines cost 25 µs per
8 KiB frame of a 100 MiB download from nginx (250 MiB/s over TLS); the fast path debits h2's
own windows as h2 would, and hands h2 every frame it might have to refuse
(`test_the_data_fast_path_does_what_h2_does` compares the two on the same bytes).
`http2_h2` changes the h2 behaviours that fall short of RFC 9113 (GOAWAY, content-length) or
cost time for nothing (counting streams, formatting every frame for a log). `http2_streams`
hands flow-control credit to h2 in batches. Limits on what the server sends, against memory
and CPU exhaustion (RELIABILITY.md item 17; Go CVE-2023-45288):

- the decoded header list (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE, which we announce
  and HPACK's decoder enforces as it decodes, so a small block that expands through the
  dynamic table, an "HPACK bomb", stops at the limit): a connection error, as the
  compression context cannot be trusted after a refused block;
- a header block spread over CONTINUATION frames: h2 buffers at most 64 frames of at most
  SETTINGS_MAX_FRAME_SIZE (16 KiB) each, then fails the connection, and decodes nothing until
  the block is complete, so an endless stream of CONTINUATION frames costs neither unbounded
  memory nor CPU;
- the dynamic table: SETTINGS_HEADER_TABLE_SIZE stays at 4 KiB;
- 1xx responses on one stream (`max_informational_responses`): a stream error.
"""

from __future__ import annotations

import contextlib
import enum
import struct
from typing import Any, NoReturn

from .._exceptions import LocalProtocolError, RemoteProtocolError
from ._h2lib import (
    ConnectionState,
    DenialOfServiceError,
    ErrorCodes,
    FrameTooLargeError,
    H2Configuration,
    H2StreamState,
    ProtocolError,
    SettingCodes,
    Settings,
    StreamClosedError,
)
from ._h2lib import events as h2_events
from .events import (
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
from .http2_h2 import ClientH2Connection, GoAwayReceived
from .http2_headers import (
    MalformedResponse,
    informational_status,
    request_fields,
    response_fields,
    trailer_fields,
)
from .http2_streams import ReceiveCredit, StreamState

__all__ = [
    "CANCEL",
    "FLOW_CONTROL_ERROR",
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "REFUSED_STREAM",
    "HTTP2Connection",
]

# RFC 9113 §7 error codes the driver uses, as plain ints (no enum on the hot path).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
REFUSED_STREAM = 0x7
CANCEL = 0x8

# RFC 9113 §5.1.1: stream identifiers are 31-bit; a client's are odd.
_MAX_STREAM_ID = 2**31 - 1
# RFC 9113 §6.9.2: every window starts at 65,535 bytes, and §6.9.1 caps any at 2^31 - 1.
_DEFAULT_WINDOW = 65_535
_MAX_WINDOW = 2**31 - 1
# RFC 7541 §4.2: the HPACK dynamic table, per direction; 4 KiB is the protocol's default.
_HEADER_TABLE_SIZE = 4096
# Before the server's SETTINGS arrive its stream limit is unknown (initially unlimited, RFC
# 9113 §6.5.2, which recommends no less than 100): assume 100, as most clients do.
_ASSUMED_MAX_CONCURRENT_STREAMS = 100
# Closed streams h2 keeps before `forget_closed_streams` runs: see `http2_h2`, change 3.
_FORGET_CLOSED_STREAMS_AFTER = 64
_HTTP_VERSION = "HTTP/2"

# RFC 9113 §4.1: a frame's header is a 24-bit length, a type, flags and a 31-bit stream id.
_FRAME_HEADER_SIZE = 9
_unpack_frame_header = struct.Struct(">BHBBL").unpack_from
_STREAM_ID_MASK = 0x7FFF_FFFF
_DATA = 0x0
_DATA_NOT_PLAIN = 0x1 | 0x8  # END_STREAM, PADDED: such DATA frames go to h2 (RFC 9113 §6.1)
# The stream states in which h2 takes a DATA frame (RFC 9113 §5.1): the client's request
# stream, open or half-closed (local).
_RECEIVING_STATES = frozenset({H2StreamState.OPEN, H2StreamState.HALF_CLOSED_LOCAL})
_CLIENT_OPEN = ConnectionState.CLIENT_OPEN

# h2's event classes, for `type(event) is ...` dispatch.
_H2DataReceived = h2_events.DataReceived
_H2ResponseReceived = h2_events.ResponseReceived
_H2StreamEnded = h2_events.StreamEnded
_H2WindowUpdated = h2_events.WindowUpdated
_H2StreamReset = h2_events.StreamReset
_H2InformationalResponseReceived = h2_events.InformationalResponseReceived
_H2TrailersReceived = h2_events.TrailersReceived
_H2RemoteSettingsChanged = h2_events.RemoteSettingsChanged
_H2PingAckReceived = h2_events.PingAckReceived


class _State(enum.Enum):
    OPEN = "open"
    DRAINING = "GOAWAY received: no new streams"
    CLOSED = "closed"


_OPEN, _DRAINING, _CLOSED = _State.OPEN, _State.DRAINING, _State.CLOSED


class HTTP2Connection:
    """The HTTP/2 state of one client connection: bytes in, events out, bytes to send."""

    __slots__ = (
        "_active_streams",
        "_closed_since_forget",
        "_connection_window_size",
        "_credit",
        "_h2",
        "_held",
        "_last_stream_id_processed",
        "_max_informational_responses",
        "_next_ping",
        "_next_stream_id",
        "_peer_max_concurrent_streams",
        "_state",
        "_streams",
    )

    def __init__(
        self,
        *,
        initial_window_size: int = 8 * 1024 * 1024,
        connection_window_size: int = 16 * 1024 * 1024,
        max_header_list_size: int = 256 * 1024,
        max_informational_responses: int = 50,
    ) -> None:
        """Windows are what the server may send before we acknowledge consumption: per stream
        (SETTINGS_INITIAL_WINDOW_SIZE) and for the whole connection. Large ones keep a fast
        download from stalling on round trips; a slow reader still holds the server back."""
        if not _DEFAULT_WINDOW <= connection_window_size <= _MAX_WINDOW:
            raise ValueError(f"connection_window_size must be 65535 to {_MAX_WINDOW}.")
        if not 0 <= initial_window_size <= _MAX_WINDOW:
            raise ValueError(f"initial_window_size must be 0 to {_MAX_WINDOW}.")
        config = H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
        )
        h2 = ClientH2Connection(config)
        # Set before the preface is sent, so that they are in force from the first stream on:
        # the server applies our SETTINGS before it reads any request (RFC 9113 §3.4, §6.5.3).
        h2.local_settings = Settings(
            client=True,
            initial_values={
                # RFC 9113 §8.4: we do not accept server push.
                SettingCodes.ENABLE_PUSH: 0,
                SettingCodes.INITIAL_WINDOW_SIZE: initial_window_size,
                SettingCodes.MAX_HEADER_LIST_SIZE: max_header_list_size,
                # Streams the *server* may open: none without push, but h2 reads this limit
                # on a HEADERS frame for a stream it forgot, so keep h2's own default.
                SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                SettingCodes.HEADER_TABLE_SIZE: _HEADER_TABLE_SIZE,
            },
        )
        # h2 hands new values to its decoder only when the server acknowledges a change of
        # them: set them now.
        h2.decoder.max_header_list_size = max_header_list_size
        h2.decoder.max_allowed_table_size = _HEADER_TABLE_SIZE
        # Until its SETTINGS arrive, the server's are the RFC's initial values (RFC 9113
        # §6.5.2), which h2 assumes but jh2 does not (it assumes 6 MiB stream windows).
        h2.remote_settings = Settings(
            client=False,
            initial_values={
                SettingCodes.HEADER_TABLE_SIZE: _HEADER_TABLE_SIZE,
                SettingCodes.INITIAL_WINDOW_SIZE: _DEFAULT_WINDOW,
            },
        )
        self._h2 = h2
        self._held = b""  # the start of a frame not yet complete
        self._connection_window_size = connection_window_size
        self._max_informational_responses = max_informational_responses
        self._streams: dict[int, StreamState] = {}
        self._credit = ReceiveCredit(h2, self._streams, initial_window_size, connection_window_size)
        self._active_streams = 0  # open or half-closed (RFC 9113 §5.1.2): they count
        self._closed_since_forget = 0
        self._next_stream_id = 1
        self._next_ping = 0
        self._peer_max_concurrent_streams = _ASSUMED_MAX_CONCURRENT_STREAMS
        self._state = _OPEN
        self._last_stream_id_processed: int | None = None

    # -- the connection -------------------------------------------------------------------

    def initiate(self) -> bytes:
        """Return the connection preface, our SETTINGS and the connection window's update."""
        h2 = self._h2
        h2.initiate_connection()
        # RFC 9113 §6.9.2: SETTINGS_INITIAL_WINDOW_SIZE does not apply to the connection's
        # window, which only a WINDOW_UPDATE on stream 0 can grow.
        increment = self._connection_window_size - _DEFAULT_WINDOW
        if increment:
            h2.increment_flow_control_window(increment)
        return h2.data_to_send()

    def data_to_send(self) -> bytes:
        """Return (and forget) every byte queued for the server since the last call."""
        return self._h2.data_to_send()

    @property
    def available_streams(self) -> int:
        """How many more requests the connection can take now: the server's
        SETTINGS_MAX_CONCURRENT_STREAMS less the streams in flight; 0 once it is going away."""
        if self._state is not _OPEN:
            return 0
        free = self._peer_max_concurrent_streams - self._active_streams
        ids_left = (_MAX_STREAM_ID - self._next_stream_id) // 2 + 1
        return max(0, min(free, ids_left))

    @property
    def active_streams(self) -> int:
        """Streams in flight: a request not fully sent, or a response not fully received."""
        return self._active_streams

    @property
    def is_closed(self) -> bool:
        """True when the connection can serve nothing more: the driver closes the socket."""
        return self._state is _CLOSED or (self._state is _DRAINING and not self._active_streams)

    @property
    def is_goaway_received(self) -> bool:
        return self._last_stream_id_processed is not None

    @property
    def last_stream_id_processed(self) -> int | None:
        """The last stream id of the server's latest GOAWAY, or None before any."""
        return self._last_stream_id_processed

    def ping(self, data: bytes | None = None) -> bytes:
        """Queue a PING (8 bytes of `data`, or a counter's); `PingAcknowledged` answers it.
        PINGs from the server are answered without being reported."""
        if data is None:
            self._next_ping += 1
            data = self._next_ping.to_bytes(8, "big")
        self._require_usable()
        self._h2.ping(data)
        return data

    def close(self, error_code: int = NO_ERROR) -> None:
        """Queue a GOAWAY: the connection is done with (RFC 9113 §6.8). Idempotent."""
        if self._state is _CLOSED:
            return
        self._closed()
        with contextlib.suppress(ProtocolError):  # h2 had already failed the connection
            self._h2.close_connection(error_code)

    def receive_eof(self) -> None:
        """The server closed the connection: nothing more can be sent or received."""
        self._closed()

    def _closed(self) -> None:
        self._state = _CLOSED
        self._credit.enabled = False

    # -- sending --------------------------------------------------------------------------

    def send_request(
        self,
        method: bytes,
        scheme: bytes,
        authority: bytes,
        path: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        end_stream: bool,
    ) -> int:
        """Open a stream with the request's HEADERS; return its id.

        `headers` are HTTP/1-style, as for HTTP/1.1: see `http2_headers.request_fields` for
        their translation (Host becomes ``:authority``, connection-specific fields are
        dropped, names are lower-cased). `end_stream` when the request has no body.
        """
        stream_id = self._next_stream_id
        # `available_streams > 0`, spelled out: a property and min/max cost more per request.
        if (
            self._state is not _OPEN
            or self._active_streams >= self._peer_max_concurrent_streams
            or stream_id > _MAX_STREAM_ID
        ):
            raise LocalProtocolError(self._why_no_stream())
        fields, content_length = request_fields(method, scheme, authority, path, headers)
        if end_stream and content_length:
            raise LocalProtocolError(
                f"Too little data for the declared Content-Length: {content_length} byte(s) "
                "missing."
            )
        try:
            self._h2.send_headers(stream_id, fields, end_stream=end_stream)
        except ProtocolError as error:  # not expected: the fields were checked
            # The compression context may have taken the fields in: no more use.
            self._closed()
            raise LocalProtocolError(f"Could not send the request: {error}") from None
        self._next_stream_id = stream_id + 2
        h2_stream = self._h2.streams[stream_id]
        self._streams[stream_id] = StreamState(
            method == b"HEAD",
            content_length,
            end_stream,
            h2_stream.state_machine,
            h2_stream._inbound_window_manager,
        )
        self._active_streams += 1
        return stream_id

    def send_data(self, stream_id: int, data: bytes | memoryview, *, end_stream: bool) -> int:
        """Queue as much of `data` as flow control allows; return how many bytes that was.

        The rest waits for credit: send it after a `WindowUpdated` event (RFC 9113 §5.2, §6.9).
        The stream ends (END_STREAM) only once all of `data` is taken and `end_stream` is set.
        """
        stream = self._sending_stream(stream_id)
        if isinstance(data, memoryview) and (data.format != "B" or data.ndim != 1):
            data = data.cast("B")  # slices below count bytes
        size = len(data)
        bytes_left = stream.request_bytes_left
        if bytes_left is not None and size > bytes_left:
            self._refuse_body(
                stream_id,
                "Too much data for the declared Content-Length: "
                f"{size - bytes_left} byte(s) more than announced.",
            )
        h2 = self._h2
        accepted = min(size, h2.local_flow_control_window(stream_id))
        finish = end_stream and accepted == size
        if finish and bytes_left is not None and bytes_left != size:
            self._refuse_body(
                stream_id,
                "Too little data for the declared Content-Length: "
                f"{bytes_left - size} byte(s) missing.",
            )
        frame_size = h2.max_outbound_frame_size
        if accepted <= frame_size:
            if accepted or finish:
                h2.send_data(
                    stream_id, data if accepted == size else data[:accepted], end_stream=finish
                )
        else:
            view = memoryview(data)
            for start in range(0, accepted, frame_size):
                stop = min(start + frame_size, accepted)
                h2.send_data(stream_id, view[start:stop], end_stream=finish and stop == accepted)
        if bytes_left is not None:
            stream.request_bytes_left = bytes_left - accepted
        if finish:
            self._local_end(stream_id, stream)
        return accepted

    def end_stream(self, stream_id: int) -> None:
        """End the request body (an empty DATA frame with END_STREAM)."""
        self.send_data(stream_id, b"", end_stream=True)

    def reset_stream(self, stream_id: int, error_code: int = CANCEL) -> None:
        """Cancel a request, or abandon its response: RST_STREAM if the stream is still in
        flight, and the unread body's flow-control credit handed back to the connection.
        Idempotent; the stream's events stop here."""
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        if not (stream.local_closed and stream.remote_closed):
            if self._state is not _CLOSED:
                # StreamClosedError: h2 saw the stream end, in a batch not reported yet.
                with contextlib.suppress(StreamClosedError):
                    self._h2.reset_stream(stream_id, error_code)
            self._stream_closed()
        self._release_window(stream_id, stream)

    def acknowledge_received_data(self, stream_id: int, nbytes: int) -> None:
        """Report `nbytes` (a `StreamDataReceived.flow_controlled_length`) as consumed: the
        server may send that much more (RFC 9113 §5.2.2: a receiver that reads slowly holds
        the sender back). Credit reaches the server in batches (see `http2_streams`)."""
        stream = self._streams.get(stream_id)
        if stream is None or nbytes <= 0:
            return  # a reset stream's credit was handed back when it was reset
        if nbytes > stream.unacknowledged:
            nbytes = stream.unacknowledged
        self._credit.consumed(stream_id, stream, nbytes)
        if not stream.unacknowledged and stream.remote_closed and stream.local_closed:
            del self._streams[stream_id]

    # -- receiving ------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[HTTP2Event]:
        """Process bytes from the server; return the events they complete, in order.

        Raises RemoteProtocolError on a connection error (every stream is lost). Nothing of
        `data` is kept after the call: a read buffer may be passed as a memoryview and reused.

        The bytes are cut into frames here. A plain DATA frame (neither END_STREAM nor
        PADDED) on a stream whose response head has arrived, within both receive windows,
        takes the fast path: its payload becomes an event, and h2's windows are debited
        exactly as h2 would. Every other frame goes to h2, in order, and so does any DATA frame
        h2 might have to refuse (a closed or unknown stream, a window exceeded, a header block
        in progress): h2 decides those as always. See the module's docstring.
        """
        if self._state is _CLOSED:
            return []
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        events: list[HTTP2Event] = []
        held = self._held
        if held:
            # The frame begun in an earlier read is completed apart, without copying the rest.
            self._held = b""
            missing = self._missing(held)
            if 0 < missing <= len(view):
                self._frames(held + view[:missing], events)
                view = view[missing:]
            else:
                view = memoryview(held + view)
        self._frames(view, events)
        return events

    def _missing(self, held: bytes) -> int:
        # How many bytes complete the frame `held` begins; -1 if its header is incomplete or
        # announces a frame too long (`_frames` deals with it).
        if len(held) < _FRAME_HEADER_SIZE:
            return -1
        length = int.from_bytes(held[:3], "big")
        if length > self._h2.max_inbound_frame_size:
            return -1
        return _FRAME_HEADER_SIZE + length - len(held)

    def _frames(self, data: bytes | memoryview, events: list[HTTP2Event]) -> None:
        # Every complete frame of `data`, in order; the incomplete rest is held for later.
        h2 = self._h2
        streams = self._streams
        unpack = _unpack_frame_header
        size = len(data)
        position = 0
        run = -1  # where the frames for h2 not yet handed to it begin
        fast = self._fast_path_open()
        max_frame_size = h2.max_inbound_frame_size
        connection_window = h2._inbound_flow_control_window_manager
        while size - position >= _FRAME_HEADER_SIZE:
            length_high, length_low, kind, flags, stream_id = unpack(data, position)
            length = length_high << 16 | length_low
            if length > max_frame_size:
                # http2_h2's change 4: a connection error once more of the frame has arrived
                # than a frame may hold, so that at most that much is ever buffered.
                if size - position <= max_frame_size + _FRAME_HEADER_SIZE:
                    break
                if run >= 0:
                    self._to_h2(bytes(data[run:position]), events)
                self._frame_too_large()
            end = position + _FRAME_HEADER_SIZE + length
            if end > size:
                break
            if kind == _DATA and not flags & _DATA_NOT_PLAIN:
                if run >= 0:
                    # h2 first: what it reports may open the fast path (a response head).
                    self._to_h2(bytes(data[run:position]), events)
                    run = -1
                    fast = self._fast_path_open()
                    max_frame_size = h2.max_inbound_frame_size
                stream_id &= _STREAM_ID_MASK
                stream = streams.get(stream_id) if fast else None
                if (
                    stream is not None
                    and stream.receiving
                    and stream.machine.state in _RECEIVING_STATES
                    and connection_window.current_window_size >= length
                    and stream.window.current_window_size >= length
                ):
                    # What h2 does for this frame: RFC 9113 §6.9, both windows are debited.
                    connection_window.current_window_size -= length
                    stream.window.current_window_size -= length
                    received = stream.received + length
                    stream.received = received
                    stream.unacknowledged += length
                    limit = stream.content_length
                    if limit is not None and received > limit:
                        self._stream_error(stream_id, stream, self._body_too_long(stream), events)
                    elif length:
                        body = bytes(data[position + _FRAME_HEADER_SIZE : end])
                        events.append(StreamDataReceived(stream_id, body, length))
                    position = end
                    continue
            if run < 0:
                run = position
            position = end
        if run >= 0:
            self._to_h2(bytes(data[run:position]), events)
        if position < size:
            self._held = bytes(data[position:])

    def _fast_path_open(self) -> bool:
        # h2 takes DATA in this connection state, and is not in the middle of a header block
        # (where any frame but CONTINUATION is a connection error: RFC 9113 §6.10).
        h2 = self._h2
        return (
            self._state is not _CLOSED
            and h2.state_machine.state is _CLIENT_OPEN
            and not h2.incoming_buffer._headers_buffer
        )

    def _to_h2(self, frames: bytes, events: list[HTTP2Event]) -> None:
        # Whole frames, which h2 consumes entirely: nothing stays in its buffer.
        try:
            # Any: the loop dispatches on exact types, cheaper than isinstance narrowing.
            received_events: list[Any] = self._h2.receive_data(frames)
        except ProtocolError as error:
            self._connection_failed(error)
        streams = self._streams
        for event in received_events:
            kind = type(event)
            if kind is _H2DataReceived:
                stream_id = event.stream_id
                stream = streams.get(stream_id)
                flow_controlled_length = event.flow_controlled_length
                if stream is None:  # reset or abandoned: nobody will consume it
                    self._acknowledge_now(stream_id, flow_controlled_length)
                    continue
                body = event.data
                received = stream.received + len(body)
                stream.received = received
                stream.unacknowledged += flow_controlled_length
                limit = stream.content_length
                if limit is not None and received > limit:
                    self._stream_error(stream_id, stream, self._body_too_long(stream), events)
                elif body:
                    events.append(StreamDataReceived(stream_id, body, flow_controlled_length))
                elif flow_controlled_length:  # padding only: there is nothing to consume
                    self._credit.consumed(stream_id, stream, flow_controlled_length)
            elif kind is _H2ResponseReceived:
                self._response_received(event, events)
            elif kind is _H2StreamEnded:
                self._remote_end(event.stream_id, events)
            else:
                self._other_event(event, events)

    def _frame_too_large(self) -> NoReturn:
        # RFC 9113 §4.2: a connection error of type FRAME_SIZE_ERROR.
        self._h2._terminate_connection(ErrorCodes.FRAME_SIZE_ERROR)
        limit = self._h2.max_inbound_frame_size
        self._connection_failed(
            FrameTooLargeError(f"Frame longer than SETTINGS_MAX_FRAME_SIZE ({limit}).")
        )

    def _response_received(self, event: _H2ResponseReceived, events: list[HTTP2Event]) -> None:
        stream_id = event.stream_id
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        try:
            status_code, fields, content_length = response_fields(event.headers)
        except MalformedResponse as error:
            self._stream_error(stream_id, stream, str(error), events)
            return
        if stream.head_only or status_code == 204 or status_code == 304:
            # RFC 9110 §6.4.1: no content, whatever content-length says (RFC 9113 §8.1.1).
            content_length = 0
        stream.content_length = content_length
        stream.receiving = True
        events.append(StreamResponseReceived(stream_id, status_code, _HTTP_VERSION, fields))

    def _remote_end(self, stream_id: int, events: list[HTTP2Event]) -> None:
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        limit = stream.content_length
        if limit is not None and stream.received != limit:
            # RFC 9113 §8.1.1: the body's length must equal the content-length.
            reason = (
                "Response body shorter than its content-length: received "
                f"{stream.received} of {limit} byte(s)."
            )
            self._stream_error(stream_id, stream, reason, events)
            return
        stream.remote_closed = True
        stream.receiving = False
        self._credit.stream_ended(stream_id, stream)
        events.append(StreamEnded(stream_id))
        if stream.local_closed:
            self._stream_closed()
            if not stream.unacknowledged:
                del self._streams[stream_id]

    def _other_event(self, event: Any, events: list[HTTP2Event]) -> None:
        kind = type(event)
        if kind is _H2WindowUpdated:
            stream_id = event.stream_id or 0
            if not stream_id or stream_id in self._streams:
                events.append(WindowUpdated(stream_id, event.delta or 0))
        elif kind is _H2StreamReset:
            self._stream_reset(event, events)
        elif kind is _H2InformationalResponseReceived:
            self._informational_response(event, events)
        elif kind is _H2TrailersReceived:
            stream_id = event.stream_id
            stream = self._streams.get(stream_id)
            if stream is not None:
                try:
                    fields = trailer_fields(event.headers)
                except MalformedResponse as error:
                    self._stream_error(stream_id, stream, str(error), events)
                else:
                    events.append(StreamTrailersReceived(stream_id, fields))
        elif kind is _H2RemoteSettingsChanged:
            self._settings_changed(event, events)
        elif kind is GoAwayReceived:
            self._goaway_received(event, events)
        elif kind is _H2PingAckReceived:
            events.append(PingAcknowledged(event.ping_data or b""))
        # The rest need nothing from the driver: PINGs (h2 answers them), our SETTINGS
        # acknowledged, PRIORITY, ALTSVC, and frames of unknown types (RFC 9113 §5.5: ignored).

    def _informational_response(
        self, event: _H2InformationalResponseReceived, events: list[HTTP2Event]
    ) -> None:
        stream_id = event.stream_id
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        stream.informational_count += 1
        try:
            if stream.informational_count > self._max_informational_responses:
                raise MalformedResponse(
                    f"More than {self._max_informational_responses} informational (1xx) "
                    "responses (max_informational_responses)."
                )
            status_code, fields = informational_status(event.headers)
        except MalformedResponse as error:
            self._stream_error(stream_id, stream, str(error), events)
            return
        events.append(StreamInformationalResponseReceived(stream_id, status_code, fields))

    def _stream_reset(self, event: _H2StreamReset, events: list[HTTP2Event]) -> None:
        stream_id = event.stream_id
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        error_code = int(event.error_code)
        name = _error_name(error_code)
        if event.remote_reset:
            reason = f"The server reset the stream: {name}."
            if error_code == REFUSED_STREAM:
                reason += " It did not process the request (RFC 9113 §8.7): it may be retried."
        else:  # h2 reset it: a stream window overflowed, or a frame came after END_STREAM
            reason = f"Stream reset after the server broke the protocol on it: {name}."
        if not (stream.local_closed and stream.remote_closed):
            self._stream_closed()
        self._release_window(stream_id, stream)
        events.append(StreamReset(stream_id, error_code, bool(event.remote_reset), reason))

    def _settings_changed(self, event: _H2RemoteSettingsChanged, events: list[HTTP2Event]) -> None:
        remote = self._h2.remote_settings
        self._peer_max_concurrent_streams = remote.max_concurrent_streams
        window_change = event.changed_settings.get(SettingCodes.INITIAL_WINDOW_SIZE)
        events.append(SettingsChanged(remote.max_concurrent_streams))
        if window_change is not None:
            growth = window_change.new_value - (window_change.original_value or _DEFAULT_WINDOW)
            if growth > 0:  # every stream's send window grew (RFC 9113 §6.9.2)
                events.append(WindowUpdated(0, growth))

    def _goaway_received(self, event: GoAwayReceived, events: list[HTTP2Event]) -> None:
        # RFC 9113 §6.8: streams above the last id were not processed and never will be; the
        # server ignores their frames, so they end here, without RST_STREAM.
        last_stream_id = event.last_stream_id
        previous = self._last_stream_id_processed
        if previous is not None and previous < last_stream_id:
            last_stream_id = previous  # the id may only go down
        self._last_stream_id_processed = last_stream_id
        if self._state is _OPEN:
            self._state = _DRAINING
        unprocessed = sorted(stream_id for stream_id in self._streams if stream_id > last_stream_id)
        for stream_id in unprocessed:
            stream = self._streams.pop(stream_id)
            if not (stream.local_closed and stream.remote_closed):
                self._stream_closed()
            self._release_window(stream_id, stream)
        events.append(
            ConnectionTerminated(
                event.error_code, last_stream_id, event.additional_data, tuple(unprocessed)
            )
        )

    # -- bookkeeping ----------------------------------------------------------------------

    def _sending_stream(self, stream_id: int) -> StreamState:
        stream = self._streams.get(stream_id)
        if stream is None or stream.local_closed:
            raise LocalProtocolError(f"Stream {stream_id} is not open for sending.")
        self._require_usable()
        return stream

    def _require_usable(self) -> None:
        if self._state is _CLOSED:
            raise LocalProtocolError("The HTTP/2 connection is closed.")

    def _local_end(self, stream_id: int, stream: StreamState) -> None:
        stream.local_closed = True
        if stream.remote_closed:
            self._stream_closed()
            if not stream.unacknowledged:
                del self._streams[stream_id]

    def _refuse_body(self, stream_id: int, message: str) -> NoReturn:
        # The request can no longer be sent as announced: the stream goes, not the connection.
        self.reset_stream(stream_id, CANCEL)
        raise LocalProtocolError(message)

    def _stream_error(
        self, stream_id: int, stream: StreamState, reason: str, events: list[HTTP2Event]
    ) -> None:
        # RFC 9113 §5.4.2: a stream error resets that stream only.
        del self._streams[stream_id]
        if not (stream.local_closed and stream.remote_closed):
            # StreamClosedError: its END_STREAM came in this batch, there is nothing to reset.
            with contextlib.suppress(StreamClosedError):
                self._h2.reset_stream(stream_id, PROTOCOL_ERROR)
            self._stream_closed()
        self._release_window(stream_id, stream)
        events.append(StreamReset(stream_id, PROTOCOL_ERROR, False, reason))

    def _body_too_long(self, stream: StreamState) -> str:
        if stream.content_length == 0 and stream.head_only:
            return "Response to a HEAD request with a body."
        return (
            f"Response body longer than its content-length: more than {stream.content_length} "
            "byte(s)."
        )

    def _stream_closed(self) -> None:
        self._active_streams -= 1
        self._closed_since_forget += 1
        if self._closed_since_forget > self._active_streams + _FORGET_CLOSED_STREAMS_AFTER:
            self._closed_since_forget = 0
            self._h2.forget_closed_streams()

    def _release_window(self, stream_id: int, stream: StreamState) -> None:
        if stream.unacknowledged or stream.credit:
            self._credit.release(stream_id, stream)

    def _acknowledge_now(self, stream_id: int, nbytes: int) -> None:
        if nbytes and self._state is not _CLOSED:
            self._h2.acknowledge_received_data(nbytes, stream_id)

    def _connection_failed(self, error: ProtocolError) -> NoReturn:
        self._closed()
        code = getattr(error, "error_code", PROTOCOL_ERROR)
        message = f"HTTP/2 connection error ({_error_name(int(code))}): {error}"
        if isinstance(error, DenialOfServiceError):
            message += " (max_header_list_size)"
        raise RemoteProtocolError(message) from None

    def _why_no_stream(self) -> str:
        if self._state is _CLOSED:
            return "The HTTP/2 connection is closed."
        if self._state is _DRAINING:
            return "The server sent GOAWAY: this connection takes no new requests."
        if self._next_stream_id > _MAX_STREAM_ID:
            return "This HTTP/2 connection has used up its stream identifiers."
        return (
            "No stream available on this HTTP/2 connection: the server allows "
            f"{self._peer_max_concurrent_streams} concurrent streams."
        )


def _error_name(error_code: int) -> str:
    try:
        return f"{ErrorCodes(error_code).name} (0x{error_code:x})"
    except ValueError:
        return f"error code 0x{error_code:x}"
