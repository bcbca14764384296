"""HTTP/2 header lists: requests translated from HTTP/1-style headers, responses checked.

h2's own header validation is switched off (`http2.py` says why); these functions do what of it
a client needs, in one pass and mostly in C:

- outbound (RFC 9113 §8.2, §8.3.1): pseudo-header fields first, names lower-cased, Host moved
  to ``:authority``, connection-specific fields dropped, and nothing sent that holds CR, LF or
  NUL (RELIABILITY.md item 6: h2 itself lets them through, CVE-2025-57804 fixed h2's *inbound*
  side only). Names are proven once and remembered, as in `http11_request`.
- inbound (RFC 9113 §8.1.1, §8.2, §8.3.2): exactly one valid ``:status`` first, no other
  pseudo-header field, names as RFC 9113 §8.2.1 allows them, no connection-specific field, no
  CR, LF or NUL in a value, one content-length. A response that breaks a rule is *malformed*:
  a stream error, reported by raising `MalformedResponse`.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import NoReturn

from .._exceptions import LocalProtocolError
from ._h2lib import NeverIndexedHeaderTuple

__all__ = [
    "MalformedResponse",
    "informational_status",
    "request_fields",
    "response_fields",
    "trailer_fields",
]

Header = tuple[bytes, bytes]

# RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message containing
# connection-specific header fields", and a message that has one is malformed.
_CONNECTION_SPECIFIC = frozenset(
    [b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"]
)
# RFC 7541 §7.1.3: credentials must never enter a compression context, where a guessing
# attacker could probe them (CRIME). Cookies only when short: long ones are not guessable and
# compress well. (The rule h2's `normalize_outbound_headers` applies, which is switched off.)
_SENSITIVE = frozenset([b"authorization", b"proxy-authorization"])
_SHORT_COOKIE = 20

# RFC 9110 §5.6.2: token = 1*tchar. Request names must be tokens.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9113 §8.2.1: a received name MUST NOT contain 0x00-0x20, 0x41-0x5a (upper case),
# 0x7f-0xff, nor a colon (pseudo-header fields are handled apart).
_RECEIVED_NAME = re.compile(rb"[^\x00-\x20A-Z\x7f-\xff:]+")
_FORBIDDEN_IN_VALUE = b"\r\n\x00"

# Request names that need more than lower-casing.
_NEEDS_CARE = _CONNECTION_SPECIFIC | _SENSITIVE | {b"host", b"te", b"content-length", b"cookie"}

# Request names as callers spell them, already proven to be tokens: the value is the
# lower-case name to send. Response names already proven valid and ordinary. Applications and
# servers use the same few names over and over; the caps keep a peer or caller who invents
# names from growing these without end.
_REQUEST_NAMES: dict[bytes, bytes] = {}
_ORDINARY_RESPONSE_NAMES: set[bytes] = set()
_KNOWN_NAMES_CAP = 4096
_KNOWN_METHODS: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"}

_value_of = itemgetter(1)


class MalformedResponse(Exception):
    """A response (or its trailers) that RFC 9113 §8.1.1 calls malformed: a stream error."""


# -- requests -------------------------------------------------------------------------------


def request_fields(
    method: bytes,
    scheme: bytes,
    authority: bytes,
    path: bytes,
    headers: list[Header],
) -> tuple[list[Header], int | None]:
    """Return the HTTP/2 header list for a request, and its content-length if it has one.

    A Host header becomes ``:authority`` (it is what the caller would have sent over HTTP/1.1;
    RFC 9113 §8.3.1 has clients put authority there rather than in Host). Connection,
    Keep-Alive, Proxy-Connection, Transfer-Encoding and Upgrade are dropped, as is TE unless
    it is exactly ``trailers`` (RFC 9113 §8.2.2). Anything that could split or smuggle a
    request raises LocalProtocolError: CR, LF or NUL anywhere, a name that is not a token.
    """
    if method not in _KNOWN_METHODS:
        _remember_method(method)
    connect = method == b"CONNECT"
    if connect:
        # RFC 9113 §8.5: a CONNECT request has only :method and :authority.
        fields: list[Header] = [(b":method", method), (b":authority", authority)]
    else:
        if not path or 32 in path or 9 in path:  # int membership: a byte scan, no search
            raise LocalProtocolError(f"Invalid request path {path!r}.")
        fields = [(b":method", method), (b":scheme", scheme), (b":authority", authority)]
        fields.append((b":path", path))
    content_length: int | None = None
    has_host = False
    known = _REQUEST_NAMES
    append = fields.append
    for name, value in headers:
        lowered = known.get(name)
        if lowered is None:
            lowered = _learn_request_name(name)
        if lowered not in _NEEDS_CARE:
            append((lowered, value))
        elif lowered == b"host":
            if has_host:  # RFC 9112 §3.2, kept for HTTP/2: two would be ambiguous
                raise LocalProtocolError("More than one Host header.")
            has_host = True
            fields[1 if connect else 2] = (b":authority", value)
        elif lowered == b"content-length":
            content_length = _request_content_length(value, content_length)
            append((lowered, value))
        elif lowered == b"te":
            if value.strip(b" \t").lower() == b"trailers":
                append((b"te", b"trailers"))
        elif lowered in _SENSITIVE or (lowered == b"cookie" and len(value) < _SHORT_COOKIE):
            append(NeverIndexedHeaderTuple(lowered, value))
        elif lowered == b"cookie":
            append((lowered, value))
        # else connection-specific: dropped
    _check_request_values(fields)
    return fields, content_length


def _remember_method(method: bytes) -> None:
    if _TOKEN.fullmatch(method) is None:
        raise LocalProtocolError(f"Invalid method {method!r}: not an HTTP token.")
    if len(_KNOWN_METHODS) < _KNOWN_NAMES_CAP:
        _KNOWN_METHODS.add(method)


def _learn_request_name(name: bytes) -> bytes:
    if _TOKEN.fullmatch(name) is None:
        raise LocalProtocolError(f"Invalid header name {name!r}: not an HTTP token.")
    lowered = name.lower()
    if len(_REQUEST_NAMES) < _KNOWN_NAMES_CAP:
        _REQUEST_NAMES[name] = lowered
    return lowered


def _request_content_length(value: bytes, previous: int | None) -> int:
    stripped = value.strip(b" \t")
    if not stripped.isdigit():  # ASCII digits only: no sign, no list, no spaces
        raise LocalProtocolError(f"Invalid Content-Length {value!r}.")
    length = int(stripped)
    if previous is not None and previous != length:
        raise LocalProtocolError("Conflicting Content-Length headers.")
    return length


def _check_request_values(fields: list[Header]) -> None:
    # One pass over all values, pseudo-header fields included, rather than one per value:
    # joined by LF, a CR, NUL or surplus LF shows in a count, and whitespace at a value's edge
    # next to a separator. RFC 9113 §8.2.1: a value MUST NOT contain CR, LF or NUL, nor start
    # or end with SP or HTAB.
    joined = b"\n".join(map(_value_of, fields))
    separators = len(fields) - 1
    if len(joined) - len(joined.translate(None, _FORBIDDEN_IN_VALUE)) != separators:
        _raise_for_control_bytes(fields)
    if b"\n " in joined or b" \n" in joined or b"\t" in joined or joined[-1] == 32:  # 32: SP
        _strip_values(fields)  # (any HTAB at all takes this slower path: rare)


def _raise_for_control_bytes(fields: list[Header]) -> NoReturn:
    # Slow path, once something is known to be wrong: name the culprit.
    for name, value in fields:
        if b"\r" in value or b"\n" in value or b"\x00" in value:
            raise LocalProtocolError(
                f"Invalid value for header {name.decode('ascii')!r}: CR, LF and NUL are not "
                "allowed."
            )
    raise AssertionError("unreachable: a control byte was counted")  # pragma: no cover


def _strip_values(fields: list[Header]) -> None:
    # What HTTP/1.1 calls optional whitespace around a value is not part of it: sent over
    # HTTP/2 it would make the request malformed. Rare: Headers strips values already.
    for index, header in enumerate(fields):
        value = header[1]
        stripped = value.strip(b" \t")
        if len(stripped) != len(value):
            if isinstance(header, NeverIndexedHeaderTuple):
                fields[index] = NeverIndexedHeaderTuple(header[0], stripped)
            else:
                fields[index] = (header[0], stripped)


# -- responses ------------------------------------------------------------------------------


def response_fields(headers: list[Header]) -> tuple[int, list[Header], int | None]:
    """Return the status code, the fields without ``:status``, and the content-length."""
    status_code = _status_code(headers)
    fields, content_length = _regular_fields(headers, 1)
    return status_code, fields, content_length


def informational_status(headers: list[Header]) -> tuple[int, list[Header]]:
    """Return the status code and fields of a 1xx response."""
    status_code = _status_code(headers)
    if status_code == 101:
        # RFC 9113 §8.6: HTTP/2 removes 101 (Switching Protocols).
        raise MalformedResponse("101 Switching Protocols response on an HTTP/2 stream.")
    fields, _ = _regular_fields(headers, 1)
    return status_code, fields


def trailer_fields(headers: list[Header]) -> list[Header]:
    """Return the trailer fields. RFC 9113 §8.1: trailers MUST NOT hold pseudo-header fields."""
    fields, _ = _regular_fields(headers, 0)
    return fields


def _status_code(headers: list[Header]) -> int:
    # RFC 9113 §8.3: pseudo-header fields come first; §8.3.2: exactly one valid :status.
    if not headers or headers[0][0] != b":status":
        raise MalformedResponse("Response without a ':status' pseudo-header field first.")
    status = headers[0][1]
    if len(status) != 3 or not status.isdigit() or status[0] == 48:  # 48: ASCII "0"
        raise MalformedResponse(f"Invalid ':status' {status!r}.")
    return int(status)


def _regular_fields(headers: list[Header], start: int) -> tuple[list[Header], int | None]:
    # The fields are `headers` as they are (a copy of the list): only checked, never rebuilt.
    fields = headers[start:]
    ordinary = _ORDINARY_RESPONSE_NAMES  # content-length is never among them
    content_length: int | None = None
    for name, value in fields:
        if name in ordinary:
            continue
        if name == b"content-length":
            content_length = _response_content_length(value, content_length)
        else:
            _check_response_name(name)
    joined = b"".join(map(_value_of, fields))
    if len(joined.translate(None, _FORBIDDEN_IN_VALUE)) != len(joined):
        raise MalformedResponse("Response header value containing CR, LF or NUL.")
    return fields, content_length


def _check_response_name(name: bytes) -> None:
    if name[:1] == b":":
        raise MalformedResponse(f"Unexpected pseudo-header field {name!r} in a response.")
    if _RECEIVED_NAME.fullmatch(name) is None:
        raise MalformedResponse(f"Invalid header name {name!r} (RFC 9113 §8.2.1).")
    if name in _CONNECTION_SPECIFIC:
        raise MalformedResponse(f"Connection-specific header {name!r} in a response.")
    if len(_ORDINARY_RESPONSE_NAMES) < _KNOWN_NAMES_CAP:
        _ORDINARY_RESPONSE_NAMES.add(name)


def _response_content_length(value: bytes, previous: int | None) -> int:
    # RFC 9110 §8.6: Content-Length = 1*DIGIT. Eighteen digits are an exabyte: more cannot be
    # a real body, and keeps int() linear and small.
    if not value.isdigit() or len(value) > 18:
        raise MalformedResponse(f"Invalid content-length {value!r}.")
    length = int(value)
    if previous is not None and previous != length:
        raise MalformedResponse("Conflicting content-length headers.")
    return length
