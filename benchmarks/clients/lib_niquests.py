"""niquests (on urllib3-future): a `Session` with pools sized like the others.

On plain http:// it speaks HTTP/1.1, as the others do.
"""

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
)

bench = Benches("niquests")


def _session(config: Config) -> Any:
    import niquests

    return niquests.Session(pool_connections=1, pool_maxsize=config.pool)


@bench("seq")
def seq(config: Config) -> Iterator[Run]:
    with _session(config) as session:
        url = config.http + "/small"

        def run(n: int) -> None:
            for _ in range(n):
                response = session.get(url)
                expect_status(response.status_code)
                response.content  # noqa: B018 - the body, read

        yield run


@bench("big")
def big(config: Config) -> Iterator[Run]:
    with _session(config) as session:
        url = config.http + "/big"

        def run(n: int) -> None:
            for _ in range(n):
                with session.get(url, stream=True) as response:
                    expect_status(response.status_code)
                    size = 0
                    for chunk in response.iter_content(chunk_size=config.chunk_size):
                        size += len(chunk)
                expect_size(size, config.big_size)

        yield run


@bench("up")
def up(config: Config) -> Iterator[Run]:
    data = bytes(config.upload_size)
    with _session(config) as session:
        url = config.http + "/echo"

        def run(n: int) -> None:
            for _ in range(n):
                response = session.post(url, data=data)
                expect_status(response.status_code)
                expect_body(response.content, b"ok")

        yield run


@bench("conc")
@asynchronous
async def conc(config: Config) -> AsyncIterator[AsyncRun]:
    import niquests

    pool = config.params["pool"]
    async with niquests.AsyncSession(pool_connections=1, pool_maxsize=pool) as session:
        url = config.http + "/small"

        async def one() -> None:
            response = await session.get(url)
            expect_status(response.status_code)
            response.content  # noqa: B018 - the body, read

        yield lambda n: in_flight(config.params["in_flight"], n, one)
