"""The seam that lets every end-to-end client test run on `Client` and on `AsyncClient`.

Tests get drivers from the `client_factory` fixture and call only their blocking methods:

    def test_get(client_factory: ClientFactory, zephyr_server: TestServer) -> None:
        driver = client_factory(headers={"X-Key": "k"})
        response = driver.get(zephyr_server.url + "/get")

`SyncDriver` calls a `zephyr.Client` directly. `AsyncDriver` runs a `zephyr.AsyncClient` on an
event loop in a thread of its own and waits for each call; it joins the fixture's params as
soon as `zephyr.AsyncClient` exists, and every test then runs on both clients, unchanged.

Configuration without I/O (settable properties, `build_request`, `cookies`, `event_hooks`)
goes straight to `driver.client`, whose API is the same in both colours. What differs by
colour has a method here: `hook()` turns a plain function into an event hook of the client's
colour, `stream()` and `send_stream()` give a `StreamedResponse` whose iterators block, and
`close()` / `with driver:` close the client. Responses returned by `request()` and friends
are read already, so their `content`, `text` and `json()` work in both colours.

Test modules load this file as a plugin (`pytest_plugins = ["client_helpers"]`) for the
`client_factory` and `recording_server` fixtures, and import names from it only for typing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TypeVar

import pytest

import zephyr
from scripted_server import ScriptedConnection, ScriptedServer

__all__ = [
    "AsyncDriver",
    "ClientFactory",
    "Driver",
    "RecordingServer",
    "StreamedResponse",
    "SyncDriver",
    "client_factory",
    "recording_server",
]

T = TypeVar("T")


class Driver(Protocol):
    """What tests may call; both drivers implement it."""

    client: Any
    is_async: bool

    def request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def get(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def post(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def put(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def patch(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def delete(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def head(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def options(self, url: Any, **kwargs: Any) -> zephyr.Response: ...
    def send(self, request: zephyr.Request, **kwargs: Any) -> zephyr.Response: ...
    def send_stream(self, request: zephyr.Request, **kwargs: Any) -> StreamedResponse: ...
    def stream(
        self, method: str, url: Any, **kwargs: Any
    ) -> AbstractContextManager[StreamedResponse]: ...
    def hook(self, func: Callable[[Any], None], *, read: bool = False) -> Callable[[Any], Any]:
        """`func` as an event hook of the client's colour; `read`: read the response first."""

    def close(self) -> None: ...
    def __enter__(self) -> Driver: ...
    def __exit__(self, *exc_info: object) -> None: ...


