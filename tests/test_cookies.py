from http.cookiejar import CookieJar

import pytest

import zephyr


def response_setting(url: str, *set_cookies: str) -> zephyr.Response:
    return zephyr.Response(
        200,
        headers=[("Set-Cookie", value) for value in set_cookies],
        request=zephyr.Request("GET", url),
    )


def cookie_header_for(cookies: zephyr.Cookies, url: str) -> str | None:
    request = zephyr.Request("GET", url)
    cookies.set_cookie_header(request)
    return request.headers.get("cookie")


def test_mapping_interface() -> None:
    cookies = zephyr.Cookies({"a": "1"})
    cookies["b"] = "2"
    assert cookies["a"] == "1"
    assert cookies.get("b") == "2"
    assert cookies.get("missing", "x") == "x"
    assert len(cookies) == 2
    assert sorted(cookies) == ["a", "b"]
    assert bool(cookies)
    del cookies["a"]
    assert "a" not in cookies
    with pytest.raises(KeyError):
        _ = cookies["a"]
    with pytest.raises(KeyError):
        del cookies["a"]
    assert not zephyr.Cookies()


def test_constructors() -> None:
    jar = CookieJar()
    assert zephyr.Cookies(jar).jar is jar
    from_list = zephyr.Cookies([("a", "1"), ("b", "2")])
    assert dict(from_list) == {"a": "1", "b": "2"}
    copy = zephyr.Cookies(from_list)
    copy["c"] = "3"
    assert "c" not in from_list
    with pytest.raises(TypeError, match="cookies must be"):
        zephyr.Cookies("a=1")  # type: ignore[arg-type]


def test_conflict_needs_a_domain() -> None:
    cookies = zephyr.Cookies()
    cookies.set("name", "one", domain="a.example")
    cookies.set("name", "two", domain="b.example")
    with pytest.raises(zephyr.CookieConflict, match="name"):
        cookies.get("name")
    assert cookies.get("name", domain="b.example") == "two"


def test_delete_and_clear() -> None:
    cookies = zephyr.Cookies()
    cookies.set("a", "1", domain="x.example")
    cookies.set("a", "2", domain="y.example")
    cookies.set("b", "3", domain="y.example", path="/p")
    cookies.delete("a", domain="x.example")
    assert cookies.get("a") == "2"
    cookies.clear(domain="y.example", path="/p")
    assert cookies.get("b") is None
    cookies.clear("y.example")
    assert len(cookies) == 0
    cookies.set("c", "4")
    cookies.clear()
    assert len(cookies) == 0
    with pytest.raises(ValueError, match="domain"):
        cookies.clear(path="/")


def test_update() -> None:
    cookies = zephyr.Cookies({"a": "1"})
    cookies.update({"b": "2"})
    assert dict(cookies) == {"a": "1", "b": "2"}


def test_repr() -> None:
    cookies = zephyr.Cookies()
    cookies.set("a", "1", domain="example.org")
    assert repr(cookies) == "<Cookies[<Cookie a=1 for example.org />]>"  # as HTTPX


def test_extract_from_response_and_send_back() -> None:
    cookies = zephyr.Cookies()
    cookies.extract_cookies(response_setting("https://example.org/", "session=abc; Path=/"))
    assert cookies["session"] == "abc"
    assert cookie_header_for(cookies, "https://example.org/other") == "session=abc"


def test_user_set_cookie_without_domain_goes_everywhere() -> None:
    cookies = zephyr.Cookies({"token": "t"})
    assert cookie_header_for(cookies, "https://a.example/") == "token=t"
    assert cookie_header_for(cookies, "https://b.example/") == "token=t"


def test_host_only_cookie_stays_on_its_host() -> None:
    # RELIABILITY.md 19: a cookie without a Domain attribute is host-only (RFC 6265 §5.3).
    cookies = zephyr.Cookies()
    cookies.extract_cookies(response_setting("https://example.com/", "h=1; Path=/"))
    assert cookie_header_for(cookies, "https://example.com/") == "h=1"
    assert cookie_header_for(cookies, "https://sub.example.com/") is None


def test_domain_cookie_goes_to_subdomains_but_not_lookalikes() -> None:
    # RELIABILITY.md 19: CPython CVE-2018-20852 — example.com's cookie never reaches
    # pythonicexample.com.
    cookies = zephyr.Cookies()
    cookies.extract_cookies(response_setting("https://example.com/", "d=1; Domain=example.com"))
    assert cookie_header_for(cookies, "https://www.example.com/") == "d=1"
    assert cookie_header_for(cookies, "https://pythonicexample.com/") is None


def test_secure_cookie_only_over_https() -> None:
    cookies = zephyr.Cookies()
    cookies.extract_cookies(response_setting("https://example.com/", "s=1; Secure; Path=/"))
    assert cookie_header_for(cookies, "https://example.com/") == "s=1"
    assert cookie_header_for(cookies, "http://example.com/") is None


def test_path_scoping() -> None:
    cookies = zephyr.Cookies()
    cookies.extract_cookies(response_setting("https://example.com/api/x", "p=1; Path=/api"))
    assert cookie_header_for(cookies, "https://example.com/api/y") == "p=1"
    assert cookie_header_for(cookies, "https://example.com/other") is None


def test_a_hand_set_cookie_header_is_not_overwritten() -> None:
    cookies = zephyr.Cookies({"a": "1"})
    request = zephyr.Request("GET", "https://example.org/", headers={"Cookie": "mine=1"})
    cookies.set_cookie_header(request)
    assert request.headers["cookie"] == "mine=1"
