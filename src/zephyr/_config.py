"""Timeout and pool-limit configuration (`Timeout`, `Limits`)."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_LIMITS", "DEFAULT_MAX_REDIRECTS", "DEFAULT_TIMEOUT", "Limits", "Timeout"]


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
    """

    __slots__ = ("connect", "pool", "read", "write")

    def __init__(
        self,
        timeout: Timeout | TimeoutValue | tuple[TimeoutValue, ...] | Any = UNSET,
        *,
        connect: TimeoutValue | Any = UNSET,
        read: TimeoutValue | Any = UNSET,
        write: TimeoutValue | Any = UNSET,
        pool: TimeoutValue | Any = UNSET,
    ) -> None:
        self.connect: float | None
        self.read: float | None
        self.write: float | None
        self.pool: float | None
        if isinstance(timeout, Timeout):
            if not all(v is UNSET for v in (connect, read, write, pool)):
                raise TypeError("Timeout(timeout=Timeout(...)) takes no other arguments.")
            self.connect, self.read = timeout.connect, timeout.read
            self.write, self.pool = timeout.write, timeout.pool
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
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.connect, self.read, self.write, self.pool))

    def __repr__(self) -> str:
        if len({self.connect, self.read, self.write, self.pool}) == 1:
            return f"Timeout(timeout={self.connect})"
        return (
            f"Timeout(connect={self.connect}, read={self.read}, "
            f"write={self.write}, pool={self.pool})"
        )


def _seconds(value: object, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Timeout {name} must be a number of seconds or None, not {value!r}.")
    if value != value or value < 0:  # NaN or negative
        raise ValueError(f"Timeout {name} must be a non-negative number of seconds, not {value}.")
    return float(value)


class Limits:
    """Connection pool limits.

    The defaults (100 connections, 20 kept idle, 5 s expiry) are HTTPX's client defaults.

    max_connections: the most connections open at once (None: no limit).
    max_keepalive_connections: the most idle connections kept for reuse (None: no limit).
    keepalive_expiry: seconds an idle connection is kept before it is closed (None: forever).
    """

    __slots__ = ("keepalive_expiry", "max_connections", "max_keepalive_connections")

    def __init__(
        self,
        *,
        max_connections: int | None = 100,
        max_keepalive_connections: int | None = 20,
        keepalive_expiry: float | None = 5.0,
    ) -> None:
        for name, value in (
            ("max_connections", max_connections),
            ("max_keepalive_connections", max_keepalive_connections),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValueError(
                    f"Limits {name} must be a non-negative int or None, not {value!r}."
                )
        if keepalive_expiry is not None:
            keepalive_expiry = _seconds(keepalive_expiry, "keepalive_expiry")
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Limits)
            and self.max_connections == other.max_connections
            and self.max_keepalive_connections == other.max_keepalive_connections
            and self.keepalive_expiry == other.keepalive_expiry
        )

    def __hash__(self) -> int:
        return hash((self.max_connections, self.max_keepalive_connections, self.keepalive_expiry))

    def __repr__(self) -> str:
        return (
            f"Limits(max_connections={self.max_connections}, "
            f"max_keepalive_connections={self.max_keepalive_connections}, "
            f"keepalive_expiry={self.keepalive_expiry})"
        )


DEFAULT_TIMEOUT = Timeout(timeout=5.0)
DEFAULT_LIMITS = Limits()
DEFAULT_MAX_REDIRECTS = 20
