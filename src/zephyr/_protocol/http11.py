"""The sans-I/O HTTP/1.1 client core: requests serialised here, responses parsed by llhttp.

One `HTTP11Connection` per connection, one request at a time (no pipelining). The driver
writes what `send_request_head` / `send_body` / `end_request` return, feeds what it reads to
`receive_data` (and `receive_eof` at EOF), and acts on the events. After `ResponseEnded` it
may reuse the connection if `is_reusable`, calling `start_next_cycle` first.

Response parsing is llhttp's (via httptools), kept at its strict defaults; this module adds
what llhttp cannot know or does not check:
- the request method: a response to HEAD has no body whatever its headers say, and a 2xx
  response to CONNECT turns the connection into a tunnel (RFC 9110 §9.3.2, §9.3.6);
- `Transfer-Encoding` other than exactly ``chunked`` (llhttp would read such a body until
  EOF), and any `Transfer-Encoding` in an HTTP/1.0 response (RFC 9112 §6.1: faulty framing);
- HTTP versions other than 1.0 and 1.1, status codes below 100;
- bounds on header lines, header counts and 1xx responses (llhttp has none of its own);
- bytes after the end of a response, which no request asked for: the connection must close.

Once the head of a Content-Length response is parsed, later reads of its body are counted off
here instead of being fed to llhttp, whose callback would copy each into a new `bytes`: a read
that is all body comes out as the very object the driver passed in. Reads may be memoryviews
of the driver's buffer; whatever the core keeps or returns is `bytes` of its own.
"""

from __future__ import annotations

import enum
from typing import NoReturn

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from .._exceptions import LocalProtocolError, RemoteProtocolError
from .events import (
    ConnectionUpgraded,
    DataReceived,
    Event,
    InformationalResponseReceived,
    ResponseEnded,
    ResponseReceived,
    _set_data,
    _set_headers,
    _set_http_version,
    _set_reason_phrase,
    _set_status_code,
)
from .http11_request import request_framing, serialise_head

__all__ = ["HTTP11Connection"]


def _byte_view(data: bytes | bytearray | memoryview) -> bytes | memoryview:
    """`data` as something indexed and measured in bytes: a flat, contiguous byte view (as a
    driver's `memoryview(buffer)[:size]` is already) when large, else a copy: for a small read,
    a copy costs less than working on a view (slicing, comparing, converting pieces)."""
    view = data if type(data) is memoryview else memoryview(data)
    if view.nbytes > _VIEW_MIN_SIZE and view.format == "B" and view.ndim == 1 and view.c_contiguous:
        return view
    return view.tobytes()


# Reads up to this size given as views are copied at once: a 16 KiB copy costs ~0.1 µs, about
# what a view costs in extra steps on the way through.
_VIEW_MIN_SIZE = 16 * 1024


class _Sending(enum.Enum):
    IDLE = "no request in progress"
    BODY = "request body being sent"
    DONE = "request fully sent"


class _Receiving(enum.Enum):
    IDLE = "no response expected"
    RESPONSE = "response expected or in progress"
    DONE = "response ended"
    UPGRADED = "connection upgraded to another protocol"
    CLOSED = "peer closed the connection"
    FAILED = "response was malformed"


# Module-level aliases: a global lookup is cheaper than an attribute lookup on an Enum class.
_SEND_IDLE, _SEND_BODY, _SEND_DONE = _Sending.IDLE, _Sending.BODY, _Sending.DONE
_RECV_IDLE, _RECV_RESPONSE, _RECV_DONE = _Receiving.IDLE, _Receiving.RESPONSE, _Receiving.DONE
_RECV_UPGRADED, _RECV_CLOSED, _RECV_FAILED = (
    _Receiving.UPGRADED,
    _Receiving.CLOSED,
    _Receiving.FAILED,
)

_new_event = object.__new__
_RESPONSE_ENDED = ResponseEnded()  # immutable and field-less: one instance serves every response
_HTTP_VERSIONS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_CR_LF = b"\r\n"


