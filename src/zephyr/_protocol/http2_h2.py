"""h2's client connection, with behaviours changed where h2 falls short of RFC 9113.

`http2.HTTP2Connection` drives this subclass of `H2Connection`, from h2 or from its fork jh2
(`_h2lib` chooses; both have the private methods below, and the tests run on each). Each
change overrides one of those private methods (h2 is pinned below 5, jh2 below 6; the tests
exercise every one):

1. **GOAWAY leaves the connection open** for the streams the server is still finishing.
   RFC 9113 §6.8: "Activity on streams numbered lower than or equal to the last stream
   identifier might still complete successfully." h2 instead moves its connection state to
   CLOSED, after which the rest of any response is a ProtocolError (h2 issue #1181). nginx
   sends such a GOAWAY after `keepalive_requests` (1000 by default) with streams in flight:
   httpcore issue #46 is that bug seen from HTTPX. Here GOAWAY only becomes an event; the
   core refuses new streams from then on.

2. **content-length is checked by the core, per stream.** h2 checks it too, but raises a
   connection error, where RFC 9113 §8.1.1 makes a body longer or shorter than the
   content-length a *stream* error ("Malformed requests or responses that are detected MUST
   be treated as a stream error"). h2 also errs on a 304 with a content-length and an empty
   DATA frame, which RFC 9113 §8.1.1 allows ("A response that is defined to have no content
   ... can have a non-zero content-length header field"). h2's two per-stream hooks are
   switched off on each new stream.

3. **Counting open streams costs nothing.** h2 counts them on every new stream by walking all
   the streams it holds (7.7 µs with 100 in flight, measured; linear in the number in
   flight), only to enforce the server's SETTINGS_MAX_CONCURRENT_STREAMS, which the core
   enforces itself with a counter. The walk also forgets closed streams, so the core still
   calls it, once per so many closed streams (`forget_closed_streams`): amortised O(1).

4. **A frame longer than SETTINGS_MAX_FRAME_SIZE fails the connection as soon as more of it
   than that has arrived.** h2 checks a frame's length only once it holds the whole frame:
   up to 16 MiB (the length field's limit) buffered per connection for a hostile server.
   RFC 9113 §4.2: such a frame is a connection error of type FRAME_SIZE_ERROR. Since h2
   consumes every complete frame, what it still holds after a read is one incomplete frame;
   longer than a frame may be, it is one announced too long.

5. **A panic in jh2's native HPACK decoder is a connection error.** jh2 turns the panics
   its Rust decoder is known to raise on a malformed header block ("index out of bounds")
   into a ProtocolError, and re-raises any other: as pyo3's `PanicException`, a
   `BaseException` that a driver's `except Exception` would not catch. What the server sends
   must only ever cost the connection (RFC 9113 §4.3: a header block that cannot be decoded is
   a connection error of type COMPRESSION_ERROR).

And one change to hyperframe, h2's framing layer, which changes no output (jh2 formats no
frame it receives, so there it is left alone):

6. **A received frame's log line no longer costs a copy of its payload.** h2 formats every
   frame it receives for a trace log, logging enabled or not, and hyperframe's format
   hex-encodes the whole payload to show its first 20 hex digits: 32 KiB of text per 16 KiB
   DATA frame, half the time of a download (measured: 715 MiB/s with it, 1,519 without).
   `_payload_repr` returns the very same string from the first 11 bytes. It replaces
   hyperframe's function for the whole process, and only if that gives the same strings.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._h2lib import (
    LIBRARY,
    AllowedStreamIDs,
    ErrorCodes,
    Event,
    Frame,
    FrameTooLargeError,
    GoAwayFrame,
    H2Connection,
    H2Stream,
    ProtocolError,
    hyperframe_frame,
)

if TYPE_CHECKING:
    from h2._typing import Buffer

__all__ = ["ClientH2Connection", "GoAwayReceived"]

_FRAME_HEADER_SIZE = 9  # RFC 9113 §4.1


class GoAwayReceived(Event):
    """What `ClientH2Connection` reports for a GOAWAY frame, in place of h2's own event."""

    __slots__ = ("additional_data", "error_code", "last_stream_id")

    def __init__(self, error_code: int, last_stream_id: int, additional_data: bytes) -> None:
        self.error_code = error_code
        self.last_stream_id = last_stream_id
        self.additional_data = additional_data


class ClientH2Connection(H2Connection):
    """An h2 client connection for `HTTP2Connection`: see the module's docstring."""

    def receive_data(self, data: Buffer) -> list[Event]:
        try:
            events = super().receive_data(data)
        except ProtocolError:
            raise
        except BaseException as error:
            # Change 5. Only a panic of native code is turned into a connection error.
            if type(error).__name__ != "PanicException":
                raise
            failure = ProtocolError(f"Header block that the HPACK decoder failed on: {error}")
            failure.error_code = ErrorCodes.COMPRESSION_ERROR
            self._terminate_connection(failure.error_code)
            raise failure from None
        # Change 4. (jh2's buffer keeps an offset where h2's deletes what it consumed.)
        buffer = self.incoming_buffer
        held = len(buffer._data) - getattr(buffer, "_data_offset", 0)
        if held > self.max_inbound_frame_size + _FRAME_HEADER_SIZE:
            self._terminate_connection(ErrorCodes.FRAME_SIZE_ERROR)
            raise FrameTooLargeError(
                f"Frame longer than SETTINGS_MAX_FRAME_SIZE ({self.max_inbound_frame_size})."
            )
        return events

    def _receive_goaway_frame(self, frame: GoAwayFrame) -> tuple[list[Frame], list[Event]]:
        # Change 1. h2 would also clear what is waiting to be sent: it may still matter (a
        # WINDOW_UPDATE for a stream the server is finishing), and the driver decides.
        event = GoAwayReceived(
            int(frame.error_code or 0), frame.last_stream_id, frame.additional_data or b""
        )
        return [], [event]

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> H2Stream:
        # Change 2.
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        stream._initialize_content_length = _ignore_headers  # type: ignore[method-assign]
        stream._track_content_length = _ignore_length  # type: ignore[method-assign]
        return stream

    @property
    def open_outbound_streams(self) -> int:
        # Change 3: read by h2 only in `send_headers`, to refuse a stream over the server's
        # limit; `HTTP2Connection.send_request` has refused it already.
        return 0

    def forget_closed_streams(self) -> None:
        """Drop the closed streams h2 keeps in `streams` (what its stream count would do)."""
        self._open_streams(1)


def _ignore_headers(headers: Iterable[object]) -> None:
    return None


def _ignore_length(length: int, end_stream: bool) -> None:
    return None


def _payload_repr(data: bytes | None) -> str:
    # Change 6: hyperframe's `_raw_data_repr`, from the 11 bytes (22 hex digits, cut to 20)
    # that it shows rather than the whole payload.
    if not data:
        return "None"
    shown = binascii.hexlify(data[:11]).decode("ascii")
    if len(shown) > 20:
        shown = shown[:20] + "..."
    return "<hex:" + shown + ">"


def _install_payload_repr() -> None:
    if LIBRARY != "h2":
        return  # jh2 formats no frame it receives
    current = getattr(hyperframe_frame, "_raw_data_repr", None)
    if current is None or current is _payload_repr:
        return
    samples = (None, b"", b"\x00", bytes(range(10)), bytes(range(11)), bytes(range(256)))
    if all(current(sample) == _payload_repr(sample) for sample in samples):
        hyperframe_frame._raw_data_repr = _payload_repr


_install_payload_repr()
