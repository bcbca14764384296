"""pycurl (libcurl): one `Curl` handle reused, which keeps its connection alive between requests.

A handle is not for sharing between threads, so pycurl has no `threads` function.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from .base import Benches, Config, Run, expect_size, expect_status

bench = Benches("pycurl")


@bench("seq")
def seq(config: Config) -> Iterator[Run]:
    import pycurl

    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.URL, config.http + "/small")

        def run(n: int) -> None:
            for _ in range(n):
                body = io.BytesIO()
                curl.setopt(pycurl.WRITEDATA, body)
                curl.perform()
                expect_status(curl.getinfo(pycurl.RESPONSE_CODE))
                body.getvalue()  # the body, read

        yield run
    finally:
        curl.close()


@bench("big")
def big(config: Config) -> Iterator[Run]:
    import pycurl

    def discard(chunk: bytes) -> None:
        return None  # None: the whole chunk was taken

    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.URL, config.http + "/big")
        curl.setopt(pycurl.WRITEFUNCTION, discard)
        curl.setopt(pycurl.BUFFERSIZE, config.chunk_size)

        def run(n: int) -> None:
            for _ in range(n):
                curl.perform()
                expect_status(curl.getinfo(pycurl.RESPONSE_CODE))
                expect_size(int(curl.getinfo(pycurl.SIZE_DOWNLOAD)), config.big_size)

        yield run
    finally:
        curl.close()
