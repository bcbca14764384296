"""Headers: HTTPX's multi-dict behaviour, encodings, repr hiding, and refusal of injection."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any, cast

import pytest

from zephyr._exceptions import LocalProtocolError
from zephyr._headers import _CHECKED_NAME_CACHE_LIMIT, Headers, _checked_name_cache

# -- construction -----------------------------------------------------------------------------


def test_multi_dict_behaviour() -> None:
    h = Headers([("a", "123"), ("a", "456"), ("b", "789")])
    assert "a" in h
    assert "A" in h
    assert "B" in h
    assert "c" not in h
    assert h["a"] == "123, 456"
    assert h.get("a") == "123, 456"
    assert h.get_list("a") == ["123", "456"]
    assert list(h.keys()) == ["a", "b"]
    assert list(h.values()) == ["123, 456", "789"]
    assert list(h.items()) == [("a", "123, 456"), ("b", "789")]
    assert h.multi_items() == [("a", "123"), ("a", "456"), ("b", "789")]
    assert list(h) == ["a", "b"]
    assert dict(h) == {"a": "123, 456", "b": "789"}
    assert len(h) == 2


def test_from_dict_keeps_case_and_order_in_raw() -> None:
    h = Headers({"Content-Type": "text/plain", "X-B": "2", "x-a": "1"})
    assert h.raw == [(b"Content-Type", b"text/plain"), (b"X-B", b"2"), (b"x-a", b"1")]
    assert list(h) == ["content-type", "x-b", "x-a"]
    assert h["CONTENT-TYPE"] == "text/plain"


def test_from_bytes_pairs_and_bytes_dict() -> None:
    pairs = [(b"Accept", b"*/*"), (b"X-Thing", b"yes")]
    assert Headers(pairs).raw == pairs
    assert Headers(dict(pairs)).raw == pairs
    assert Headers(dict(pairs))["accept"] == "*/*"


def test_from_mixed_str_and_bytes() -> None:
    mixed: Any = [("A", b"1"), (b"B", "2")]
    h = Headers(mixed)
    assert h.raw == [(b"A", b"1"), (b"B", b"2")]


def test_from_tuple_of_pairs_and_list_pairs() -> None:
    assert Headers((("a", "1"),)).raw == [(b"a", b"1")]
    as_lists: Any = [["a", "1"]]
    assert Headers(as_lists).raw == [(b"a", b"1")]


@pytest.mark.parametrize("empty", [None, {}, [], ()])
def test_empty(empty: Any) -> None:
    h = Headers(empty)
    assert len(h) == 0
    assert not h
    assert h.raw == []
    assert repr(h) == "Headers({})"


def test_from_other_headers_is_an_independent_copy() -> None:
    original = Headers([("a", "1"), ("A", "2")])
    duplicate = Headers(original)
    assert duplicate == original
    assert duplicate.raw == original.raw
    duplicate["b"] = "3"
    del duplicate["a"]
    assert original.raw == [(b"a", b"1"), (b"A", b"2")]


def test_value_whitespace_is_stripped() -> None:
    # RFC 9110 §5.5: OWS around a field value is not part of it; inner whitespace is.
    padded: Any = [("a", "  x  y \t"), (b"b", b"\t1 "), ("c", " \t ")]
    h = Headers(padded)
    assert h.raw == [(b"a", b"x  y"), (b"b", b"1"), (b"c", b"")]
    h["d"] = " z "
    assert h["d"] == "z"


def test_empty_value_is_allowed() -> None:
    h = Headers({"X-Empty": ""})
    assert h["x-empty"] == ""
    assert h.raw == [(b"X-Empty", b"")]


def test_every_tchar_is_accepted_in_names() -> None:
    name = "!#$%&'*+-.^_`|~09AZaz"
    assert Headers({name: "v"})[name] == "v"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Headers(cast(Any, {1: "x"})), "Header name must be str or bytes"),
        (lambda: Headers(cast(Any, {"a": 1})), "Header value must be str or bytes"),
        (lambda: Headers(cast(Any, {"a": None})), "Header value must be str or bytes"),
    ],
)
def test_wrong_types_raise_type_error(build: Callable[[], Headers], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        build()


def test_unknown_encoding_fails_early() -> None:
    with pytest.raises(LookupError):
        Headers({"a": "b"}, encoding="no-such-codec")
    h = Headers()
    with pytest.raises(LookupError):
        h.encoding = "no-such-codec"


# -- lookups ----------------------------------------------------------------------------------


def test_getitem_missing_raises_key_error_with_the_key() -> None:
    h = Headers({"a": "1"})
    with pytest.raises(KeyError) as excinfo:
        h["Missing"]
    assert excinfo.value.args == ("Missing",)


def test_get_default() -> None:
    h = Headers({"a": "1"})
    assert h.get("nope") is None
    assert h.get("nope", "fallback") == "fallback"
    assert h.get("A", "fallback") == "1"


def test_get_list() -> None:
    h = Headers([("Set-Cookie", "a=1, b=2"), ("set-cookie", "c=3"), ("Vary", "a, b,,c ")])
    assert h.get_list("set-cookie") == ["a=1, b=2", "c=3"]
    assert h.get_list("vary", split_commas=True) == ["a", "b", "", "c"]
    assert h.get_list("SET-COOKIE", split_commas=True) == ["a=1", "b=2", "c=3"]
    assert h.get_list("missing") == []
    assert h.get_list("missing", split_commas=True) == []


def test_lookups_with_non_string_or_non_ascii_keys_find_nothing() -> None:
    h = Headers({"a": "1"})
    not_a_str: list[object] = [1, b"a", None]
    for key in not_a_str:
        assert key not in h
    assert "\u212a" not in h  # KELVIN SIGN lower-cases to "k" in Unicode, but is not "k"
    assert h.get("é") is None
    with pytest.raises(KeyError):
        h[cast(Any, b"a")]


def test_values_and_items_are_views_of_joined_values() -> None:
    h = Headers([("a", "1"), ("b", "2"), ("A", "3")])
    assert list(h.values()) == ["1, 3", "2"]
    assert list(h.items()) == [("a", "1, 3"), ("b", "2")]
    keys = h.keys()
    assert "a" in keys
    assert ("b", "2") in h.items()


def test_len_counts_unique_names() -> None:
    h = Headers([("a", "1"), ("A", "2"), ("b", "3")])
    assert len(h) == 2 == len(dict(h)) == len(list(h))


# -- changes ----------------------------------------------------------------------------------


def test_setitem_appends_when_new() -> None:
    h = Headers({"a": "a", "b": "b"})
    h["c"] = "c"
    assert h.raw == [(b"a", b"a"), (b"b", b"b"), (b"c", b"c")]


def test_setitem_replaces_every_occurrence_keeping_the_first_position() -> None:
    h = Headers([("a", "1"), ("B", "2"), ("c", "3"), ("b", "4"), ("d", "5")])
    h["b"] = "new"
    assert h.raw == [(b"a", b"1"), (b"b", b"new"), (b"c", b"3"), (b"d", b"5")]


def test_setitem_bytes() -> None:
    h = Headers()
    h[cast(Any, b"X-Raw")] = cast(Any, b"value")
    assert h.raw == [(b"X-Raw", b"value")]


def test_delitem_removes_every_occurrence() -> None:
    h = Headers([("a", "1"), ("b", "2"), ("A", "3")])
    del h["A"]
    assert h.raw == [(b"b", b"2")]
    with pytest.raises(KeyError):
        del h["a"]


def test_update_replaces_existing_names_and_appends() -> None:
    h = Headers([("a", "1"), ("b", "2"), ("A", "3"), ("c", "4")])
    h.update({"A": "new", "d": "5"})
    assert h.raw == [(b"b", b"2"), (b"c", b"4"), (b"A", b"new"), (b"d", b"5")]


def test_update_keeps_repeats_given_in_the_argument() -> None:
    h = Headers({"a": "0"})
    h.update([("a", "1"), ("a", "2")])
    assert h.get_list("a") == ["1", "2"]


@pytest.mark.parametrize("argument", [None, {}, [], Headers()])
def test_update_with_nothing_changes_nothing(argument: Any) -> None:
    h = Headers({"a": "1"})
    h.update(argument)
    assert h.raw == [(b"a", b"1")]


def test_update_from_headers() -> None:
    h = Headers({"a": "1"})
    h.update(Headers({"b": "2"}))
    assert dict(h) == {"a": "1", "b": "2"}


def test_update_with_itself_changes_nothing() -> None:
    h = Headers([("a", "1"), ("b", "2"), ("A", "3")])
    h.update(h)
    assert h.raw == [(b"a", b"1"), (b"b", b"2"), (b"A", b"3")]


def test_setdefault() -> None:
    h = Headers([("a", "1"), ("a", "2")])
    assert h.setdefault("A", "3") == "1, 2"
    assert h.setdefault("b", "4") == "4"
    assert h.raw == [(b"a", b"1"), (b"a", b"2"), (b"b", b"4")]


def test_pop_popitem_clear() -> None:
    h = Headers([("a", "1"), ("b", "2"), ("a", "3")])
    assert h.pop("a") == "1, 3"
    assert h.pop("a", "gone") == "gone"
    assert h.popitem() == ("b", "2")
    assert not h
    h["c"] = "5"
    h.clear()
    assert h.raw == []
    assert len(h) == 0


def test_copy_is_equal_independent_and_keeps_encoding() -> None:
    h = Headers({"a": "1"}, encoding="iso-8859-1")
    duplicate = h.copy()
    assert duplicate == h
    assert duplicate is not h
    assert duplicate.encoding == "iso-8859-1"
    duplicate["b"] = "2"
    assert "b" not in h


def test_pickle_and_deepcopy_round_trip() -> None:
    h = Headers([("A", "1"), ("a", "2")], encoding="utf-8")
    for clone in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h), copy.copy(h)):
        assert clone.raw == h.raw
        assert clone.encoding == "utf-8"


# -- equality ---------------------------------------------------------------------------------


def test_equality_ignores_order_and_name_case() -> None:
    h = Headers([("a", "123"), ("a", "456"), ("b", "789")])
    assert h == [("a", "123"), ("b", "789"), ("a", "456")]
    assert h == [("a", "123"), ("A", "456"), ("b", "789")]
    assert h == {"a": "123", "A": "456", "b": "789"}
    assert h == Headers([("B", "789"), ("A", "456"), ("a", "123")])


def test_inequality() -> None:
    h = Headers([("a", "1"), ("a", "2")])
    assert h != [("a", "1")]  # multiplicity matters
    assert h != [("a", "1"), ("a", "2"), ("a", "2")]
    assert h != {"a": "1, 2"}  # one header line is not two
    assert Headers({"a": "x"}) != {"a": "X"}  # values are case-sensitive
    assert h != "a: 1\na: 2"


@pytest.mark.parametrize("other", [None, "", b"", 0, 1.5, object(), {"a": "\r"}, [("a",)]])
def test_not_equal_to_things_that_are_not_headers(other: object) -> None:
    assert Headers() != other
    assert (Headers() == other) is False


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Headers())


# -- repr -------------------------------------------------------------------------------------


def test_repr_dict_form() -> None:
    assert repr(Headers({"Custom": "example"})) == "Headers({'custom': 'example'})"


def test_repr_list_form_for_repeated_names() -> None:
    h = Headers([("custom", "example 1"), ("Custom", "example 2")])
    assert repr(h) == "Headers([('custom', 'example 1'), ('custom', 'example 2')])"


@pytest.mark.parametrize("name", ["Authorization", "authorization", "PROXY-AUTHORIZATION"])
def test_repr_hides_credentials(name: str) -> None:
    h = Headers({name: "Basic czNrcjN0", "Accept": "*/*"})
    assert "czNrcjN0" not in repr(h)
    assert repr(h) == f"Headers({{'{name.lower()}': '[secure]', 'accept': '*/*'}})"


def test_repr_hides_every_repeated_credential() -> None:
    h = Headers([("authorization", "one"), ("Authorization", "two")])
    assert repr(h) == "Headers([('authorization', '[secure]'), ('authorization', '[secure]')])"


def test_repr_shows_a_non_ascii_encoding() -> None:
    h = Headers({b"custom": "example ☃".encode()})
    assert repr(h) == "Headers({'custom': 'example ☃'}, encoding='utf-8')"
    latin = Headers({b"custom": b"\xff"})
    assert repr(latin) == "Headers({'custom': 'ÿ'}, encoding='iso-8859-1')"


# -- encodings --------------------------------------------------------------------------------


def test_encoding_ascii() -> None:
    h = Headers([(b"Custom", b"Example")])
    assert h.encoding == "ascii"
    assert dict(h) == {"custom": "Example"}


def test_encoding_utf8() -> None:
    h = Headers([(b"Custom", "Code point: ☃".encode())])
    assert h.encoding == "utf-8"
    assert dict(h) == {"custom": "Code point: ☃"}
    assert h["custom"] == "Code point: ☃"


def test_encoding_latin1_fallback() -> None:
    h = Headers([(b"Custom", "Code point: ÿ".encode("iso-8859-1"))])
    assert h.encoding == "iso-8859-1"
    assert dict(h) == {"custom": "Code point: ÿ"}
    assert h.get_list("custom") == ["Code point: ÿ"]


def test_one_bad_utf8_value_makes_everything_latin1() -> None:
    h = Headers([(b"a", "☃".encode()), (b"b", b"\xff")])
    assert h.encoding == "iso-8859-1"
    assert h["a"] == "â\x98\x83"


def test_encoding_set_explicitly_forces_decoding() -> None:
    h = Headers([(b"Custom", "Code point: ☃".encode())])
    assert h.encoding == "utf-8"
    h.encoding = "iso-8859-1"
    assert h.encoding == "iso-8859-1"
    assert dict(h) == {"custom": "Code point: â\x98\x83"}
    assert h["custom"] == "Code point: â\x98\x83"


def test_explicit_encoding_encodes_str_values() -> None:
    h = Headers({"a": "ÿ"}, encoding="iso-8859-1")
    assert h.raw == [(b"a", b"\xff")]
    h["b"] = "é"
    assert h.raw[1] == (b"b", b"\xe9")
    assert h["b"] == "é"


def test_non_ascii_str_values_default_to_utf8() -> None:
    h = Headers({"a": "☃"})
    assert h.raw == [(b"a", "☃".encode())]
    assert h.encoding == "utf-8"


def test_inferred_encoding_follows_changes() -> None:
    h = Headers({"a": "plain"})
    assert h.encoding == "ascii"
    h["b"] = "☃"
    assert h.encoding == "utf-8"
    assert h["b"] == "☃"
    del h["b"]
    assert h.encoding == "ascii"
    h.update({"c": "é"})
    assert h.encoding == "utf-8"
    h.clear()
    assert h.encoding == "ascii"


def test_explicit_encoding_survives_changes() -> None:
    h = Headers({"a": "x"}, encoding="iso-8859-1")
    h["b"] = "y"
    assert h.encoding == "iso-8859-1"


# -- injection refused (RELIABILITY.md item 6) ------------------------------------------------

BAD_VALUES = [
    ("x\r\nEvil: 1", "carriage return"),
    ("x\nEvil: 1", "line feed"),
    ("x\rEvil: 1", "carriage return"),
    ("x\x00y", "NUL"),
    ("\r\n\r\nGET /smuggled HTTP/1.1", "carriage return"),
    ("trailing\n", "line feed"),
]
BAD_NAMES = [
    ("", "empty"),
    ("X Foo", "space"),
    ("X-Foo:", "colon"),
    ("X-Foo\r\nEvil", "carriage return"),
    ("X-Foo\n", "line feed"),  # "$" would match before a final newline; fullmatch must not
    ("X\x00", "NUL"),
    ("X(Foo)", "'('"),
    ("X@Foo", "'@'"),
    ('X"Foo', "'\"'"),
    ("X\tFoo", "tab"),
    ("Näme", "'ä'"),
    ("\x7f", "U+007F"),
]

# Every way a user's header gets in. Each takes a name and a value and must refuse bad ones.
ENTRY_POINTS: dict[str, Callable[[Any, Any, Any], object]] = {
    "dict": lambda h, n, v: h.__init__({n: v}),
    "list": lambda h, n, v: h.__init__([(n, v)]),
    "setitem": lambda h, n, v: h.__setitem__(n, v),
    "update-dict": lambda h, n, v: h.update({n: v}),
    "update-list": lambda h, n, v: h.update([(n, v)]),
    "setdefault": lambda h, n, v: h.setdefault(n, v),
}


def _as_bytes(text: str) -> bytes:
    return text.encode("utf-8")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("value", "what"), BAD_VALUES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_bad_values_are_refused_everywhere(
    entry: str, value: str, what: str, as_bytes: bool
) -> None:
    h = Headers({"Existing": "1"})
    given = _as_bytes(value) if as_bytes else value
    with pytest.raises(LocalProtocolError) as excinfo:
        ENTRY_POINTS[entry](h, "X-Target", given)
    message = str(excinfo.value)
    assert "'X-Target'" in message
    assert what in message
    assert "injection refused" in message
    if entry not in ("dict", "list"):
        assert h.raw == [(b"Existing", b"1")]  # a refused change leaves no trace


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(("name", "what"), BAD_NAMES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_bad_names_are_refused_everywhere(entry: str, name: str, what: str, as_bytes: bool) -> None:
    h = Headers({"Existing": "1"})
    given = _as_bytes(name) if as_bytes else name
    with pytest.raises(LocalProtocolError) as excinfo:
        ENTRY_POINTS[entry](h, given, "value")
    message = str(excinfo.value)
    assert "header name" in message
    if not as_bytes or name.isascii():  # bytes are reported as Latin-1 characters
        assert what in message
    if entry not in ("dict", "list"):
        assert h.raw == [(b"Existing", b"1")]


def test_refusal_names_the_position() -> None:
    with pytest.raises(LocalProtocolError, match="at position 3"):
        Headers({"X-A": "abc\ndef"})
    with pytest.raises(LocalProtocolError, match="at position 1"):
        Headers({"X A": "v"})


def test_a_later_bad_header_refuses_the_whole_update() -> None:
    h = Headers({"a": "1"})
    with pytest.raises(LocalProtocolError):
        h.update([("a", "2"), ("b", "bad\r\n")])
    assert h.raw == [(b"a", b"1")]


def test_huge_values_are_not_echoed_in_full() -> None:
    huge = "x" * 100_000 + "\r\nEvil: 1"
    with pytest.raises(LocalProtocolError) as excinfo:
        Headers({"X-Big": huge})
    assert len(str(excinfo.value)) < 300
    assert "100009 bytes" in str(excinfo.value)


def test_huge_names_are_not_echoed_in_full() -> None:
    with pytest.raises(LocalProtocolError) as excinfo:
        Headers({"X" * 100_000 + " ": "v"})
    assert len(str(excinfo.value)) < 300
    assert "100001 characters" in str(excinfo.value)


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie"])
def test_refused_credentials_are_never_quoted(name: str) -> None:
    with pytest.raises(LocalProtocolError) as excinfo:
        Headers({name: "Bearer s3kr3t\r\nEvil: 1"})
    assert "s3kr3t" not in str(excinfo.value)
    assert "[secure]" in str(excinfo.value)
    with pytest.raises(LocalProtocolError) as excinfo:
        Headers({name: "s3kr3t\ud800"})
    assert "s3kr3t" not in str(excinfo.value)


def test_unencodable_values_are_refused() -> None:
    with pytest.raises(LocalProtocolError, match="cannot be encoded as utf-8"):
        Headers({"a": "lone surrogate \ud800"})
    with pytest.raises(LocalProtocolError, match="cannot be encoded as ascii"):
        Headers({"a": "é"}, encoding="ascii")
    h = Headers(encoding="ascii")
    with pytest.raises(LocalProtocolError, match="'X-A'"):
        h["X-A"] = "☃"
    assert h.raw == []


def test_other_control_characters_and_obs_text_are_kept() -> None:
    # Only CR, LF and NUL can end a header line or a string early; HTAB and obs-text are legal
    # field content (RFC 9110 §5.5) and must survive.
    h = Headers([(b"a", b"x\ty"), (b"b", b"\x80\xff")])
    assert h.raw == [(b"a", b"x\ty"), (b"b", b"\x80\xff")]


# -- the name cache ---------------------------------------------------------------------------


def test_names_keep_the_case_each_caller_gave() -> None:
    assert Headers({"X-Cased": "1"}).raw == [(b"X-Cased", b"1")]
    assert Headers({"x-cased": "1"}).raw == [(b"x-cased", b"1")]
    assert Headers(cast(Any, {b"X-CASED": "1"})).raw == [(b"X-CASED", b"1")]


def test_name_cache_stays_bounded() -> None:
    for number in range(2 * _CHECKED_NAME_CACHE_LIMIT):
        Headers({f"X-Distinct-{number}": "v"})
    assert len(_checked_name_cache) <= _CHECKED_NAME_CACHE_LIMIT


def test_refused_names_are_not_cached() -> None:
    for _ in range(2):
        with pytest.raises(LocalProtocolError):
            Headers({"Bad Name": "v"})
    assert "Bad Name" not in _checked_name_cache


# -- internal fast paths ----------------------------------------------------------------------


def test_from_raw_wraps_parser_output_without_checks() -> None:
    pairs = [(b"Content-Type", b"text/html"), (b"set-cookie", b"a=1"), (b"Set-Cookie", b"b=2")]
    h = Headers._from_raw(pairs)
    assert h.raw == pairs
    assert h["content-type"] == "text/html"
    assert h.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert h.encoding == "ascii"
    assert Headers(h) == h


def test_from_raw_trusts_its_caller() -> None:
    # No check and no stripping: the parsers have done both. This is why it is private.
    h = Headers._from_raw([(b"a", b" padded ")])
    assert h.raw == [(b"a", b" padded ")]


def test_from_raw_builds_subclasses() -> None:
    class Custom(Headers):
        __slots__ = ()

    h = Custom._from_raw([(b"a", b"1")])
    assert type(h) is Custom
    assert repr(h) == "Custom({'a': '1'})"


def test_set_default_raw() -> None:
    h = Headers({"Accept": "*/*"})
    assert h._set_default_raw(b"Content-Length", b"5") is True
    assert h._set_default_raw(b"content-length", b"6") is False
    assert h._set_default_raw(b"Host", b"example.com", front=True) is True
    assert h._set_default_raw(b"HOST", b"other", front=True) is False
    assert h.raw == [(b"Host", b"example.com"), (b"Accept", b"*/*"), (b"Content-Length", b"5")]


def test_set_default_raw_resets_the_inferred_encoding() -> None:
    h = Headers({"a": "b"})
    assert h.encoding == "ascii"
    h._set_default_raw(b"Host", "bücher.example".encode())
    assert h.encoding == "utf-8"


def test_raw_values() -> None:
    h = Headers([("Content-Length", "5"), ("content-length", "6"), ("Other", "x")])
    assert h._raw_values(b"content-length") == [b"5", b"6"]
    assert h._raw_values(b"missing") == []
