"""zephyr.URL: HTTPX's properties, keyword components, copies, join, comparison and errors."""

from __future__ import annotations

from typing import Any

import pytest

from zephyr._exceptions import InvalidURL
from zephyr._urls import URL, QueryParams

# --- properties -------------------------------------------------------------------------------


def test_basic_url() -> None:
    url = URL("https://www.example.com/")
    assert url.scheme == "https"
    assert url.raw_scheme == b"https"
    assert url.userinfo == b""
    assert url.username == ""
    assert url.password == ""
    assert url.netloc == b"www.example.com"
    assert url.host == "www.example.com"
    assert url.raw_host == b"www.example.com"
    assert url.port is None
    assert url.path == "/"
    assert url.raw_path == b"/"
    assert url.query == b""
    assert url.params == QueryParams()
    assert url.fragment == ""
    assert url.is_absolute_url
    assert not url.is_relative_url
    assert str(url) == "https://www.example.com/"
    assert repr(url) == "URL('https://www.example.com/')"


def test_every_component() -> None:
    url = URL("HTTPS://jo%40email.com:a%20secret@müller.de:1234/pa%20th?search=ab#anchor%20link")
    assert url.scheme == "https"
    assert url.username == "jo@email.com"
    assert url.password == "a secret"
    assert url.userinfo == b"jo%40email.com:a%20secret"
    assert url.host == "müller.de"
    assert url.raw_host == b"xn--mller-kva.de"
    assert url.port == 1234
    assert url.netloc == b"xn--mller-kva.de:1234"
    assert url.path == "/pa th"
    assert url.query == b"search=ab"
    assert url.raw_path == b"/pa%20th?search=ab"
    assert url.fragment == "anchor link"
    assert url.params == QueryParams({"search": "ab"})


def test_empty_query_is_kept_in_raw_path() -> None:
    assert URL("https://www.example.com/path").raw_path == b"/path"
    url = URL("https://www.example.com/path?")
    assert url.query == b""
    assert url.raw_path == b"/path?"
    assert str(url) == "https://www.example.com/path?"


@pytest.mark.parametrize(
    ("text", "scheme", "host", "path"),
    [
        ("://example.com", "", "example.com", "/"),
        ("http://", "http", "", "/"),
        ("", "", "", "/"),
        ("/relative?x=1", "", "", "/relative"),
        ("../abc", "", "", "../abc"),
    ],
)
def test_partial_urls(text: str, scheme: str, host: str, path: str) -> None:
    url = URL(text)
    assert (url.scheme, url.host, url.path) == (scheme, host, path)
    assert url.is_relative_url


@pytest.mark.parametrize(
    ("text", "raw_path", "path", "query", "fragment"),
    [
        (
            "https://example.com/!$&'()*+,;= abc ABC 123 :/[]@",
            b"/!$&'()*+,;=%20abc%20ABC%20123%20:/[]@",
            "/!$&'()*+,;= abc ABC 123 :/[]@",
            b"",
            "",
        ),
        (
            "https://example.com/?!$&'()*+,;= abc ABC 123 :/[]@?",
            b"/?!$&'()*+,;=%20abc%20ABC%20123%20:/[]@?",
            "/",
            b"!$&'()*+,;=%20abc%20ABC%20123%20:/[]@?",
            "",
        ),
        (
            "https://example.com/#!$&'()*+,;= abc ABC 123 :/[]@?#",
            b"/",
            "/",
            b"",
            "!$&'()*+,;= abc ABC 123 :/[]@?#",
        ),
        ("https://example.com/ %61%62%63", b"/%20%61%62%63", "/ abc", b"", ""),
        ("https://example.com/?%20%97%98%99", b"/?%20%97%98%99", "/", b"%20%97%98%99", ""),
        ("https://example.com/ /🌟/", b"/%20/%F0%9F%8C%9F/", "/ /🌟/", b"", ""),
        ("https://example.com/100%", b"/100%25", "/100%", b"", ""),
        ("https://example.com/a%zz?q=50%", b"/a%25zz?q=50%25", "/a%zz", b"q=50%25", ""),
    ],
)
def test_percent_encoding(
    text: str, raw_path: bytes, path: str, query: bytes, fragment: str
) -> None:
    url = URL(text)
    assert url.raw_path == raw_path
    assert url.path == path
    assert url.query == query
    assert url.fragment == fragment
    assert URL(str(url)) == url


