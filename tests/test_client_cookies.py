"""Cookies end to end: the client's jar fills from responses and goes back to the right hosts.

`127.0.0.1` and `localhost` are two hosts of the same test server, which is how host-only
rules are checked over real sockets (RELIABILITY.md 19). Rules that need real domain names
(example.com and pythonicexample.com) use a MockTransport, since the jar is the client's own
logic whatever the transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory

# The client_factory fixture (and recording_server) come from client_helpers.
pytest_plugins = ["client_helpers"]


def other_host(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


def cookies_seen(driver: object, url: str) -> dict[str, str]:
    """What the test server's /cookies says the client sent."""
    seen: dict[str, str] = driver.get(url + "/cookies").json()["cookies"]  # type: ignore[attr-defined]
    return seen


# -- the jar ----------------------------------------------------------------------------------


def test_set_cookies_are_persisted_and_sent_back(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/cookies/set", params={"a": "1", "b": "two"})
    assert response.status_code == 302  # not followed: the jar fills anyway
    assert dict(response.cookies) == {"a": "1", "b": "two"}
    assert client.client.cookies["a"] == "1"
    assert client.client.cookies["b"] == "two"
    assert cookies_seen(client, zephyr_server.url) == {"a": "1", "b": "two"}


def test_following_the_set_cookie_redirect(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    response = client.get(zephyr_server.url + "/cookies/set/flavour/oat")
    assert response.json() == {"cookies": {"flavour": "oat"}}
    assert response.history[0].cookies["flavour"] == "oat"


def test_cookies_delete(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(follow_redirects=True)
    client.get(zephyr_server.url + "/cookies/set?keep=1&drop=2")
    response = client.get(zephyr_server.url + "/cookies/delete?drop")
    assert response.json() == {"cookies": {"keep": "1"}}
    assert "drop" not in client.client.cookies
    assert dict(client.client.cookies) == {"keep": "1"}


def test_per_request_cookies_are_sent_but_not_kept(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    echoed = client.get(zephyr_server.url + "/cookies", cookies={"once": "1"}).json()
    assert echoed == {"cookies": {"once": "1"}}
    assert "once" not in client.client.cookies
    assert cookies_seen(client, zephyr_server.url) == {}


def test_client_cookies_go_to_every_host(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # Cookies given by hand, without a domain, are the user's own: sent wherever the client goes.
    client = client_factory(cookies={"mine": "x"})
    assert cookies_seen(client, zephyr_server.url) == {"mine": "x"}
    assert cookies_seen(client, other_host(zephyr_server.url)) == {"mine": "x"}
    client.client.cookies.clear()
    assert cookies_seen(client, zephyr_server.url) == {}


# -- host-only and domain rules (RELIABILITY.md 19) --------------------------------------------


def test_host_only_cookies_stay_on_their_host(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    ip_url, name_url = zephyr_server.url, other_host(zephyr_server.url)
    client.get(ip_url + "/cookies/set?from_ip=1")
    client.get(name_url + "/cookies/set?from_name=2")
    assert cookies_seen(client, ip_url) == {"from_ip": "1"}
    assert cookies_seen(client, name_url) == {"from_name": "2"}


def test_same_name_on_two_hosts_is_a_conflict(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    client.get(zephyr_server.url + "/cookies/set?token=ip")
    client.get(other_host(zephyr_server.url) + "/cookies/set?token=name")
    assert cookies_seen(client, zephyr_server.url) == {"token": "ip"}
    assert cookies_seen(client, other_host(zephyr_server.url)) == {"token": "name"}
    with pytest.raises(zephyr.CookieConflict):
        client.client.cookies["token"]
    assert client.client.cookies.get("token", domain="127.0.0.1") == "ip"


def test_redirect_to_another_host_does_not_carry_the_cookies(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    client.get(zephyr_server.url + "/cookies/set?here=1")
    response = client.get(
        zephyr_server.url + "/redirect-to",
        params={"url": other_host(zephyr_server.url) + "/cookies"},
    )
    assert response.json() == {"cookies": {}}
    assert response.history[0].request.headers["Cookie"] == "here=1"


def test_cookie_for_another_domain_is_refused(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(
        other_host(zephyr_server.url) + "/response-headers",
        params={"Set-Cookie": "evil=1; Domain=example.com; Path=/"},
    )
    assert response.headers["Set-Cookie"].startswith("evil=1")
    assert "evil" not in client.client.cookies
    assert len(client.client.cookies.jar) == 0


def test_secure_cookies_only_over_https(
    client_factory: ClientFactory, zephyr_server: TestServer, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(verify=zephyr_tls_server.ca_path)
    client.get(zephyr_tls_server.url + "/cookies/set?secret=s")  # set with `Secure`
    client.get(zephyr_server.url + "/cookies/set?plain=p")
    assert cookies_seen(client, zephyr_tls_server.url) == {"secret": "s", "plain": "p"}
    assert cookies_seen(client, zephyr_server.url) == {"plain": "p"}


def test_domain_cookies_and_lookalike_hosts(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 19 (CPython CVE-2018-20852): example.com's cookie never goes to
    # pythonicexample.com; a Domain cookie goes to subdomains, a host-only one does not.
    def handler(request: zephyr.Request) -> zephyr.Response:
        if request.url.path == "/login":
            return zephyr.Response(
                200,
                headers=[
                    ("Set-Cookie", "domain_wide=1; Domain=example.com; Path=/"),
                    ("Set-Cookie", "host_only=2; Path=/"),
                ],
            )
        return zephyr.Response(200, json={"cookie": request.headers.get("Cookie")})

    client = client_factory(transport=zephyr.MockTransport(handler))
    client.get("http://example.com/login")

    def sent_to(url: str) -> str | None:
        cookie: str | None = client.get(url).json()["cookie"]
        return cookie

    assert sent_to("http://example.com/") in (
        "domain_wide=1; host_only=2",
        "host_only=2; domain_wide=1",
    )
    assert sent_to("http://www.example.com/") == "domain_wide=1"
    assert sent_to("http://pythonicexample.com/") is None
    assert sent_to("http://example.com.evil.test/") is None


# -- cookies set on the way: auth challenges and redirects ------------------------------------


def test_cookie_set_by_a_digest_challenge_is_kept_and_sent(client_factory: ClientFactory) -> None:
    heads: list[bytes] = []

    def script(conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            heads.append(request[0])
            if b"authorization:" not in request[0].lower():
                conn.send(
                    b"HTTP/1.1 401 Unauthorized\r\n"
                    b'WWW-Authenticate: Digest realm="r", nonce="abc", qop="auth"\r\n'
                    b"Set-Cookie: challenge=c1; Path=/\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            else:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with ScriptedServer(script) as server:
        driver = client_factory(auth=zephyr.DigestAuth("user", "pass"))
        response = driver.get(server.url + "protected")
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        assert driver.client.cookies["challenge"] == "c1"
        assert b"\r\ncookie: challenge=c1\r\n" in heads[1].lower()  # the retry carried it
        driver.get(server.url + "later")
        assert b"\r\ncookie: challenge=c1\r\n" in heads[2].lower()
        driver.close()


def test_cookie_set_by_a_401_is_kept(client_factory: ClientFactory) -> None:
    class RetryOnce(zephyr.Auth):
        def auth_flow(self, request: zephyr.Request):  # type: ignore[no-untyped-def]
            response = yield request
            if response.status_code == 401:
                yield request

    def script(conn: ScriptedConnection) -> None:
        while conn.read_request() is not None:
            conn.send(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n"
                b"Set-Cookie: seen=yes; Path=/\r\nContent-Length: 0\r\n\r\n"
            )

    with ScriptedServer(script) as server:
        driver = client_factory(auth=RetryOnce())
        response = driver.get(server.url)
        assert response.status_code == 401
        assert len(response.history) == 1
        assert driver.client.cookies["seen"] == "yes"
        driver.close()


def test_cookie_set_by_an_unfollowed_redirect_is_kept(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/cookies/set?via=redirect")
    assert response.has_redirect_location
    assert response.next_request is not None
    assert response.next_request.headers["Cookie"] == "via=redirect"
    assert client.send(response.next_request).json() == {"cookies": {"via": "redirect"}}
