"""What a client function is, how it is registered, and the helpers they share.

A client function measures one library in one scenario. It is a generator: it builds its
client (and SSL context) outside the timed loop, yields a `Run` (a callable doing `n` units of
work: `n` requests, or `n` whole downloads or uploads), and closes its client when the
generator is closed. The harness (`benchmarks/measure.py`) calls the run once to warm up,
then times one call, in a process of its own:

    bench = Benches("httpx")

    @bench("seq")
    def seq(config: Config) -> Iterator[Run]:
        import httpx  # inside: the registry is read by run.py, which must not load the peers

        with httpx.Client(limits=httpx.Limits(max_connections=config.pool)) as client:
            url = config.http + "/small"

            def run(n: int) -> None:
                for _ in range(n):
                    expect_status(client.get(url).status_code)

            yield run

An asyncio library writes an async generator yielding an async `run` and wraps it with
`@asynchronous` under `@bench(...)`; the loop is built before the timed loop too.

Every run checks what it got (status, byte counts) in the timed loop: a client that fails fast
must not look fast. These checks cost the same for every library. A scenario that names a
protocol (h2, big-tls, h2-big) also checks the HTTP version a response came over
(`expect_http_version`), before the warm-up: a client that fell back to HTTP/1.1 fails.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Run = Callable[[int], None]
AsyncRun = Callable[[int], Awaitable[None]]
Bench = Callable[["Config"], Iterator[Run]]
AsyncBench = Callable[["Config"], AsyncIterator[AsyncRun]]

# (library, client function name) -> the function. Filled by the `lib_*` modules as they load.
REGISTRY: dict[tuple[str, str], Bench] = {}


@dataclass(frozen=True)
class Config:
    """What every client function is given: the server, the shared limits, the scenario's knobs."""

    http: str  # HTTP/1.1, e.g. "http://127.0.0.1:8080"
    h2c: str  # HTTP/2 with prior knowledge
    https: str  # TLS; h2 or http/1.1 by ALPN
    cafile: str  # the CA that signed the https certificate
    pool: int  # the most connections a client may open (and keep)
    chunk_size: int  # the read size, for the APIs that take one
    big_size: int  # bytes of /big
    upload_size: int  # bytes POSTed to /echo
    params: dict[str, Any] = field(default_factory=dict)  # the scenario's own (threads, ...)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        return cls(**data)


class Benches:
    """The decorator one library's module registers its client functions with."""

    def __init__(self, library: str) -> None:
        self.library = library

    def __call__(self, name: str) -> Callable[[Bench], Bench]:
        def register(function: Bench) -> Bench:
            key = (self.library, name)
            if key in REGISTRY:
                raise ValueError(f"{key} is registered twice")
            REGISTRY[key] = function
            return function

        return register


def asynchronous(factory: AsyncBench) -> Bench:
    """A client function from an async one: one event loop, made before the timed loop."""

    @functools.wraps(factory)
    def bench(config: Config) -> Iterator[Run]:
        with asyncio.Runner() as runner:
            steps = factory(config)
            async_run = runner.run(anext(steps))
            try:
                yield lambda n: runner.run(async_run(n))
            finally:
                runner.run(steps.aclose())

    return bench


class BenchmarkError(AssertionError):
    """A client got something other than what the server sends."""


def expect_status(status: int, expected: int = 200) -> None:
    if status != expected:
        raise BenchmarkError(f"status {status}, expected {expected}")


def expect_size(size: int, expected: int) -> None:
    if size != expected:
        raise BenchmarkError(f"{size} bytes, expected {expected}")


def expect_body(body: bytes, expected: bytes) -> None:
    if body != expected:
        raise BenchmarkError(f"body {body[:60]!r}, expected {expected[:60]!r}")


def expect_http_version(version: str, expected: str) -> None:
    """The protocol the scenario measures: a client that silently fell back to another one must
    fail its sample, not be reported under the scenario's name."""
    if version != expected:
        raise BenchmarkError(f"spoke {version}, expected {expected}")


async def expect_one_connection(get: Callable[[], Awaitable[bytes]], concurrent: int) -> None:
    """`concurrent` GET /conn at once (`get` returns a body) answered over one connection: the
    server's /conn answers with the number of the connection it came over."""
    bodies = set(await asyncio.gather(*(get() for _ in range(concurrent))))
    if len(bodies) != 1:
        raise BenchmarkError(f"{concurrent} concurrent requests used {len(bodies)} connections")


def in_threads(threads: int, n: int, work: Callable[[int], None]) -> None:
    """Split `n` units of work over `threads` threads released together; re-raise a failure."""
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []
    shares = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]

    def worker(share: int) -> None:
        try:
            barrier.wait()
            work(share)
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        raise failures[0]


async def in_flight(tasks: int, n: int, one: Callable[[], Awaitable[None]]) -> None:
    """`n` calls of `one` with `tasks` of them in flight: worker tasks sharing one count.

    The async scenarios' one way to hold a concurrency level, the same for every library. A
    failure cancels the other workers and is re-raised (in an ExceptionGroup).
    """
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    async with asyncio.TaskGroup() as group:
        for _ in range(min(tasks, n)):
            group.create_task(worker())