def test_query_encoding_matches_httpx() -> None:
    # A query typed into the URL is escaped like a browser's address bar ...
    assert URL("https://www.example.com/?a=b c&d=e/f").raw_path == b"/?a=b%20c&d=e/f"
    assert URL("https://www.example.com/?a=b+c&d=e/f").raw_path == b"/?a=b+c&d=e/f"
    # ... while `params` are encoded as an HTML form encodes them.
    url = URL("https://www.example.com/", params={"a": "b c", "d": "e/f"})
    assert url.raw_path == b"/?a=b+c&d=e%2Ff"
    assert str(URL("http://w", params={"u": "%"})) == "http://w?u=%25"
    assert str(URL("http://w", params={"u": "with%20spaces"})) == "http://w?u=with%2520spaces"


@pytest.mark.parametrize(
    ("text", "userinfo", "username", "password"),
    [
        ("https://username:password@example.com", b"username:password", "username", "password"),
        (
            "https://username%40gmail.com:pa%20ssword@example.com",
            b"username%40gmail.com:pa%20ssword",
            "username@gmail.com",
            "pa ssword",
        ),
        (
            "https://username@gmail.com:pa ssword@example.com",
            b"username%40gmail.com:pa%20ssword",
            "username@gmail.com",
            "pa ssword",
        ),
        (
            "https://user name:p@ssword@example.com",
            b"user%20name:p%40ssword",
            "user name",
            "p@ssword",
        ),
        ("https://user:pa:ss@example.com", b"user:pa:ss", "user", "pa:ss"),
        ("https://user@example.com", b"user", "user", ""),
    ],
)
def test_username_and_password(text: str, userinfo: bytes, username: str, password: str) -> None:
    url = URL(text)
    assert (url.userinfo, url.username, url.password) == (userinfo, username, password)
    assert url.host == "example.com"


def test_hosts() -> None:
    assert URL("https://EXAMPLE.com/").host == "example.com"
    assert URL("https://exam le.com/").host == "exam%20le.com"
    assert URL("https://1.2.3.4/").host == "1.2.3.4"
    assert URL("https://023b76x43144/").host == "023b76x43144"
    url = URL("http://[::ffff:192.168.0.1]:5678/")
    assert url.host == "::ffff:192.168.0.1"
    assert url.raw_host == b"::ffff:192.168.0.1"
    assert url.netloc == b"[::ffff:192.168.0.1]:5678"
    assert URL("https://[2001:DB8::FF00:42:8329]/").host == "2001:db8::ff00:42:8329"


# The Sinhala and Persian names contain joiners (U+200D ZWJ, U+200C ZWNJ), written as escapes
# so that they stay visible.
@pytest.mark.parametrize(
    ("given", "encoded", "host", "raw_host", "port"),
    [
        (
            "http://中国.icom.museum:80/",
            "http://xn--fiqs8s.icom.museum:80/",
            "中国.icom.museum",
            b"xn--fiqs8s.icom.museum",
            None,
        ),
        (
            "http://Königsgäßchen.de",
            "http://xn--knigsgchen-b4a3dun.de",
            "königsgäßchen.de",
            b"xn--knigsgchen-b4a3dun.de",
            None,
        ),
        ("https://faß.de", "https://xn--fa-hia.de", "faß.de", b"xn--fa-hia.de", None),
        (
            "https://βόλος.com:443",
            "https://xn--nxasmm1c.com:443",
            "βόλος.com",
            b"xn--nxasmm1c.com",
            None,
        ),
        (
            "http://ශ්\u200dරී.com:444",
            "http://xn--10cl1a0b660p.com:444",
            "ශ්\u200dරී.com",
            b"xn--10cl1a0b660p.com",
            444,
        ),
        (
            "https://نامه\u200cای.com:4433",  # noqa: RUF001
            "https://xn--mgba3gch31f060k.com:4433",
            "نامه\u200cای.com",  # noqa: RUF001
            b"xn--mgba3gch31f060k.com",
            4433,
        ),
    ],
)
def test_idna_hosts(given: str, encoded: str, host: str, raw_host: bytes, port: int | None) -> None:
    url = URL(given)
    assert url == URL(encoded)
    assert url.host == host
    assert url.raw_host == raw_host
    assert url.port == port


