"""Authentication end to end: Basic, Bearer, Digest, netrc, functions and custom flows.

The test server checks the credentials for real (`/basic-auth`, `/bearer`, `/digest-auth`
verify what they receive), so a 200 here means the server accepted what zephyr computed.
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import zephyr
from zephyr.testing import TestServer

if TYPE_CHECKING:
    from client_helpers import ClientFactory

# The client_factory fixture (and recording_server) come from client_helpers.
pytest_plugins = ["client_helpers"]

# -- Basic ------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [("user", "pass"), zephyr.BasicAuth("user", "pass")])
def test_basic_auth(client_factory: ClientFactory, zephyr_server: TestServer, auth: object) -> None:
    client = client_factory()
    response = client.get(zephyr_server.url + "/basic-auth/user/pass", auth=auth)
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": "user"}
    expected = "Basic " + base64.b64encode(b"user:pass").decode()
    assert response.request.headers["Authorization"] == expected
    assert response.history == []  # Basic goes first time, no challenge needed


def test_basic_auth_non_ascii_credentials_are_utf8(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    response = client.get(
        zephyr_server.url + "/basic-auth/jürgen/pässwörd", auth=("jürgen", "pässwörd")
    )
    assert response.status_code == 200
    assert response.json()["user"] == "jürgen"


def test_basic_auth_wrong_password_is_401(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(auth=("user", "wrong"))
    response = client.get(zephyr_server.url + "/basic-auth/user/pass")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Fake Realm"'
    assert response.history == []  # Basic does not answer challenges: no second try
    with pytest.raises(zephyr.HTTPStatusError):
        response.raise_for_status()
    assert client.get(zephyr_server.url + "/basic-auth/user/pass", auth=None).status_code == 401


def test_credentials_in_the_url_become_basic_auth(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    host_and_port = zephyr_server.url.removeprefix("http://")
    response = client.get(f"http://user:pass@{host_and_port}/basic-auth/user/pass")
    assert response.status_code == 200
    # They go in the header, never in the request line.
    echoed = client.get(f"http://user:p%40ss@{host_and_port}/anything").json()
    assert echoed["headers"]["Authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert echoed["url"] == zephyr_server.url + "/anything"


def test_auth_argument_wins_over_credentials_in_the_url(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    host_and_port = zephyr_server.url.removeprefix("http://")
    url = f"http://wrong:creds@{host_and_port}/basic-auth/user/pass"
    assert client.get(url, auth=("user", "pass")).status_code == 200


def test_same_origin_redirect_keeps_basic_auth(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(auth=("user", "pass"), follow_redirects=True)
    response = client.get(zephyr_server.url + "/redirect-to?url=/basic-auth/user/pass")
    assert response.status_code == 200
    assert response.history[0].status_code == 302


# -- Bearer -----------------------------------------------------------------------------------


def test_bearer_auth(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(auth=zephyr.BearerAuth("abc.DEF-123_~+/=="))
    response = client.get(zephyr_server.url + "/bearer")
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "token": "abc.DEF-123_~+/=="}


def test_tutorial_hand_set_bearer_header(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    token = "my-secret-token"
    response = client.get(
        zephyr_server.url + "/bearer", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["token"] == token
    # Missing token: 401.
    missing = client.get(zephyr_server.url + "/bearer")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"


# -- Digest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithm",
    ["", "MD5", "SHA-256", "SHA-512", "MD5-sess", "SHA-256-sess", "SHA-512-sess"],
)
@pytest.mark.parametrize("qop", ["auth", "auth-int"])
def test_digest_auth(
    client_factory: ClientFactory, zephyr_server: TestServer, algorithm: str, qop: str
) -> None:
    client = client_factory()
    path = f"/digest-auth/{qop}/user/pass" + (f"/{algorithm}" if algorithm else "")
    auth = zephyr.DigestAuth("user", "pass")
    response = client.post(zephyr_server.url + path, content=b"signed body", auth=auth)
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": "user"}
    # The first attempt went without credentials and got the challenge.
    assert [r.status_code for r in response.history] == [401]
    challenge = response.history[0].headers["WWW-Authenticate"]
    assert challenge.startswith("Digest ")
    assert f"algorithm={algorithm or 'MD5'}" in challenge.replace('"', "")
    authorization = response.request.headers["Authorization"]
    assert authorization.startswith('Digest username="user"')
    assert f"qop={qop}" in authorization


def test_digest_wrong_password(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory(auth=zephyr.DigestAuth("user", "wrong"))
    response = client.get(zephyr_server.url + "/digest-auth/auth/user/pass")
    assert response.status_code == 401
    assert [r.status_code for r in response.history] == [401]  # tried once, then gave up


def test_digest_challenge_is_reused(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    sent: list[str] = []
    driver = client_factory(auth=zephyr.DigestAuth("user", "pass"))
    driver.client.event_hooks = {
        "request": [driver.hook(lambda request: sent.append(request.url.path))]
    }
    url = zephyr_server.url + "/digest-auth/auth/user/pass/SHA-256"
    first = driver.get(url)
    assert first.status_code == 200
    assert len(first.history) == 1
    assert len(sent) == 2
    second = driver.get(url)
    assert second.status_code == 200
    assert second.history == []  # credentials went with the first attempt
    assert len(sent) == 3
    assert "nc=00000002" in second.request.headers["Authorization"]


def test_digest_is_not_sent_on_a_request_without_a_challenge(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(auth=zephyr.DigestAuth("user", "pass"))
    echoed = client.get(zephyr_server.url + "/anything").json()
    assert "Authorization" not in echoed["headers"]


# -- FunctionAuth and custom Auth classes -----------------------------------------------------


def test_function_auth(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    def sign(request: zephyr.Request) -> zephyr.Request:
        request.headers["X-Signature"] = f"signed:{request.method}:{request.url.path}"
        return request

    client = client_factory()
    for auth in (sign, zephyr.FunctionAuth(sign)):
        echoed = client.get(zephyr_server.url + "/anything", auth=auth).json()
        assert echoed["headers"]["X-Signature"] == "signed:GET:/anything"


class RetryOnceWithBasic(zephyr.Auth):
    """Sends the request bare; on a 401, once more with Basic credentials."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def auth_flow(
        self, request: zephyr.Request
    ) -> Generator[zephyr.Request, zephyr.Response, None]:
        response = yield request
        self.statuses.append(response.status_code)
        if response.status_code == 401:
            request.headers["Authorization"] = "Basic " + base64.b64encode(b"u:p").decode()
            response = yield request
            self.statuses.append(response.status_code)


