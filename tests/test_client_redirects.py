"""Redirects end to end: following them, rewriting the method and body, and never carrying
credentials to another origin (RELIABILITY.md 1-4).

Two origins on one machine: the test server answers on both `127.0.0.1` and `localhost`
(another host, same port), and the recording server listens on another port. What the
server received is read from its echo (`/anything`) or, on the recording server, from the
request head itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

import zephyr
from scripted_server import ScriptedServer, keep_alive_server
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory, RecordingServer

# The client_factory fixture (and recording_server) come from client_helpers.

pytest_plugins = ["client_helpers"]


def one_shot_body(driver: Any, chunks: list[bytes]) -> Any:
    """A body that can be iterated once, of the driver's colour (HTTPX's AsyncClient, like
    ours, takes only async iterables as streaming bodies)."""
    if driver.is_async:

        async def produce() -> Any:
            for chunk in chunks:
                yield chunk

        return produce()
    return (chunk for chunk in chunks)


CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


def redirect_to(base: str, target: str, status: int = 302) -> str:
    """A test-server URL that answers `status` with `Location: target`."""
    return f"{base}/redirect-to?" + urlencode({"url": target, "status_code": status})


def other_host(url: str) -> str:
    """The same server under its other name: 127.0.0.1 <-> localhost (another origin)."""
    return url.replace("127.0.0.1", "localhost")


def credentials() -> list[tuple[str, str]]:
    return [
        ("Authorization", "Bearer secret-token"),
        ("Cookie", "session=secret"),
        ("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0"),
    ]


# -- not following --------------------------------------------------------------------------


def test_redirects_are_not_followed_by_default(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/redirect/2")
    assert response.status_code == 302
    assert response.is_redirect
    assert response.has_redirect_location
    assert response.headers["Location"] == "/relative-redirect/1"
    assert response.history == []
    next_request = response.next_request
    assert next_request is not None
    assert next_request.method == "GET"
    assert next_request.url == zephyr.URL(zephyr_server.url + "/relative-redirect/1")
    # Following by hand, one hop at a time.
    second = client.send(next_request)
    assert second.status_code == 302
    assert second.next_request is not None
    final = client.send(second.next_request)
    assert final.status_code == 200
    assert final.next_request is None
    assert not final.has_redirect_location


def test_a_non_redirect_3xx_has_no_next_request(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    response = client.get(zephyr_server.url + "/status/304")
    assert response.status_code == 304
    assert not response.has_redirect_location
    assert response.next_request is None
    assert response.history == []


# -- following ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "hops"),
    [
        ("/redirect/3", ["/redirect/3", "/relative-redirect/2", "/relative-redirect/1"]),
        (
            "/redirect/2?absolute=true",
            ["/redirect/2?absolute=true", "/absolute-redirect/1"],
        ),
        (
            "/relative-redirect/3",
            ["/relative-redirect/3", "/relative-redirect/2", "/relative-redirect/1"],
        ),
        (
            "/absolute-redirect/3",
            ["/absolute-redirect/3", "/absolute-redirect/2", "/absolute-redirect/1"],
        ),
    ],
)
def test_following_redirects(
    client_factory: ClientFactory, zephyr_server: TestServer, path: str, hops: list[str]
) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + path, follow_redirects=True)
    assert response.status_code == 200
    assert response.url == zephyr.URL(zephyr_server.url + "/get")
    assert response.json()["url"] == zephyr_server.url + "/get"
    assert [str(r.url) for r in response.history] == [zephyr_server.url + hop for hop in hops]
    assert [r.status_code for r in response.history] == [302] * len(hops)
    # Each earlier response lists the ones before it; the last hop's request is the final one.
    assert [len(r.history) for r in response.history] == list(range(len(hops)))
    assert response.request.url == response.url


def test_client_follow_redirects_and_the_per_request_override(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    assert client.get(zephyr_server.url + "/redirect/1").status_code == 200
    assert client.get(zephyr_server.url + "/redirect/1", follow_redirects=False).status_code == 302
    with client.stream("GET", zephyr_server.url + "/redirect/2") as streamed:
        assert streamed.response.status_code == 200
        assert len(streamed.response.history) == 2
        assert streamed.response.url == zephyr.URL(zephyr_server.url + "/get")


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_becomes_get_without_its_body(
    client_factory: ClientFactory, zephyr_server: TestServer, status: int
) -> None:
    # RELIABILITY.md 3 (urllib3 CVE-2023-45803): no body, and none of its headers.
    client = client_factory(follow_redirects=True)
    url = redirect_to(zephyr_server.url, "/anything", status)
    response = client.post(url, json={"secret": "body"})
    echoed = response.json()
    assert echoed["method"] == "GET"
    assert echoed["data"] == ""
    for name in ("Content-Length", "Transfer-Encoding", "Content-Type"):
        assert name not in echoed["headers"]
    assert response.history[0].request.method == "POST"
    assert response.request.method == "GET"


@pytest.mark.parametrize("status", [301, 302, 303])
def test_chunked_post_becomes_get_without_transfer_encoding(
    client_factory: ClientFactory, zephyr_server: TestServer, status: int
) -> None:
    client = client_factory(follow_redirects=True)
    body = one_shot_body(client, [b"one-shot ", b"chunks"])
    response = client.post(redirect_to(zephyr_server.url, "/anything", status), content=body)
    echoed = response.json()
    assert echoed["method"] == "GET"
    assert echoed["data"] == ""
    assert "Transfer-Encoding" not in echoed["headers"]
    assert "Content-Length" not in echoed["headers"]


def test_other_methods_on_301_302_303(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # As HTTPX and browsers: 302 and 303 make every method but HEAD a GET; 301 only POST.
    client = client_factory(follow_redirects=True)
    url = zephyr_server.url

    def method_after(method: str, status: int) -> tuple[str, str]:
        echoed = client.request(
            method, redirect_to(url, "/anything", status), content=b"payload"
        ).json()
        return echoed["method"], echoed["data"]

    assert method_after("PUT", 301) == ("PUT", "payload")
    assert method_after("PUT", 302) == ("GET", "")
    assert method_after("DELETE", 303) == ("GET", "")
    head = client.head(redirect_to(url, "/anything", 302))
    assert head.status_code == 200
    assert head.request.method == "HEAD"
    assert head.history[0].status_code == 302


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_the_method_and_body(
    client_factory: ClientFactory, zephyr_server: TestServer, status: int
) -> None:
    client = client_factory(follow_redirects=True)
    url = redirect_to(zephyr_server.url, "/anything", status)
    echoed = client.post(url, json={"keep": "me"}).json()
    assert echoed["method"] == "POST"
    assert echoed["json"] == {"keep": "me"}
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["headers"]["Content-Length"] == str(len(echoed["data"]))
    echoed = client.put(url, content=b"raw bytes").json()
    assert (echoed["method"], echoed["data"]) == ("PUT", "raw bytes")
    echoed = client.patch(url, data={"form": "field"}).json()
    assert (echoed["method"], echoed["form"]) == ("PATCH", {"form": "field"})


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_resend_a_multipart_body(
    client_factory: ClientFactory, zephyr_server: TestServer, status: int
) -> None:
    client = client_factory(follow_redirects=True)
    url = redirect_to(zephyr_server.url, "/anything", status)
    echoed = client.post(url, files={"f": ("a.txt", b"file body")}, data={"k": "v"}).json()
    assert echoed["method"] == "POST"
    assert echoed["files"] == {"f": "file body"}
    assert echoed["form"] == {"k": "v"}


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_resend_a_file_body(
    client_factory: ClientFactory, zephyr_server: TestServer, tmp_path: Path, status: int
) -> None:
    # A file can seek back to where it started: it is sent again, whole.
    path = tmp_path / "upload.txt"
    path.write_bytes(b"header line\n" + b"x" * 100_000)
    client = client_factory(follow_redirects=True)
    if client.is_async:
        pytest.skip("file objects are sync bodies: the async client takes async iterables")
    url = redirect_to(zephyr_server.url, "/anything", status)
    with path.open("rb") as file:
        file.readline()  # the body starts after the first line
        echoed = client.post(url, content=file).json()
    assert echoed["method"] == "POST"
    assert echoed["data"] == "x" * 100_000
    with path.open("rb") as file:
        echoed = client.post(url, files={"upload": file}).json()
    assert echoed["files"] == {"upload": path.read_text()}


def test_one_shot_body_on_307_is_a_clear_error(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    body = one_shot_body(client, [b"can ", b"only ", b"be read once"])
    with pytest.raises(zephyr.StreamConsumed):
        client.post(redirect_to(zephyr_server.url, "/anything", 307), content=body)
    # Nothing was left half-open: the client goes on working.
    assert client.get(zephyr_server.url + "/get").status_code == 200


# -- limits and bad redirects ---------------------------------------------------------------


def test_too_many_redirects(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(follow_redirects=True, max_redirects=3)
    assert len(client.get(zephyr_server.url + "/redirect/3").history) == 3
    with pytest.raises(zephyr.TooManyRedirects) as info:
        client.get(zephyr_server.url + "/redirect/4")
    assert info.value.request.url == zephyr.URL(zephyr_server.url + "/get")
    assert client.get(zephyr_server.url + "/redirect/4", follow_redirects=False).status_code == 302


def test_max_redirects_zero(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(follow_redirects=True, max_redirects=0)
    assert client.get(zephyr_server.url + "/get").status_code == 200
    with pytest.raises(zephyr.TooManyRedirects):
        client.get(zephyr_server.url + "/redirect/1")


def test_default_redirect_limit_is_20(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    assert client.client.max_redirects == 20
    assert len(client.get(zephyr_server.url + "/redirect/20").history) == 20
    with pytest.raises(zephyr.TooManyRedirects):
        client.get(zephyr_server.url + "/redirect/21")


def test_redirect_loop_ends_with_too_many_redirects(client_factory: ClientFactory) -> None:
    loop = b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"
    with ScriptedServer(keep_alive_server(loop)) as server:
        client = client_factory(follow_redirects=True, max_redirects=5)
        with pytest.raises(zephyr.TooManyRedirects):
            client.get(server.url + "loop")
        assert server.accepted == 1  # every hop went over the one connection
        client.close()


def test_malformed_location_is_a_protocol_error(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    with pytest.raises(zephyr.RemoteProtocolError) as info:
        client.get(redirect_to(zephyr_server.url, "http://127.0.0.1:99999/x"))
    assert isinstance(info.value, zephyr.ProtocolError)
    assert client.get(zephyr_server.url + "/get").status_code == 200


def test_redirect_to_an_unsupported_scheme(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    with pytest.raises(zephyr.UnsupportedProtocol):
        client.get(redirect_to(zephyr_server.url, "ftp://127.0.0.1/file.txt"))


def test_cookies_persist_across_redirects(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    # /cookies/set sets the cookie on its 302, which leads to /cookies: the next hop sends it.
    response = client.get(zephyr_server.url + "/cookies/set", params={"flavour": "oat"})
    assert response.json() == {"cookies": {"flavour": "oat"}}
    assert response.history[0].status_code == 302
    assert client.client.cookies["flavour"] == "oat"


# -- RELIABILITY.md 1-2: credentials never follow a redirect to another origin ----------------


def test_cross_host_redirect_drops_credentials(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    target = other_host(zephyr_server.url) + "/anything"
    response = client.get(redirect_to(zephyr_server.url, target), headers=credentials())
    echoed = response.json()
    assert echoed["url"] == target
    for name in CREDENTIAL_HEADERS:
        assert name not in echoed["headers"]
    assert echoed["headers"]["Host"] == target.split("/")[2]
    # They did go to the first origin.
    first_request = response.history[0].request
    assert all(name in first_request.headers for name in CREDENTIAL_HEADERS)


def test_cross_host_redirect_drops_auth_from_auth_argument(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True, auth=("user", "pass"))
    target = other_host(zephyr_server.url) + "/anything"
    echoed = client.get(redirect_to(zephyr_server.url, target)).json()
    assert "Authorization" not in echoed["headers"]


def test_cross_host_redirect_drops_auth_from_url_credentials_and_netrc(
    client_factory: ClientFactory, zephyr_server: TestServer, tmp_path: Path
) -> None:
    target = other_host(zephyr_server.url) + "/anything"
    with_userinfo = zephyr_server.url.replace("http://", "http://user:pass@")
    client = client_factory(follow_redirects=True)
    echoed = client.get(redirect_to(with_userinfo, target)).json()
    assert "Authorization" not in echoed["headers"]
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login user password pass\n")
    client = client_factory(follow_redirects=True, auth=zephyr.NetRCAuth(netrc_file))
    response = client.get(redirect_to(zephyr_server.url, target))
    assert "Authorization" in response.history[0].request.headers
    assert "Authorization" not in response.json()["headers"]


def test_cross_host_redirect_drops_every_copy_of_a_repeated_header(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    headers = [
        *credentials(),
        ("Authorization", "Basic second-copy"),
        ("Cookie", "other=secret"),
        ("Proxy-Authorization", "Basic second-copy"),
    ]
    target = other_host(zephyr_server.url) + "/anything"
    echoed = client.get(redirect_to(zephyr_server.url, target), headers=headers).json()
    for name in CREDENTIAL_HEADERS:
        assert name not in echoed["headers"]


def test_cross_port_redirect_drops_credentials(
    client_factory: ClientFactory, zephyr_server: TestServer, recording_server: RecordingServer
) -> None:
    client = client_factory(follow_redirects=True, auth=("user", "pass"))
    target = recording_server.url + "elsewhere"
    headers = [*credentials()[1:], ("Cookie", "twice=1"), ("X-Harmless", "kept")]
    response = client.get(redirect_to(zephyr_server.url, target, 307), headers=headers)
    assert response.text == "ok"
    assert recording_server.heads[0].startswith(b"GET /elsewhere HTTP/1.1\r\n")
    for name in CREDENTIAL_HEADERS:
        assert recording_server.header_values(name) == []
    assert recording_server.header_values("X-Harmless") == ["kept"]
    assert recording_server.header_values("Host") == [recording_server.url.split("/")[2]]


def test_https_to_http_redirect_drops_credentials(
    client_factory: ClientFactory,
    zephyr_tls_server: TestServer,
    recording_server: RecordingServer,
) -> None:
    client = client_factory(follow_redirects=True, verify=zephyr_tls_server.ca_path)
    target = recording_server.url + "downgraded"
    response = client.get(redirect_to(zephyr_tls_server.url, target), headers=credentials())
    assert response.text == "ok"
    for name in CREDENTIAL_HEADERS:
        assert recording_server.header_values(name) == []


def test_stripped_credentials_stay_stripped(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    # RELIABILITY.md 2 (Go CVE-2024-45336): a.com -> b.com -> b.com, and back to a.com.
    client = client_factory(follow_redirects=True, auth=("user", "pass"))
    a, b = zephyr_server.url, other_host(zephyr_server.url)
    chain = redirect_to(a, redirect_to(b, "/anything"))  # a -> b, then b -> b (relative)
    response = client.get(chain, headers=credentials()[1:])
    echoed = response.json()
    assert echoed["url"] == b + "/anything"
    assert len(response.history) == 2
    for name in CREDENTIAL_HEADERS:
        assert name not in echoed["headers"]
    back_home = redirect_to(a, redirect_to(b, a + "/anything"))  # a -> b -> a
    echoed = client.get(back_home, headers=credentials()).json()
    assert echoed["url"] == a + "/anything"
    for name in CREDENTIAL_HEADERS:
        assert name not in echoed["headers"]


def test_same_origin_redirect_keeps_authorization(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    url = redirect_to(zephyr_server.url, "/anything")
    echoed = client.get(url, headers=credentials()).json()
    assert echoed["headers"]["Authorization"] == "Bearer secret-token"
    assert echoed["headers"]["Proxy-Authorization"] == "Basic cHJveHk6c2VjcmV0"
    # A hand-set Cookie header is not carried (HTTPX: the jar decides what a hop sends) ...
    assert "Cookie" not in echoed["headers"]
    # ... and an absolute Location to the same origin is the same origin.
    url = redirect_to(zephyr_server.url, zephyr_server.url + "/basic-auth/u/p")
    assert client.get(url, auth=("u", "p")).status_code == 200


def test_jar_cookies_follow_a_same_origin_redirect(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(follow_redirects=True)
    client.get(zephyr_server.url + "/cookies/set?jarred=1")
    echoed = client.get(redirect_to(zephyr_server.url, "/cookies")).json()
    assert echoed == {"cookies": {"jarred": "1"}}


def test_http_to_https_on_the_same_host_keeps_credentials(client_factory: ClientFactory) -> None:
    # RELIABILITY.md 1: an upgrade of the same host on the default ports keeps them; the same
    # upgrade across other ports is a change of origin. (The real-socket version, which needs
    # ports 80 and 443, is test_http_to_https_upgrade_on_ports_80_and_443 below.)
    def handler(request: zephyr.Request) -> zephyr.Response:
        if request.url.scheme == "http":
            location = str(request.url.copy_with(scheme="https", port=request.url.port and 8443))
            return zephyr.Response(301, headers={"Location": location})
        seen = {name: request.headers.get(name) for name in CREDENTIAL_HEADERS}
        return zephyr.Response(200, json=seen)

    client = client_factory(transport=zephyr.MockTransport(handler), follow_redirects=True)
    kept = client.get("http://example.com/", headers=credentials()[::2]).json()
    assert kept == {
        "Authorization": "Bearer secret-token",
        "Cookie": None,
        "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
    }
    other_ports = client.get("http://example.com:8080/", headers=credentials()).json()
    assert other_ports == dict.fromkeys(CREDENTIAL_HEADERS)
    downgrade = zephyr.MockTransport(
        lambda request: (
            zephyr.Response(302, headers={"Location": "http://example.com/"})
            if request.url.scheme == "https"
            else zephyr.Response(200, json=dict(request.headers))
        )
    )
    client = client_factory(transport=downgrade, follow_redirects=True)
    echoed = client.get("https://example.com/", headers=credentials()).json()
    assert not {name.lower() for name in CREDENTIAL_HEADERS} & set(echoed)


@pytest.fixture
def servers_on_80_and_443() -> Iterator[tuple[TestServer, TestServer]]:
    try:
        plain = TestServer(host="127.0.0.1", port=80).start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"cannot listen on port 80 here ({exc}); the MockTransport test covers it")
    try:
        secure = TestServer(tls=True, host="127.0.0.1", port=443).start()
    except (OSError, RuntimeError) as exc:
        plain.stop()
        pytest.skip(f"cannot listen on port 443 here ({exc})")
    yield plain, secure
    plain.stop()
    secure.stop()


def test_http_to_https_upgrade_on_ports_80_and_443(
    client_factory: ClientFactory, servers_on_80_and_443: tuple[TestServer, TestServer]
) -> None:
    _plain, secure = servers_on_80_and_443
    driver = client_factory(follow_redirects=True, verify=secure.ca_path)
    try:
        url = redirect_to("http://localhost", "https://localhost/anything", 301)
        response = driver.get(url, headers=credentials())
        echoed = response.json()
        assert echoed["url"] == "https://localhost/anything"
        assert echoed["headers"]["Authorization"] == "Bearer secret-token"
        assert echoed["headers"]["Proxy-Authorization"] == "Basic cHJveHk6c2VjcmV0"
    finally:
        driver.close()  # before the TLS server stops: it waits for its open connections