def test_idna_host_decoding_is_per_label_and_tolerant() -> None:
    assert URL("http://www.xn--fiqs8s.com/").host == "www.中国.com"
    # Not valid punycode: shown as it is on the wire rather than failing.
    assert URL("http://xn--zz-.com/").host == "xn--zz-.com"


def test_ports() -> None:
    assert URL("https://example.com:123/").port == 123
    assert URL("https://example.com:443/").port is None
    assert URL("http://example.com:80/").port is None
    assert URL("HTTP://example.com:80/").port is None
    assert URL("ftp://example.com:21/").port is None
    assert URL("ws://example.com:80/").port is None
    assert URL("wss://example.com:443/").port is None
    assert URL("https://example.com:80/").port == 80
    assert URL("http://example.com:/").port is None
    assert URL("http://example.com:80") == URL("http://example.com")


def test_paths_are_normalised_only_for_absolute_urls() -> None:
    assert URL("https://example.com/abc/def/../ghi/./jkl").path == "/abc/ghi/jkl"
    assert URL("https://example.com/../abc").path == "/abc"
    assert URL("https://example.com/a/b/..").path == "/a/"
    assert URL("../abc").path == "../abc"
    assert URL("./a/../b").path == "./a/../b"


def test_origin_for_the_transport() -> None:
    assert URL("https://Example.com/x")._origin == (b"https", b"example.com", 443)
    assert URL("http://example.com:8080/")._origin == (b"http", b"example.com", 8080)
    assert URL("http://[::1]/")._origin == (b"http", b"::1", 80)
    assert URL("wss://example.com/")._origin == (b"wss", b"example.com", 443)
    assert URL("gopher://example.com/")._origin == (b"gopher", b"example.com", 0)


def test_properties_are_cached_and_shared_by_copies() -> None:
    url = URL("https://example.com/a b")
    assert url.raw_path is url.raw_path
    copy = URL(url)
    assert copy._parts is url._parts  # not parsed again
    assert copy.raw_path is url.raw_path
    assert copy == url


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://example.com:abc/", "Invalid port: 'abc'"),
        (
            "https://example.com:65536/",
            "Invalid port: '65536' (a port is a number from 0 to 65535)",
        ),
        ("https://999.999.999.999/", "Invalid IPv4 address: '999.999.999.999'"),
        ("https://[2001]/", "Invalid IPv6 address: '[2001]'"),
        ("https://☃.com/", "Invalid IDNA hostname: '☃.com'"),
        (
            "https://www.example.com/\n",
            "Invalid non-printable ASCII character in URL, '\\n' at position 24.",
        ),
        ("https://www.example.com/" + "x" * 100_000, "URL too long"),
        ("::abc", "Relative URLs cannot have a path starting with ':'"),
    ],
)
def test_invalid_urls(text: str, message: str) -> None:
    with pytest.raises(InvalidURL) as info:
        URL(text)
    assert str(info.value) == message


def test_invalid_hostname() -> None:
    with pytest.raises(InvalidURL):
        URL("https://😇/")


def test_copy_with_cannot_smuggle_a_new_url() -> None:
    # CVE-2021-41945: a component must not be able to change the URL's shape.
    with pytest.raises(InvalidURL):
        URL("https://u:p@[invalid!]//evilHost/path?t=w#tw")
    url = URL("https://example.com/path?t=w#tw")
    with pytest.raises(InvalidURL):
        url.copy_with(scheme="https://xxxx:xxxx@xxxxxxx/xxxxx/xxx?x=x#xxxxx")
    with pytest.raises(InvalidURL, match="'path'"):
        url.copy_with(path="/a?b")
    with pytest.raises(InvalidURL, match="'query'"):
        url.copy_with(query=b"a#b")
    with pytest.raises(InvalidURL, match="'userinfo'"):
        url.copy_with(userinfo=b"a@b")
    with pytest.raises(InvalidURL, match="'netloc'"):
        url.copy_with(netloc=b"user@evil.com")