class _NoEvents(list[Event]):
    """`_events` outside `receive_data` and `receive_eof`, which give each call a list of its
    own and take it back on the way out: llhttp calls back only from `feed_data`, so nothing
    may arrive here."""

    def append(self, event: Event) -> None:
        raise AssertionError(f"{event!r} outside receive_data/receive_eof")


_NO_EVENTS = _NoEvents()


class _Callbacks:
    """The llhttp callbacks of one connection, under the names httptools looks for. Slotted:
    it lives as long as its connection (~100 bytes where a SimpleNamespace took ~400)."""

    __slots__ = (
        "on_body",
        "on_chunk_complete",
        "on_chunk_header",
        "on_header",
        "on_headers_complete",
        "on_message_begin",
        "on_message_complete",
        "on_status",
    )

    def __init__(self, connection: HTTP11Connection) -> None:
        self.on_message_begin = connection._on_message_begin
        self.on_status = connection._on_status
        self.on_header = connection._on_header
        self.on_headers_complete = connection._on_headers_complete
        self.on_body = connection._on_body
        self.on_chunk_header = connection._on_chunk_header
        self.on_chunk_complete = connection._on_chunk_complete
        self.on_message_complete = connection._on_message_complete


class _ExtraBytes(Exception):
    """Raised inside llhttp's callback to stop it at the start of an unrequested response."""


