"""HTTP/1.1 request heads: serialised and checked before a byte is written (RFC 9112 §3).

A CR, LF or NUL in a method, target or header would let input rewrite the request
(RELIABILITY.md item 6); the framing headers decide how the body is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NoReturn

from .._exceptions import LocalProtocolError

__all__ = ["request_framing", "serialise_head"]

# `(name, value)`, or `(name, lower-case name, value)` as `Headers` keeps them.
HeaderPair = tuple[bytes, bytes]
HeaderTriple = tuple[bytes, bytes, bytes]

_FIELD_LINE = b": ".join  # (name, value) -> b"name: value"
_END_OF_LAST_FIELD = b"\r\n\r\n"
# Lengths of "Host", "Content-Length", "Transfer-Encoding": a length test is the cheapest way
# to skip the other names without lower-casing them.
_REQUEST_FRAMING_NAME_SIZES = (4, 14, 17)

# RFC 9110 §5.6.2: token = 1*tchar.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# CTLs other than HTAB: in a request head, only the CR LF line ends we write may be among them.
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])
_CONTROL_IN_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

# Names and methods already proven to be tokens. Applications send the same few over and
# over; the cap keeps a caller who invents names per request from growing it without end.
_KNOWN_TOKENS: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"}
_KNOWN_TOKENS_CAP = 4096


# The lower-case names `request_framing` looks at, for triples (which carry them).
_REQUEST_FRAMING_NAMES = frozenset((b"host", b"content-length", b"transfer-encoding"))


def serialise_head(
    method: bytes, target: bytes, headers: Sequence[HeaderPair] | Sequence[HeaderTriple]
) -> tuple[bytes, list[HeaderPair]]:
    """Return the request head, and the header lines that may matter to its framing (as
    `(name, value)` pairs).

    `headers` are `(name, value)` pairs, or `(name, lower-case name, value)` triples, as a
    `Headers` object keeps them (`Headers._list`): a request's headers are then written
    without first being copied into a list of pairs (~0.5 us a request with five headers).
    """
    if headers and len(headers[0]) == 3:
        return _serialise_head_from_triples(method, target, headers)  # type: ignore[arg-type]
    pairs: Sequence[HeaderPair] = headers  # type: ignore[assignment]
    if method not in _KNOWN_TOKENS:
        _remember_token(method, "method")
    if not target or 32 in target or 9 in target:  # int membership: a byte scan, no search
        raise LocalProtocolError(f"Invalid request target {target!r}.")
    framing_headers = []
    for header in pairs:
        name, _ = header
        if name not in _KNOWN_TOKENS:
            _remember_token(name, "header name")
        if len(name) in _REQUEST_FRAMING_NAME_SIZES:
            framing_headers.append(header)
    # The field lines joined in C: no Python-level step per header beyond the checks above.
    fields = b"\r\n".join(map(_FIELD_LINE, pairs))
    head = b"".join((method, b" ", target, b" HTTP/1.1\r\n", fields, _END_OF_LAST_FIELD))
    if not pairs:  # never sent (no Host), but the head must still be well-formed
        head = head[:-2]
    # One pass over the whole head rather than one per value: the only control bytes allowed
    # are the CR LF line ends written above, so anything else (a CR or LF that would split a
    # header or smuggle a request, a NUL) shows as a surplus.
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) != 2 * (len(pairs) + 2):
        _raise_for_control_bytes(target, pairs)
    return head, framing_headers


def _serialise_head_from_triples(
    method: bytes, target: bytes, triples: Sequence[HeaderTriple]
) -> tuple[bytes, list[HeaderPair]]:
    # `serialise_head` for `(name, lower-case name, value)` triples: the same checks, the same
    # head. One loop does the checks and makes the field lines; the lower-case names pick the
    # framing headers exactly, where pairs are picked by the length of their names.
    if method not in _KNOWN_TOKENS:
        _remember_token(method, "method")
    if not target or 32 in target or 9 in target:
        raise LocalProtocolError(f"Invalid request target {target!r}.")
    framing_headers = []
    lines = []
    for name, lower_name, value in triples:
        if name not in _KNOWN_TOKENS:
            _remember_token(name, "header name")
        if lower_name in _REQUEST_FRAMING_NAMES:
            framing_headers.append((name, value))
        lines.append(name + b": " + value)
    head = b"".join(
        (method, b" ", target, b" HTTP/1.1\r\n", b"\r\n".join(lines), _END_OF_LAST_FIELD)
    )
    # As in `serialise_head`: CR LF line ends only (`triples` is never empty here).
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) != 2 * (len(triples) + 2):
        _raise_for_control_bytes(target, [(name, value) for name, _, value in triples])
    return head, framing_headers


def _remember_token(token: bytes, what: str) -> None:
    if _TOKEN.fullmatch(token) is None:
        raise LocalProtocolError(f"Invalid {what} {token!r}: not an HTTP token.")
    if len(_KNOWN_TOKENS) < _KNOWN_TOKENS_CAP:
        _KNOWN_TOKENS.add(token)


def _raise_for_control_bytes(target: bytes, headers: Sequence[HeaderPair]) -> NoReturn:
    # Slow path, once something is known to be wrong: name the culprit.
    for name, value in headers:
        if _CONTROL_IN_VALUE.search(value) is not None:
            raise LocalProtocolError(
                f"Invalid value for header {name.decode('ascii')!r}: CR, LF, NUL and other "
                "control characters are not allowed."
            )
    raise LocalProtocolError(f"Invalid request target {target!r}: control characters.")


def request_framing(framing_headers: list[tuple[bytes, bytes]]) -> tuple[bool, int]:
    """Return (chunked, content length) from Host, Content-Length and Transfer-Encoding."""
    content_length: int | None = None
    chunked = False
    has_host = False
    for name, value in framing_headers:
        lowered = name.lower()
        if lowered == b"host":
            if has_host:  # RFC 9112 §3.2: a server MUST reject a request with two
                raise LocalProtocolError("More than one Host header.")
            has_host = True
        elif lowered == b"content-length":
            stripped = value.strip(b" \t")
            if not stripped.isdigit():  # ASCII digits only: no sign, no list, no spaces
                raise LocalProtocolError(f"Invalid Content-Length {value!r}.")
            if content_length is not None and content_length != int(stripped):
                raise LocalProtocolError("Conflicting Content-Length headers.")
            content_length = int(stripped)
        elif lowered == b"transfer-encoding":
            if chunked or value.strip(b" \t").lower() != b"chunked":
                raise LocalProtocolError(
                    "Transfer-Encoding must be given once, as exactly 'chunked'."
                )
            chunked = True
    if not has_host:  # RFC 9112 §3.2: a client MUST send Host in every HTTP/1.1 request
        raise LocalProtocolError("Missing mandatory Host header.")
    if chunked and content_length is not None:  # RFC 9112 §6.2: a sender MUST NOT send both
        raise LocalProtocolError("Both Content-Length and Transfer-Encoding are present.")
    return chunked, content_length or 0
