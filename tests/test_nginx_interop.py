"""Both clients against Debian's nginx: HTTP/1.1, HTTP/2 over TLS (ALPN) and h2c.

nginx is a server we did not write, so these tests catch what a test server of our own
would share our misreadings of. The `nginx` fixture (nginx_fixture.py) says what it serves;
its `X-Connection` header tells which connection served a response, and `/echo-id/<id>`
answers with its id, so concurrent responses can be matched to their requests. Without nginx
these tests are skipped, except in CI (`CI` set), where they fail.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import zephyr

if TYPE_CHECKING:
    from client_helpers import AsyncDriver, ClientFactory, Driver
    from nginx_fixture import NginxServer

pytest_plugins = ["client_helpers", "nginx_fixture"]

MIB = 1024 * 1024
THREADS = 100  # the sync client's concurrency: threads sharing one client


def fetch_all(driver: Driver, urls: list[str]) -> list[zephyr.Response]:
    """GET every URL at once: one asyncio.gather on the async client's loop, or threads."""
    if driver.is_async:
        async_driver = cast("AsyncDriver", driver)
        client = async_driver.client

        async def gather() -> list[zephyr.Response]:
            return list(await asyncio.gather(*(client.get(url) for url in urls)))

        return async_driver.run(gather())
    with ThreadPoolExecutor(min(THREADS, len(urls))) as pool:
        return list(pool.map(driver.get, urls))


def check_echo_ids(responses: list[zephyr.Response], ids: list[str], version: str) -> None:
    """Every response is its own request's: 200, the right id in body and header, `version`."""
    assert len(responses) == len(ids)
    for response, expected in zip(responses, ids, strict=True):
        assert response.status_code == 200
        assert response.http_version == version
        assert response.text == expected
        assert response.headers["X-Echo-Id"] == expected
        assert response.url.path == "/echo-id/" + expected


def connections(responses: list[zephyr.Response]) -> Counter[str]:
    """How many of the responses each of nginx's connections served."""
    return Counter(response.headers["X-Connection"] for response in responses)


def download(driver: Driver, url: str) -> tuple[str, int, int, int]:
    """Stream `url`: (HTTP version, bytes, their CRC-32, the largest chunk); nothing kept."""
    size = crc = largest = 0
    with driver.stream("GET", url) as streamed:
        assert streamed.response.status_code == 200
        version = streamed.response.http_version
        for chunk in streamed.iter_raw():
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            largest = max(largest, len(chunk))
    return version, size, crc, largest


