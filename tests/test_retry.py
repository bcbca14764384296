"""`Retry`: which outcomes are retried, how many times, and how long we wait — all pure."""

from __future__ import annotations

import copy
import email.utils
import pickle
import random
import ssl
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zephyr
from zephyr._retry import (
    DEFAULT_ALLOWED_METHODS,
    DEFAULT_STATUS_FORCELIST,
    RetriesExhausted,
    Retry,
    RetryAttempt,
    parse_retry_after,
)

URL = "https://example.com/resource"
NOW = 1_700_000_000.0  # the injected clock's "now", POSIX seconds


def make_response(
    status_code: int, headers: Any = None, method: str = "GET", url: str = URL
) -> zephyr.Response:
    return zephyr.Response(
        status_code, headers=headers, request=zephyr.Request(method, url), content=b"body"
    )


def no_jitter(**kwargs: Any) -> Retry:
    return Retry(backoff_jitter=0, clock=lambda: NOW, **kwargs)


def http_date(posix_seconds: float) -> str:
    return email.utils.formatdate(posix_seconds, usegmt=True)


# -- construction, immutability, equality -------------------------------------------------


def test_defaults() -> None:
    retry = Retry()
    assert (retry.total, retry.connect, retry.read, retry.status) == (3, None, None, None)
    assert retry.backoff_factor == 0.5
    assert retry.backoff_max == 30.0
    assert retry.backoff_jitter == 0.5
    assert retry.status_forcelist == frozenset({413, 429, 500, 502, 503, 504})
    assert retry.status_forcelist == DEFAULT_STATUS_FORCELIST
    assert retry.allowed_methods == frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
    assert retry.allowed_methods == DEFAULT_ALLOWED_METHODS
    assert retry.respect_retry_after is True
    assert retry.retry_after_max == 120.0
    assert retry.raise_on_status is False
    assert retry.history == ()
    assert not retry.is_exhausted()


def test_collections_are_normalised() -> None:
    retry = Retry(status_forcelist=[503, 503], allowed_methods=["get", "Post"])
    assert retry.status_forcelist == frozenset({503})
    assert retry.allowed_methods == frozenset({"GET", "POST"})


def test_immutable() -> None:
    retry = Retry()
    with pytest.raises(AttributeError, match="immutable"):
        retry.total = 5
    with pytest.raises(AttributeError, match="immutable"):
        retry.extra = 1
    with pytest.raises(AttributeError, match="immutable"):
        del retry.total
    assert not hasattr(retry, "__dict__")
    assert retry.total == 3


def test_equality_and_hash() -> None:
    assert Retry() == Retry()
    assert hash(Retry()) == hash(Retry())
    # The rng and the clock are tools, not configuration.
    assert Retry(rng=random.Random(1), clock=lambda: 0.0) == Retry()
    assert Retry(total=2) != Retry(total=3)
    assert Retry(status_forcelist=[503]) != Retry()
    assert Retry() != 3
    assert len({Retry(), Retry(), Retry(total=1)}) == 2


def test_history_is_part_of_equality() -> None:
    retry = Retry(backoff_jitter=0)
    after = retry.increment(method="GET", url=URL, error=zephyr.ConnectError("refused"))
    assert after != retry
    assert after == retry.copy_with(total=2, history=after.history)


def test_repr() -> None:
    assert repr(Retry()) == "Retry(total=3, connect=None, read=None, status=None, history=0)"
    assert repr(Retry(total=None, connect=1, read=2, status=0)) == (
        "Retry(total=None, connect=1, read=2, status=0, history=0)"
    )


def test_copy_and_pickle() -> None:
    retry = Retry(total=4, status_forcelist=[503]).increment(
        method="GET", url=URL, response=make_response(503)
    )
    assert copy.copy(retry) == retry
    assert copy.deepcopy(retry) == retry
    assert pickle.loads(pickle.dumps(retry)) == retry
    assert pickle.loads(pickle.dumps(retry)).history == retry.history


