"""niquests (on urllib3-future): a `Session` with pools sized like the others.

On plain http:// it speaks HTTP/1.1, as the others do. Over TLS it negotiates h2 by default;
`big-tls` turns HTTP/2 (and HTTP/3) off. `h2` uses one connection (a pool of one): urllib3-future
multiplexes concurrent requests from several tasks as streams of that connection without
`multiplexed=True` (checked with a rate-limited location: 20 concurrent 2-second responses
took 2 s on one connection), and `multiplexed=True`, whose lazy responses need a `gather()`,
was no faster here. The CA goes with each request as `verify=`: a session's `verify` loses to
`REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` when they are set, as requests does.
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
    expect_http_version,
    expect_one_connection,
    expect_size,
    expect_status,
    in_flight,
)

bench = Benches("niquests")


def _session(config: Config, **options: Any) -> Any:
    import niquests

    return niquests.Session(pool_connections=1, pool_maxsize=config.pool, **options)


def _version(response: Any) -> str:
    """niquests' `http_version` is an int (11, 20, 30) like http.client's."""
    number: int | None = response.http_version
    return {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2", 30: "HTTP/3"}.get(
        number or 0, str(number)
    )


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


def _download(session: Any, url: str, config: Config, version: str | None = None) -> Run:
    """`n` streamed GETs of /big, each counted (and, given `version`, over that protocol)."""
    options = {"verify": config.cafile} if url.startswith("https:") else {}

    def run(n: int) -> None:
        for _ in range(n):
            with session.get(url, stream=True, **options) as response:
                expect_status(response.status_code)
                if version is not None:
                    expect_http_version(_version(response), version)
                size = 0
                for chunk in response.iter_content(chunk_size=config.chunk_size):
                    size += len(chunk)
            expect_size(size, config.big_size)

    return run


@bench("big")
def big(config: Config) -> Iterator[Run]:
    with _session(config) as session:
        yield _download(session, config.http + "/big", config)


@bench("big-tls")
def big_tls(config: Config) -> Iterator[Run]:
    with _session(config, disable_http2=True, disable_http3=True) as session:
        yield _download(session, config.https + "/big", config, "HTTP/1.1")


@bench("h2-big")
def h2_big(config: Config) -> Iterator[Run]:
    with _session(config, disable_http3=True) as session:
        yield _download(session, config.https + "/big", config, "HTTP/2")


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


@bench("h2")
@asynchronous
async def h2(config: Config) -> AsyncIterator[AsyncRun]:
    import niquests

    connections = config.params["connections"]
    async with niquests.AsyncSession(
        pool_connections=1, pool_maxsize=connections, disable_http3=True
    ) as session:
        url = config.https + "/small"
        response = await session.get(url, verify=config.cafile)
        expect_status(response.status_code)
        expect_http_version(_version(response), "HTTP/2")

        async def conn() -> bytes:
            body: bytes = (await session.get(config.https + "/conn", verify=config.cafile)).content
            return body

        await expect_one_connection(conn, config.params["in_flight"])

        async def one() -> None:
            response = await session.get(url, verify=config.cafile)
            expect_status(response.status_code)
            response.content  # noqa: B018 - the body, read

        yield lambda n: in_flight(config.params["in_flight"], n, one)