@pytest.mark.parametrize("char", ["\r", "\n", "\x00", "\t"])
@pytest.mark.parametrize(
    ("name", "template"),
    [
        ("scheme", "http{}"),
        ("username", "user{}"),
        ("password", "pass{}"),
        ("userinfo", b"u{}"),
        ("host", "example{}.com"),
        ("netloc", b"example.com{}"),
        ("path", "/a{}"),
        ("query", b"a={}"),
        ("raw_path", b"/a?{}"),
        ("fragment", "f{}"),
    ],
)
def test_control_characters_in_components_are_refused(
    char: str, name: str, template: str | bytes
) -> None:
    # RELIABILITY.md item 6: refused, never percent-encoded away.
    value: str | bytes
    value = (
        template.format(char)
        if isinstance(template, str)
        else template.replace(b"{}", char.encode())
    )
    with pytest.raises(InvalidURL) as info:
        URL("https://example.org/", **{name: value})
    assert f"Invalid non-printable ASCII character in URL {name} component" in str(info.value)


def test_component_too_long() -> None:
    with pytest.raises(InvalidURL) as info:
        URL("https://www.example.com", path="/" + "x" * 100_000)
    assert str(info.value) == "URL component 'path' too long"
    with pytest.raises(InvalidURL, match="'query' too long"):
        URL("https://www.example.com", params={"a": "x" * 100_000})


def test_component_path_rules() -> None:
    with pytest.raises(InvalidURL) as info:
        URL(scheme="https", host="www.example.com", path="abc")
    assert str(info.value) == "For absolute URLs, path must be empty or begin with '/'"
    with pytest.raises(InvalidURL, match="Relative URLs cannot have a path starting with '//'"):
        URL(path="//abc")
    with pytest.raises(InvalidURL, match="Relative URLs cannot have a path starting with ':'"):
        URL(path=":abc")
    with pytest.raises(InvalidURL, match="'scheme'"):
        URL(scheme="~", host="www.example.com", path="/")
    # A port without a host still makes an authority, so the path must be absolute.
    with pytest.raises(InvalidURL, match="must be empty or begin with '/'"):
        URL(path="abc", port=8080)
    assert URL(path="abc").path == "abc"


def test_relative_path_that_would_read_as_a_scheme_is_refused() -> None:
    # RFC 3986 §4.2: printed, "http:" would come back as a scheme, not as a path.
    message = "Relative URLs cannot have a first path segment like 'http:'"
    with pytest.raises(InvalidURL, match=message):
        URL(":http:")
    with pytest.raises(InvalidURL, match="'a:'"):
        URL(path="a:b")
    with pytest.raises(InvalidURL, match="'b:'"):
        URL("a").join("./b:c")
    # Not mistakable for a scheme, so still fine (as in HTTPX).
    for text in ("1a:b", "a/b:c", "/x:y", "a b:c"):
        assert URL(str(URL(text))) == URL(text)


def test_non_ascii_bytes_component() -> None:
    with pytest.raises(InvalidURL, match="ASCII"):
        URL("https://example.org/", query="é".encode())


# --- types ------------------------------------------------------------------------------------


def test_invalid_url_type() -> None:
    class ExternalURL:
        pass

    with pytest.raises(TypeError):
        URL(ExternalURL())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        URL(b"https://example.com")  # type: ignore[arg-type]


def test_unknown_keyword() -> None:
    with pytest.raises(TypeError) as info:
        URL(scheme="https", host="www.example.com", incorrect="/")
    assert str(info.value) == "'incorrect' is an invalid keyword argument for URL()"
    with pytest.raises(TypeError, match="'pathh'"):
        URL("https://example.org").copy_with(pathh="/incorrect-spelling")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("userinfo", "should be bytes", "Argument 'userinfo' must be bytes but got str"),
        ("port", "80", "Argument 'port' must be int but got str"),
        ("port", True, "Argument 'port' must be int but got bool"),
        ("host", b"example.com", "Argument 'host' must be str but got bytes"),
        ("query", "a=1", "Argument 'query' must be bytes but got str"),
        ("netloc", "example.com", "Argument 'netloc' must be bytes but got str"),
    ],
)
def test_wrong_keyword_type(name: str, value: object, message: str) -> None:
    with pytest.raises(TypeError) as info:
        URL("https://example.org", **{name: value})
    assert str(info.value) == message


# --- components by keyword and copy_with ------------------------------------------------------


def test_url_from_components() -> None:
    url = URL(scheme="https", host="www.example.com", path="/")
    assert str(url) == "https://www.example.com/"
    assert URL(scheme="https", host="::ffff:192.168.0.1", port=443, path="/").netloc == (
        b"[::ffff:192.168.0.1]"
    )
    url = URL(scheme="http", host="[::1]", port=8080)
    assert str(url) == "http://[::1]:8080"


