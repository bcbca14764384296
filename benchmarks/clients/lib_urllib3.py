"""urllib3 v2: one `PoolManager`, pools sized like the others' and blocking when full."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Benches, Config, Run, expect_body, expect_size, expect_status, in_threads

bench = Benches("urllib3")


def _pool_manager(config: Config) -> Any:
    import urllib3

    return urllib3.PoolManager(maxsize=config.pool, block=True, retries=False)


@bench("seq")
def seq(config: Config) -> Iterator[Run]:
    with _pool_manager(config) as http:
        url = config.http + "/small"

        def run(n: int) -> None:
            for _ in range(n):
                response = http.request("GET", url)
                expect_status(response.status)
                response.data  # noqa: B018 - the body, read (preload_content=True)

        yield run


@bench("threads")
def threads(config: Config) -> Iterator[Run]:
    with _pool_manager(config) as http:
        url = config.http + "/small"

        def work(n: int) -> None:
            for _ in range(n):
                response = http.request("GET", url)
                expect_status(response.status)
                response.data  # noqa: B018 - the body, read (preload_content=True)

        yield lambda n: in_threads(config.params["threads"], n, work)


@bench("big")
def big(config: Config) -> Iterator[Run]:
    with _pool_manager(config) as http:
        url = config.http + "/big"

        def run(n: int) -> None:
            for _ in range(n):
                response = http.request("GET", url, preload_content=False)
                expect_status(response.status)
                size = 0
                for chunk in response.stream(config.chunk_size):
                    size += len(chunk)
                response.release_conn()
                expect_size(size, config.big_size)

        yield run


@bench("up")
def up(config: Config) -> Iterator[Run]:
    data = bytes(config.upload_size)
    with _pool_manager(config) as http:
        url = config.http + "/echo"

        def run(n: int) -> None:
            for _ in range(n):
                response = http.request("POST", url, body=data)
                expect_status(response.status)
                expect_body(response.data, b"ok")

        yield run
