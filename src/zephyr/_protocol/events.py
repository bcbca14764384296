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


# The slots' setters: they write a frozen instance's fields once, from `__init__` only.
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
