"""The total deadline of one `client.send()` (`Timeout(total=...)`), as transports see it.

The client makes one `Deadline` per send and hands it to every attempt of that send (the
first request, redirects, retries, auth round trips) in the `timeout` extension, under the
key "deadline", next to the phase timeouts capped to what is left (so that a transport that
knows nothing of deadlines still ends in about time). A transport that knows it bounds each
wait by `cap()`: the wait's own timeout or what is left of the deadline, whichever is less,
and when the deadline was the bound it raises `error()`: the wait's own kind of timeout,
saying that the total deadline passed.

    wait, by_deadline = deadline.cap(read_timeout)   # only when a deadline was given
    ...
    raise deadline.error(ReadTimeout, "reading the response") if by_deadline else ...

Without `total` none of this exists: requests carry no deadline, and the transports' waits
test one `None`.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from ._exceptions import TimeoutException

__all__ = ["Deadline", "bounded_wait"]

_monotonic = time.monotonic

E = TypeVar("E", bound=TimeoutException)


class Deadline:
    """`total` seconds from now, on `time.monotonic()`'s clock.

    `base`: the phase timeouts the request was given (its `timeout` extension without the
    deadline), which `timeouts()` caps anew for each attempt.
    """

    __slots__ = ("at", "base", "total")

    def __init__(self, total: float, base: dict[str, Any]) -> None:
        self.total = total
        self.at = _monotonic() + total
        self.base = base

    @classmethod
    def start(cls, timeouts: dict[str, Any]) -> Deadline | None:
        """The deadline of a send whose request has the `timeout` extension `timeouts`; None
        when it sets no total. A request sent before carries that send's deadline, which is
        replaced (its timeouts were capped: the ones it was given are the deadline's base)."""
        total = timeouts.get("total")
        if total is None:
            return None
        previous = timeouts.get("deadline")
        if type(previous) is Deadline:
            timeouts = previous.base
        return cls(total, timeouts)

    def remaining(self) -> float:
        """Seconds left; 0 or less once the deadline has passed."""
        return self.at - _monotonic()

    def expired(self) -> bool:
        return _monotonic() >= self.at

    def cap(self, timeout: float | None) -> tuple[float, bool]:
        """The timeout for one wait whose own timeout is `timeout` (None: none): the lesser of
        it and what is left (never below 0), and whether the deadline is the bound."""
        left = self.at - _monotonic()
        if timeout is None or left <= timeout:
            return (left if left > 0.0 else 0.0), True
        return timeout, False

    def timeouts(self) -> dict[str, Any]:
        """The `timeout` extension for the next attempt: the base timeouts capped to what is
        left, "total" as given, and this deadline."""
        left = self.at - _monotonic()
        if left < 0.0:
            left = 0.0
        base = self.base
        connect, read = base.get("connect"), base.get("read")
        write, pool = base.get("write"), base.get("pool")
        return {
            "connect": left if connect is None or connect > left else connect,
            "read": left if read is None or read > left else read,
            "write": left if write is None or write > left else write,
            "pool": left if pool is None or pool > left else pool,
            "total": self.total,
            "deadline": self,
        }

    def error(self, kind: type[E], what: str) -> E:
        """`kind` (ConnectTimeout, ReadTimeout, WriteTimeout, PoolTimeout) for a wait that the
        deadline ended: "Timed out {what}: the total deadline of {total} s passed."."""
        return kind(f"Timed out {what}: the total deadline of {self.total} s passed.")

    def __repr__(self) -> str:
        return f"<Deadline total={self.total} remaining={self.remaining():.3f}>"


def bounded_wait(
    timeouts: dict[str, Any], phase: str
) -> tuple[float | None, float | None, Deadline | None]:
    """For a wait of `phase` ("connect", "read", "write", "pool") of a request whose `timeout`
    extension is `timeouts`: the phase's own timeout, the timeout to wait with, and the
    request's deadline when that is the bound (else None: the error is the phase's own)."""
    timeout: float | None = timeouts.get(phase)
    deadline: Deadline | None = timeouts.get("deadline")
    if deadline is None:
        return timeout, timeout, None
    wait, by_deadline = deadline.cap(timeout)
    return timeout, wait, deadline if by_deadline else None