def test_copy_with() -> None:
    url = URL("https://www.example.com/")
    assert url.copy_with() == url
    url = url.copy_with(scheme="http")
    assert str(url) == "http://www.example.com/"
    url = url.copy_with(netloc=b"example.com")
    assert str(url) == "http://example.com/"
    url = url.copy_with(path="/abc")
    assert str(url) == "http://example.com/abc"
    url = url.copy_with(path="/path to somewhere")
    assert url.raw_path == b"/path%20to%20somewhere"
    url = url.copy_with(query=b"a=123")
    assert url.raw_path == b"/path%20to%20somewhere?a=123"
    url = url.copy_with(fragment="frag ment")
    assert str(url) == "http://example.com/path%20to%20somewhere?a=123#frag%20ment"
    url = url.copy_with(query=None, fragment=None)
    assert str(url) == "http://example.com/path%20to%20somewhere"


def test_copy_with_authority_parts() -> None:
    url = URL("https://example.org")
    new = url.copy_with(username="username", password="password", port=444, host="example.net")
    assert str(new) == "https://username:password@example.net:444"
    assert str(url.copy_with(netloc=b"example.net:444")) == "https://example.net:444"
    assert str(url.copy_with(netloc=b"[::1]:444")) == "https://[::1]:444"
    new = url.copy_with(username="tom@example.org", password="abc123@ %")
    assert str(new) == "https://tom%40example.org:abc123%40%20%25@example.org"
    assert new.username == "tom@example.org"
    assert new.password == "abc123@ %"
    assert new.userinfo == b"tom%40example.org:abc123%40%20%25"
    assert URL("https://a:b@h/").copy_with(username="c").userinfo == b"c"
    assert URL("https://a:b@h/").copy_with(userinfo=None).userinfo == b""


def test_copy_with_renormalises_the_port_for_a_new_scheme() -> None:
    assert URL("http://example.com:443/").copy_with(scheme="https").port is None
    assert URL("https://example.com:8443/").copy_with(scheme="http").port == 8443
    assert str(URL("https://example.com:1/").copy_with(port=None)) == "https://example.com/"


def test_keyword_port_is_read_with_the_url_scheme() -> None:
    assert URL("http://example.com", port=80).port is None
    assert URL("http://example.com:80", scheme="https").port == 80


def test_copy_with_ipv6_host() -> None:
    for base in (
        "http://127.0.0.1:1234",
        "http://example.com:1234",
        "http://[::ffff:127.0.0.1]:1234",
    ):
        for new_host in ("[::ffff:192.168.0.1]", "::ffff:192.168.0.1"):
            url = URL(base).copy_with(host=new_host)
            assert url.host == "::ffff:192.168.0.1"
            assert url.netloc == b"[::ffff:192.168.0.1]:1234"
            assert str(url) == "http://[::ffff:192.168.0.1]:1234"


def test_copy_with_raw_path() -> None:
    url = URL("https://example.org")
    assert url.copy_with(raw_path=b"/some/path").raw_path == b"/some/path"
    assert url.copy_with(raw_path=b"/some/path?").raw_path == b"/some/path?"
    new = url.copy_with(raw_path=b"/some/path?a=123")
    assert (new.path, new.query) == ("/some/path", b"a=123")


def test_copy_with_path_is_normalised() -> None:
    assert URL("https://example.org").copy_with(path="/a/../b/./c").path == "/b/c"


# --- query parameters ------------------------------------------------------------------------


def test_params_replace_the_query() -> None:
    url = URL("https://example.org:123/path/to/somewhere", params={"a": "123"})
    assert str(url) == "https://example.org:123/path/to/somewhere?a=123"
    assert url.params == QueryParams({"a": "123"})
    url = URL("https://example.org:123/path/to/somewhere?b=456", params={"a": "123"})
    assert str(url) == "https://example.org:123/path/to/somewhere?a=123"
    assert str(URL("https://example.org/?b=456", params={})) == "https://example.org/"
    assert str(URL("https://example.org/?b=456", params=None)) == "https://example.org/"
    assert (
        str(URL(URL("https://example.org/?b=4"), params=[("c", 5)])) == "https://example.org/?c=5"
    )