def test_custom_auth_flow_retries_on_401(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    auth = RetryOnceWithBasic()
    client = client_factory(auth=auth)
    response = client.get(zephyr_server.url + "/basic-auth/u/p")
    assert response.status_code == 200
    assert auth.statuses == [401, 200]
    assert [r.status_code for r in response.history] == [401]
    assert response.history[0].is_closed  # the challenge's body was read and released
    # No challenge, no retry.
    assert client.get(zephyr_server.url + "/get").status_code == 200
    assert auth.statuses == [401, 200, 200]


class TokenFromEndpoint(zephyr.Auth):
    """Fetches a token first (its response body needed), then sends the request with it."""

    requires_response_body = True

    def __init__(self, token_url: str) -> None:
        self.token_url = token_url

    def auth_flow(
        self, request: zephyr.Request
    ) -> Generator[zephyr.Request, zephyr.Response, None]:
        token_response = yield zephyr.Request("POST", self.token_url, json={"token": "fresh123"})
        token = token_response.json()["json"]["token"]
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


def test_auth_flow_reading_response_bodies(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    auth = TokenFromEndpoint(zephyr_server.url + "/post")
    response = client.get(zephyr_server.url + "/bearer", auth=auth)
    assert response.status_code == 200
    assert response.json()["token"] == "fresh123"
    assert [str(r.url) for r in response.history] == [zephyr_server.url + "/post"]


def test_auth_flow_without_requires_response_body_cannot_read_it(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    class Careless(TokenFromEndpoint):
        requires_response_body = False

    client = client_factory()
    with pytest.raises(zephyr.ResponseNotRead):
        client.get(zephyr_server.url + "/bearer", auth=Careless(zephyr_server.url + "/post"))
    assert client.get(zephyr_server.url + "/get").status_code == 200  # nothing left open


def test_per_request_auth_overrides_and_none_disables(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory(auth=("user", "wrong"))
    url = zephyr_server.url + "/basic-auth/user/pass"
    assert client.get(url).status_code == 401
    assert client.get(url, auth=("user", "pass")).status_code == 200
    assert client.get(url, auth=zephyr.USE_CLIENT_DEFAULT).status_code == 401
    echoed = client.get(zephyr_server.url + "/anything", auth=None).json()
    assert "Authorization" not in echoed["headers"]
    # A hand-set header is left alone when there is no auth.
    echoed = client.get(
        zephyr_server.url + "/anything", auth=None, headers={"Authorization": "Custom x"}
    ).json()
    assert echoed["headers"]["Authorization"] == "Custom x"


# -- netrc ------------------------------------------------------------------------------------


def test_netrc_auth(
    client_factory: ClientFactory, zephyr_server: TestServer, tmp_path: Path
) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1\nlogin user\npassword pass\n")
    client = client_factory(auth=zephyr.NetRCAuth(netrc_file))
    assert client.get(zephyr_server.url + "/basic-auth/user/pass").status_code == 200
    # RELIABILITY.md 5: only for the host contacted. localhost has no entry: no credentials.
    other = zephyr_server.url.replace("127.0.0.1", "localhost")
    echoed = client.get(other + "/anything").json()
    assert "Authorization" not in echoed["headers"]


def test_netrc_default_entry(
    client_factory: ClientFactory, zephyr_server: TestServer, tmp_path: Path
) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(
        "machine example.com login other password secret\ndefault login user password pass\n"
    )
    client = client_factory(auth=zephyr.NetRCAuth(str(netrc_file)))
    other = zephyr_server.url.replace("127.0.0.1", "localhost")
    assert client.get(other + "/basic-auth/user/pass").status_code == 200


def test_netrc_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        zephyr.NetRCAuth(tmp_path / "absent")
