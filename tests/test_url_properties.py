"""Property tests: any text gives a URL or InvalidURL, and what parses round-trips."""

from __future__ import annotations

import ipaddress
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zephyr._exceptions import InvalidURL
from zephyr._urls import URL, QueryParams

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces that steer generated text into every branch of the parser: delimiters, escapes
# (valid and not), IP literals, IDNA, NFKC look-alikes, controls and lone surrogates.
_URL_PIECES = [
    "http",
    "HTTPS",
    "ws",
    "x+y.z-",
    ":",
    "//",
    "/",
    "?",
    "#",
    "@",
    "[",
    "]",
    "[::1]",
    "[fe80::1%eth0]",
    "[::ffff:1.2.3.4]",
    "1.2.3.4",
    "999.1.1.1",
    ":80",
    ":443",
    ":65536",
    ":0",
    "%",
    "%2",
    "%41",
    "%zz",
    "%C3%BC",
    ".",
    "..",
    "./",
    "../",
    "example.com",
    "EXAMPLE",
    "xn--fiqs8s",
    "xn--zz-",
    "ü",
    "中国",
    "\u200d",
    "☃",
    "\uff03",
    "\uff0f",
    "\u3002",
    " ",
    "+",
    "=",
    "&",
    ";",
    '"<>`{}|\\^',
    "\t",
    "\r\n",
    "\x00",
    "\x7f",
    "\ud800",
]

url_like_text = st.lists(
    st.one_of(
        st.sampled_from(_URL_PIECES),
        st.text(st.characters(exclude_categories=()), max_size=4),
    ),
    max_size=12,
).map("".join)

any_text = st.one_of(url_like_text, st.text(st.characters(exclude_categories=())))


def _parse_or_none(text: str) -> URL | None:
    try:
        return URL(text)
    except InvalidURL:
        return None


@FAST
@given(any_text)
def test_any_text_gives_a_url_or_invalid_url(text: str) -> None:
    url = _parse_or_none(text)
    if url is None:
        return
    # Every property of a URL that parsed can be read without error.
    for name in (
        "scheme",
        "raw_scheme",
        "userinfo",
        "username",
        "password",
        "host",
        "raw_host",
        "port",
        "netloc",
        "path",
        "raw_path",
        "query",
        "params",
        "fragment",
        "is_absolute_url",
        "_origin",
    ):
        getattr(url, name)
    repr(url)
    str(url.params)
    assert str(url).isascii()
    assert url.raw_path.isascii()


@FAST
@given(any_text)
def test_every_parsed_url_round_trips(text: str) -> None:
    url = _parse_or_none(text)
    assume(url is not None)
    assert url is not None
    again = URL(str(url))
    assert again == url
    assert str(again) == str(url)
    assert again.raw_path == url.raw_path
    assert again._origin == url._origin


# --- generated valid URLs ---------------------------------------------------------------------

_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    st.sampled_from(["中国.icom.museum", "müller.de", "faß.de", "βόλος.com"]),
)
# Printable text without the delimiters a component cannot contain, and without "%" (kept
# as an escape when it starts one, so it would not decode back to itself).
_component_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="%?#/"), max_size=12
)


@st.composite
def valid_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "ws", "wss", "ftp", "HTTP", "git+ssh"]))
    host = draw(_host)
    port = draw(st.one_of(st.none(), st.integers(0, 65535)))
    segments = draw(st.lists(_component_text, max_size=4))
    query = draw(st.one_of(st.none(), _component_text))
    fragment = draw(st.one_of(st.none(), _component_text))
    text = f"{scheme}://{host}" + ("" if port is None else f":{port}")
    text += "".join("/" + segment for segment in segments)
    if query is not None:
        text += "?" + query
    if fragment is not None:
        text += "#" + fragment
    return text


@FAST
@given(valid_urls())
def test_generated_urls_parse_and_round_trip(text: str) -> None:
    url = URL(text)
    assert url.is_absolute_url
    assert URL(str(url)) == url
    assert URL(url) == url
    assert url.copy_with() == url


@FAST
@given(
    st.lists(
        _component_text.filter(lambda segment: segment not in (".", "..")), min_size=1, max_size=4
    ),
    _component_text,
    _component_text,
)
def test_components_decode_back_to_what_was_given(
    segments: list[str], fragment: str, password: str
) -> None:
    path = "/" + "/".join(segments)
    url = URL(scheme="https", host="example.com", path=path, fragment=fragment)
    assert url.path == path
    assert url.fragment == fragment
    url = url.copy_with(username="user", password=password)
    assert url.username == "user"
    assert url.password == password
    assert URL(str(url)) == url


# --- join -------------------------------------------------------------------------------------

_reference_pieces = st.sampled_from(
    ["", ".", "..", "./", "../", "/", "//", "a", "b/", "g;x", "?y", "#s", "%2e", "..g", "g.."]
)
references = st.lists(_reference_pieces, max_size=8).map("".join)


@FAST
@given(valid_urls(), valid_urls())
def test_joining_an_absolute_url_gives_it_back(base: str, other: str) -> None:
    assert URL(base).join(other) == URL(other)
    assert URL(base).join(URL(other)) == URL(other)


@FAST
@given(valid_urls(), references)
def test_join_never_leaves_dot_segments(base: str, reference: str) -> None:
    try:
        joined = URL(base).join(reference)
    except InvalidURL:
        return
    segments = joined.raw_path.split(b"?")[0].split(b"/")
    assert b"." not in segments
    assert b".." not in segments
    assert joined.is_absolute_url or not URL(reference).is_absolute_url
    assert URL(str(joined)) == joined


# --- QueryParams ------------------------------------------------------------------------------

_param_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
_param_value = st.one_of(_param_text, st.integers(), st.booleans(), st.none())


@FAST
@given(st.lists(st.tuples(_param_text, _param_value), max_size=8))
def test_queryparams_round_trip_through_str(pairs: list[tuple[str, object]]) -> None:
    params = QueryParams(pairs)  # type: ignore[arg-type]
    assert QueryParams(str(params)) == params
    assert hash(QueryParams(str(params))) == hash(params)
    assert URL("https://example.com/", params=params).params == params


@FAST
@given(st.dictionaries(_param_text, st.lists(_param_text, min_size=1, max_size=3), max_size=6))
def test_queryparams_from_dict_of_lists(values: dict[str, list[str]]) -> None:
    params = QueryParams(values)
    assert {key: params.get_list(key) for key in params} == values
    assert QueryParams(str(params)) == params
    assert QueryParams(params.multi_items()) == params


# --- IPv4 literals ----------------------------------------------------------------------------


@FAST
@given(st.lists(st.text("0123456789", min_size=1, max_size=4), min_size=4, max_size=4))
def test_ipv4_validation_agrees_with_ipaddress(octets: list[str]) -> None:
    host = ".".join(octets)
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        with pytest.raises(InvalidURL) as info:
            URL(f"http://{host}/")
        assert str(info.value) == f"Invalid IPv4 address: {host!r}"
    else:
        assert URL(f"http://{host}/").host == host
