"""`Retry`: when to send a request again, and how long to wait first — pure and sans-I/O.

A `Retry` is an immutable value. It answers questions ("may this outcome be retried?", "how
long to wait?") and `increment()` returns a *new* Retry with one retry spent, or raises
`RetriesExhausted`. It never sleeps, sends or reads; the flow in `_flow.py` does that:

    if not retry.should_retry_error(request.method, error):
        raise error
    try:
        retry = retry.increment(method=request.method, url=request.url, error=error)
    except RetriesExhausted as exhausted:
        return exhausted.resolve()          # re-raises `error` (here)
    sleep(retry.history[-1].delay)          # then send again

The rules (RELIABILITY.md "Automatic retries only for idempotent methods"):

- connect errors (`ConnectError`, `ConnectTimeout`) are retried for every method, since the
  request never reached the server; they count against `connect`. A failed certificate
  verification is not retried: it will fail the same way, only later.
- read-side errors (`ReadError`, `ReadTimeout`, `RemoteProtocolError`) and write-side errors
  (`WriteError`, `WriteTimeout`) may come after the server received (part of) the request, so
  they are retried only for the idempotent methods of `allowed_methods` (RFC 9110 §9.2.2) and
  count against `read`. They apply to errors raised while sending and reading the response
  head; an error while reading a body the user already holds is never retried.
- every other error (`PoolTimeout`, `LocalProtocolError`, `ProxyError`, `DecodingError`...)
  is never retried.
- a response is retried when its status is in `status_forcelist`, or is 413, 429 or 503 with
  a `Retry-After` header (RFC 9110 §10.2.3, RFC 6585 §4) and `respect_retry_after` is set —
  and only for `allowed_methods`; it counts against `status`.

Every retry also counts against `total`. `None` means "no bound of its own"; since a retry
loop must always end, `total=None` is refused unless `connect`, `read` and `status` are all
bounded.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NoReturn

from ._exceptions import (
    ConnectError,
    ConnectTimeout,
    HTTPStatusError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteError,
    WriteTimeout,
)
from ._response import Response
from ._urls import URL

__all__ = ["RetriesExhausted", "Retry", "RetryAttempt", "parse_retry_after"]

DEFAULT_STATUS_FORCELIST = frozenset({413, 429, 500, 502, 503, 504})
# RFC 9110 §9.2.2: the idempotent methods (POST and PATCH are not).
DEFAULT_ALLOWED_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# The statuses whose Retry-After says "come back later" (RFC 9110 §15.5.14, §15.6.4;
# RFC 6585 §4): with the header they are retried even when not in the forcelist.
RETRY_AFTER_STATUS_CODES = frozenset({413, 429, 503})

_CONNECT_ERRORS = (ConnectError, ConnectTimeout)
_READ_ERRORS = (ReadError, ReadTimeout, RemoteProtocolError, WriteError, WriteTimeout)
# Past this exponent every sane backoff is at its cap; bounding it keeps the float finite.
_MAX_BACKOFF_EXPONENT = 1000
# More digits than this is longer than any cap: no need to convert (int() of a huge digit
# string is slow, and refused past 4300 digits).
_MAX_DELAY_SECONDS_DIGITS = 12


@dataclass(frozen=True, slots=True)
class RetryAttempt:
    """One retry, as recorded in `Retry.history`: what failed and how long we waited."""

    method: str
    url: str
    error: str | None  # the exception's type name, for an error
    status_code: int | None  # for a response
    delay: float  # seconds waited before the retry


class RetriesExhausted(Exception):
    """Raised by `Retry.increment()` when the outcome may not be retried any more.

    Internal: the flow turns it into the user's outcome with `resolve()`. `retry` is the Retry
    that refused (its `history` lists the retries made).
    """

    def __init__(
        self, error: BaseException | None, response: Response | None, *, retry: Retry
    ) -> None:
        what = type(error).__name__ if error is not None else f"status {_status_of(response)}"
        super().__init__(f"Retries exhausted after {len(retry.history)} retries; last: {what}.")
        self.error = error
        self.response = response
        self.retry = retry

    def resolve(self) -> Response:
        """Raise the original error; for a status retry, return the last response as is, or
        raise `HTTPStatusError` when `raise_on_status` is set."""
        if self.error is not None:
            _reraise_unchanged(self.error)
        assert self.response is not None
        if not self.retry.raise_on_status:
            return self.response
        response = self.response
        message = (
            f"Retries exhausted ({len(self.retry.history)} retries): last response was "
            f"'{response.status_code} {response.reason_phrase}' for url '{response.url}'"
        )
        raise HTTPStatusError(message, request=response.request, response=response) from None


def _status_of(response: Response | None) -> int | None:
    return None if response is None else response.status_code


def _reraise_unchanged(error: BaseException) -> NoReturn:
    # Raising inside the caller's `except RetriesExhausted` would make RetriesExhausted the
    # error's __context__, and tracebacks would say the user's error happened "during
    # handling" of our internal one. Put the error's own context back as it leaves.
    original_context = error.__context__
    try:
        raise error
    finally:
        error.__context__ = original_context


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (RFC 9110 §10.2.3), or None if invalid.

    The value is `delay-seconds` (1*DIGIT) or an HTTP-date, taken relative to `now` (POSIX
    seconds); a date in the past gives 0. Never negative.
    """
    value = value.strip()
    if value.isascii() and value.isdigit():
        if len(value) > _MAX_DELAY_SECONDS_DIGITS:
            return math.inf
        return float(int(value))
    # Imported here: email.utils pulls in socket, and `import zephyr` should not.
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" gives a naive datetime; an HTTP-date is always GMT (RFC 9110 §5.6.7).
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _check_count(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Retry({name}=...) must be an int or None, not {value!r}.")
    if value < 0:
        raise ValueError(f"Retry({name}=...) must not be negative, got {value}.")
    return value


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Retry({name}=...) must be a number of seconds, not {value!r}.")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Retry({name}=...) must be finite and not negative, got {value}.")
    return float(value)


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Retry({name}=...) must be True or False, not {value!r}.")
    return value