class HTTP11Connection:
    """The HTTP/1.1 state of one client connection: bytes in, events out, bytes to send."""

    __slots__ = (
        "_awaiting_message_complete",
        "_body_received",
        "_body_received_at_chunk",
        "_bytes_received",
        "_callback_error",
        "_callbacks",
        "_chunk_open",
        "_chunked_request",
        "_connection_options",
        "_content_length",
        "_events",
        "_head_complete",
        "_head_only",
        "_headers",
        "_informational_count",
        "_line_size",
        "_max_header_count",
        "_max_header_line_size",
        "_max_informational_responses",
        "_message_started",
        "_must_close",
        "_parser",
        "_parser_spent",
        "_read_starts_http11",
        "_reason",
        "_receiving",
        "_request_bytes_remaining",
        "_request_method",
        "_sending",
        "_transfer_encodings",
        "_upgrade_head",
    )

    # Per connection.
    _max_header_line_size: int
    _max_header_count: int
    _max_informational_responses: int
    _callbacks: _Callbacks
    _parser: HttpResponseParser
    _parser_spent: bool  # stopped mid-message: the next request needs a fresh one
    _sending: _Sending
    _receiving: _Receiving
    _must_close: bool  # set for good: keep-alive refused, stray bytes, EOF, error, upgrade
    _events: list[Event]  # the list `receive_data` / `receive_eof` is filling
    # Per request.
    _request_method: bytes
    _head_only: bool  # HEAD or CONNECT: llhttp must not parse past the final head
    _chunked_request: bool
    _request_bytes_remaining: int
    _informational_count: int
    _message_started: bool
    _read_starts_http11: bool  # the read being parsed starts with this response's status line
    _head_complete: bool  # of the final response
    _line_size: int  # bytes of the header or trailer line being received
    _bytes_received: int  # for this response: while within the line limit, no line is over
    _callback_error: RemoteProtocolError | None
    _upgrade_head: tuple[int, bytes, list[tuple[bytes, bytes]]] | None
    _awaiting_message_complete: bool  # llhttp's message end is the response's end
    _body_received: int
    _chunk_open: bool
    _body_received_at_chunk: int
    # Per message (each 1xx response, then the final one).
    _headers: list[tuple[bytes, bytes]]
    _reason: bytes
    _content_length: bytes | None
    _transfer_encodings: list[bytes] | None
    _connection_options: bytes | None

    def __init__(
        self,
        *,
        max_header_line_size: int = 65536,
        max_header_count: int = 200,
        max_informational_responses: int = 50,
    ) -> None:
        self._max_header_line_size = max_header_line_size
        self._max_header_count = max_header_count
        self._max_informational_responses = max_informational_responses
        # httptools looks the callbacks up once, by name, when a parser is made: an object of
        # bound methods keeps them off this class's public surface at no cost per call.
        self._callbacks = _Callbacks(self)
        self._parser = HttpResponseParser(self._callbacks)
        self._parser_spent = False
        self._sending = _SEND_IDLE
        self._receiving = _RECV_IDLE
        self._must_close = False
        self._events = _NO_EVENTS
        self._chunked_request = False
        self._request_bytes_remaining = 0
        self._reset_request_state(b"GET")
        self._clear_message_fields()

    # -- sending --------------------------------------------------------------------------

    def send_request_head(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
    ) -> bytes:
        """Return the serialised request head; note how the body is framed.

        Refuses (LocalProtocolError, nothing to send) anything that could split or smuggle a
        request: CR, LF, NUL or other controls in any part, spaces in the method or target,
        header names that are not tokens, a missing Host, contradictory or malformed framing.
        """
        if self._sending is not _SEND_IDLE or self._receiving is not _RECV_IDLE:
            raise LocalProtocolError("A request is already in progress on this connection.")
        if self._must_close:
            raise LocalProtocolError("This connection cannot carry another request.")
        head, framing_headers = serialise_head(method, target, headers)
        if len(framing_headers) == 1 and framing_headers[0][0].lower() == b"host":
            # The usual request without a body: Host is the only framing header.
            self._chunked_request = False
            self._request_bytes_remaining = 0
        else:
            self._chunked_request, self._request_bytes_remaining = request_framing(framing_headers)
        self._reset_request_state(method)
        self._sending = _SEND_BODY
        self._receiving = _RECV_RESPONSE
        return head

    def send_body(self, data: bytes | memoryview) -> list[bytes | memoryview]:
        """Frame a piece of the request body; write the pieces returned, in order.

        The data itself is passed through, never copied.
        """
        if self._sending is not _SEND_BODY:
            raise LocalProtocolError("No request body is being sent on this connection.")
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if size == 0:
            return []  # an empty chunk would end a chunked body (RFC 9112 §7.1)
        if self._chunked_request:
            return [b"%x\r\n" % size, data, _CR_LF]
        remaining = self._request_bytes_remaining - size
        if remaining < 0:
            self._must_close = True
            raise LocalProtocolError(
                "Too much data for the declared Content-Length: "
                f"{-remaining} byte(s) more than announced."
            )
        self._request_bytes_remaining = remaining
        return [data]

    def end_request(self) -> bytes:
        """Return what ends the request body: the last chunk when chunked, otherwise nothing."""
        if self._sending is not _SEND_BODY:
            raise LocalProtocolError("No request body is being sent on this connection.")
        if self._chunked_request:
            self._sending = _SEND_DONE
            return b"0\r\n\r\n"
        if self._request_bytes_remaining:
            self._must_close = True
            raise LocalProtocolError(
                "Too little data for the declared Content-Length: "
                f"{self._request_bytes_remaining} byte(s) missing."
            )
        self._sending = _SEND_DONE
        return b""

    # -- receiving ------------------------------------------------------------------------

    def receive_data(self, data: bytes | memoryview) -> list[Event]:
        """Parse bytes from the server; return the events they complete.

        `data` may be a memoryview of the driver's read buffer: nothing the core keeps or
        returns refers to it (bodies come out as `bytes`), so the buffer may be reused at once.
        A read that is all Content-Length body is handed out as is when it is `bytes`.
        """
        events: list[Event] = []
        self._events = events
        try:
            if type(data) is not bytes:
                data = _byte_view(data)
            if self._receiving is _RECV_RESPONSE and not self._head_only:
                if (
                    self._head_complete
                    and self._content_length is not None
                    and self._transfer_encodings is None
                ):
                    # In a Content-Length body: llhttp would only count these bytes, and copy
                    # them into a new `bytes` on the way out. Counted here, they stay uncopied.
                    self._receive_sized_body(data)
                    return events
                # The hot path, `_feed` inlined: a call less per read.
                self._bytes_received += len(data)
                # llhttp parses a status line that starts this read, between messages, as
                # written: then "HTTP/1.1 " here spares a version string built per response.
                self._read_starts_http11 = not self._message_started and data[:9] == b"HTTP/1.1 "
                try:
                    self._parser.feed_data(data)
                except HttpParserUpgrade as upgrade:
                    self._connection_upgraded(bytes(data[upgrade.args[0] :]))
                except HttpParserError as error:
                    self._parser_failed(error, data)
                else:
                    if not self._head_complete or self._chunk_open:
                        self._bound_field_line(data)
            else:
                self._receive_other(data if type(data) is bytes else bytes(data))
        finally:
            # The list leaves with its events: an idle connection keeps no response alive.
            self._events = _NO_EVENTS
        return events

    def receive_eof(self) -> list[Event]:
        """The server closed its side. Ends a close-delimited body; mid-response it is an error."""
        events: list[Event] = []
        self._events = events
        try:
            self._must_close = True
            if self._receiving is not _RECV_RESPONSE:
                if self._receiving is _RECV_IDLE:
                    self._receiving = _RECV_CLOSED
                return events
            if (
                self._head_complete
                and self._content_length is None
                and self._transfer_encodings is None
            ):
                # RFC 9112 §6.3 rule 8: no framing headers, so the body is everything until EOF.
                self._end_response()
                return events
            self._fail_now(self._describe_truncation())
        finally:
            self._events = _NO_EVENTS

    @property
    def is_reusable(self) -> bool:
        """True when the connection can carry another request: the last response ended cleanly,
        keep-alive was allowed, the request was fully sent and nothing else arrived."""
        if self._must_close:
            return False
        if self._receiving is _RECV_DONE:
            return self._sending is _SEND_DONE
        return self._receiving is _RECV_IDLE and self._sending is _SEND_IDLE

    def start_next_cycle(self) -> None:
        """Get ready for the next request on this connection (only when `is_reusable`)."""
        if not self.is_reusable:
            raise LocalProtocolError("This connection cannot carry another request.")
        self._sending = _SEND_IDLE
        self._receiving = _RECV_IDLE
        if self._parser_spent:
            self._parser = HttpResponseParser(self._callbacks)
            self._parser_spent = False

    # -- feeding llhttp -------------------------------------------------------------------

    def _receive_sized_body(self, data: bytes | memoryview) -> None:
        # Only reached with the final head complete (not for HEAD or a CONNECT tunnel), framed
        # by Content-Length alone, and the body not yet whole (else the response would be
        # DONE), so `left` > 0. llhttp, given these bytes, would count them off the same way
        # and, past the end, skip CR/LF and stop at anything else (`_on_message_begin`).
        size = len(data)
        if size == 0:
            return
        content_length = self._content_length
        assert content_length is not None  # checked by receive_data
        left = int(content_length) - self._body_received
        if size < left:
            self._body_received += size
            self._events.append(DataReceived(data if type(data) is bytes else bytes(data)))
            return
        body = data if size == left else data[:left]
        self._body_received += left
        self._events.append(DataReceived(body if type(body) is bytes else bytes(body)))
        self._end_response()
        self._parser_spent = True  # llhttp still waits for this body: a fresh parser next time
        if size > left and bytes(data[left:]).strip(b"\r\n"):
            self._must_close = True  # bytes no request asked for

    def _receive_other(self, data: bytes) -> None:
        receiving = self._receiving
        if receiving is _RECV_RESPONSE:
            self._feed_head_only(data)
        elif receiving is _RECV_IDLE or receiving is _RECV_DONE:
            # No request is waiting for these bytes. llhttp skips CR/LF between messages
            # (RFC 9112 §2.2), so those are harmless; anything else poisons the connection.
            if data.strip(b"\r\n"):
                self._must_close = True
        else:
            raise LocalProtocolError(f"Cannot receive HTTP/1.1 data: {receiving.value}.")

    def _feed(self, piece: bytes, data: bytes, piece_start: int) -> None:
        """Feed `piece`, which starts at `piece_start` in `data`, the bytes just received."""
        self._bytes_received += len(piece)
        self._read_starts_http11 = False
        try:
            self._parser.feed_data(piece)
        except HttpParserUpgrade as upgrade:
            self._connection_upgraded(data[piece_start + upgrade.args[0] :])
        except HttpParserError as error:
            self._parser_failed(error, piece)
        else:
            if not self._head_complete or self._chunk_open:
                self._bound_field_line(piece)

    def _feed_head_only(self, data: bytes) -> None:
        # llhttp cannot be told the request method, so for HEAD it would wait for a body that
        # never comes, and for CONNECT it would read the tunnel as a body. Feed it no further
        # than the end of the final head; what follows is not llhttp's to parse.
        start = 0
        size = len(data)
        while not self._head_complete:
            if start == size or self._receiving is not _RECV_RESPONSE:
                return
            stop = -1
            if not self._message_started:
                # A head that starts in this read ends at its first empty line: llhttp takes
                # no line end but CR LF, so that is the first CR LF CR LF (blank lines before
                # the status line are skipped by llhttp, and the search just runs again).
                stop = data.find(b"\r\n\r\n", start)
                if stop >= 0:
                    stop += 4
            if stop < 0:
                # A head begun in an earlier read, or not ended in this one: a line at a time.
                newline = data.find(b"\n", start)
                stop = size if newline < 0 else newline + 1
            self._feed(data[start:stop], data, start)
            start = stop
        rest = data[start:]
        if self._upgrade_head is not None:
            self._connection_upgraded(rest)  # a 2xx response to CONNECT: a tunnel
        elif self._receiving is _RECV_DONE:
            # After HEAD llhttp waits for a body that never comes: the parser is spent.
            self._parser_spent = True
            if rest.strip(b"\r\n"):
                self._must_close = True
        elif rest:
            self._feed(rest, rest, 0)  # CONNECT refused: a response with a body like any other

    def _bound_field_line(self, piece: bytes | memoryview) -> None:
        # httptools buffers a header (or trailer) line until it is complete, so the line being
        # received is bounded here, after each feed, by what follows the last LF seen. Inside
        # a chunked body, trailers are what follows a chunk header with no data after it.
        # Complete lines are checked by `_check_line_sizes`, whatever the reads' boundaries.
        if self._head_complete and self._body_received != self._body_received_at_chunk:
            return
        if type(piece) is not bytes:
            piece = bytes(piece)  # a memoryview in a head or between chunks: rarely large
        newline = piece.rfind(b"\n")
        if newline < 0:
            self._line_size += len(piece)
        else:
            self._line_size = len(piece) - newline - 1
        limit = self._max_header_line_size
        if self._line_size > limit and not (
            self._line_size == limit + 1 and piece.endswith(b"\r")  # a line's end, not a byte more
        ):
            self._fail_now(self._line_too_long())
        if len(self._headers) > self._max_header_count:
            self._fail_now(self._too_many_headers())

    def _check_line_sizes(self, headers: list[tuple[bytes, bytes]]) -> None:
        # Lines as "Name: value"; the status line as "HTTP/1.1 200 reason".
        limit = self._max_header_line_size
        if len(self._reason) + 13 > limit or any(
            len(name) + len(value) + 2 > limit for name, value in headers
        ):
            self._reject(self._line_too_long())

    def _line_too_long(self) -> str:
        return f"Header line longer than {self._max_header_line_size} bytes (max_header_line_size)."

    def _fail_now(self, message: str) -> NoReturn:
        self._receiving = _RECV_FAILED
        self._must_close = True
        self._parser_spent = True
        raise RemoteProtocolError(message)

    def _parser_failed(self, error: HttpParserError, piece: bytes | memoryview) -> None:
        self._must_close = True
        self._parser_spent = True
        if self._receiving is _RECV_DONE:
            # llhttp ran past the end of the response into bytes no request asked for: a stray
            # response or garbage. Not an error for the response already delivered.
            return
        self._receiving = _RECV_FAILED
        if self._callback_error is not None:
            raise self._callback_error from None
        reason = str(error)
        if self._upgrade_head is not None:
            # RFC 9110 §7.8: a 101 response MUST carry Upgrade, listed in Connection.
            raise RemoteProtocolError(
                "101 Switching Protocols response without 'Upgrade' and 'Connection: upgrade' "
                f"headers ({reason})."
            ) from None
        if piece[:1] == b"\x16" and reason.startswith("Expected HTTP/"):
            reason += "; these are TLS bytes: is this an https server on an http:// URL?"
        raise RemoteProtocolError(f"Malformed HTTP/1.1 response: {reason}.") from None

    def _describe_truncation(self) -> str:
        if not self._message_started:
            return "Server disconnected without sending a response."
        if not self._head_complete:
            return "Server disconnected in the middle of the response headers."
        if self._content_length is not None:
            return (
                "Server disconnected before the end of the response body: received "
                f"{self._body_received} of {int(self._content_length)} byte(s)."
            )
        return "Server disconnected before the end of the chunked response body."

    def _too_many_headers(self) -> str:
        return f"More than {self._max_header_count} header lines (max_header_count)."

    # -- llhttp callbacks -----------------------------------------------------------------

    def _on_message_begin(self) -> None:
        if self._receiving is not _RECV_RESPONSE:
            self._must_close = True
            raise _ExtraBytes
        self._message_started = True
        # `_clear_message_fields`, inlined: this runs once per response.
        self._headers = []
        self._reason = b""
        self._content_length = self._connection_options = self._transfer_encodings = None

    def _on_status(self, fragment: bytes) -> None:
        self._reason += fragment  # several fragments only when the line spans reads

    def _on_header(self, name: bytes, value: bytes) -> None:
        # llhttp strips the whitespace before a value but not after it (RFC 9112 §5: OWS on
        # either side is not part of the value). The count is checked once per head, and
        # after each read by `_bound_field_line`: a read holds a bounded number of lines.
        field_value = value.rstrip(b" \t")
        self._headers.append((name, field_value))
        # A length test is the cheapest way to skip the names that are not Content-Length
        # (14), Connection (10) or Transfer-Encoding (17) without lower-casing them.
        size = len(name)
        if size == 14:
            if name.lower() == b"content-length":
                self._content_length = field_value  # llhttp checks syntax, overflow, duplicates
        elif size == 10:
            if name.lower() == b"connection":
                previous = self._connection_options
                self._connection_options = (
                    field_value if previous is None else previous + b"," + field_value
                )
        elif size == 17 and name.lower() == b"transfer-encoding":
            # Kept as received, trailing whitespace included: see `_check_transfer_encoding`.
            if self._transfer_encodings is None:
                self._transfer_encodings = [value]
            else:
                self._transfer_encodings.append(value)

    def _on_headers_complete(self) -> None:
        parser = self._parser
        status_code: int = parser.get_status_code()
        headers = self._headers
        self._headers = []  # field lines after this are trailers: keep them out of `headers`
        if (
            status_code < 200
            or self._transfer_encodings is not None
            or self._head_only
            or len(headers) > self._max_header_count
            or self._bytes_received > self._max_header_line_size
        ):
            self._head_complete_in_full(status_code, headers)
            return
        # The common case: a final response, no Transfer-Encoding, a request other than
        # HEAD/CONNECT, few and short lines. Same checks as `_head_complete_in_full`.
        # When this head starts the read, receive_data has seen its version: no need to ask
        # llhttp, which builds a new string to say it.
        http_version = "HTTP/1.1" if self._read_starts_http11 else self._http_version()
        self._head_complete = True
        options = self._connection_options
        if (
            http_version != "HTTP/1.1" or (options is not None and options != b"keep-alive")
        ) and not self._keep_alive_allowed(http_version):
            self._must_close = True
        self._awaiting_message_complete = True
        # `ResponseReceived(...)` without the call to its `__init__`: the fields set directly.
        event = _new_event(ResponseReceived)
        _set_status_code(event, status_code)
        _set_reason_phrase(event, self._reason)
        _set_http_version(event, http_version)
        _set_headers(event, headers)
        self._events.append(event)

    def _head_complete_in_full(self, status_code: int, headers: list[tuple[bytes, bytes]]) -> None:
        if len(headers) > self._max_header_count:
            self._reject(self._too_many_headers())
        if self._bytes_received > self._max_header_line_size:
            self._check_line_sizes(headers)  # only reads this large can hold a line too long
        if status_code < 200:
            self._informational_head_complete(status_code, headers)
            return
        http_version = self._http_version()
        if self._transfer_encodings is not None:
            self._check_transfer_encoding(http_version)
        self._head_complete = True
        options = self._connection_options
        if (
            http_version != "HTTP/1.1" or (options is not None and options != b"keep-alive")
        ) and not self._keep_alive_allowed(http_version):
            self._must_close = True
        if self._head_only:
            self._head_only_response_complete(status_code, http_version, headers)
            return
        self._awaiting_message_complete = True
        self._events.append(ResponseReceived(status_code, self._reason, http_version, headers))

    def _on_body(self, body: bytes) -> None:
        self._body_received += len(body)
        event = _new_event(DataReceived)  # `DataReceived(body)`, without the `__init__` call
        _set_data(event, body)
        self._events.append(event)

    def _on_chunk_header(self) -> None:
        # Trailers follow the last chunk's header with no data in between: see
        # `_bound_field_line`.
        self._chunk_open = True
        self._body_received_at_chunk = self._body_received

    def _on_chunk_complete(self) -> None:
        self._chunk_open = False
        trailers = self._headers  # empty but after the last chunk
        if trailers:
            if len(trailers) > self._max_header_count:
                self._reject(self._too_many_headers())
            self._check_line_sizes(trailers)

    def _on_message_complete(self) -> None:
        if self._awaiting_message_complete:  # `_end_response`, inlined: once per response
            self._receiving = _RECV_DONE
            self._awaiting_message_complete = False
            self._events.append(_RESPONSE_ENDED)

    # -- response bookkeeping -------------------------------------------------------------

    def _reject(self, message: str) -> NoReturn:
        # Raised inside an llhttp callback: httptools swallows it into its own error, so it is
        # kept here and re-raised by `_parser_failed`.
        error = RemoteProtocolError(message)
        self._callback_error = error
        raise error

    def _informational_head_complete(
        self, status_code: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        if status_code < 100:
            self._reject(f"Invalid status code {status_code} (must be 100 to 599).")
        if status_code == 101:
            # llhttp stops right after this head and reports where the new protocol begins.
            self._upgrade_head = (status_code, self._reason, headers)
            return
        if self._transfer_encodings is not None or (self._content_length or b"0") != b"0":
            # RFC 9110 §15.2: 1xx responses end at their head; llhttp would read a body.
            self._reject(f"Informational {status_code} response with a body.")
        self._informational_count += 1
        if self._informational_count > self._max_informational_responses:
            self._reject(
                f"More than {self._max_informational_responses} informational (1xx) "
                "responses (max_informational_responses)."
            )
        self._message_started = False  # for EOF's message: the final response never began
        self._read_starts_http11 = False  # a message after this one does not start the read
        self._events.append(InformationalResponseReceived(status_code, self._reason, headers))

    def _http_version(self) -> str:
        version: str = self._parser.get_http_version()
        http_version = _HTTP_VERSIONS.get(version)
        if http_version is None:
            # llhttp also accepts 0.9 and 2.0 (and RTSP/ICE status lines, reported as 1.0: a
            # leniency httptools gives no way to see, harmless as their framing is HTTP's).
            self._reject(f"Unsupported HTTP version {version!r}.")
        return http_version

    def _check_transfer_encoding(self, http_version: str) -> None:
        encodings = self._transfer_encodings
        assert encodings is not None
        if http_version == "HTTP/1.0":
            # RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
            self._reject("Transfer-Encoding in an HTTP/1.0 response.")
        if len(encodings) != 1 or encodings[0].rstrip(b" ").lower() != b"chunked":
            # Anything but a lone "chunked" would have llhttp read until EOF: a body whose end
            # cannot be checked, and a favourite of request smuggling (RFC 9112 §6.3 rule 4).
            # That includes "chunked" followed by a tab: trailing whitespace is not part of a
            # value (RFC 9110 §5.5), but llhttp takes only spaces there, so such a body would
            # be streamed out framing and all, the response waiting for an EOF.
            shown = b", ".join(encodings).decode("latin-1")
            self._reject(f"Unsupported Transfer-Encoding {shown!r}: only 'chunked' is accepted.")

    def _keep_alive_allowed(self, http_version: str) -> bool:
        options = self._connection_options
        if options is None:
            return http_version == "HTTP/1.1"
        lowered = options.lower()
        if lowered in (b"keep-alive", b"close"):  # the usual cases, without a split
            tokens = {lowered}
        else:
            tokens = {token.strip(b" \t") for token in lowered.split(b",")}
        if b"close" in tokens:
            return False
        # RFC 9112 §9.3: HTTP/1.1 persists by default; HTTP/1.0 only with keep-alive.
        return http_version == "HTTP/1.1" or b"keep-alive" in tokens

    def _head_only_response_complete(
        self, status_code: int, http_version: str, headers: list[tuple[bytes, bytes]]
    ) -> None:
        if self._request_method == b"CONNECT":
            if status_code < 300:
                # RFC 9110 §9.3.6: a 2xx response to CONNECT has no body; the tunnel starts.
                self._upgrade_head = (status_code, self._reason, headers)
                return
            self._head_only = False  # a refused CONNECT is an ordinary response
            self._awaiting_message_complete = True
            self._events.append(ResponseReceived(status_code, self._reason, http_version, headers))
            return
        # RFC 9110 §9.3.2: a response to HEAD never has a body, whatever its headers say.
        self._events.append(ResponseReceived(status_code, self._reason, http_version, headers))
        self._end_response()

    def _end_response(self) -> None:
        self._receiving = _RECV_DONE
        self._awaiting_message_complete = False
        self._events.append(_RESPONSE_ENDED)

    def _connection_upgraded(self, trailing_data: bytes) -> None:
        upgrade_head = self._upgrade_head
        assert upgrade_head is not None
        status_code, reason_phrase, headers = upgrade_head
        self._receiving = _RECV_UPGRADED
        self._must_close = True  # whatever follows is not HTTP/1.1
        self._parser_spent = True
        self._events.append(ConnectionUpgraded(status_code, reason_phrase, headers, trailing_data))

    def _reset_request_state(self, method: bytes) -> None:
        self._request_method = method
        self._head_only = method in (b"HEAD", b"CONNECT")
        self._informational_count = 0
        self._message_started = False
        self._read_starts_http11 = False
        self._head_complete = False
        self._line_size = 0
        self._bytes_received = 0
        self._callback_error = None
        self._upgrade_head = None
        self._awaiting_message_complete = False
        self._body_received = 0
        self._chunk_open = False
        self._body_received_at_chunk = 0

    def _clear_message_fields(self) -> None:
        self._headers = []
        self._reason = b""
        self._content_length = None
        self._transfer_encodings = None
        self._connection_options = None
