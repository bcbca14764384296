"""The parsing core: splitting, encode sets, hosts, ports, dot segments, hostile input."""

from __future__ import annotations

import contextlib
import time

import pytest

from zephyr._exceptions import InvalidURL
from zephyr._urlparse import (
    MAX_URL_LENGTH,
    URLParts,
    encode_fragment,
    encode_host,
    encode_path,
    encode_query,
    encode_userinfo,
    normalize_port,
    parse_url,
    remove_dot_segments,
    resolve_reference,
    split_authority,
    split_url,
    unsplit,
)

# --- splitting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://u:p@h:1/p?q#f", ("https", "u:p", "h", "1", "/p", "q", "f")),
        ("https://h", ("https", "", "h", None, "", None, None)),
        ("/p?#", ("", "", "", None, "/p", "", "")),
        ("//h/p", ("", "", "h", None, "/p", None, None)),
        ("://h", ("", "", "h", None, "", None, None)),
        ("localhost:8000", ("localhost", "", "", None, "8000", None, None)),
        # Not a scheme: the part before ":" has a character a scheme cannot have.
        ("1a:b", ("", "", "", None, "1a:b", None, None)),
        ("a/b:c", ("", "", "", None, "a/b:c", None, None)),
        # "?" and "#" end the path even inside what looks like an authority.
        ("http://h?x#y?z", ("http", "", "h", None, "", "x", "y?z")),
        ("http://h#x?y", ("http", "", "h", None, "", None, "x?y")),
    ],
)
def test_split_url(url: str, expected: tuple[object, ...]) -> None:
    assert split_url(url) == expected


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("h", ("", "h", None)),
        ("h:", ("", "h", "")),
        ("u@h:80", ("u", "h", "80")),
        # The last "@" ends the userinfo, so an "@" in a password cannot move the host.
        ("a@b@h", ("a@b", "h", None)),
        ("[::1]:8080", ("", "[::1]", "8080")),
        ("[::1]", ("", "[::1]", None)),
        ("u:p@[::1]:1", ("u:p", "[::1]", "1")),
        ("h:80:90", ("", "h", "80:90")),
    ],
)
def test_split_authority(authority: str, expected: tuple[object, ...]) -> None:
    assert split_authority(authority) == expected


# --- percent-encoding ------------------------------------------------------------------------


def test_each_component_has_its_own_safe_set() -> None:
    text = ' "#<>?`{}/:;=@[]^|\\'
    assert encode_path(text) == "%20%22%23%3C%3E%3F%60%7B%7D/:;=@[]^|\\"
    assert encode_query(text) == "%20%22%23%3C%3E?`{}/:;=@[]^|\\"
    assert encode_fragment(text) == "%20%22#%3C%3E?%60{}/:;=@[]^|\\"
    assert encode_userinfo(text) == "%20%22%23%3C%3E%3F%60%7B%7D%2F:%3B%3D%40%5B%5D%5E%7C%5C"


def test_existing_escapes_are_kept_and_stray_percent_is_escaped() -> None:
    assert encode_path("/a%20b") == "/a%20b"
    assert encode_path("/%2f%2F") == "/%2f%2F"
    assert encode_path("/100%") == "/100%25"
    assert encode_path("/%zz%2") == "/%25zz%252"
    assert encode_query("%%41") == "%25%41"


def test_non_ascii_is_utf8_percent_encoded() -> None:
    assert encode_path("/ü/🌟") == "/%C3%BC/%F0%9F%8C%9F"


def test_already_canonical_text_is_returned_without_copy() -> None:
    text = "/a/b;c=d"
    assert encode_path(text) is text


def test_lone_surrogate_is_invalid_url() -> None:
    with pytest.raises(InvalidURL, match="surrogate"):
        encode_path("/a\ud800b")
    with pytest.raises(InvalidURL, match="surrogate"):
        parse_url("https://example.com/\udcff")


