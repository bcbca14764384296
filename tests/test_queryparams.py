"""zephyr.QueryParams: HTTPX's immutable multi-dict of query parameters."""

from __future__ import annotations

import pytest

from zephyr._exceptions import InvalidURL
from zephyr._urls import QueryParams


@pytest.mark.parametrize(
    "source",
    [
        "a=123&a=456&b=789",
        b"a=123&a=456&b=789",
        {"a": ["123", "456"], "b": 789},
        {"a": ("123", "456"), "b": "789"},
        [("a", "123"), ("a", "456"), ("b", "789")],
        (("a", "123"), ("a", "456"), ("b", 789)),
        QueryParams("a=123&a=456&b=789"),
    ],
)
def test_queryparams(source: object) -> None:
    q = QueryParams(source)  # type: ignore[arg-type]
    assert "a" in q
    assert "A" not in q
    assert "c" not in q
    assert q["a"] == "123"
    assert q.get("a") == "123"
    assert q.get("nope", default=None) is None
    assert q.get("nope", "fallback") == "fallback"
    assert q.get_list("a") == ["123", "456"]
    assert q.get_list("nope") == []
    assert list(q.keys()) == ["a", "b"]
    assert list(q.values()) == ["123", "789"]
    assert list(q.items()) == [("a", "123"), ("b", "789")]
    assert q.multi_items() == [("a", "123"), ("a", "456"), ("b", "789")]
    assert len(q) == 2
    assert bool(q)
    assert list(q) == ["a", "b"]
    assert dict(q) == {"a": "123", "b": "789"}
    assert str(q) == "a=123&a=456&b=789"
    assert repr(q) == "QueryParams('a=123&a=456&b=789')"


def test_missing_key() -> None:
    with pytest.raises(KeyError):
        QueryParams("a=1")["b"]


def test_equality_ignores_order() -> None:
    assert QueryParams({"a": "123", "b": "456"}) == QueryParams([("a", "123"), ("b", "456")])
    assert QueryParams({"a": "123", "b": "456"}) == QueryParams("a=123&b=456")
    assert QueryParams({"a": "123", "b": "456"}) == QueryParams({"b": "456", "a": "123"})
    assert QueryParams("a=1&a=2") == QueryParams("a=2&a=1")
    assert QueryParams() == QueryParams({})
    assert QueryParams() == QueryParams("")
    assert QueryParams([("a", "123"), ("a", "456")]) == QueryParams("a=123&a=456")
    assert QueryParams("a=1") != QueryParams("a=2")
    assert QueryParams("a=1") != QueryParams("a=1&a=1")
    assert QueryParams({"a": "123", "b": "456"}) != "a=123&b=456"
    assert QueryParams() != {}


def test_hash_agrees_with_equality() -> None:
    params = (
        QueryParams("a=123"),
        QueryParams({"a": 123}),
        QueryParams("b=456"),
        QueryParams({"b": 456}),
        QueryParams("x=1&y=2"),
        QueryParams("y=2&x=1"),
    )
    assert len(set(params)) == 3
    assert hash(QueryParams("x=1&y=2")) == hash(QueryParams("y=2&x=1"))


def test_value_types() -> None:
    assert str(QueryParams(None)) == ""
    assert str(QueryParams({"a": True})) == "a=true"
    assert str(QueryParams({"a": False})) == "a=false"
    assert str(QueryParams({"a": ""})) == "a="
    assert str(QueryParams({"a": None})) == "a="
    assert str(QueryParams({"a": 1.23})) == "a=1.23"
    assert str(QueryParams({"a": 123})) == "a=123"
    assert str(QueryParams({"a": [1, 2]})) == "a=1&a=2"
    assert str(QueryParams({1: "x"})) == "1=x"  # type: ignore[dict-item]
    assert str(QueryParams([("a", None), ("b", True)])) == "a=&b=true"


def test_keyword_arguments() -> None:
    assert QueryParams(a="1", b=2) == QueryParams("a=1&b=2")
    with pytest.raises(TypeError):
        QueryParams("a=1", b="2")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        QueryParams("a=1", "b=2")  # type: ignore[call-arg]


