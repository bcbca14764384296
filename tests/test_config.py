import pytest

import zephyr
from zephyr._config import DEFAULT_LIMITS, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT


def test_timeout_single_value() -> None:
    timeout = zephyr.Timeout(5.0)
    assert timeout.as_dict() == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    assert repr(timeout) == "Timeout(timeout=5.0)"
    # Numbers are kept as given, as HTTPX keeps them (a tutorial printing Timeout(3) shows 3).
    assert repr(zephyr.Timeout(3)) == "Timeout(timeout=3)"
    assert repr(zephyr.Timeout(3, connect=1)) == "Timeout(connect=1, read=3, write=3, pool=3)"
    assert zephyr.Timeout(3) == zephyr.Timeout(3.0)


def test_timeout_none_disables_everything() -> None:
    timeout = zephyr.Timeout(None)
    assert timeout.as_dict() == {"connect": None, "read": None, "write": None, "pool": None}
    assert repr(timeout) == "Timeout(timeout=None)"


def test_timeout_default_with_overrides() -> None:
    timeout = zephyr.Timeout(5.0, connect=10.0, pool=None)
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10.0, 5.0, 5.0, None)
    assert repr(timeout) == "Timeout(connect=10.0, read=5.0, write=5.0, pool=None)"


def test_timeout_all_four_explicitly() -> None:
    timeout = zephyr.Timeout(connect=1, read=2, write=3, pool=4)
    assert timeout.as_dict() == {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0}


def test_timeout_needs_a_default_or_all_four() -> None:
    with pytest.raises(ValueError, match="default"):
        zephyr.Timeout(connect=1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, 2), (1.0, 2.0, None, None)),
        ((1, 2, 3), (1.0, 2.0, 3.0, None)),
        ((1, 2, 3, 4), (1.0, 2.0, 3.0, 4.0)),
    ],
)
def test_timeout_from_tuple(value: tuple[float, ...], expected: tuple[float | None, ...]) -> None:
    timeout = zephyr.Timeout(value)
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == expected


def test_timeout_bad_tuple() -> None:
    with pytest.raises(ValueError, match="tuple"):
        zephyr.Timeout((1,))


def test_timeout_copy_and_equality() -> None:
    original = zephyr.Timeout(3.0, read=7.0)
    copy = zephyr.Timeout(original)
    assert copy == original
    assert copy is not original
    assert hash(copy) == hash(original)
    assert zephyr.Timeout(3.0) != zephyr.Timeout(4.0)
    assert zephyr.Timeout(3.0) != 3.0


def test_timeout_copy_refuses_extra_arguments() -> None:
    with pytest.raises(TypeError):
        zephyr.Timeout(zephyr.Timeout(1.0), connect=2.0)


@pytest.mark.parametrize("bad", [-1, float("nan")])
def test_timeout_refuses_negative_and_nan(bad: float) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        zephyr.Timeout(bad)


@pytest.mark.parametrize("bad", ["5", True, [1]])
def test_timeout_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="number of seconds"):
        zephyr.Timeout(bad)


def test_default_timeout_is_five_seconds_like_httpx() -> None:
    assert zephyr.Timeout(5.0) == DEFAULT_TIMEOUT


def test_limits_defaults_and_repr() -> None:
    limits = zephyr.Limits()
    assert limits.max_connections == 100
    assert limits.max_keepalive_connections == 20
    assert limits.keepalive_expiry == 5.0
    assert repr(limits) == (
        "Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)"
    )
    assert limits == DEFAULT_LIMITS
    assert DEFAULT_MAX_REDIRECTS == 20


def test_limits_equality() -> None:
    assert zephyr.Limits(max_connections=10) == zephyr.Limits(max_connections=10)
    assert zephyr.Limits(max_connections=10) != zephyr.Limits(max_connections=11)
    assert hash(zephyr.Limits()) == hash(zephyr.Limits())
    unlimited = zephyr.Limits(max_connections=None, max_keepalive_connections=None)
    assert unlimited.max_connections is None


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_limits_refuse_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        zephyr.Limits(max_connections=bad)  # type: ignore[arg-type]
