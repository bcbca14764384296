import pytest

import zephyr
from zephyr import codes


def test_codes_are_ints_with_phrases() -> None:
    assert codes.OK == 200
    assert codes.OK.phrase == "OK"
    assert codes.NOT_FOUND.phrase == "Not Found"
    assert str(codes.OK) == "200"
    assert f"{codes.NOT_FOUND}" == "404"


def test_lower_case_aliases() -> None:
    assert codes.ok == 200
    assert codes.not_found == 404
    assert codes.internal_server_error == 500
    assert codes.im_a_teapot == 418


def test_lookup_by_value() -> None:
    assert codes(404) is codes.NOT_FOUND
    assert codes.get_reason_phrase(429) == "Too Many Requests"
    assert codes.get_reason_phrase(999) == ""


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (100, "is_informational"),
        (204, "is_success"),
        (308, "is_redirect"),
        (404, "is_client_error"),
        (503, "is_server_error"),
    ],
)
def test_classifiers(value: int, kind: str) -> None:
    for name in (
        "is_informational",
        "is_success",
        "is_redirect",
        "is_client_error",
        "is_server_error",
    ):
        assert getattr(codes, name)(value) is (name == kind)
    assert codes.is_error(value) is (value >= 400)


def test_codes_is_exported() -> None:
    assert zephyr.codes is codes