def test_bad_pairs() -> None:
    with pytest.raises(TypeError, match="pairs"):
        QueryParams([("a", "1", "extra")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="pairs"):
        QueryParams(["abc"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="pairs"):
        QueryParams([1])  # type: ignore[list-item]


def test_blank_values_are_kept() -> None:
    assert str(QueryParams({"a": ""})) == "a="
    assert str(QueryParams("a=")) == "a="
    assert str(QueryParams("a")) == "a="
    assert QueryParams("a&b=&c=1").multi_items() == [("a", ""), ("b", ""), ("c", "1")]
    assert QueryParams("a=1&&b=2") == QueryParams("a=1&b=2")
    assert QueryParams("=x").multi_items() == [("", "x")]


def test_a_key_without_values_is_no_parameter() -> None:
    q = QueryParams({"a": [], "b": "1"})
    assert "a" not in q
    assert str(q) == "b=1"


def test_parsing_decodes_escapes_and_plus() -> None:
    q = QueryParams("q=a+b%20c&x=%2F%25&k%C3%A9y=%E2%9C%93&bad=%zz%")
    assert q["q"] == "a b c"
    assert q["x"] == "/%"
    assert q["kéy"] == "✓"
    assert q["bad"] == "%zz%"
    assert QueryParams("a=%FF")["a"] == "\ufffd"
    assert QueryParams("e=1=2")["e"] == "1=2"


def test_encoding_matches_html_forms() -> None:
    # As urllib.parse.urlencode, which HTTPX uses: only A-Z a-z 0-9 _ . - ~ stay as they are.
    q = QueryParams({"a b": "c/d", "e": "f&g=h", "x": "%20", "u": "✓", "s": "~_.-"})
    assert str(q) == "a+b=c%2Fd&e=f%26g%3Dh&x=%2520&u=%E2%9C%93&s=~_.-"
    assert str(QueryParams({"email": "user@example.com", "q": "How HTTP works!"})) == (
        "email=user%40example.com&q=How+HTTP+works%21"
    )


def test_lone_surrogate_is_invalid_url() -> None:
    with pytest.raises(InvalidURL, match="surrogate"):
        str(QueryParams({"a": "\ud800"}))


def test_set_add_remove_merge_return_new_objects() -> None:
    q = QueryParams("a=123")
    assert q.set("a", "456") == QueryParams("a=456")
    assert q.set("b", 1) == QueryParams("a=123&b=1")
    assert q.add("a", "456") == QueryParams("a=123&a=456")
    assert q.add("b", None) == QueryParams("a=123&b=")
    assert q.remove("a") == QueryParams("")
    assert q.remove("missing") == q
    merged = q.merge({"b": "456"})
    assert merged == QueryParams("a=123&b=456")
    assert merged.merge({"a": "000", "c": "789"}) == QueryParams("a=000&b=456&c=789")
    assert q.merge() == q
    assert q.merge("a=1&a=2").get_list("a") == ["1", "2"]
    assert q == QueryParams("a=123")  # never changed in place


def test_copies_do_not_share_mutations() -> None:
    q = QueryParams("a=1")
    added = q.add("a", "2")
    added.add("a", "3")
    assert q.get_list("a") == ["1"]
    assert added.get_list("a") == ["1", "2"]
    listed = added.get_list("a")
    listed.append("x")
    assert added.get_list("a") == ["1", "2"]


def test_update_and_setitem_are_refused() -> None:
    q = QueryParams("a=123")
    with pytest.raises(RuntimeError, match=r"merge"):
        q.update({"a": "456"})
    with pytest.raises(RuntimeError, match=r"set"):
        q["a"] = "456"  # type: ignore[index]
    assert q == QueryParams("a=123")


def test_empty() -> None:
    q = QueryParams()
    assert not q
    assert len(q) == 0
    assert str(q) == ""
    assert repr(q) == "QueryParams('')"