def test_param_copies() -> None:
    url = URL("https://example.org:123/?a=123")
    assert url.copy_set_param("a", "456") == "https://example.org:123/?a=456"
    assert url.copy_add_param("a", "456") == "https://example.org:123/?a=123&a=456"
    assert url.copy_remove_param("a") == "https://example.org:123/"
    assert url.copy_merge_params({"b": "456"}) == "https://example.org:123/?a=123&b=456"
    assert url.copy_set_param("b", None) == "https://example.org:123/?a=123&b="
    assert str(url) == "https://example.org:123/?a=123"  # the original is unchanged


# --- join -------------------------------------------------------------------------------------

_RFC3986_BASE = "http://a/b/c/d;p?q"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        # RFC 3986 §5.4.1, normal examples
        ("g:h", "g:h"),
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../", "http://a/"),
        ("../../g", "http://a/g"),
        # RFC 3986 §5.4.2, abnormal examples
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("g?y/../x", "http://a/b/c/g?y/../x"),
        ("g#s/./x", "http://a/b/c/g#s/./x"),
        ("g#s/../x", "http://a/b/c/g#s/../x"),
        ("http:g", "http:g"),  # the strict reading
    ],
)
def test_join_rfc3986(reference: str, expected: str) -> None:
    assert URL(_RFC3986_BASE).join(reference) == expected
    assert URL(_RFC3986_BASE).join(URL(reference)) == expected


def test_join() -> None:
    url = URL("https://example.org:123/path/to/somewhere")
    assert url.join("/somewhere-else") == "https://example.org:123/somewhere-else"
    assert url.join("somewhere-else") == "https://example.org:123/path/to/somewhere-else"
    assert url.join("../somewhere-else") == "https://example.org:123/path/somewhere-else"
    assert url.join("../../somewhere-else") == "https://example.org:123/somewhere-else"
    assert url.join("//other.org:443/x") == "https://other.org/x"
    assert URL("https://example.com/?[]").join("/") == "https://example.com/"
    assert URL("https://example.com").join("a") == "https://example.com/a"


def test_join_relative_base() -> None:
    url = URL("/path/to/somewhere")
    assert url.join("/somewhere-else") == "/somewhere-else"
    assert url.join("somewhere-else") == "/path/to/somewhere-else"
    assert url.join("../somewhere-else") == "/path/somewhere-else"
    assert url.join("../../somewhere-else") == "/somewhere-else"


# --- comparison, hashing, str and repr --------------------------------------------------------


def test_equality() -> None:
    url = URL("https://example.org:123/path/to/somewhere?abc=123#anchor")
    assert url == "https://example.org:123/path/to/somewhere?abc=123#anchor"
    assert str(url) == url
    assert url == URL("HTTPS://EXAMPLE.org:123/path/to/somewhere?abc=123#anchor")
    assert url != URL("https://example.org:123/")
    assert url != "http://[not a url"
    assert url != 123
    assert url != QueryParams()


def test_hash() -> None:
    urls = {URL("http://example.org:80/path"), URL("http://EXAMPLE.org/path"), URL("http://x/")}
    assert len(urls) == 2
    assert hash(URL("http://a/b")) == hash(URL("HTTP://A:80/b"))


def test_repr_hides_the_password() -> None:
    assert (
        repr(URL("https://user:secret@example.org/")) == "URL('https://user:[secure]@example.org/')"
    )
    assert repr(URL("https://user@example.org/")) == "URL('https://user@example.org/')"
    assert str(URL("https://user:secret@example.org/")) == "https://user:secret@example.org/"


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org:123/path?q=1#f",
        "http:////double/slash",
        "file:///etc/hosts",
        "mailto:someone@example.com",
        "//host/path",
        "relative/path?x",
        "?only=query",
        "#only-fragment",
        "https://[::1]:8080/",
    ],
)
def test_str_round_trips(text: str) -> None:
    url = URL(text)
    assert URL(str(url)) == url
    assert str(URL(str(url))) == str(url)


def test_url_subclass_and_kwargs_pass_through() -> None:
    class MyURL(URL):
        pass

    url = MyURL("https://example.org/a")
    assert repr(url) == "MyURL('https://example.org/a')"
    assert URL(url) == url
    options: dict[str, Any] = {"path": "/b"}
    assert URL(url, **options) == "https://example.org/b"
