"""Timeout and limit configuration (`Timeout`, `Limits`)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_TIMEOUT",
    "Limits",
    "Timeout",
]


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

TimeoutValue = float | None


class Timeout:
    """Timeouts in seconds for each phase of a request; `None` disables one.

    Timeout(5.0)                      every phase 5 s
    Timeout(None)                     no timeouts
    Timeout(5.0, connect=10.0)        a default, with overrides
    Timeout(connect=1, read=2, write=3, pool=4)   all four, no default
    Timeout((1, 2, 3, 4))             a (connect, read, write, pool) tuple
    Timeout(other_timeout)            a copy
    Timeout(5.0, total=30.0)          and a deadline for the whole request

    `total` (zephyr's, None by default) bounds all of `client.send()`: connecting, redirects,
    retries and their waits, auth round trips and reading the body (for `client.stream()`,
    the reading inside the block too). When it passes, the operation in progress raises its
    own kind of TimeoutException, saying that the total deadline passed. The four phase
    timeouts still apply to each wait.
    """

    __slots__ = ("connect", "pool", "read", "total", "write")

    def __init__(
        self,
        timeout: Timeout | TimeoutValue | tuple[TimeoutValue, ...] | Any = UNSET,
        *,
        connect: TimeoutValue | Any = UNSET,
        read: TimeoutValue | Any = UNSET,
        write: TimeoutValue | Any = UNSET,
        pool: TimeoutValue | Any = UNSET,
        total: TimeoutValue = None,
    ) -> None:
        self.connect: float | None
        self.read: float | None
        self.write: float | None
        self.pool: float | None
        self.total: float | None = _seconds(total, "total")
        if isinstance(timeout, Timeout):
            if not all(v is UNSET for v in (connect, read, write, pool)):
                raise TypeError("Timeout(timeout=Timeout(...)) takes no other arguments.")
            self.connect, self.read = timeout.connect, timeout.read
            self.write, self.pool = timeout.write, timeout.pool
            if total is None:
                self.total = timeout.total
        elif isinstance(timeout, tuple):
            if len(timeout) not in (2, 3, 4):
                raise ValueError(
                    "A timeout tuple must be (connect, read), (connect, read, write) or "
                    f"(connect, read, write, pool); got {len(timeout)} values."
                )
            values = [_seconds(v, "timeout") for v in timeout]
            values += [None] * (4 - len(values))
            self.connect, self.read, self.write, self.pool = values
        elif timeout is UNSET:
            given = (connect, read, write, pool)
            if any(v is UNSET for v in given):
                raise ValueError(
                    "Timeout must either include a default, or set all four parameters "
                    "explicitly: Timeout(5.0) or Timeout(connect=..., read=..., write=..., "
                    "pool=...)."
                )
            self.connect = _seconds(connect, "connect")
            self.read = _seconds(read, "read")
            self.write = _seconds(write, "write")
            self.pool = _seconds(pool, "pool")
        else:
            default = _seconds(timeout, "timeout")
            self.connect = default if connect is UNSET else _seconds(connect, "connect")
            self.read = default if read is UNSET else _seconds(read, "read")
            self.write = default if write is UNSET else _seconds(write, "write")
            self.pool = default if pool is UNSET else _seconds(pool, "pool")

    def as_dict(self) -> dict[str, float | None]:
        """The request's `timeout` extension: HTTPX's four keys, and "total" when it is set."""
        timeouts = {
            "connect": self.connect,
            "read": self.read,
            "write": self.write,
            "pool": self.pool,
        }
        if self.total is not None:
            timeouts["total"] = self.total
        return timeouts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.connect, self.read, self.write, self.pool, self.total))

    def __repr__(self) -> str:
        total = "" if self.total is None else f", total={self.total}"
        if len({self.connect, self.read, self.write, self.pool}) == 1:
            return f"Timeout(timeout={self.connect}{total})"
        return (
            f"Timeout(connect={self.connect}, read={self.read}, "
            f"write={self.write}, pool={self.pool}{total})"
        )


def _seconds(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Timeout {name} must be a number of seconds or None, not {value!r}.")
    if value != value or value < 0:  # NaN or negative
        raise ValueError(f"Timeout {name} must be a non-negative number of seconds, not {value}.")
    return value  # as given, as HTTPX keeps it: repr(Timeout(3)) is "Timeout(timeout=3)"


# What `read()` collects in memory, decoded, before it gives up (Limits.max_response_size).
DEFAULT_MAX_RESPONSE_SIZE = 1024 * 1024 * 1024

# The HTTP/1.1 core's own defaults (`_protocol/http11.py`): a Limits with these builds the
# core without arguments.
_DEFAULT_HEADER_LINE = 65536
_DEFAULT_HEADER_COUNT = 200
_DEFAULT_INFORMATIONAL = 50


class Limits:
    """Connection pool limits, and the limits that bound what a server can make us hold.

    The pool defaults (100 connections, 20 kept idle, 5 s expiry) are HTTPX's client defaults.

    max_connections: the most connections open at once (None: no limit).
    max_keepalive_connections: the most idle connections kept for reuse (None: no limit).
    keepalive_expiry: seconds an idle connection is kept before it is closed (None: forever).
    max_header_line_size: the longest response header line (name and value; the status line
        too) in bytes. HTTP/2 bounds the whole decoded header list at four times this (256 KiB
        by default), and tells the server so (SETTINGS_MAX_HEADER_LIST_SIZE).
    max_header_count: the most header lines in one response head (or its trailers).
    max_informational_responses: the most 1xx responses before the final one.
    max_response_size: the most bytes, decoded, that `read()` / `aread()` (and so `.content`
        of a response that is not streamed) collect in memory; None: no limit. Larger bodies
        raise `ResponseTooLarge` and close the response. Streaming (`iter_bytes()` and the
        others) is not capped: it holds one bounded chunk at a time. Applied by the client.

    Header limits that a response exceeds raise RemoteProtocolError naming the limit.
    """

    __slots__ = (
        "keepalive_expiry",
        "max_connections",
        "max_header_count",
        "max_header_line_size",
        "max_informational_responses",
        "max_keepalive_connections",
        "max_response_size",
    )

    def __init__(
        self,
        *,
        max_connections: int | None = 100,
        max_keepalive_connections: int | None = 20,
        keepalive_expiry: float | None = 5.0,
        max_header_line_size: int = _DEFAULT_HEADER_LINE,
        max_header_count: int = _DEFAULT_HEADER_COUNT,
        max_informational_responses: int = _DEFAULT_INFORMATIONAL,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        for name, value in (
            ("max_connections", max_connections),
            ("max_keepalive_connections", max_keepalive_connections),
            ("max_response_size", max_response_size),
        ):
            if value is not None and not _is_count(value, 0):
                raise ValueError(
                    f"Limits {name} must be a non-negative int or None, not {value!r}."
                )
        for name, value in (
            ("max_header_line_size", max_header_line_size),
            ("max_header_count", max_header_count),
            ("max_informational_responses", max_informational_responses),
        ):
            if not _is_count(value, 1 if name != "max_informational_responses" else 0):
                raise ValueError(f"Limits {name} must be a positive int, not {value!r}.")
        if keepalive_expiry is not None:
            keepalive_expiry = _seconds(keepalive_expiry, "keepalive_expiry")
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self.max_header_line_size = max_header_line_size
        self.max_header_count = max_header_count
        self.max_informational_responses = max_informational_responses
        self.max_response_size = max_response_size

    def http11_core_options(self) -> dict[str, int] | None:
        """Keyword arguments for the HTTP/1.1 core (`HTTP11Connection`); None for its defaults."""
        if (
            self.max_header_line_size == _DEFAULT_HEADER_LINE
            and self.max_header_count == _DEFAULT_HEADER_COUNT
            and self.max_informational_responses == _DEFAULT_INFORMATIONAL
        ):
            return None
        return {
            "max_header_line_size": self.max_header_line_size,
            "max_header_count": self.max_header_count,
            "max_informational_responses": self.max_informational_responses,
        }

    def http2_core_options(self) -> dict[str, int] | None:
        """Keyword arguments for the HTTP/2 core (`HTTP2Connection`); None for its defaults."""
        if (
            self.max_header_line_size == _DEFAULT_HEADER_LINE
            and self.max_informational_responses == _DEFAULT_INFORMATIONAL
        ):
            return None
        return {
            "max_header_list_size": 4 * self.max_header_line_size,
            "max_informational_responses": self.max_informational_responses,
        }

    def _key(self) -> tuple[Any, ...]:
        return (
            self.max_connections,
            self.max_keepalive_connections,
            self.keepalive_expiry,
            self.max_header_line_size,
            self.max_header_count,
            self.max_informational_responses,
            self.max_response_size,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        text = (
            f"Limits(max_connections={self.max_connections}, "
            f"max_keepalive_connections={self.max_keepalive_connections}, "
            f"keepalive_expiry={self.keepalive_expiry}"
        )
        # The other limits only when they differ from the defaults: HTTPX's repr otherwise.
        for name, default in (
            ("max_header_line_size", _DEFAULT_HEADER_LINE),
            ("max_header_count", _DEFAULT_HEADER_COUNT),
            ("max_informational_responses", _DEFAULT_INFORMATIONAL),
            ("max_response_size", DEFAULT_MAX_RESPONSE_SIZE),
        ):
            value = getattr(self, name)
            if value != default:
                text += f", {name}={value}"
        return text + ")"


def _is_count(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


DEFAULT_TIMEOUT = Timeout(timeout=5.0)
DEFAULT_LIMITS = Limits()
DEFAULT_MAX_REDIRECTS = 20