# --- hosts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "encoded"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("exam le.com", "exam%20le.com"),
        ("a%2fb", "a%2Fb"),
        ("1.2.3.4", "1.2.3.4"),
        ("023b76x43144", "023b76x43144"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("[fe80::1%eth0]", "fe80::1%eth0"),
        ("中国.icom.museum", "xn--fiqs8s.icom.museum"),
        ("Königsgäßchen.de", "xn--knigsgchen-b4a3dun.de"),
        ("", ""),
    ],
)
def test_encode_host(host: str, encoded: str) -> None:
    assert encode_host(host) == encoded
    # Idempotent, so that a re-parse changes nothing (IPv6 is stored without brackets).
    again = f"[{encoded}]" if ":" in encoded else encoded
    assert encode_host(again) == encoded


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("999.999.999.999", "Invalid IPv4 address: '999.999.999.999'"),
        ("01.2.3.4", "Invalid IPv4 address: '01.2.3.4'"),
        ("[2001]", "Invalid IPv6 address: '[2001]'"),
        ("[::1%]", "Invalid IPv6 address"),
        ("[::1%a/b]", "Invalid IPv6 address"),
        ("☃.com", "Invalid IDNA hostname: '☃.com'"),
        ("😇", "Invalid IDNA hostname"),
    ],
)
def test_invalid_hosts(host: str, message: str) -> None:
    with pytest.raises(InvalidURL) as info:
        encode_host(host)
    assert str(info.value).startswith(message)


def test_overlong_idna_labels_are_rejected_before_idna() -> None:
    label = "ü" * 64
    with pytest.raises(InvalidURL, match="a label at most 63"):
        encode_host(f"{label}.com")
    with pytest.raises(InvalidURL, match="at most 253"):
        encode_host(".".join(["üü"] * 100))
    # Labels split on the ideographic full stop too, as `idna` splits them.
    assert encode_host("例え\u3002jp") == "xn--r8jz45g.jp"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com\uff03@bing.com",  # FULLWIDTH NUMBER SIGN -> "#"
        "https://example.com\uff0fpath@bing.com",  # FULLWIDTH SOLIDUS -> "/"
        "https://user\uff1aname@bing.com",  # FULLWIDTH COLON -> ":"
        "https://evil\ufe56.com",  # SMALL QUESTION MARK -> "?"
        "https://a\uff20b.com",  # FULLWIDTH COMMERCIAL AT -> "@"
    ],
)
def test_authority_characters_that_nfkc_normalise_to_delimiters(url: str) -> None:
    # CPython CVE-2019-9636: another parser that normalises would see a different host.
    with pytest.raises(InvalidURL, match="NFKC"):
        parse_url(url)


# --- ports ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "scheme", "expected"),
    [
        (None, "http", None),
        ("", "http", None),
        ("80", "http", None),
        ("443", "https", None),
        ("80", "ws", None),
        ("443", "wss", None),
        ("21", "ftp", None),
        ("80", "https", 80),
        ("0", "http", 0),
        ("00080", "http", None),
        ("65535", "http", 65535),
    ],
)
def test_normalize_port(port: str | None, scheme: str, expected: int | None) -> None:
    assert normalize_port(port, scheme) == expected


@pytest.mark.parametrize("port", ["abc", "-1", "+80", " 80", "8_0", "٣", "1e3"])
def test_non_numeric_port(port: str) -> None:
    with pytest.raises(InvalidURL) as info:
        normalize_port(port, "http")
    assert str(info.value) == f"Invalid port: {port!r}"


@pytest.mark.parametrize("port", ["65536", "99999", "1000000", "9" * 5000])
def test_port_out_of_range(port: str) -> None:
    with pytest.raises(InvalidURL, match="from 0 to 65535"):
        normalize_port(port, "http")


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b/c/./../../g", "/a/g"),  # RFC 3986 §5.2.4 example
        ("mid/content=5/../6", "mid/6"),  # RFC 3986 §5.2.4 example
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/..", "/"),
        ("/../../g", "/g"),
        ("/.", "/"),
        ("../a", "a"),
        (".", ""),
        ("/a/.b/..c/c..", "/a/.b/..c/c.."),
        ("/a//../b", "/a/b"),
        ("", ""),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected


# --- serialisation ----------------------------------------------------------------------------


def test_empty_authority_before_double_slash_path_stays_visible() -> None:
    # "http:////evil.com" has an empty host; printed as "http://evil.com" it would gain one.
    parts = parse_url("http:////evil.com/x")
    assert parts.host == ""
    assert parts.path == "//evil.com/x"
    assert unsplit(parts) == "http:////evil.com/x"
    assert parse_url(unsplit(parts)) == parts