def upload_body(driver: Driver, size: int, *, chunked: bool) -> Any:
    """`size` bytes as one bytes object, or (`chunked`) as an iterator of the driver's colour."""
    block = b"z" * MIB
    if not chunked:
        return block * (size // MIB)
    if driver.is_async:

        async def agen() -> AsyncIterator[bytes]:
            for _ in range(size // MIB):
                yield block

        return agen()

    def gen() -> Iterator[bytes]:
        for _ in range(size // MIB):
            yield block

    return gen()


# -- HTTP/1.1 -----------------------------------------------------------------------------


def test_http11_get_small(client_factory: ClientFactory, nginx: NginxServer) -> None:
    response = client_factory().get(nginx.http + "/small")

    assert response.status_code == 200
    assert response.http_version == "HTTP/1.1"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Server"] == "nginx"
    assert response.content == nginx.small_body
    assert response.json()["name"] == "zephyr"


def test_http11_keep_alive_reuses_one_connection(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    client = client_factory()
    ids = [f"seq-{i}" for i in range(5)]
    responses = [client.get(f"{nginx.http}/echo-id/{i}") for i in ids]

    check_echo_ids(responses, ids, "HTTP/1.1")
    assert len(connections(responses)) == 1
    served = [int(response.headers["X-Connection-Requests"]) for response in responses]
    assert served == [1, 2, 3, 4, 5]


def test_http11_big_download_is_streamed(client_factory: ClientFactory, nginx: NginxServer) -> None:
    version, size, crc, largest = download(client_factory(), nginx.http + "/big")

    assert version == "HTTP/1.1"
    assert size == nginx.big_size
    assert crc == nginx.big_crc32
    assert largest <= 16 * MIB  # delivered in pieces, not read whole first


def test_http11_post_10_mib(client_factory: ClientFactory, nginx: NginxServer) -> None:
    client = client_factory()
    for chunked in (False, True):
        response = client.post(
            nginx.http + "/echo", content=upload_body(client, 10 * MIB, chunked=chunked)
        )
        assert response.status_code == 200
        assert response.text == "ok"
        assert response.request.headers.get("Transfer-Encoding") == ("chunked" if chunked else None)
    # The connection survived both uploads.
    after = client.get(f"{nginx.http}/echo-id/after")
    check_echo_ids([after], ["after"], "HTTP/1.1")


def test_tls_without_http2_negotiates_http11(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    response = client_factory(verify=nginx.ca_path).get(nginx.https + "/small")

    assert response.status_code == 200
    assert response.http_version == "HTTP/1.1"
    assert response.content == nginx.small_body


# -- HTTP/2 --------------------------------------------------------------------------------


def test_http2_over_tls_by_alpn(client_factory: ClientFactory, nginx: NginxServer) -> None:
    client = client_factory(http2=True, verify=nginx.ca_path)
    response = client.get(nginx.https + "/small")

    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.headers["content-type"] == "application/json"
    assert response.content == nginx.small_body
    # Sequential requests share the connection.
    ids = ["a", "b", "c"]
    check_echo_ids([client.get(f"{nginx.https}/echo-id/{i}") for i in ids], ids, "HTTP/2")


def test_h2c_with_prior_knowledge(client_factory: ClientFactory, nginx: NginxServer) -> None:
    client = client_factory(http1=False, http2=True)
    response = client.get(nginx.h2c + "/small")

    assert response.status_code == 200
    assert response.http_version == "HTTP/2"
    assert response.content == nginx.small_body
    ids = ["x", "y"]
    responses = [client.get(f"{nginx.h2c}/echo-id/{i}") for i in ids]
    check_echo_ids(responses, ids, "HTTP/2")
    assert len(connections([response, *responses])) == 1


def test_http2_500_concurrent_requests_on_one_connection(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    client = client_factory(http2=True, verify=nginx.ca_path)
    ids = [f"c{i}" for i in range(500)]
    responses = fetch_all(client, [f"{nginx.https}/echo-id/{i}" for i in ids])

    check_echo_ids(responses, ids, "HTTP/2")
    assert len(connections(responses)) == 1


def test_http2_more_in_flight_than_the_server_allows_streams(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    # The server takes `max_streams` (10) streams at a time; 100 are asked for at once.
    client = client_factory(http2=True, verify=nginx.ca_path)
    ids = [f"m{i}" for i in range(100)]
    responses = fetch_all(client, [f"{nginx.https_limited}/echo-id/{i}" for i in ids])

    check_echo_ids(responses, ids, "HTTP/2")


def test_http2_big_download(client_factory: ClientFactory, nginx: NginxServer) -> None:
    client = client_factory(http2=True, verify=nginx.ca_path)
    version, size, crc, largest = download(client, nginx.https + "/big")

    assert version == "HTTP/2"
    assert size == nginx.big_size
    assert crc == nginx.big_crc32
    assert largest <= 16 * MIB


def test_http2_post_10_mib(client_factory: ClientFactory, nginx: NginxServer) -> None:
    # More than any flow-control window nginx opens: the upload must wait for WINDOW_UPDATEs.
    client = client_factory(http2=True, verify=nginx.ca_path)
    for chunked in (False, True):
        response = client.post(
            nginx.https + "/echo", content=upload_body(client, 10 * MIB, chunked=chunked)
        )
        assert response.status_code == 200
        assert response.http_version == "HTTP/2"
        assert response.text == "ok"


def test_http2_goaway_between_sequential_requests(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    # nginx sends GOAWAY on a connection once it has served `goaway_after` requests (20).
    client = client_factory(http2=True, verify=nginx.ca_path)
    ids = [f"s{i}" for i in range(2 * nginx.goaway_after + 5)]
    responses = [client.get(f"{nginx.https_goaway}/echo-id/{i}") for i in ids]

    check_echo_ids(responses, ids, "HTTP/2")
    per_connection = connections(responses)
    assert len(per_connection) >= 3
    assert max(per_connection.values()) <= nginx.goaway_after


def test_http2_goaway_with_streams_in_flight(
    client_factory: ClientFactory, nginx: NginxServer
) -> None:
    # 100 streams at once on connections that each serve 20: the streams a GOAWAY refuses
    # were never processed, and GETs are sent again on a new connection.
    client = client_factory(http2=True, verify=nginx.ca_path)
    ids = [f"g{i}" for i in range(100)]
    responses = fetch_all(client, [f"{nginx.https_goaway}/echo-id/{i}" for i in ids])

    check_echo_ids(responses, ids, "HTTP/2")
    per_connection = connections(responses)
    assert len(per_connection) >= len(ids) // nginx.goaway_after
    assert max(per_connection.values()) <= nginx.goaway_after
