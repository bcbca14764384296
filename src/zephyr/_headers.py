"""HTTP headers: a case-insensitive multi-dict kept as raw bytes, with HTTPX's `Headers` API.

Storage is one list of `(raw_name, lower_name, value)` byte triples in wire order. A request or
response carries a dozen headers or so, and a linear scan of a short list beats keeping a dict
in step with every change. Strings are produced only when the user asks for them.

Everything a user hands in is checked once, on the way in (RELIABILITY.md item 6): a name must be
an RFC 9110 token and a value must not contain CR, LF or NUL, so that no header can smuggle a
second header or a body into the request. Bytes that come from our own parsers are trusted and
go through `Headers._from_raw` without that check.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    Sequence,
    ValuesView,
)
from typing import TYPE_CHECKING, Any, TypeAlias

from ._exceptions import LocalProtocolError

if TYPE_CHECKING:
    from ._types import HeaderTypes

__all__ = ["Headers"]

# (name as given, name lower-cased, value) -- all three exactly as they go on the wire.
HeaderTriple: TypeAlias = tuple[bytes, bytes, bytes]

# RFC 9110 §5.6.2: token = 1*tchar; tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
# "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
_TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_match_token_str = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_match_token_bytes = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch

# RFC 9110 §5.5: CR, LF and NUL in a field value are "invalid and dangerous". A single
# precompiled search is ~3x faster than three `in` tests on typical values (measured).
_search_forbidden_in_value = re.compile(rb"[\r\n\x00]").search

# RFC 9110 §5.5: optional whitespace around a field value is not part of the value.
_OWS = b" \t"

# Hidden by repr(), as HTTPX does.
_SENSITIVE_NAMES = frozenset((b"authorization", b"proxy-authorization"))
# Never quoted in an error message.
_SECRET_VALUE_NAMES = _SENSITIVE_NAMES | {b"cookie", b"set-cookie"}

# Validated names -> (raw, lower). Applications send the same few names over and over; a dict
# hit is ~10x cheaper than the token match, encode and lower-casing it replaces. Bounded, so a
# stream of distinct names costs speed, never memory.
_checked_name_cache: dict[str | bytes, tuple[bytes, bytes]] = {}
_CHECKED_NAME_CACHE_LIMIT = 512

# How much of a rejected name or value an error message may quote.
_PREVIEW_LIMIT = 40


def _preview(text: str | bytes) -> str:
    """`repr(text)`, cut short so that a huge hostile value cannot flood a log line."""
    if len(text) <= _PREVIEW_LIMIT:
        return repr(text)
    unit = "bytes" if isinstance(text, bytes) else "characters"
    return f"{text[:_PREVIEW_LIMIT]!r}... ({len(text)} {unit})"


_CHAR_NAMES = {
    "\r": "a carriage return (CR)",
    "\n": "a line feed (LF)",
    "\x00": "a NUL character",
    " ": "a space",
    "\t": "a tab",
    ":": "a colon",
}


def _describe_char(char: str) -> str:
    return _CHAR_NAMES.get(char) or f"{char!r} (U+{ord(char):04X})"


def _first_char_outside(text: str | bytes, allowed: str) -> tuple[int, str]:
    """Position and character of the first char of `text` not in `allowed` (the error path)."""
    chars = text.decode("latin-1") if isinstance(text, bytes) else text
    for position, char in enumerate(chars):
        if char not in allowed:
            return position, char
    raise AssertionError("unreachable: the caller found a bad character")  # pragma: no cover


def _invalid_name(name: str | bytes) -> LocalProtocolError:
    if not name:
        return LocalProtocolError("Invalid header name '': a header name cannot be empty.")
    position, char = _first_char_outside(name, _TCHARS)
    injection = " (header injection refused)" if char in "\r\n\x00" else ""
    return LocalProtocolError(
        f"Invalid header name {_preview(name)}: it contains {_describe_char(char)} at position "
        f"{position}{injection}; a header name must be an RFC 9110 token."
    )


def _shown_value(raw_name: bytes, value: str | bytes) -> str:
    # An error message ends up in logs: never put a credential there, not even in part.
    if raw_name.lower() in _SECRET_VALUE_NAMES:
        return "[secure]"
    return _preview(value)


def _invalid_value(raw_name: bytes, raw_value: bytes, position: int) -> LocalProtocolError:
    char = chr(raw_value[position])
    return LocalProtocolError(
        f"Invalid value for header {_preview(raw_name.decode('ascii'))}: it contains "
        f"{_describe_char(char)} at position {position} (header injection refused); the value "
        f"was {_shown_value(raw_name, raw_value)}."
    )


def _check_name(name: object) -> tuple[bytes, bytes]:
    """`(raw, lower)` bytes for a header name, or LocalProtocolError if it is not a token."""
    if isinstance(name, str):
        cached = _checked_name_cache.get(name)
        if cached is not None:
            return cached
        if _match_token_str(name) is None:
            raise _invalid_name(name)
        raw = name.encode("ascii")  # a token is ASCII by definition
    elif isinstance(name, bytes):
        cached = _checked_name_cache.get(name)
        if cached is not None:
            return cached
        if _match_token_bytes(name) is None:
            raise _invalid_name(name)
        raw = bytes(name)
    else:
        raise TypeError(f"Header name must be str or bytes, not {type(name)}")
    checked = (raw, raw.lower())
    if len(_checked_name_cache) < _CHECKED_NAME_CACHE_LIMIT:
        _checked_name_cache[name] = checked
    return checked


def _check_value(raw_name: bytes, value: object, encoding: str | None) -> bytes:
    """The wire bytes of a header value, stripped of surrounding whitespace, or an error."""
    if isinstance(value, str):
        try:
            # ASCII falls back to UTF-8 for free: UTF-8 encodes ASCII text to the same bytes.
            raw = value.encode() if encoding is None else value.encode(encoding)
        except UnicodeEncodeError as exc:
            raise LocalProtocolError(
                f"Invalid value for header {_preview(raw_name.decode('ascii'))}: it cannot be "
                f"encoded as {exc.encoding} ({exc.reason} at position {exc.start}); the value "
                f"was {_shown_value(raw_name, value)}."
            ) from None
    elif isinstance(value, bytes):
        raw = bytes(value)
    else:
        raise TypeError(f"Header value must be str or bytes, not {type(value)}")
    forbidden = _search_forbidden_in_value(raw)
    if forbidden is not None:
        raise _invalid_value(raw_name, raw, forbidden.start())
    return raw.strip(_OWS)


def _check_pairs(pairs: Iterable[tuple[Any, Any]], encoding: str | None) -> list[HeaderTriple]:
    triples: list[HeaderTriple] = []
    append = triples.append
    for name, value in pairs:
        raw_name, lower_name = _check_name(name)
        append((raw_name, lower_name, _check_value(raw_name, value, encoding)))
    return triples


class Headers(MutableMapping[str, str]):
    """HTTP headers: a case-insensitive multi-dict that keeps order and the case of names."""

    __slots__ = ("_encoding", "_inferred_encoding", "_list")

    _list: list[HeaderTriple]
    # Set by the user (constructor or `.encoding = ...`); wins over inference.
    _encoding: str | None
    # Cache of the inferred encoding; every change to `_list` clears it.
    _inferred_encoding: str | None

    def __init__(self, headers: HeaderTypes | None = None, encoding: str | None = None) -> None:
        if encoding is not None:
            codecs.lookup(encoding)  # an unknown codec fails here, not at some later lookup
        self._encoding = encoding
        self._inferred_encoding = None
        if headers is None:
            self._list = []
        elif isinstance(headers, Headers):
            # Already checked on its way in; the triples are immutable, so sharing them is safe.
            self._list = list(headers._list)
            self._inferred_encoding = headers._inferred_encoding
        elif isinstance(headers, Mapping):
            self._list = _check_pairs(headers.items(), encoding)
        else:
            self._list = _check_pairs(headers, encoding)

    def _copy(self) -> Headers:
        """`Headers(self)`, without the constructor's type tests (what a request's headers are
        copied with, once per request)."""
        headers = Headers.__new__(Headers)
        headers._encoding = None
        headers._inferred_encoding = self._inferred_encoding
        headers._list = self._list.copy()
        return headers

    @classmethod
    def _from_raw(cls, pairs: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Wrap `(name, value)` pairs from our own HTTP/1.1 or HTTP/2 parser: no checks.

        The parsers have already enforced the protocol's rules on these bytes, and re-checking
        every response header would be pure overhead on the hottest path there is.
        """
        headers = cls.__new__(cls)
        headers._encoding = None
        headers._inferred_encoding = None
        headers._list = [(name, name.lower(), value) for name, value in pairs]
        return headers

    def _set_default_raw(self, name: bytes, value: bytes, *, front: bool = False) -> bool:
        """Add `name: value` unless a header of that name exists; True if it was added.

        For headers zephyr computes itself (`Host`, `Content-Length`, ...), whose bytes are
        known to be valid, so they skip the checks. `front=True` puts the header first, where
        `Host` belongs (RFC 9112 §3.2 asks clients to send it first).
        """
        lower_name = name.lower()
        for _, existing_name, _ in self._list:
            if existing_name == lower_name:
                return False
        if front:
            self._list.insert(0, (name, lower_name, value))
        else:
            self._list.append((name, lower_name, value))
        self._inferred_encoding = None
        return True

    def _insert_raw_at_front(self, triples: list[HeaderTriple]) -> None:
        """Put `(name, lower_name, value)` triples zephyr computed itself first, unchecked."""
        self._list[0:0] = triples
        self._inferred_encoding = None

    def _has(self, lower_name: bytes) -> bool:
        """`lower_name in self` for a name already lower-case bytes: no encoding, no lowering."""
        for _, name, _ in self._list:  # noqa: SIM110 - a plain loop beats any() (see below)
            if name == lower_name:
                return True
        return False

    def _has_any(self, lower_names: tuple[bytes, ...]) -> bool:
        """True if a header has one of `lower_names` (lower-case bytes)."""
        for _, name, _ in self._list:  # noqa: SIM110
            if name in lower_names:
                return True
        return False

    def _raw_values(self, lower_name: bytes) -> list[bytes]:
        """Every raw value of the header `lower_name` (which must be lower-case), in order."""
        return [value for _, name, value in self._list if name == lower_name]

    # -- encoding -----------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """How names and values are decoded to `str`.

        Unless set, the first of "ascii" and "utf-8" that decodes every name and value, else
        "iso-8859-1", which decodes any byte.
        """
        return self._encoding or self._inferred_encoding or self._infer_encoding()

    @encoding.setter
    def encoding(self, value: str) -> None:
        codecs.lookup(value)  # an unknown codec fails here, not at some later lookup
        self._encoding = value

    def _infer_encoding(self) -> str:
        encoding = "ascii"
        for name, _, value in self._list:
            if not (name.isascii() and value.isascii()):
                encoding = "utf-8"
                break
        if encoding == "utf-8":
            try:
                for name, _, value in self._list:
                    name.decode("utf-8")
                    value.decode("utf-8")
            except UnicodeDecodeError:
                encoding = "iso-8859-1"
        self._inferred_encoding = encoding
        return encoding

    def _decode(self, raw: bytes) -> str:
        # ASCII bytes decode alike under every encoding inference can pick, so a single
        # lookup need not scan every header to settle the encoding first.
        if self._encoding is None and raw.isascii():
            return raw.decode("ascii")
        return raw.decode(self.encoding)

    def _lookup_name(self, key: str) -> bytes | None:
        """The stored (lower-case) form of `key`, or None if no header can have that name."""
        try:
            return key.encode("ascii").lower()
        except UnicodeEncodeError:
            pass
        except AttributeError:  # not a str: no header has that name
            return None
        try:
            return key.encode(self.encoding).lower()
        except UnicodeEncodeError:
            return None

    # -- views ----------------------------------------------------------------------------------

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """Every header as a `(name, value)` byte pair, names in their original case."""
        return [(name, value) for name, _, value in self._list]

    def _joined(self) -> dict[str, str]:
        """One entry per name (lower-case); repeated headers joined with ", " (RFC 9110 §5.3)."""
        encoding = self.encoding
        joined: dict[str, str] = {}
        for _, name, value in self._list:
            str_name = name.decode(encoding)
            str_value = value.decode(encoding)
            if str_name in joined:
                joined[str_name] = f"{joined[str_name]}, {str_value}"
            else:
                joined[str_name] = str_value
        return joined

    def keys(self) -> KeysView[str]:
        encoding = self.encoding
        return dict.fromkeys(name.decode(encoding) for _, name, _ in self._list).keys()

    def values(self) -> ValuesView[str]:
        return self._joined().values()

    def items(self) -> ItemsView[str, str]:
        return self._joined().items()

    def multi_items(self) -> list[tuple[str, str]]:
        """Every header as a `(lower-case name, value)` pair, repeats kept apart."""
        encoding = self.encoding
        return [(name.decode(encoding), value.decode(encoding)) for _, name, value in self._list]

    # -- lookups --------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> str:
        """All values of header `key` joined with ", " (RFC 9110 §5.3); KeyError if none."""
        lower_name = self._lookup_name(key)
        found = [value for _, name, value in self._list if name == lower_name]
        if not found:
            raise KeyError(key)
        return self._decode_joined(found)

    def get(self, key: str, default: Any = None) -> Any:
        # Not Mapping.get's try/except: a miss is common, and raising costs 2x (measured).
        lower_name = self._lookup_name(key)
        found = [value for _, name, value in self._list if name == lower_name]
        if not found:
            return default
        return self._decode_joined(found)

    def _decode_joined(self, values: list[bytes]) -> str:
        if len(values) == 1:
            return self._decode(values[0])
        return ", ".join([self._decode(value) for value in values])

    def get_list(self, key: str, split_commas: bool = False) -> list[str]:
        """Every value of header `key`; with `split_commas`, split on commas and stripped."""
        lower_name = self._lookup_name(key)
        values = [self._decode(value) for _, name, value in self._list if name == lower_name]
        if not split_commas:
            return values
        return [part.strip() for value in values for part in value.split(",")]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        lower_name = self._lookup_name(key)
        # A plain loop: 2.3x faster than any() over a generator here (measured).
        for _, name, _ in self._list:  # noqa: SIM110
            if name == lower_name:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        # Unique names, so that len(h) == len(dict(h)) as the Mapping contract expects.
        # (HTTPX counts every raw header line here.)
        return len({name for _, name, _ in self._list})

    # -- changes --------------------------------------------------------------------------------

    def __setitem__(self, key: str, value: str) -> None:
        """Set `key` to `value`: the first header of that name is replaced, any others go."""
        raw_name, lower_name = _check_name(key)
        triple = (raw_name, lower_name, _check_value(raw_name, value, self._encoding))
        headers = self._list
        positions = [index for index, (_, name, _) in enumerate(headers) if name == lower_name]
        if positions:
            headers[positions[0]] = triple
            for index in reversed(positions[1:]):
                del headers[index]
        else:
            headers.append(triple)
        self._inferred_encoding = None

    def __delitem__(self, key: str) -> None:
        lower_name = self._lookup_name(key)
        kept = [triple for triple in self._list if triple[1] != lower_name]
        if len(kept) == len(self._list):
            raise KeyError(key)
        self._list = kept
        self._inferred_encoding = None

    def update(self, headers: HeaderTypes | None = None) -> None:  # type: ignore[override]
        """Add `headers`; each name they contain replaces every header of that name here."""
        other = headers if isinstance(headers, Headers) else Headers(headers, self._encoding)
        added = other._list  # taken before `self._list` is rebound: `other` may be `self`
        if not added:
            return
        replaced = {name for _, name, _ in added}
        self._list = [triple for triple in self._list if triple[1] not in replaced]
        self._list.extend(added)
        self._inferred_encoding = None

    def clear(self) -> None:
        self._list = []
        self._inferred_encoding = None

    def copy(self) -> Headers:
        return Headers(self, self._encoding)

    # -- comparison and display -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Equal to anything `Headers` accepts with the same names and values, in any order."""
        if not isinstance(other, Headers):
            # Only what the constructor is documented to take: `Headers(None)` and
            # `Headers("")` are empty, yet empty headers must not equal None or "".
            if not isinstance(other, Mapping | Sequence) or isinstance(other, str | bytes):
                return NotImplemented
            try:
                other = Headers(other)
            except (TypeError, ValueError, LocalProtocolError):
                return NotImplemented
        mine = sorted([(name, value) for _, name, value in self._list])
        theirs = sorted([(name, value) for _, name, value in other._list])
        return mine == theirs

    def __repr__(self) -> str:
        encoding = self.encoding
        shown = [
            (
                name.decode(encoding),
                "[secure]" if name in _SENSITIVE_NAMES else value.decode(encoding),
            )
            for _, name, value in self._list
        ]
        as_dict = dict(shown)
        body = repr(as_dict) if len(as_dict) == len(shown) else repr(shown)
        suffix = "" if encoding == "ascii" else f", encoding={encoding!r}"
        return f"{type(self).__name__}({body}{suffix})"
