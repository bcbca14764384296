"""Parsing `WWW-Authenticate` (and `Proxy-Authenticate`) challenges, RFC 9110 §11.

    challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param = token BWS "=" BWS ( token / quoted-string )
    token68    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

One field value may hold several challenges, and a response may carry several fields
(RFC 9110 §11.6.1). Splitting on commas is wrong twice over: a quoted string may contain
commas, and the comma between two challenges looks like the comma between two parameters. The
way to tell them apart is what follows the comma: `name =` continues the current challenge's
parameters, a bare token (followed by a space, a comma or the end) starts a new challenge.

Parsing is a single left-to-right pass of anchored regular expressions over the value, so its
cost is linear in the length of the header whatever a hostile server sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Challenge", "parse_challenges"]

_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_match_token = re.compile(f"{_TCHAR}+").match
# RFC 9110 §5.6.4: qdtext is HTAB, SP, VCHAR except '"' and '\', and obs-text; a quoted-pair
# escapes HTAB, SP, VCHAR or obs-text. Other control characters are in neither.
_match_param = re.compile(
    rf"({_TCHAR}+)[ \t]*=[ \t]*"
    r'(?:"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\x00-\x08\x0a-\x1f\x7f])*)"'
    rf"|({_TCHAR}+))"
).match
_match_param_start = re.compile(rf"{_TCHAR}+[ \t]*=").match
_match_quoted_param_start = re.compile(rf'{_TCHAR}+[ \t]*=[ \t]*"').match
_match_token68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|\Z)").match
# Empty list elements are allowed and must be skipped (RFC 9110 §5.6.1).
_LIST_SEPARATORS = re.compile(r"[ \t,]*")
_WHITESPACE = re.compile(r"[ \t]*")
_sub_quoted_pair = re.compile(r"\\(.)").sub


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: its scheme (lower-cased) and its parameters (names lower-cased).

    `error` is set when the challenge could not be parsed; then `params` holds what was read
    before the error, and nothing after it in the same field value was parsed.
    """

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str | None = None
    error: str | None = None


def parse_challenges(field_values: Iterable[str]) -> list[Challenge]:
    """Every challenge of every field value, in order."""
    challenges: list[Challenge] = []
    for value in field_values:
        challenges.extend(_parse_field_value(value))
    return challenges


def _parse_field_value(value: str) -> list[Challenge]:
    challenges: list[Challenge] = []
    end = len(value)
    position = _skip(_LIST_SEPARATORS, value, 0)
    while position < end:
        scheme_match = _match_token(value, position)
        if scheme_match is None:
            challenges.append(Challenge("", error=_unexpected(value, position, "a scheme")))
            break
        scheme = scheme_match.group().lower()
        position = scheme_match.end()
        after_space = _skip(_WHITESPACE, value, position)
        if after_space == end or value[after_space] == ",":
            challenges.append(Challenge(scheme))  # a scheme with no parameters at all
        elif after_space == position:
            error = _unexpected(value, position, "a space after the scheme")
            challenges.append(Challenge(scheme, error=error))
            break
        elif _match_param(value, after_space) is None:
            token68 = _match_token68(value, after_space)
            if token68 is None:
                error = _bad_param(value, after_space, "a parameter or a token68")
                challenges.append(Challenge(scheme, error=error))
                break
            challenges.append(Challenge(scheme, token68=token68.group().rstrip(" \t")))
            after_space = token68.end()
        else:
            challenge, after_space = _parse_params(value, scheme, after_space)
            challenges.append(challenge)
            if challenge.error is not None:
                break
        position = _skip(_LIST_SEPARATORS, value, after_space)
    return challenges


def _parse_params(value: str, scheme: str, position: int) -> tuple[Challenge, int]:
    """The parameters from `position` on, and where the next challenge (if any) begins."""
    params: dict[str, str] = {}
    end = len(value)
    while True:
        param = _match_param(value, position)
        if param is None:
            error = _bad_param(value, position, "a parameter")
            return Challenge(scheme, params, error=error), end
        name, quoted, token = param.groups()
        name = name.lower()
        if name in params:
            # RFC 9110 §11.2: "Each parameter name MUST only occur once per challenge."
            error = f"the parameter {name!r} occurs twice"
            return Challenge(scheme, params, error=error), end
        params[name] = token if quoted is None else _sub_quoted_pair(r"\1", quoted)
        position = _skip(_WHITESPACE, value, param.end())
        if position == end:
            return Challenge(scheme, params), end
        if value[position] != ",":
            error = _unexpected(value, position, "a comma")
            return Challenge(scheme, params, error=error), end
        following = _skip(_LIST_SEPARATORS, value, position)
        if following == end or _match_param_start(value, following) is None:
            # Not `name=`: the end, or the scheme of the next challenge (which is followed by
            # a space, a comma or the end, never by "=").
            return Challenge(scheme, params), following
        position = following


def _skip(pattern: re.Pattern[str], value: str, position: int) -> int:
    """Where `pattern` (which matches the empty string too) stops matching from `position`."""
    match = pattern.match(value, position)
    return position if match is None else match.end()


def _bad_param(value: str, position: int, expected: str) -> str:
    quoted_start = _match_quoted_param_start(value, position)
    if quoted_start is not None:
        return (
            f"the quoted string at position {quoted_start.end() - 1} is unterminated or "
            "holds a control character"
        )
    return _unexpected(value, position, expected)


def _unexpected(value: str, position: int, expected: str) -> str:
    if position >= len(value):
        return f"expected {expected} at the end of the header"
    return f"expected {expected} at position {position}, found {value[position]!r}"
