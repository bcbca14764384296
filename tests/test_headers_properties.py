"""Property tests for Headers: round trips, case-insensitivity, and only our error escapes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from zephyr._exceptions import LocalProtocolError
from zephyr._headers import Headers

TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
OWS = " \t"

names = st.text(alphabet=TCHARS, min_size=1, max_size=12)
# Any text but CR, LF and NUL (and lone surrogates, which no encoding can carry).
values = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"),
    max_size=30,
)
header_lists = st.lists(st.tuples(names, values), max_size=12)

fast = settings(max_examples=150, deadline=None)


@fast
@given(header_lists)
def test_multi_items_round_trip(pairs: list[tuple[str, str]]) -> None:
    h = Headers(pairs)
    expected = [(name.lower(), value.strip(OWS)) for name, value in pairs]
    assert h.multi_items() == expected
    assert h.raw == [(name.encode(), value.strip(OWS).encode()) for name, value in pairs]


@fast
@given(header_lists)
def test_lookups_ignore_name_case(pairs: list[tuple[str, str]]) -> None:
    h = Headers(pairs)
    for name, _ in pairs:
        joined = ", ".join(v.strip(OWS) for n, v in pairs if n.lower() == name.lower())
        assert h[name] == h[name.upper()] == h[name.lower()] == h[name.swapcase()] == joined
        assert name.swapcase() in h
        assert h.get_list(name.upper()) == h.get_list(name.lower())


@fast
@given(header_lists)
def test_rebuilding_gives_equal_headers(pairs: list[tuple[str, str]]) -> None:
    h = Headers(pairs)
    assert Headers(h.raw) == h
    assert Headers(h.multi_items()) == h
    assert Headers(h) == h
    assert h.copy() == h
    assert Headers(list(reversed(h.raw))) == h
    assert h == h.raw


@fast
@given(header_lists)
def test_mapping_views_agree(pairs: list[tuple[str, str]]) -> None:
    h = Headers(pairs)
    unique = list(dict.fromkeys(name.lower() for name, _ in pairs))
    assert list(h) == list(h.keys()) == unique
    assert len(h) == len(unique) == len(dict(h))
    assert list(h.items()) == [(name, h[name]) for name in unique]
    assert list(h.values()) == [h[name] for name in unique]


@fast
@given(header_lists, names, values)
def test_setitem_then_getitem(pairs: list[tuple[str, str]], name: str, value: str) -> None:
    h = Headers(pairs)
    before = [(n, v) for n, v in h.multi_items() if n != name.lower()]
    h[name] = value
    assert h[name.swapcase()] == value.strip(OWS)
    assert h.get_list(name) == [value.strip(OWS)]
    others = [(n, v) for n, v in h.multi_items() if n != name.lower()]
    assert others == before


@fast
@given(header_lists, names)
def test_delete_removes_only_that_name(pairs: list[tuple[str, str]], name: str) -> None:
    h = Headers(pairs)
    expected = [(n, v) for n, v in h.multi_items() if n != name.lower()]
    if name in h:
        del h[name.upper()]
    assert name not in h
    assert h.multi_items() == expected


@fast
@given(header_lists, header_lists)
def test_update_matches_its_definition(
    pairs: list[tuple[str, str]], new_pairs: list[tuple[str, str]]
) -> None:
    h = Headers(pairs)
    replaced = {name.lower() for name, _ in new_pairs}
    expected = [item for item in h.multi_items() if item[0] not in replaced]
    expected += Headers(new_pairs).multi_items()
    h.update(new_pairs)
    assert h.multi_items() == expected


@fast
@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30)), max_size=6))
def test_arbitrary_text_either_builds_valid_headers_or_is_refused(
    pairs: list[tuple[str, str]],
) -> None:
    refusal: LocalProtocolError | None = None
    try:
        h = Headers(pairs)
    except LocalProtocolError as exc:
        refusal = exc
    if refusal is not None:
        assert len(str(refusal)) < 400
        return
    for raw_name, raw_value in h.raw:
        assert TOKEN.fullmatch(raw_name.decode("ascii"))
        assert not set(raw_value) & set(b"\r\n\x00")
    repr(h)


@fast
@given(st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=30)), max_size=6))
def test_arbitrary_bytes_either_build_decodable_headers_or_are_refused(
    pairs: list[tuple[bytes, bytes]],
) -> None:
    try:
        h = Headers(pairs)
    except LocalProtocolError:
        return
    # Whatever bytes got in, the inferred encoding decodes all of them.
    assert h.encoding in ("ascii", "utf-8", "iso-8859-1")
    h.multi_items()
    repr(h)
    assert Headers(h.raw) == h


@fast
@given(header_lists, st.text(max_size=12), st.text(max_size=30))
def test_a_refused_setitem_changes_nothing(
    pairs: list[tuple[str, str]], name: str, value: str
) -> None:
    h = Headers(pairs)
    before = h.raw
    try:
        h[name] = value
    except LocalProtocolError:
        assert h.raw == before


@fast
@given(st.lists(st.tuples(st.binary(min_size=1, max_size=12), st.binary(max_size=30))))
def test_parser_output_always_decodes(pairs: list[tuple[bytes, bytes]]) -> None:
    # `_from_raw` trusts its caller, but decoding and display must still never fail.
    h = Headers._from_raw(pairs)
    assert len(h.multi_items()) == len(pairs)
    repr(h)
    for name, _ in pairs:
        assert h._raw_values(name.lower())
