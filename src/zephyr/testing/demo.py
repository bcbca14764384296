"""`make demo`: a tour of zephyr against its own local test server, following the tutorial.

Run with `python -m zephyr.testing.demo`. Everything runs offline, on loopback.
"""

from __future__ import annotations

import asyncio
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import zephyr
from zephyr.testing import TestServer


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def show_get(base: str) -> None:
    section("A GET request")
    response = zephyr.get(f"{base}/get")
    print(f"zephyr.get('{base}/get') → {response!r}")
    print(f"  json()['headers']['User-Agent'] = {response.json()['headers']['User-Agent']!r}")


def show_response(client: zephyr.Client) -> None:
    section("The response object")
    response = client.get("/json")
    print(f"status_code   {response.status_code} {response.reason_phrase}")
    print(f"http_version  {response.http_version}")
    print(f"headers       Content-Type: {response.headers['content-type']}")
    print(f"encoding      {response.encoding}")
    print(f"url           {response.url}")
    print(f"elapsed       {response.elapsed.total_seconds() * 1000:.2f} ms")
    print(f"text          {response.text[:60]!r}...")
    print(f"json()        keys: {sorted(response.json())}")


def show_methods(client: zephyr.Client) -> None:
    section("POST JSON, PUT, DELETE")
    created = client.post("/post", json={"title": "Learn zephyr", "completed": False})
    print(f"POST /post json=...  → {created.status_code}; server saw json={created.json()['json']}")
    print(f"  and Content-Type: {created.json()['headers']['Content-Type']}")
    updated = client.put("/put", json={"title": "Learn zephyr", "completed": True})
    print(f"PUT /put json=...    → {updated.status_code}; server saw json={updated.json()['json']}")
    deleted = client.delete("/delete")
    print(f"DELETE /delete       → {deleted.status_code}")


def show_params(client: zephyr.Client) -> None:
    section("Query parameters")
    response = client.get("/get?source=demo", params={"status": "completed"})
    print(f"GET /get?source=demo params={{'status': 'completed'}} → {response.url}")
    print(f"  the server's args: {response.json()['args']}  (the URL's own query is kept)")


def show_timeout(client: zephyr.Client) -> None:
    section("A timeout")
    try:
        client.get("/delay/2", timeout=0.5)
    except zephyr.TimeoutException as exc:
        print(f"GET /delay/2 with timeout=0.5 → {type(exc).__name__}: {exc}")
    response = client.get("/delay/1", timeout=3.0)
    print(f"GET /delay/1 with timeout=3.0 → {response.status_code}")
    print(f"The default timeout is {zephyr.Client().timeout} (HTTPX's)")


def show_retries(client: zephyr.Client) -> None:
    section("Retries")
    retrying = zephyr.Client(
        base_url=str(client.base_url), retries=zephyr.Retry(total=3, backoff_factor=0.1)
    )
    with retrying:
        response = retrying.get("/status/500")
    waits = ", ".join(f"{attempt.delay:.2f} s" for attempt in response.extensions["retries"])
    print(f"Client(retries=Retry(total=3)) GET /status/500 → retried after {waits}")
    try:
        response.raise_for_status()
    except zephyr.HTTPStatusError as exc:
        print(f"  then raise_for_status() → HTTPStatusError: {exc.args[0].splitlines()[0]}")
    # A port with nothing listening: each connection attempt is refused at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = zephyr.HTTPTransport(retries=3)
    started = time.perf_counter()
    with zephyr.Client(transport=transport) as client:
        try:
            client.get(f"http://127.0.0.1:{port}/")
        except zephyr.ConnectError as exc:
            took = time.perf_counter() - started
            print(f"HTTPTransport(retries=3) to a closed port → ConnectError after {took:.1f} s")
            print(f"  (4 attempts with exponential backoff): {exc}")


def show_status_error(client: zephyr.Client) -> None:
    section("raise_for_status()")
    response = client.get("/status/500")
    try:
        response.raise_for_status()
    except zephyr.HTTPStatusError as exc:
        print(f"GET /status/500 → HTTPStatusError: {exc.args[0].splitlines()[0]}")


