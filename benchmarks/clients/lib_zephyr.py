"""zephyr, with the API it shares with HTTPX."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from .base import (
    AsyncRun,
    Benches,
    Config,
    Run,
    asynchronous,
    expect_body,
    expect_http_version,
    expect_one_connection,
    expect_size,
    expect_status,
    in_flight,
    in_threads,
)

bench = Benches("zephyr")


def _client(config: Config, **options: Any) -> Any:
    import zephyr

    limits = zephyr.Limits(max_connections=config.pool, max_keepalive_connections=config.pool)
    return zephyr.Client(limits=limits, **options)


@bench("seq")
def seq(config: Config) -> Iterator[Run]:
    with _client(config) as client:
        url = config.http + "/small"

        def run(n: int) -> None:
            for _ in range(n):
                response = client.get(url)
                expect_status(response.status_code)
                response.content  # noqa: B018 - the body, read

        yield run


@bench("threads")
def threads(config: Config) -> Iterator[Run]:
    with _client(config) as client:
        url = config.http + "/small"

        def work(n: int) -> None:
            for _ in range(n):
                response = client.get(url)
                expect_status(response.status_code)
                response.content  # noqa: B018 - the body, read

        yield lambda n: in_threads(config.params["threads"], n, work)


def _download(client: Any, url: str, config: Config, version: str | None = None) -> Run:
    """`n` streamed GETs of /big, each counted (and, given `version`, over that protocol)."""

    def run(n: int) -> None:
        for _ in range(n):
            with client.stream("GET", url) as response:
                expect_status(response.status_code)
                if version is not None:
                    expect_http_version(response.http_version, version)
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
            expect_size(size, config.big_size)

    return run


@bench("big")
def big(config: Config) -> Iterator[Run]:
    with _client(config) as client:
        yield _download(client, config.http + "/big", config)


@bench("big-tls")
def big_tls(config: Config) -> Iterator[Run]:
    with _client(config, verify=config.cafile) as client:
        yield _download(client, config.https + "/big", config, "HTTP/1.1")


@bench("h2-big")
def h2_big(config: Config) -> Iterator[Run]:
    with _client(config, http2=True, verify=config.cafile) as client:
        yield _download(client, config.https + "/big", config, "HTTP/2")


@bench("h2c-big")
def h2c_big(config: Config) -> Iterator[Run]:
    with _client(config, http1=False, http2=True) as client:
        yield _download(client, config.h2c + "/big", config, "HTTP/2")


@bench("up")
def up(config: Config) -> Iterator[Run]:
    data = bytes(config.upload_size)
    with _client(config) as client:
        url = config.http + "/echo"

        def run(n: int) -> None:
            for _ in range(n):
                response = client.post(url, content=data)
                expect_status(response.status_code)
                expect_body(response.content, b"ok")

        yield run


@bench("memory")
@bench("conc-scale")
@bench("conc")
@asynchronous
async def conc(config: Config) -> AsyncIterator[AsyncRun]:
    import zephyr

    pool = config.params["pool"]
    limits = zephyr.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with zephyr.AsyncClient(limits=limits) as client:
        url = config.http + "/small"

        async def one() -> None:
            response = await client.get(url)
            expect_status(response.status_code)
            response.content  # noqa: B018 - the body, read

        yield lambda n: in_flight(config.params["in_flight"], n, one)


@bench("h2")
@asynchronous
async def h2(config: Config) -> AsyncIterator[AsyncRun]:
    import zephyr

    connections = config.params["connections"]
    limits = zephyr.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with zephyr.AsyncClient(http2=True, verify=config.cafile, limits=limits) as client:
        url = config.https + "/small"
        response = await client.get(url)
        expect_status(response.status_code)
        expect_http_version(response.http_version, "HTTP/2")

        async def conn() -> bytes:
            body: bytes = (await client.get(config.https + "/conn")).content
            return body

        await expect_one_connection(conn, config.params["in_flight"])

        async def one() -> None:
            response = await client.get(url)
            expect_status(response.status_code)
            response.content  # noqa: B018 - the body, read

        yield lambda n: in_flight(config.params["in_flight"], n, one)