def test_resolve_reference_renormalises_default_port_with_base_scheme() -> None:
    base = parse_url("https://a/b")
    assert resolve_reference(base, parse_url("//c:443/d")).port is None
    assert resolve_reference(base, parse_url("//c:80/d")).port == 80


def test_resolve_reference_against_relative_base_refuses_ambiguous_path() -> None:
    with pytest.raises(InvalidURL, match="'//'"):
        resolve_reference(parse_url("a"), parse_url("/.//x"))


def test_parts_are_a_plain_tuple() -> None:
    parts = parse_url("https://example.com/")
    assert isinstance(parts, URLParts)
    assert parts == ("https", "", "example.com", None, "/", None, None)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\t", "\x7f", "\x1b"])
@pytest.mark.parametrize(
    "template",
    [
        "{}https://h/",
        "https://u{}@h/",
        "https://h{}/",
        "https://h:{}1/",
        "https://h/{}",
        "/?{}",
        "#{}",
    ],
)
def test_control_characters_anywhere_are_refused(char: str, template: str) -> None:
    url = template.format(char)
    with pytest.raises(InvalidURL) as info:
        parse_url(url)
    assert str(info.value) == (
        f"Invalid non-printable ASCII character in URL, {char!r} at position {url.index(char)}."
    )


def test_url_too_long() -> None:
    parse_url("https://h/" + "x" * (MAX_URL_LENGTH - 10))
    with pytest.raises(InvalidURL, match="URL too long"):
        parse_url("https://h/" + "x" * (MAX_URL_LENGTH - 9))


def test_error_messages_quote_long_values_briefly() -> None:
    with pytest.raises(InvalidURL) as info:
        parse_url("http://h:" + "x" * 60_000)
    assert len(str(info.value)) < 200


# --- hostile input: linear time ---------------------------------------------------------------

_NEAR_LIMIT = MAX_URL_LENGTH - 100


@pytest.mark.parametrize(
    "url",
    [
        "http://" + "@" * _NEAR_LIMIT + "h/",
        "http://h" + ":" * _NEAR_LIMIT,
        "http://" + ":" * _NEAR_LIMIT + "@h/",
        "http://" + "a" * _NEAR_LIMIT + "/",
        "http://" + "ü" * _NEAR_LIMIT + "/",
        "http://" + "a." * (_NEAR_LIMIT // 2) + "ü/",
        "http://h/" + "%" * _NEAR_LIMIT,
        "http://h/" + "%2" * (_NEAR_LIMIT // 2),
        "http://h/?" + "%%" * (_NEAR_LIMIT // 2),
        "http://h/" + "../" * (_NEAR_LIMIT // 3),
        "http://h/" + "a/" * (_NEAR_LIMIT // 2) + "../" * 100,
        "a" * _NEAR_LIMIT + ":b",  # a long scheme candidate
        "a" * _NEAR_LIMIT + "/:b",  # a long non-scheme before ":"
        "http://[" + ":" * _NEAR_LIMIT + "]/",
        "http://[" + "[" * _NEAR_LIMIT,
        "http://h:" + "9" * _NEAR_LIMIT,
        "http://" + "\uff03" * _NEAR_LIMIT + "@h/",
        "http://h/" + "ü" * _NEAR_LIMIT,
    ],
    ids=lambda url: repr(url[:12] + url[-6:]),
)
def test_hostile_input_is_handled_in_linear_time(url: str) -> None:
    # ~65 K characters each: quadratic work would take minutes; linear takes milliseconds.
    # The bound is generous so that a slow CI machine never flakes.
    started = time.perf_counter()
    with contextlib.suppress(InvalidURL):
        parse_url(url)
    assert time.perf_counter() - started < 1.0


def test_time_grows_linearly_with_input() -> None:
    def cost(repeat: int) -> float:
        url = "http://" + "@" * repeat + "h/" + "%" * repeat + "?" + "é" * repeat
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            parse_url(url)
            best = min(best, time.perf_counter() - started)
        return best

    small, large = cost(2_000), cost(20_000)
    # 10x the input: linear gives ~10x the time, quadratic ~100x.
    assert large < small * 40
