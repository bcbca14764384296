"""What the HTTP/1.1 protocol core reports: frozen, slotted events with past-tense names.

Headers are lists of raw ``(name, value)`` byte pairs, names in the case the server sent
them. The lists belong to the event: the core never touches one again after handing it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class InformationalResponseReceived:
    """A 1xx response other than 101 (``100 Continue``, ``103 Early Hints``): no body follows."""

    status_code: int
    reason_phrase: bytes
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The head of the final response. Its body follows as `DataReceived` events."""

    status_code: int
    reason_phrase: bytes
    http_version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[bytes, bytes]]

    # Hand-written because it is made once per response: the generated one goes through
    # object.__setattr__ by name per field; the slots' own setters take ~40% less time.
    def __init__(
        self,
        status_code: int,
        reason_phrase: bytes,
        http_version: str,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        _set_status_code(self, status_code)
        _set_reason_phrase(self, reason_phrase)
        _set_http_version(self, http_version)
        _set_headers(self, headers)


@dataclass(frozen=True, slots=True)
class DataReceived:
    """A piece of the response body, de-chunked; pieces arrive in order."""

    data: bytes

    def __init__(self, data: bytes) -> None:  # made once per read: see ResponseReceived
        _set_data(self, data)


@dataclass(frozen=True, slots=True)
class ResponseEnded:
    """The response (body included) is complete."""


@dataclass(frozen=True, slots=True)
class ConnectionUpgraded:
    """The connection stopped speaking HTTP/1.1: a ``101 Switching Protocols`` response, or a
    2xx response to ``CONNECT`` (a tunnel). ``trailing_data`` is what the server sent after the
    head: the first bytes of the new protocol."""

    status_code: int
    reason_phrase: bytes
    headers: list[tuple[bytes, bytes]]
    trailing_data: bytes


# The slots' setters: they write a frozen instance's fields once, from `__init__`, or from
# the HTTP/1.1 core's hot path, which makes `ResponseReceived` and `DataReceived` with
# `object.__new__` and these (a call to `__init__` less per response): a field added to either
# class must be set there too.
_set_status_code = vars(ResponseReceived)["status_code"].__set__
_set_reason_phrase = vars(ResponseReceived)["reason_phrase"].__set__
_set_http_version = vars(ResponseReceived)["http_version"].__set__
_set_headers = vars(ResponseReceived)["headers"].__set__
_set_data = vars(DataReceived)["data"].__set__

Event: TypeAlias = (
    InformationalResponseReceived
    | ResponseReceived
    | DataReceived
    | ResponseEnded
    | ConnectionUpgraded
)

__all__ = [
    "ConnectionUpgraded",
    "DataReceived",
    "Event",
    "InformationalResponseReceived",
    "ResponseEnded",
    "ResponseReceived",
]


# -- HTTP/2 ---------------------------------------------------------------------------------
# What the HTTP/2 core (`http2.HTTP2Connection`) reports. Many requests share one connection,
# so every event about a request carries its `stream_id`. Header lists are raw, lower-case
# `(name, value)` byte pairs without the pseudo-header fields; like HTTP/1.1's, they belong to
# the event.


@dataclass(frozen=True, slots=True)
class StreamInformationalResponseReceived:
    """A 1xx response on a stream (``100 Continue``, ``103 Early Hints``): the final one follows."""

    stream_id: int
    status_code: int
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class StreamResponseReceived:
    """The head of a stream's final response. Its body follows as `StreamDataReceived` events."""

    stream_id: int
    status_code: int
    http_version: str  # always "HTTP/2": the same shape as HTTP/1.1's `ResponseReceived`
    headers: list[tuple[bytes, bytes]]

    def __init__(  # made once per response: see ResponseReceived
        self,
        stream_id: int,
        status_code: int,
        http_version: str,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        _set_response_stream_id(self, stream_id)
        _set_response_status_code(self, status_code)
        _set_response_http_version(self, http_version)
        _set_response_headers(self, headers)


@dataclass(frozen=True, slots=True)
class StreamDataReceived:
    """A piece of a stream's response body.

    Hand `flow_controlled_length` to `HTTP2Connection.acknowledge_received_data` once the data
    is *consumed*: that is what lets the server send more (RFC 9113 §5.2). It can exceed
    ``len(data)`` by the frame's padding.
    """

    stream_id: int
    data: bytes
    flow_controlled_length: int

    def __init__(self, stream_id: int, data: bytes, flow_controlled_length: int) -> None:
        _set_data_stream_id(self, stream_id)
        _set_data_data(self, data)
        _set_data_flow_controlled_length(self, flow_controlled_length)


@dataclass(frozen=True, slots=True)
class StreamTrailersReceived:
    """Trailer fields after a stream's response body; `StreamEnded` follows."""

    stream_id: int
    headers: list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The stream's response is complete, and its body was as long as its content-length said."""

    stream_id: int

    def __init__(self, stream_id: int) -> None:  # made once per response
        _set_ended_stream_id(self, stream_id)


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The stream ended abnormally; the other streams of the connection carry on.

    `remote` is True when the server sent RST_STREAM, False when the core reset the stream
    because the server broke the protocol on it (a malformed response, a body longer or
    shorter than its content-length, a stream window overflow). `reason` is a sentence for the
    driver's `RemoteProtocolError`. With error code REFUSED_STREAM (7) the server did not
    process the request at all (RFC 9113 §8.7): it may be retried, on any connection.
    """

    stream_id: int
    error_code: int
    remote: bool
    reason: str


@dataclass(frozen=True, slots=True)
class WindowUpdated:
    """The server gave flow-control credit: a stream's (`stream_id` > 0) or the whole
    connection's (`stream_id` 0). A driver holding back request body data may send more."""

    stream_id: int
    delta: int


@dataclass(frozen=True, slots=True)
class ConnectionTerminated:
    """The server sent GOAWAY (RFC 9113 §6.8): no new stream may be opened on this connection.

    Streams above `last_stream_id` were not processed and are listed in `unprocessed_stream_ids`:
    they are over, and may be retried on a new connection (when idempotent, or because the
    server promised it did not act on them). Streams at or below it carry on (a graceful
    shutdown, error code 0) or die with the connection (any other error code).
    """

    error_code: int
    last_stream_id: int
    additional_data: bytes
    unprocessed_stream_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The server's SETTINGS arrived or changed: `max_concurrent_streams` is its limit now."""

    max_concurrent_streams: int


@dataclass(frozen=True, slots=True)
class PingAcknowledged:
    """The server answered a PING sent by `HTTP2Connection.ping`."""

    data: bytes


_set_response_stream_id = vars(StreamResponseReceived)["stream_id"].__set__
_set_response_status_code = vars(StreamResponseReceived)["status_code"].__set__
_set_response_http_version = vars(StreamResponseReceived)["http_version"].__set__
_set_response_headers = vars(StreamResponseReceived)["headers"].__set__
_set_data_stream_id = vars(StreamDataReceived)["stream_id"].__set__
_set_data_data = vars(StreamDataReceived)["data"].__set__
_set_data_flow_controlled_length = vars(StreamDataReceived)["flow_controlled_length"].__set__
_set_ended_stream_id = vars(StreamEnded)["stream_id"].__set__

HTTP2Event: TypeAlias = (
    StreamInformationalResponseReceived
    | StreamResponseReceived
    | StreamDataReceived
    | StreamTrailersReceived
    | StreamEnded
    | StreamReset
    | WindowUpdated
    | ConnectionTerminated
    | SettingsChanged
    | PingAcknowledged
)

__all__ += [
    "HTTP2Event",
    "ConnectionTerminated",
    "PingAcknowledged",
    "SettingsChanged",
    "StreamDataReceived",
    "StreamEnded",
    "StreamInformationalResponseReceived",
    "StreamReset",
    "StreamResponseReceived",
    "StreamTrailersReceived",
    "WindowUpdated",
]
