"""One walk through the HTTPX tutorial (docs: "A guide to HTTPX"), as its reader would write it.

Every example is written the way an HTTPX user writes it, with `import zephyr as httpx`, and
runs against the local test server instead of httpbin.org. Where the tutorial is wrong about
HTTPX (it says there is no default timeout; HTTPX has 5 s), HTTPX's real behaviour is what is
checked. The client-level examples run on `Client` and `AsyncClient` alike (client_factory);
the async sections run the tutorial's own asyncio code. The behaviour behind each example is
tested in depth elsewhere (test_client_basics, test_client_auth, test_client_timeouts, ...).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any, Protocol

import pytest

import zephyr as httpx
from zephyr.testing import TestServer

# The client_factory fixture comes from client_helpers.
pytest_plugins = ["client_helpers"]


class Driver(Protocol):
    """The part of client_helpers' drivers these tests call (a `Client` or an `AsyncClient`
    behind blocking methods), spelled out here so that mypy need not check client_helpers."""

    is_async: bool

    def get(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def post(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def put(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def delete(self, url: str, **kwargs: Any) -> httpx.Response: ...
    def close(self) -> None: ...


ClientFactory = Callable[..., Driver]


# -- Getting started --------------------------------------------------------------------------


def test_getting_started_get_request(zephyr_server: TestServer) -> None:
    # client.py: a function that GETs a test endpoint and prints what the server saw.
    def fetch_data() -> dict[str, Any]:
        response = httpx.get(f"{zephyr_server.url}/get")
        data: dict[str, Any] = response.json()
        return data

    data = fetch_data()
    assert data["url"] == f"{zephyr_server.url}/get"
    assert data["origin"] == "127.0.0.1"
    # The headers HTTPX sends by default (Accept-Encoding lists what is installed).
    sent = data["headers"]
    assert sent["Accept"] == "*/*"
    assert sent["Connection"] == "keep-alive"
    assert sent["User-Agent"] == f"python-zephyr/{httpx.__version__}"
    assert {"gzip", "deflate"} <= {coding.strip() for coding in sent["Accept-Encoding"].split(",")}


# -- Understanding HTTPX response objects -----------------------------------------------------


def test_response_objects(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.get(f"{zephyr_server.url}/get")

    assert repr(response) == "<Response [200 OK]>"
    assert response.status_code == 200
    assert response.status_code == httpx.codes.OK
    # Headers: a case-insensitive mapping with the content type and the server.
    assert isinstance(response.headers, httpx.Headers)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["content-type"] == "application/json"
    assert "server" in response.headers
    assert dict(response.headers)["content-type"] == "application/json"
    # Content: the body as text, and as JSON.
    assert isinstance(response.text, str)
    assert response.text.startswith("{")
    body = response.json()
    assert isinstance(body, dict)
    assert body["url"] == f"{zephyr_server.url}/get"
    assert set(body) >= {"args", "headers", "origin", "url"}
    # raise_for_status() returns the response itself when it succeeded.
    assert response.raise_for_status() is response


# -- Understanding basic request methods ------------------------------------------------------


def test_post_put_and_delete(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()

    # POST with JSON: the server echoes it back, sent as application/json.
    todo = {"title": "Learn HTTPX", "completed": False}
    created = client.post(f"{zephyr_server.url}/post", json=todo)
    assert created.status_code == 200
    assert created.json()["json"] == todo
    assert created.json()["headers"]["Content-Type"] == "application/json"
    assert created.request.headers["Content-Type"] == "application/json"

    # PUT replaces an existing resource with the updated values.
    updated = client.put(f"{zephyr_server.url}/put", json={"title": "Learn HTTPX", "done": True})
    assert updated.status_code == 200
    assert updated.json()["json"] == {"title": "Learn HTTPX", "done": True}

    # DELETE removes it: no body is sent.
    deleted = client.delete(f"{zephyr_server.url}/delete")
    assert deleted.status_code == 200
    assert deleted.json()["data"] == ""
    assert "Content-Length" not in deleted.json()["headers"]


def test_query_parameters(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    response = client.get(f"{zephyr_server.url}/get", params={"status": "completed"})
    assert response.json()["args"] == {"status": "completed"}
    assert str(response.url) == f"{zephyr_server.url}/get?status=completed"


# -- Handling timeouts and retries ------------------------------------------------------------


def test_default_timeout_is_five_seconds() -> None:
    # The tutorial says HTTPX waits indefinitely by default; HTTPX has a 5 s timeout.
    with httpx.Client() as client:
        assert client.timeout == httpx.Timeout(5.0)
        assert repr(client.timeout) == "Timeout(timeout=5.0)"


def test_setting_a_timeout(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()

    def fetch(url: str, timeout: float) -> str:
        try:
            response = client.get(url, timeout=timeout)
        except httpx.TimeoutException:
            return "Request timed out!"
        return f"Status: {response.status_code}"

    # The server answers well within the timeout: the request succeeds.
    assert fetch(f"{zephyr_server.url}/get", timeout=3.0) == "Status: 200"
    # The server takes longer than the timeout: TimeoutException (here its ReadTimeout).
    assert fetch(f"{zephyr_server.url}/delay/2", timeout=0.2) == "Request timed out!"
    with pytest.raises(httpx.ReadTimeout) as info:
        client.get(f"{zephyr_server.url}/delay/2", timeout=0.2)
    assert isinstance(info.value, httpx.TimeoutException)
    assert isinstance(info.value, httpx.RequestError)
    assert info.value.request.url == httpx.URL(f"{zephyr_server.url}/delay/2")


def test_retrying_failed_requests(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    # The tutorial's client has a transport that retries (HTTPX's transport retries retry
    # failed connections only, so each 500 comes back at once) and a loop of three attempts.
    transport_class = httpx.AsyncHTTPTransport if client_factory().is_async else httpx.HTTPTransport
    client = client_factory(transport=transport_class(retries=3))

    def fetch_with_retries(url: str) -> tuple[list[str], str]:
        failures: list[str] = []
        for attempt in range(3):
            try:
                response = client.get(url)
                response.raise_for_status()
                return failures, str(response.json())
            except httpx.HTTPStatusError as exc:
                failures.append(f"Attempt {attempt + 1} failed: {exc.response.status_code}")
        return failures, "All retry attempts failed."

    url = f"{zephyr_server.url}/status/500"
    failures, outcome = fetch_with_retries(url)
    assert failures == [f"Attempt {n} failed: 500" for n in (1, 2, 3)]
    assert outcome == "All retry attempts failed."

    with pytest.raises(httpx.HTTPStatusError) as info:
        client.get(url).raise_for_status()
    assert str(info.value).startswith(
        f"Server error '500 Internal Server Error' for url '{url}'\n"
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/500"
    )

    # A request that succeeds needs no retry.
    assert fetch_with_retries(f"{zephyr_server.url}/get")[0] == []


# -- Working with authentication --------------------------------------------------------------


def test_basic_authentication(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
    client = client_factory()
    url = f"{zephyr_server.url}/basic-auth/user/passwd"

    response = client.get(url, auth=("user", "passwd"))
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": "user"}
    expected = "Basic " + base64.b64encode(b"user:passwd").decode()
    assert response.request.headers["Authorization"] == expected

    # The same with an explicit BasicAuth, and a client-wide auth.
    assert client.get(url, auth=httpx.BasicAuth("user", "passwd")).status_code == 200
    assert client_factory(auth=("user", "passwd")).get(url).status_code == 200

    # Wrong credentials: 401 Unauthorized.
    rejected = client.get(url, auth=("user", "wrong"))
    assert rejected.status_code == 401
    assert rejected.reason_phrase == "Unauthorized"
    with pytest.raises(httpx.HTTPStatusError, match="401 Unauthorized"):
        rejected.raise_for_status()


def test_bearer_token_authentication(
    client_factory: ClientFactory, zephyr_server: TestServer
) -> None:
    client = client_factory()
    url = f"{zephyr_server.url}/bearer"
    token = "my-secret-token"

    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "token": token}

    # No token: 401 Unauthorized.
    assert client.get(url).status_code == 401


# -- Asynchronous requests with HTTPX ---------------------------------------------------------


def test_asynchronous_get_request(zephyr_server: TestServer) -> None:
    url = f"{zephyr_server.url}/get"

    async def fetch_data() -> httpx.Response:
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        assert client.is_closed
        return response

    response = asyncio.run(fetch_data())
    assert response.status_code == 200
    assert response.json()["url"] == url
    assert response.json()["origin"] == "127.0.0.1"


def test_multiple_asynchronous_requests(zephyr_server: TestServer) -> None:
    urls = [f"{zephyr_server.url}/delay/0.3" for _ in range(3)] + [f"{zephyr_server.url}/get"]
    local_addresses: list[object] = []

    async def fetch_url(client: httpx.AsyncClient, url: str) -> int:
        response = await client.get(url)
        if "/delay/" in url:
            stream = response.extensions["network_stream"]
            local_addresses.append(stream.get_extra_info("client_addr"))
        return response.status_code

    async def main() -> list[int]:
        async with httpx.AsyncClient() as client:
            tasks = [fetch_url(client, url) for url in urls]
            return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [200, 200, 200, 200]
    # The three slow requests were in flight together, so HTTP/1.1 needed a connection for
    # each (three local ports at once): sent one after another, they would all have used one.
    # (Not the server's list of peers: a port seen earlier in the suite may come round again.)
    assert len(set(local_addresses)) == 3


# -- Leveraging HTTP/2 with HTTPX -------------------------------------------------------------


def test_http2_is_not_the_default(
    client_factory: ClientFactory, zephyr_tls_server: TestServer
) -> None:
    client = client_factory(verify=zephyr_tls_server.ca_path)
    assert client.get(f"{zephyr_tls_server.url}/get").http_version == "HTTP/1.1"


def test_enabling_http2(client_factory: ClientFactory, zephyr_tls_server: TestServer) -> None:
    client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
    response = client.get(f"{zephyr_tls_server.url}/get")
    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.json()["url"] == f"{zephyr_tls_server.url}/get"


def test_http_version_of_each_request(
    client_factory: ClientFactory, zephyr_server: TestServer, zephyr_tls_server: TestServer
) -> None:
    # http2=True is a wish: a server that speaks only HTTP/1.1 gets HTTP/1.1.
    with TestServer(tls=True, http2=False) as http11_only:
        client = client_factory(http2=True, verify=zephyr_tls_server.ca_path)
        versions = {
            url: client.get(url).http_version
            for url in (
                f"{zephyr_tls_server.url}/get",
                f"{http11_only.url}/get",
                f"{zephyr_server.url}/get",  # plain http:// never upgrades to HTTP/2
            )
        }
        client.close()  # before the server stops, which waits for open connections
    assert list(versions.values()) == ["HTTP/2", "HTTP/1.1", "HTTP/1.1"]


def test_http2_multiplexes_concurrent_requests(zephyr_tls_server: TestServer) -> None:
    async def main() -> list[str]:
        async with httpx.AsyncClient(http2=True, verify=zephyr_tls_server.ca_path) as client:
            responses = await asyncio.gather(
                *(client.get(f"{zephyr_tls_server.url}/delay/0.2") for _ in range(5))
            )
        return [response.http_version for response in responses]

    mark = len(zephyr_tls_server.peer_log)
    assert asyncio.run(main()) == ["HTTP/2"] * 5
    # Five requests in flight together, on one TCP connection.
    assert len(zephyr_tls_server.peers_since(mark)) == 1