def show_auth(client: zephyr.Client) -> None:
    section("Authentication")
    basic = client.get("/basic-auth/alice/s3cret", auth=("alice", "s3cret"))
    print(f"Basic  auth=('alice', 's3cret') → {basic.status_code} {basic.json()}")
    bearer = client.get("/bearer", headers={"Authorization": "Bearer my-token"})
    print(f"Bearer header                    → {bearer.status_code} {bearer.json()}")
    bearer = client.get("/bearer", auth=zephyr.BearerAuth("my-token"))
    print(f"BearerAuth('my-token')           → {bearer.status_code}")
    digest = client.get(
        "/digest-auth/auth/alice/s3cret/SHA-256", auth=zephyr.DigestAuth("alice", "s3cret")
    )
    print(f"DigestAuth (SHA-256)             → {digest.status_code}, history={digest.history}")
    refused = client.get("/basic-auth/alice/s3cret", auth=("alice", "wrong"))
    print(f"wrong password                   → {refused.status_code} {refused.reason_phrase}")


def show_redirects_and_cookies(client: zephyr.Client) -> None:
    section("Redirects and cookies")
    response = client.get("/redirect/2")
    print(f"GET /redirect/2 (not followed by default) → {response.status_code}")
    response = client.get("/redirect/2", follow_redirects=True)
    print(f"  follow_redirects=True → {response.status_code} {response.url}")
    print(f"  history: {response.history}")
    client.get("/cookies/set?flavour=oat", follow_redirects=True)
    print(f"client.cookies after /cookies/set: {dict(client.cookies)}")


def show_streaming(client: zephyr.Client) -> None:
    section("Streaming")
    with client.stream("GET", "/stream/3") as response:
        for line in response.iter_lines():
            print(f"  line: {line[:70]}...")
    with client.stream("GET", "/bytes/1048576") as response:
        sizes = [len(chunk) for chunk in response.iter_bytes(chunk_size=262144)]
    print(f"  /bytes/1048576 in chunks of {sizes} bytes")


def show_https(tls_server: TestServer) -> None:
    section("HTTPS")
    with zephyr.Client(verify=tls_server.ca_path) as client:
        response = client.get(f"{tls_server.url}/get")
        print(f"GET {tls_server.url}/get (verified against the test CA) → {response.status_code}")
    try:
        zephyr.get(f"{tls_server.url}/get")
    except zephyr.ConnectError as exc:
        print(f"without the CA → ConnectError: {str(exc)[:90]}...")


def show_http2(tls_server: TestServer) -> None:
    section("HTTP/2")
    with zephyr.Client(http2=True, verify=tls_server.ca_path) as client:
        response = client.get(f"{tls_server.url}/get")
        print(f"Client(http2=True).get(...) → http_version {response.http_version!r}")
        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(
                pool.map(lambda n: client.get(f"{tls_server.url}/echo-id/{n}"), range(100))
            )
        matched = all(r.headers["X-Echo-Id"] == str(n) for n, r in enumerate(responses))
        print(f"100 requests from 20 threads over one connection; all matched: {matched}")
    with (
        TestServer(tls=True, http2=False) as old_server,
        zephyr.Client(http2=True, verify=old_server.ca_path) as client,
    ):
        response = client.get(f"{old_server.url}/get")
        print(f"against an HTTP/1.1-only server → http_version {response.http_version!r}")


def show_async(base: str) -> None:
    section("AsyncClient and asyncio.gather")

    async def fetch_all() -> list[zephyr.Response]:
        async with zephyr.AsyncClient(base_url=base) as client:
            response = await client.get("/get")
            print(f"await client.get('/get') → {response!r}")
            return await asyncio.gather(*(client.get(f"/delay/{n}") for n in (1, 2, 1, 2)))

    started = time.perf_counter()
    responses = asyncio.run(fetch_all())
    took = time.perf_counter() - started
    print(
        f"gather over /delay/1, /delay/2, /delay/1, /delay/2 → {[r.status_code for r in responses]}"
    )
    print(f"  in {took:.1f} s: about the longest delay, not the sum (6 s)")


def main() -> None:
    print(f"zephyr {zephyr.__version__}: a tour against the local test server")
    with TestServer() as server, TestServer(tls=True) as tls_server:
        print(f"test server: {server.url} and {tls_server.url}")
        show_get(server.url)
        with zephyr.Client(base_url=server.url) as client:
            show_response(client)
            show_methods(client)
            show_params(client)
            show_timeout(client)
            show_retries(client)
            show_status_error(client)
            show_auth(client)
            show_redirects_and_cookies(client)
            show_streaming(client)
        show_async(server.url)
        show_https(tls_server)
        show_http2(tls_server)
    print("\nDone.")


if __name__ == "__main__":
    main()