class StreamedResponse:
    """A response whose body has not been read, with blocking iterators.

    `response` is the client's own Response: its status, headers and flags can be read as
    they are; its body only through the methods here.
    """

    def __init__(self, response: zephyr.Response) -> None:
        self.response = response

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self.response.iter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self.response.iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        return self.response.iter_lines()

    def iter_raw(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self.response.iter_raw(chunk_size)

    def read(self) -> bytes:
        return self.response.read()

    def close(self) -> None:
        self.response.close()


# -- the sync client ------------------------------------------------------------------------


class SyncDriver:
    """`Driver` over `zephyr.Client`: every method is the client's own call."""

    is_async = False

    def __init__(self, **client_kwargs: Any) -> None:
        self.client = zephyr.Client(**client_kwargs)

    def request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.request(method, url, **kwargs)

    def get(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.get(url, **kwargs)

    def post(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.post(url, **kwargs)

    def put(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.put(url, **kwargs)

    def patch(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.patch(url, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.delete(url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.head(url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self.client.options(url, **kwargs)

    def send(self, request: zephyr.Request, **kwargs: Any) -> zephyr.Response:
        return self.client.send(request, **kwargs)

    def send_stream(self, request: zephyr.Request, **kwargs: Any) -> StreamedResponse:
        return StreamedResponse(self.client.send(request, stream=True, **kwargs))

    @contextmanager
    def stream(self, method: str, url: Any, **kwargs: Any) -> Iterator[StreamedResponse]:
        with self.client.stream(method, url, **kwargs) as response:
            yield StreamedResponse(response)

    def hook(self, func: Callable[[Any], None], *, read: bool = False) -> Callable[[Any], Any]:
        if not read:
            return func

        def hook(response: zephyr.Response) -> None:
            response.read()
            func(response)

        return hook

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SyncDriver:
        self.client.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.client.__exit__(*exc_info)


# -- the async client -----------------------------------------------------------------------


class AsyncStreamedResponse(StreamedResponse):
    """`StreamedResponse` over an async response: each step runs on the driver's loop."""

    def __init__(self, response: zephyr.Response, driver: AsyncDriver) -> None:
        super().__init__(response)
        self._driver = driver

    def _blocking(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        run = self._driver.run
        try:
            while True:
                try:
                    yield run(iterator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                run(aclose())

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._blocking(self.response.aiter_bytes(chunk_size))

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        return self._blocking(self.response.aiter_text(chunk_size))

    def iter_lines(self) -> Iterator[str]:
        return self._blocking(self.response.aiter_lines())

    def iter_raw(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._blocking(self.response.aiter_raw(chunk_size))

    def read(self) -> bytes:
        return self._driver.run(self.response.aread())

    def close(self) -> None:
        self._driver.run(self.response.aclose())


class AsyncDriver:
    """`Driver` over `zephyr.AsyncClient`, run on an event loop in a thread of its own.

    Tests call from their own thread (or several: each call is a task on the loop, so calls
    from many threads run concurrently) and block until the coroutine is done.
    """

    is_async = True

    def __init__(self, **client_kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="zephyr-test-async-driver", daemon=True
        )
        self._thread.start()
        self._stopped = False

        async def make_client() -> Any:
            return zephyr.AsyncClient(**client_kwargs)  # type: ignore[attr-defined]

        try:
            self.client = self.run(make_client())
        except BaseException:
            self._stop_loop()
            raise

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run `coroutine` on the driver's loop and wait for its result (or exception)."""

        async def wrapper() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result()

    def request(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response:
        response: zephyr.Response = self.run(self.client.request(method, url, **kwargs))
        return response

    # Each shortcut is the client's own (they have fast paths of their own to cover).
    def _call(self, method: str, url: Any, **kwargs: Any) -> zephyr.Response:
        response: zephyr.Response = self.run(getattr(self.client, method)(url, **kwargs))
        return response

    def get(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("get", url, **kwargs)

    def post(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("post", url, **kwargs)

    def put(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("put", url, **kwargs)

    def patch(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("patch", url, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("delete", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("head", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> zephyr.Response:
        return self._call("options", url, **kwargs)

    def send(self, request: zephyr.Request, **kwargs: Any) -> zephyr.Response:
        response: zephyr.Response = self.run(self.client.send(request, **kwargs))
        return response

    def send_stream(self, request: zephyr.Request, **kwargs: Any) -> StreamedResponse:
        response = self.run(self.client.send(request, stream=True, **kwargs))
        return AsyncStreamedResponse(response, self)

    @contextmanager
    def stream(self, method: str, url: Any, **kwargs: Any) -> Iterator[StreamedResponse]:
        context = self.client.stream(method, url, **kwargs)
        response = self.run(context.__aenter__())
        try:
            yield AsyncStreamedResponse(response, self)
        except BaseException as exc:
            if not self.run(context.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self.run(context.__aexit__(None, None, None))

    def hook(self, func: Callable[[Any], None], *, read: bool = False) -> Callable[[Any], Any]:
        async def hook(argument: Any) -> None:
            if read:
                await argument.aread()
            func(argument)

        return hook

    def close(self) -> None:
        # Closes the client only: the loop keeps running, so that a test can go on to check
        # that the closed client refuses requests. The fixture calls shutdown().
        if not self._stopped:
            self.run(self.client.aclose())

    def shutdown(self) -> None:
        if self._stopped:
            return
        try:
            self.run(self.client.aclose())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> AsyncDriver:
        self.run(self.client.__aenter__())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.run(self.client.__aexit__(*exc_info))


# -- the fixture ----------------------------------------------------------------------------

ClientFactory = Callable[..., Driver]

_DRIVERS: dict[str, Callable[..., Driver]] = {"sync": SyncDriver}
if hasattr(zephyr, "AsyncClient"):
    _DRIVERS["async"] = AsyncDriver


@pytest.fixture(params=sorted(_DRIVERS, reverse=True))  # "sync" first
def client_factory(request: pytest.FixtureRequest) -> Iterator[ClientFactory]:
    """Makes drivers (keyword arguments: the client's); closes them all after the test."""
    made: list[Driver] = []
    driver_class = _DRIVERS[request.param]

    def make(**client_kwargs: Any) -> Driver:
        driver = driver_class(**client_kwargs)
        made.append(driver)
        return driver

    yield make
    for driver in made:
        shutdown = getattr(driver, "shutdown", driver.close)
        shutdown()


# -- a server that records what it was sent --------------------------------------------------


class RecordingServer:
    """A scripted server that answers every request `200 ok` and keeps each request's head.

    For what a test server's echo cannot show: a request that went to another port, exactly
    as it came off the wire.
    """

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.server = ScriptedServer(self._script)
        self.url = self.server.url  # "http://127.0.0.1:<port>/"

    def _script(self, conn: ScriptedConnection) -> None:
        while (request := conn.read_request()) is not None:
            self.heads.append(request[0])
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def header_values(self, name: str, index: int = -1) -> list[str]:
        """The values of header `name` in the `index`th request received, in order."""
        values = []
        for line in self.heads[index].split(b"\r\n")[1:]:
            field, _, value = line.partition(b":")
            if field.strip().lower() == name.lower().encode():
                values.append(value.strip().decode("latin-1"))
        return values

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.close()