def _check_statuses(value: object) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        raise TypeError(f"Retry(status_forcelist=...) must be a collection of ints: {value!r}.")
    for code in value:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"Retry(status_forcelist=...) holds {code!r}, not a status code.")
    return frozenset(value)


def _check_methods(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        raise TypeError(
            f"Retry(allowed_methods=...) must be a collection of method names, not {value!r}."
        )
    for method in value:
        if not isinstance(method, str) or not method:
            raise TypeError(f"Retry(allowed_methods=...) holds {method!r}, not a method name.")
    return frozenset(method.upper() for method in value)


def _check_history(value: object) -> tuple[RetryAttempt, ...]:
    if not isinstance(value, tuple) or not all(isinstance(a, RetryAttempt) for a in value):
        raise TypeError("Retry(history=...) must be a tuple of RetryAttempt.")
    return value


class Retry:
    """How a client retries failed requests: which outcomes, how often, how long to wait.

    `total` bounds all retries; `connect`, `read` and `status` bound those of one kind (None:
    only `total` bounds them). Backoff before the n-th retry is `backoff_factor * 2**(n-1)`
    seconds — we wait before the *first* retry too (urllib3 does not): a server that failed
    may be overloaded, and an immediate retry adds to its load. Retries are spread by up to
    `backoff_jitter` (a fraction) of random extra, and never wait longer than `backoff_max`.
    A valid `Retry-After` replaces the backoff, capped at `retry_after_max`.

    `rng` (a `random.Random`) and `clock` (POSIX seconds, like `time.time`) may be given for
    tests; they are carried to the Retry objects that `increment()` returns, and are not part
    of equality.
    """

    __slots__ = (
        "_clock",
        "_rng",
        "allowed_methods",
        "backoff_factor",
        "backoff_jitter",
        "backoff_max",
        "connect",
        "history",
        "raise_on_status",
        "read",
        "respect_retry_after",
        "retry_after_max",
        "status",
        "status_forcelist",
        "total",
    )

    total: int | None
    connect: int | None
    read: int | None
    status: int | None
    backoff_factor: float
    backoff_max: float
    backoff_jitter: float
    status_forcelist: frozenset[int]
    allowed_methods: frozenset[str]
    respect_retry_after: bool
    retry_after_max: float
    raise_on_status: bool
    history: tuple[RetryAttempt, ...]
    _rng: random.Random | None
    _clock: Callable[[], float]

    def __init__(
        self,
        total: int | None = 3,
        *,
        connect: int | None = None,
        read: int | None = None,
        status: int | None = None,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        backoff_jitter: float = 0.5,
        status_forcelist: Collection[int] = DEFAULT_STATUS_FORCELIST,
        allowed_methods: Collection[str] = DEFAULT_ALLOWED_METHODS,
        respect_retry_after: bool = True,
        retry_after_max: float = 120.0,
        raise_on_status: bool = False,
        history: tuple[RetryAttempt, ...] = (),
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        fields: dict[str, Any] = {
            "total": _check_count("total", total),
            "connect": _check_count("connect", connect),
            "read": _check_count("read", read),
            "status": _check_count("status", status),
            "backoff_factor": _check_seconds("backoff_factor", backoff_factor),
            "backoff_max": _check_seconds("backoff_max", backoff_max),
            "backoff_jitter": _check_seconds("backoff_jitter", backoff_jitter),
            "status_forcelist": _check_statuses(status_forcelist),
            "allowed_methods": _check_methods(allowed_methods),
            "respect_retry_after": _check_flag("respect_retry_after", respect_retry_after),
            "retry_after_max": _check_seconds("retry_after_max", retry_after_max),
            "raise_on_status": _check_flag("raise_on_status", raise_on_status),
            "history": _check_history(history),
            "_rng": rng,
            "_clock": clock,
        }
        if total is None and None in (connect, read, status):
            # Each retry decrements total and the counter of its kind; with neither bounded
            # a flaky server could keep us retrying for ever.
            raise ValueError(
                "Retry(total=None) needs connect=, read= and status= all set to an int: "
                "an unbounded retry loop is refused."
            )
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    # -- a frozen value ---------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Retry is immutable; use copy_with({name}=...) for a new one.")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Retry is immutable.")

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__ if not name.startswith("_"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Retry(total={self.total}, connect={self.connect}, read={self.read}, "
            f"status={self.status}, history={len(self.history)})"
        )

    def _arguments(self) -> dict[str, Any]:
        return {name.lstrip("_"): getattr(self, name) for name in self.__slots__}

    def __reduce__(self) -> tuple[Callable[..., Retry], tuple[dict[str, Any]]]:
        # copy and pickle would otherwise restore the slots with setattr, which we refuse.
        return _rebuild, (self._arguments(),)

    def copy_with(self, **changes: Any) -> Retry:
        """A new Retry with `changes` applied (validated as by the constructor)."""
        return Retry(**{**self._arguments(), **changes})

    @classmethod
    def from_value(cls, value: Retry | int | bool | None) -> Retry:
        """A Retry from what a user may pass as `retries=`: a Retry (kept), an int (the
        total), or None, 0 or False (no retries at all)."""
        if isinstance(value, Retry):
            return value
        if value is None or value is False:
            return cls(total=0)
        if value is True:
            raise TypeError("retries=True is ambiguous: pass a number of retries or a Retry.")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"retries= must not be negative, got {value}.")
            return cls(total=value)
        raise TypeError(
            f"retries= must be a Retry, an int, None or False, not {type(value).__name__}."
        )

    # -- decisions -------------------------------------------------------------------------

    def is_retryable_method(self, method: str) -> bool:
        return method.upper() in self.allowed_methods

    def should_retry_error(self, method: str, error: BaseException) -> bool:
        """Whether `error`, raised sending `method` (before a response), may be retried;
        whether a retry is left is `increment()`'s to say."""
        if isinstance(error, _CONNECT_ERRORS):
            return not _is_certificate_failure(error)
        if isinstance(error, _READ_ERRORS):
            return self.is_retryable_method(method)
        return False

    def should_retry_response(self, method: str, response: Response) -> bool:
        """Whether `response` to `method` calls for a retry; whether one is left is
        `increment()`'s to say."""
        if not self.is_retryable_method(method):
            return False
        status_code = response.status_code
        if status_code in self.status_forcelist:
            return True
        return (
            self.respect_retry_after
            and status_code in RETRY_AFTER_STATUS_CODES
            and "retry-after" in response.headers
        )

    def is_exhausted(self) -> bool:
        """True when no retry of any kind is left."""
        return self.total == 0 or (self.connect == 0 and self.read == 0 and self.status == 0)

    # -- counting --------------------------------------------------------------------------

    def increment(
        self,
        *,
        method: str,
        url: URL | str,
        error: BaseException | None = None,
        response: Response | None = None,
    ) -> Retry:
        """The Retry after one more retry of this outcome, the attempt added to `history`
        with the delay to wait before it (`history[-1].delay`).

        Give exactly one of `error` and `response`, an outcome the `should_retry_*` methods
        accept (ValueError otherwise: the caller has a bug). Raises `RetriesExhausted` when
        `total` or the outcome's own counter has no retry left.
        """
        if (error is None) == (response is None):
            raise ValueError("Retry.increment() needs exactly one of error= and response=.")
        changes: dict[str, Any] = {}
        if error is not None:
            if not self.should_retry_error(method, error):
                raise ValueError(f"{type(error).__name__} on {method} is not to be retried.")
            kind = "connect" if isinstance(error, _CONNECT_ERRORS) else "read"
        else:
            assert response is not None
            if not self.should_retry_response(method, response):
                raise ValueError(f"Status {response.status_code} on {method} is not retried.")
            kind = "status"
        for name in ("total", kind):
            remaining = getattr(self, name)
            if remaining is not None:
                if remaining == 0:
                    raise RetriesExhausted(error, response, retry=self)
                changes[name] = remaining - 1
        delay = self.sleep_for(response) if response is not None else self._next_backoff()
        attempt = RetryAttempt(
            method=method.upper(),
            url=str(url),
            error=None if error is None else type(error).__name__,
            status_code=None if response is None else response.status_code,
            delay=delay,
        )
        changes["history"] = (*self.history, attempt)
        return self.copy_with(**changes)

    # -- waiting ---------------------------------------------------------------------------

    def backoff(self, attempt_number: int) -> float:
        """Seconds to wait before the `attempt_number`-th retry (from 1), jitter included.

        `backoff_factor * 2**(n-1)`, then up to `backoff_jitter` of it added at random. To
        stay within `backoff_max` without every client waiting exactly `backoff_max` once at
        the cap (and retrying in step), the part before jitter is capped at
        `backoff_max / (1 + backoff_jitter)`.
        """
        if isinstance(attempt_number, bool) or not isinstance(attempt_number, int):
            raise TypeError(f"attempt_number must be an int, not {attempt_number!r}.")
        if attempt_number < 1:
            raise ValueError(f"attempt_number counts from 1, got {attempt_number}.")
        exponent = min(attempt_number - 1, _MAX_BACKOFF_EXPONENT)
        base = min(
            self.backoff_factor * 2.0**exponent, self.backoff_max / (1 + self.backoff_jitter)
        )
        if not self.backoff_jitter or not base:
            return base
        fraction = self._rng.random() if self._rng is not None else random.random()
        return min(base * (1 + self.backoff_jitter * fraction), self.backoff_max)

    def _next_backoff(self) -> float:
        return self.backoff(len(self.history) + 1)

    def retry_after(self, response: Response) -> float | None:
        """The wait `response`'s Retry-After asks for, capped at `retry_after_max`; None when
        it has none, an invalid one, or `respect_retry_after` is off."""
        if not self.respect_retry_after:
            return None
        values = {value.strip() for value in response.headers.get_list("retry-after")}
        if len(values) != 1:
            return None  # absent, or several that disagree: no single instruction to follow
        seconds = parse_retry_after(values.pop(), self._clock())
        if seconds is None:
            return None
        return min(seconds, self.retry_after_max)

    def sleep_for(self, response: Response) -> float:
        """Seconds to wait before retrying after `response` (the next retry, number
        `len(history) + 1`): its Retry-After when valid, the backoff otherwise."""
        seconds = self.retry_after(response)
        return self._next_backoff() if seconds is None else seconds


def _rebuild(arguments: dict[str, Any]) -> Retry:
    return Retry(**arguments)


def _is_certificate_failure(error: BaseException) -> bool:
    # The transports chain the ssl error as __cause__. If ssl was never imported, no TLS
    # handshake happened, and importing it here would cost every plain-HTTP user.
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(error.__cause__, ssl.SSLCertVerificationError)
