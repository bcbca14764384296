"""requests (on urllib3): a `Session` with a mounted `HTTPAdapter` sized like the others' pools."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Benches, Config, Run, expect_body, expect_size, expect_status, in_threads

bench = Benches("requests")


def _session(config: Config) -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.pool, pool_block=True)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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


@bench("threads")
def threads(config: Config) -> Iterator[Run]:
    with _session(config) as session:
        url = config.http + "/small"

        def work(n: int) -> None:
            for _ in range(n):
                response = session.get(url)
                expect_status(response.status_code)
                response.content  # noqa: B018 - the body, read

        yield lambda n: in_threads(config.params["threads"], n, work)


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
