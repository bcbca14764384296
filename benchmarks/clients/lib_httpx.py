"""HTTPX (with httpcore underneath)."""

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
    expect_size,
    expect_status,
    in_flight,
    in_threads,
)

bench = Benches("httpx")


def _client(config: Config) -> Any:
    import httpx

    limits = httpx.Limits(max_connections=config.pool, max_keepalive_connections=config.pool)
    return httpx.Client(limits=limits)


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


@bench("big")
def big(config: Config) -> Iterator[Run]:
    with _client(config) as client:
        url = config.http + "/big"

        def run(n: int) -> None:
            for _ in range(n):
                with client.stream("GET", url) as response:
                    expect_status(response.status_code)
                    size = 0
                    for chunk in response.iter_raw():
                        size += len(chunk)
                expect_size(size, config.big_size)

        yield run


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
    import httpx

    pool = config.params["pool"]
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    async with httpx.AsyncClient(limits=limits) as client:
        url = config.http + "/small"

        async def one() -> None:
            response = await client.get(url)
            expect_status(response.status_code)
            response.content  # noqa: B018 - the body, read

        yield lambda n: in_flight(config.params["in_flight"], n, one)
