"""aiohttp: one `ClientSession` whose `TCPConnector` is sized like the others' pools."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .base import (
    AsyncRun,
    Benches,
    Config,
    asynchronous,
    expect_body,
    expect_size,
    expect_status,
    in_flight,
)

bench = Benches("aiohttp")


@bench("big")
@asynchronous
async def big(config: Config) -> AsyncIterator[AsyncRun]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=config.pool)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = config.http + "/big"

        async def run(n: int) -> None:
            for _ in range(n):
                async with session.get(url) as response:
                    expect_status(response.status)
                    size = 0
                    async for chunk in response.content.iter_chunked(config.chunk_size):
                        size += len(chunk)
                expect_size(size, config.big_size)

        yield run


@bench("up")
@asynchronous
async def up(config: Config) -> AsyncIterator[AsyncRun]:
    import aiohttp

    data = bytes(config.upload_size)
    connector = aiohttp.TCPConnector(limit=config.pool)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = config.http + "/echo"

        async def run(n: int) -> None:
            for _ in range(n):
                async with session.post(url, data=data) as response:
                    expect_status(response.status)
                    expect_body(await response.read(), b"ok")

        yield run


@bench("memory")
@bench("conc-scale")
@bench("conc")
@asynchronous
async def conc(config: Config) -> AsyncIterator[AsyncRun]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=config.params["pool"])
    async with aiohttp.ClientSession(connector=connector) as session:
        url = config.http + "/small"

        async def one() -> None:
            async with session.get(url) as response:
                expect_status(response.status)
                await response.read()

        yield lambda n: in_flight(config.params["in_flight"], n, one)