def test_copy_with() -> None:
    rng = random.Random(7)
    retry = Retry(backoff_factor=1.0, rng=rng)
    copy = retry.copy_with(total=9)
    assert copy.total == 9
    assert copy.backoff_factor == 1.0
    assert copy._rng is rng
    assert retry.total == 3
    with pytest.raises(ValueError, match="negative"):
        retry.copy_with(total=-1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"total": -1}, ValueError, "total.*negative"),
        ({"connect": -1}, ValueError, "connect.*negative"),
        ({"read": True}, TypeError, "read"),
        ({"status": 1.5}, TypeError, "status"),
        ({"total": "3"}, TypeError, "total"),
        ({"backoff_factor": -0.1}, ValueError, "backoff_factor"),
        ({"backoff_factor": float("nan")}, ValueError, "backoff_factor"),
        ({"backoff_max": float("inf")}, ValueError, "backoff_max"),
        ({"backoff_jitter": "0.5"}, TypeError, "backoff_jitter"),
        ({"retry_after_max": -1}, ValueError, "retry_after_max"),
        ({"status_forcelist": 503}, TypeError, "status_forcelist"),
        ({"status_forcelist": [503, "500"]}, ValueError, "status_forcelist"),
        ({"status_forcelist": [99]}, ValueError, "status_forcelist"),
        ({"status_forcelist": [True]}, ValueError, "status_forcelist"),
        ({"allowed_methods": "GET"}, TypeError, "allowed_methods"),
        ({"allowed_methods": [b"GET"]}, TypeError, "allowed_methods"),
        ({"allowed_methods": [""]}, TypeError, "allowed_methods"),
        ({"respect_retry_after": 1}, TypeError, "respect_retry_after"),
        ({"raise_on_status": None}, TypeError, "raise_on_status"),
        ({"history": [RetryAttempt("GET", URL, None, 503, 0.0)]}, TypeError, "history"),
        ({"history": ("attempt",)}, TypeError, "history"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Retry(**kwargs)


@pytest.mark.parametrize(
    "counters",
    [{}, {"connect": 1, "read": 1}, {"connect": 1, "status": 1}, {"read": 1, "status": 1}],
)
def test_unbounded_total_needs_every_counter(counters: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unbounded retry loop"):
        Retry(total=None, **counters)


def test_unbounded_total_with_every_counter_bounded() -> None:
    retry = Retry(total=None, connect=2, read=0, status=5)
    assert retry.total is None
    assert not retry.is_exhausted()


# -- from_value ----------------------------------------------------------------------------


def test_from_value_keeps_a_retry() -> None:
    retry = Retry(total=7)
    assert Retry.from_value(retry) is retry


@pytest.mark.parametrize("value", [None, 0, False])
def test_from_value_no_retries(value: Any) -> None:
    retry = Retry.from_value(value)
    assert retry == Retry(total=0)
    assert retry.is_exhausted()
    with pytest.raises(RetriesExhausted):
        retry.increment(method="GET", url=URL, error=zephyr.ConnectError("refused"))


def test_from_value_int_is_the_total() -> None:
    assert Retry.from_value(5) == Retry(total=5)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (True, TypeError, "ambiguous"),
        (-1, ValueError, "negative"),
        ("3", TypeError, "str"),
        (1.5, TypeError, "float"),
        ([3], TypeError, "list"),
    ],
)
def test_from_value_refuses(value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Retry.from_value(value)


# -- which methods and errors --------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "get"])
def test_idempotent_methods_are_retryable(method: str) -> None:
    assert Retry().is_retryable_method(method)


@pytest.mark.parametrize("method", ["POST", "PATCH", "CONNECT", "post"])
def test_other_methods_are_not(method: str) -> None:
    assert not Retry().is_retryable_method(method)


def test_allowed_methods_can_include_post() -> None:
    retry = Retry(allowed_methods={"POST"})
    assert retry.is_retryable_method("post")
    assert not retry.is_retryable_method("GET")


CONNECT_ERRORS = [zephyr.ConnectError, zephyr.ConnectTimeout]
READ_ERRORS = [
    zephyr.ReadError,
    zephyr.ReadTimeout,
    zephyr.RemoteProtocolError,
    zephyr.WriteError,
    zephyr.WriteTimeout,
]
NEVER_RETRIED = [
    zephyr.PoolTimeout,
    zephyr.LocalProtocolError,
    zephyr.ProxyError,
    zephyr.UnsupportedProtocol,
    zephyr.CloseError,
    zephyr.DecodingError,
    zephyr.TooManyRedirects,
]


@pytest.mark.parametrize("error_type", CONNECT_ERRORS)
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_connect_errors_retried_for_every_method(error_type: type[Exception], method: str) -> None:
    # The request never reached the server: resending cannot repeat a side effect.
    assert Retry().should_retry_error(method, error_type("refused"))


@pytest.mark.parametrize("error_type", READ_ERRORS)
def test_read_and_write_errors_retried_only_for_idempotent_methods(
    error_type: type[Exception],
) -> None:
    retry = Retry()
    assert retry.should_retry_error("GET", error_type("reset"))
    assert retry.should_retry_error("PUT", error_type("reset"))
    # RELIABILITY.md 22: the server may have acted on a POST; never send it again by ourselves.
    assert not retry.should_retry_error("POST", error_type("reset"))
    assert not retry.should_retry_error("PATCH", error_type("reset"))


@pytest.mark.parametrize("error_type", NEVER_RETRIED)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_other_errors_never_retried(error_type: type[Exception], method: str) -> None:
    assert not Retry().should_retry_error(method, error_type("nope"))


@pytest.mark.parametrize("error", [ValueError("x"), OSError("x"), KeyboardInterrupt()])
def test_foreign_errors_never_retried(error: BaseException) -> None:
    assert not Retry().should_retry_error("GET", error)


def test_certificate_failure_is_not_retried() -> None:
    # As the transports raise it: a ConnectError chained to the ssl error.
    error = zephyr.ConnectError("TLS certificate verification failed")
    error.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert not Retry().should_retry_error("GET", error)
    # Other TLS handshake failures (a reset mid-handshake) may be transient.
    other = zephyr.ConnectError("TLS handshake failed")
    other.__cause__ = ssl.SSLError(1, "unexpected eof")
    assert Retry().should_retry_error("GET", other)


# -- which responses -----------------------------------------------------------------------


@pytest.mark.parametrize("status_code", sorted(DEFAULT_STATUS_FORCELIST))
def test_forcelist_statuses_retried_for_idempotent_methods(status_code: int) -> None:
    retry = Retry()
    assert retry.should_retry_response("GET", make_response(status_code))
    assert not retry.should_retry_response("POST", make_response(status_code, method="POST"))


@pytest.mark.parametrize("status_code", [200, 201, 204, 301, 304, 400, 401, 403, 404, 501])
def test_other_statuses_not_retried(status_code: int) -> None:
    assert not Retry().should_retry_response("GET", make_response(status_code))


@pytest.mark.parametrize("status_code", [413, 429, 503])
def test_retry_after_makes_a_status_retryable(status_code: int) -> None:
    retry = Retry(status_forcelist=())
    assert retry.should_retry_response("GET", make_response(status_code, {"Retry-After": "1"}))
    assert not retry.should_retry_response("GET", make_response(status_code))
    assert not retry.should_retry_response(
        "POST", make_response(status_code, {"Retry-After": "1"}, method="POST")
    )
    ignoring = retry.copy_with(respect_retry_after=False)
    assert not ignoring.should_retry_response(
        "GET", make_response(status_code, {"Retry-After": "1"})
    )


def test_retry_after_on_other_statuses_does_not_make_them_retryable() -> None:
    retry = Retry(status_forcelist=())
    for status_code in (500, 502, 301, 200):
        response = make_response(status_code, {"Retry-After": "1"})
        assert not retry.should_retry_response("GET", response)


def test_custom_forcelist() -> None:
    retry = Retry(status_forcelist={418})
    assert retry.should_retry_response("GET", make_response(418))
    assert not retry.should_retry_response("GET", make_response(500))


# -- counting ------------------------------------------------------------------------------


def test_increment_returns_a_new_retry() -> None:
    retry = no_jitter()
    after = retry.increment(method="get", url=URL, error=zephyr.ConnectError("refused"))
    assert after is not retry
    assert retry.total == 3
    assert retry.history == ()
    assert after.total == 2
    assert after.history == (RetryAttempt("GET", URL, "ConnectError", None, 0.5),)
    assert after.backoff_factor == retry.backoff_factor


def test_increment_accepts_a_url_object() -> None:
    after = no_jitter().increment(
        method="GET", url=zephyr.URL(URL), error=zephyr.ReadTimeout("slow")
    )
    assert after.history[0].url == URL


def test_history_records_errors_and_statuses_with_their_delays() -> None:
    retry = no_jitter(total=5)
    retry = retry.increment(method="GET", url=URL, error=zephyr.ConnectTimeout("slow"))
    retry = retry.increment(method="GET", url=URL, response=make_response(503))
    retry = retry.increment(
        method="GET", url=URL, response=make_response(429, {"Retry-After": "7"})
    )
    retry = retry.increment(method="GET", url=URL + "?x", error=zephyr.RemoteProtocolError("eof"))
    assert retry.history == (
        RetryAttempt("GET", URL, "ConnectTimeout", None, 0.5),
        RetryAttempt("GET", URL, None, 503, 1.0),
        RetryAttempt("GET", URL, None, 429, 7.0),
        RetryAttempt("GET", URL + "?x", "RemoteProtocolError", None, 4.0),
    )
    assert retry.total == 1


@pytest.mark.parametrize(
    ("outcome", "counter"),
    [
        ({"error": zephyr.ConnectError("refused")}, "connect"),
        ({"error": zephyr.ConnectTimeout("slow")}, "connect"),
        ({"error": zephyr.ReadError("reset")}, "read"),
        ({"error": zephyr.WriteTimeout("slow")}, "read"),
        ({"error": zephyr.RemoteProtocolError("eof")}, "read"),
        ({"response": make_response(502)}, "status"),
    ],
)
def test_each_outcome_counts_against_its_counter(outcome: dict[str, Any], counter: str) -> None:
    retry = no_jitter(total=10, connect=2, read=2, status=2)
    retry = retry.increment(method="GET", url=URL, **outcome)
    retry = retry.increment(method="GET", url=URL, **outcome)
    assert retry.total == 8
    assert getattr(retry, counter) == 0
    for other in {"connect", "read", "status"} - {counter}:
        assert getattr(retry, other) == 2
    with pytest.raises(RetriesExhausted) as info:
        retry.increment(method="GET", url=URL, **outcome)
    assert info.value.retry is retry
    assert info.value.error is outcome.get("error")
    assert info.value.response is outcome.get("response")


def test_total_bounds_every_kind_together() -> None:
    retry = no_jitter(total=2)
    retry = retry.increment(method="GET", url=URL, error=zephyr.ConnectError("refused"))
    retry = retry.increment(method="GET", url=URL, response=make_response(503))
    assert retry.total == 0
    assert retry.is_exhausted()
    error = zephyr.ReadError("reset")
    with pytest.raises(RetriesExhausted) as info:
        retry.increment(method="GET", url=URL, error=error)
    assert info.value.error is error
    assert info.value.response is None
    assert "after 2 retries" in str(info.value)
    assert "ReadError" in str(info.value)


def test_unbounded_total_is_bounded_by_the_counters() -> None:
    retry = no_jitter(total=None, connect=1, read=0, status=0)
    retry = retry.increment(method="GET", url=URL, error=zephyr.ConnectError("refused"))
    assert retry.total is None
    assert retry.is_exhausted()
    with pytest.raises(RetriesExhausted):
        retry.increment(method="GET", url=URL, error=zephyr.ConnectError("refused"))
    with pytest.raises(RetriesExhausted):
        retry.increment(method="GET", url=URL, response=make_response(503))


def test_total_zero_allows_no_retry() -> None:
    response = make_response(503)
    with pytest.raises(RetriesExhausted) as info:
        Retry(total=0).increment(method="GET", url=URL, response=response)
    assert info.value.response is response
    assert info.value.error is None
    assert "status 503" in str(info.value)


def test_is_exhausted() -> None:
    assert not Retry().is_exhausted()
    assert Retry(total=0).is_exhausted()
    assert Retry(connect=0, read=0, status=0).is_exhausted()
    assert not Retry(connect=0, read=0).is_exhausted()


def test_increment_needs_exactly_one_outcome() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Retry().increment(method="GET", url=URL)
    with pytest.raises(ValueError, match="exactly one"):
        Retry().increment(
            method="GET", url=URL, error=zephyr.ReadError("x"), response=make_response(503)
        )


def test_increment_refuses_an_outcome_that_is_not_retried() -> None:
    # A flow that forgot to ask should_retry_*() is a bug; it must not quietly resend a POST.
    with pytest.raises(ValueError, match="ReadTimeout on POST"):
        Retry().increment(method="POST", url=URL, error=zephyr.ReadTimeout("slow"))
    with pytest.raises(ValueError, match="PoolTimeout"):
        Retry().increment(method="GET", url=URL, error=zephyr.PoolTimeout("full"))
    with pytest.raises(ValueError, match="Status 200"):
        Retry().increment(method="GET", url=URL, response=make_response(200))


# -- giving up -----------------------------------------------------------------------------


def exhaust(retry: Retry, **outcome: Any) -> RetriesExhausted:
    try:
        retry.increment(method="GET", url=URL, **outcome)
    except RetriesExhausted as exhausted:
        return exhausted
    raise AssertionError("not exhausted")


def test_resolve_reraises_the_original_error_unchanged() -> None:
    cause = ConnectionResetError("reset by peer")
    error = zephyr.ReadError("reset")
    error.__cause__ = cause
    try:
        raise error
    except zephyr.ReadError:
        try:
            Retry(total=0).increment(method="GET", url=URL, error=error)
        except RetriesExhausted as exhausted:
            with pytest.raises(zephyr.ReadError) as info:
                exhausted.resolve()
    assert info.value is error
    assert error.__cause__ is cause
    # Not "during handling of RetriesExhausted": our internal exception stays invisible.
    assert error.__context__ is None


def test_resolve_returns_the_last_response_for_status_retries() -> None:
    response = make_response(503)
    exhausted = exhaust(Retry(total=0), response=response)
    assert exhausted.resolve() is response
    # As the tutorial expects: the user's raise_for_status() raises HTTPStatusError.
    with pytest.raises(zephyr.HTTPStatusError):
        response.raise_for_status()


def test_resolve_raises_http_status_error_with_raise_on_status() -> None:
    response = make_response(502)
    exhausted = exhaust(Retry(total=0, raise_on_status=True), response=response)
    with pytest.raises(zephyr.HTTPStatusError, match="502 Bad Gateway") as info:
        exhausted.resolve()
    assert info.value.response is response
    assert info.value.request is response.request
    assert info.value.__suppress_context__


# -- backoff -------------------------------------------------------------------------------


def test_backoff_sequence_waits_before_the_first_retry_and_is_capped() -> None:
    retry = Retry(backoff_jitter=0)
    assert [retry.backoff(n) for n in range(1, 10)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
        30.0,
    ]


def test_backoff_follows_the_factor_and_the_cap() -> None:
    retry = Retry(backoff_factor=0.1, backoff_max=1.0, backoff_jitter=0)
    assert [retry.backoff(n) for n in range(1, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert Retry(backoff_factor=0).backoff(5) == 0.0
    assert Retry(backoff_max=0).backoff(5) == 0.0


def test_backoff_of_a_huge_attempt_number_is_the_cap() -> None:
    assert Retry(backoff_jitter=0).backoff(10**6) == 30.0
    assert Retry(backoff_factor=1e300, backoff_jitter=0).backoff(5000) == 30.0


@pytest.mark.parametrize(("number", "error"), [(0, ValueError), (-1, ValueError), (1.0, TypeError)])
def test_backoff_counts_from_one(number: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Retry().backoff(number)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("jitter", [0.1, 0.5, 1.0, 3.0])
def test_jitter_bounds(seed: int, jitter: float) -> None:
    retry = Retry(backoff_jitter=jitter, rng=random.Random(seed))
    plain = Retry(backoff_jitter=0, backoff_max=30.0 / (1 + jitter))
    for n in range(1, 15):
        base = plain.backoff(n)
        delay = retry.backoff(n)
        assert base <= delay <= min(base * (1 + jitter), 30.0)
        assert delay >= min(0.5 * 2 ** (n - 1), 30.0 / (1 + jitter))


def test_jitter_is_reproducible_with_a_seeded_rng() -> None:
    first = Retry(rng=random.Random(42))
    second = Retry(rng=random.Random(42))
    assert [first.backoff(n) for n in range(1, 8)] == [second.backoff(n) for n in range(1, 8)]


def test_jitter_still_spreads_delays_at_the_cap() -> None:
    # If every client waited exactly backoff_max, they would all retry in step.
    retry = Retry(rng=random.Random(3))
    delays = {retry.backoff(20) for _ in range(50)}
    assert len(delays) > 40
    assert all(20.0 <= delay <= 30.0 for delay in delays)


def test_increment_uses_the_next_attempt_number() -> None:
    retry = no_jitter(total=4)
    for _ in range(4):
        retry = retry.increment(method="GET", url=URL, error=zephyr.ReadTimeout("slow"))
    assert [attempt.delay for attempt in retry.history] == [0.5, 1.0, 2.0, 4.0]


# -- Retry-After ---------------------------------------------------------------------------


def test_sleep_for_retry_after_seconds() -> None:
    assert no_jitter().sleep_for(make_response(503, {"Retry-After": "7"})) == 7.0
    assert no_jitter().sleep_for(make_response(503, {"Retry-After": " 0 "})) == 0.0


def test_sleep_for_retry_after_date() -> None:
    retry = no_jitter()
    assert retry.sleep_for(make_response(503, {"Retry-After": http_date(NOW + 42)})) == 42.0
    # RFC 9110 §5.6.7: the obsolete formats are still accepted by recipients.
    rfc850 = "Tuesday, 14-Nov-23 22:14:02 GMT"  # NOW + 42 s, in RFC 850 form
    assert retry.sleep_for(make_response(503, {"Retry-After": rfc850})) == 42.0
    asctime = "Tue Nov 14 22:14:02 2023"  # and in asctime form, which has no zone
    assert retry.sleep_for(make_response(503, {"Retry-After": asctime})) == 42.0


def test_sleep_for_a_date_in_the_past_is_zero() -> None:
    assert no_jitter().sleep_for(make_response(503, {"Retry-After": http_date(NOW - 60)})) == 0.0


def test_sleep_for_a_minus_zero_zone_date() -> None:
    # "-0000" makes parsedate_to_datetime return a naive datetime; it is still GMT.
    value = "Tue, 14 Nov 2023 22:14:02 -0000"
    assert no_jitter().sleep_for(make_response(503, {"Retry-After": value})) == 42.0


@pytest.mark.parametrize(
    "value",
    ["soon", "-5", "1.5", "", "1e3", "+5", "\u0663", "Mon, 99 Foo 2023 99:99:99 GMT", "0x10"],
)
def test_sleep_for_a_bad_retry_after_falls_back_to_backoff(value: str) -> None:
    retry = no_jitter()
    response = make_response(503, [("Retry-After", value)])
    assert retry.retry_after(response) is None
    assert retry.sleep_for(response) == 0.5


def test_sleep_for_is_capped() -> None:
    retry = no_jitter(retry_after_max=60.0)
    assert retry.sleep_for(make_response(503, {"Retry-After": "3600"})) == 60.0
    assert retry.sleep_for(make_response(503, {"Retry-After": "9" * 5000})) == 60.0
    far = make_response(503, {"Retry-After": http_date(NOW + 86400)})
    assert retry.sleep_for(far) == 60.0


def test_sleep_for_without_retry_after_is_the_backoff() -> None:
    retry = no_jitter()
    assert retry.sleep_for(make_response(503)) == 0.5
    retry = retry.increment(method="GET", url=URL, response=make_response(503))
    assert retry.sleep_for(make_response(503)) == 1.0


def test_sleep_for_ignores_retry_after_when_told_to() -> None:
    retry = no_jitter(respect_retry_after=False)
    assert retry.sleep_for(make_response(503, {"Retry-After": "7"})) == 0.5


def test_sleep_for_several_disagreeing_retry_afters_is_the_backoff() -> None:
    retry = no_jitter()
    response = make_response(503, [("Retry-After", "5"), ("Retry-After", "9")])
    assert retry.sleep_for(response) == 0.5
    same = make_response(503, [("Retry-After", "5"), ("Retry-After", "5")])
    assert retry.sleep_for(same) == 5.0


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(http_date(NOW + 1), NOW) == 1.0
    assert parse_retry_after(http_date(NOW - 1), NOW) == 0.0
    assert parse_retry_after("never", NOW) is None


# -- the bound holds for any sequence of outcomes ------------------------------------------

counts = st.none() | st.integers(min_value=0, max_value=6)
OUTCOMES: dict[str, Callable[[], dict[str, Any]]] = {
    "connect": lambda: {"error": zephyr.ConnectError("refused")},
    "read": lambda: {"error": zephyr.ReadTimeout("slow")},
    "write": lambda: {"error": zephyr.WriteError("broken pipe")},
    "status": lambda: {"response": make_response(503)},
    "retry-after": lambda: {"response": make_response(429, {"Retry-After": "1"})},
}
COUNTER_OF = {"connect": "connect", "read": "read", "write": "read", "status": "status"}
COUNTER_OF["retry-after"] = "status"


@settings(max_examples=300, deadline=None)
@given(
    total=counts,
    connect=counts,
    read=counts,
    status=counts,
    outcomes=st.lists(st.sampled_from(sorted(OUTCOMES)), max_size=40),
)
def test_retries_never_exceed_their_bounds(
    total: int | None,
    connect: int | None,
    read: int | None,
    status: int | None,
    outcomes: list[str],
) -> None:
    try:
        retry = Retry(
            total, connect=connect, read=read, status=status, backoff_jitter=0, clock=lambda: NOW
        )
    except ValueError:
        assert total is None
        assert None in (connect, read, status)
        return
    limits = {"total": total, "connect": connect, "read": read, "status": status}
    used = dict.fromkeys(limits, 0)
    for outcome in outcomes:
        kind = COUNTER_OF[outcome]
        try:
            retry = retry.increment(method="GET", url=URL, **OUTCOMES[outcome]())
        except RetriesExhausted:
            # Refused exactly when a bound was reached.
            assert used["total"] == total or used[kind] == limits[kind]
            continue
        used["total"] += 1
        used[kind] += 1
        for name, limit in limits.items():
            if limit is not None:
                assert used[name] <= limit
                assert getattr(retry, name) == limit - used[name]
            else:
                assert getattr(retry, name) is None
        assert len(retry.history) == used["total"]
        assert 0 <= retry.history[-1].delay <= 30.0
    # However many outcomes come, the loop ends: every retry spent a finite counter.
    finite = [limit for limit in (connect, read, status) if limit is not None]
    ceiling = total if total is not None else sum(finite)
    assert used["total"] <= ceiling
