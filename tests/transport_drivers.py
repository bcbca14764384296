"""Drive HTTPTransport and AsyncHTTPTransport through one blocking interface.

A fault test written once against `Driver` runs on the sync transport and on the async one
(on asyncio's loop and on uvloop). The async side keeps one event loop for the whole test
(an `asyncio.Runner`) and runs each call to completion on it, so the transport, its
connections and any task a test starts stay on that loop from the first call to the close.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from zephyr import Headers, Limits, Request, Response
from zephyr._pool import PoolState
from zephyr._transports.async_http import AsyncHTTPTransport
from zephyr._transports.http import HTTPTransport

T = TypeVar("T")
Runner = Callable[[Coroutine[Any, Any, T]], T]


def loop_names() -> list[str]:
    """The event loops the async transport is tested on: asyncio's, and uvloop if installed."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return ["asyncio"]
    return ["asyncio", "uvloop"]


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def make_runner(name: str) -> Runner[Any]:
    """Run a coroutine to completion on a fresh event loop of the named kind."""
    factory = loop_factory(name)

    def runner(coroutine: Coroutine[Any, Any, Any]) -> Any:
        with asyncio.Runner(loop_factory=factory) as loop_runner:
            return loop_runner.run(coroutine)

    return runner


DRIVER_NAMES = ["sync", *loop_names()]


class DrivenResponse:
    """A response from either transport, read and closed without awaiting."""

    def __init__(self, response: Response, runner: asyncio.Runner | None) -> None:
        self._response = response
        self._runner = runner

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Headers:
        return self._response.headers

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self._response.extensions)

    def read(self) -> bytes:
        if self._runner is None:
            return self._response.read()
        return self._runner.run(self._response.aread())

    def close(self) -> None:
        if self._runner is None:
            self._response.close()
        else:
            self._runner.run(self._response.aclose())


class DrivenTransport:
    """HTTPTransport or AsyncHTTPTransport behind blocking `send` and `fetch`."""

    def __init__(
        self, transport: HTTPTransport | AsyncHTTPTransport, runner: asyncio.Runner | None
    ) -> None:
        self._transport = transport
        self._runner = runner

    @property
    def pool(self) -> PoolState[Any, Any]:
        if isinstance(self._transport, AsyncHTTPTransport):
            return self._transport.pool
        return self._transport._pool

    def send(self, request: Request) -> DrivenResponse:
        if isinstance(self._transport, AsyncHTTPTransport):
            assert self._runner is not None
            response = self._runner.run(self._transport.handle_async_request(request))
        else:
            response = self._transport.handle_request(request)
        return DrivenResponse(response, self._runner)

    def fetch(self, request: Request) -> bytes:
        return self.send(request).read()

    def idle(self, seconds: float) -> None:
        """Wait, with the event loop (if any) running, so that it sees what the peer did."""
        if self._runner is None:
            time.sleep(seconds)
        else:
            self._runner.run(asyncio.sleep(seconds))


class Driver:
    """One way of running a transport: "sync", or async on "asyncio" or "uvloop"."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Driver({self.name!r})"

    @property
    def is_async(self) -> bool:
        return self.name != "sync"

    @contextmanager
    def transport(self, limits: Limits | None = None) -> Iterator[DrivenTransport]:
        """A transport of this driver's kind, closed (with its loop, if any) on exit."""
        options: dict[str, Any] = {} if limits is None else {"limits": limits}
        if not self.is_async:
            with HTTPTransport(**options) as transport:
                yield DrivenTransport(transport, None)
            return

        async def open_transport() -> AsyncHTTPTransport:
            return AsyncHTTPTransport(**options)

        with asyncio.Runner(loop_factory=loop_factory(self.name)) as runner:
            async_transport = runner.run(open_transport())
            try:
                yield DrivenTransport(async_transport, runner)
            finally:
                runner.run(async_transport.aclose())

    def body(self, chunks: Iterable[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
        """A streaming request body of the kind this driver's transport takes."""
        if not self.is_async:
            return iter(chunks)

        async def stream() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return stream()
