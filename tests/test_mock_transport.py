"""MockTransport and the transport base classes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from zephyr import Request, Response
from zephyr._transports import AsyncBaseTransport, BaseTransport, HTTPTransport, MockTransport


def echo(request: Request) -> Response:
    return Response(
        200,
        json={
            "method": request.method,
            "url": str(request.url),
            "body": request.content.decode(),
        },
    )


def test_sync_handler() -> None:
    with MockTransport(echo) as transport:
        response = transport.handle_request(
            Request("POST", "https://example.org/path", content=b"data")
        )
        assert response.status_code == 200
        assert json.loads(response.read()) == {
            "method": "POST",
            "url": "https://example.org/path",
            "body": "data",
        }


def test_streaming_request_body_is_read_for_the_handler() -> None:
    transport = MockTransport(echo)
    request = Request("PUT", "http://example.org/", content=iter([b"a", b"b", b"c"]))
    response = transport.handle_request(request)
    assert json.loads(response.read())["body"] == "abc"


def test_streaming_response_body() -> None:
    def handler(request: Request) -> Response:
        return Response(200, content=iter([b"one ", b"two"]))

    response = MockTransport(handler).handle_request(Request("GET", "http://example.org/"))
    assert b"".join(response.iter_bytes()) == b"one two"


def test_async_side_with_sync_handler() -> None:
    async def main() -> None:
        async with MockTransport(echo) as transport:
            response = await transport.handle_async_request(Request("GET", "http://example.org/"))
            assert json.loads(await response.aread())["method"] == "GET"

    asyncio.run(main())


def test_async_side_with_async_handler_and_async_body() -> None:
    async def handler(request: Request) -> Response:
        await asyncio.sleep(0)
        return echo(request)

    async def body() -> AsyncIterator[bytes]:
        yield b"async "
        yield b"body"

    async def main() -> None:
        transport = MockTransport(handler)
        request = Request("POST", "http://example.org/", content=body())
        response = await transport.handle_async_request(request)
        assert json.loads(await response.aread())["body"] == "async body"

    asyncio.run(main())


def test_async_handler_on_the_sync_side_is_a_clear_error() -> None:
    async def handler(request: Request) -> Response:
        return Response(200)

    with pytest.raises(TypeError, match="async client"):
        MockTransport(handler).handle_request(Request("GET", "http://example.org/"))


def test_handler_must_return_a_response() -> None:
    transport = MockTransport(lambda request: "nope")  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="must return a Response"):
        transport.handle_request(Request("GET", "http://example.org/"))

    async def main() -> None:
        with pytest.raises(TypeError, match="must return a Response"):
            await transport.handle_async_request(Request("GET", "http://example.org/"))

    asyncio.run(main())


def test_handler_exceptions_propagate() -> None:
    def handler(request: Request) -> Response:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        MockTransport(handler).handle_request(Request("GET", "http://example.org/"))


def test_base_classes() -> None:
    assert isinstance(MockTransport(echo), BaseTransport)
    assert isinstance(MockTransport(echo), AsyncBaseTransport)
    assert issubclass(HTTPTransport, BaseTransport)
    with pytest.raises(NotImplementedError):
        BaseTransport().handle_request(Request("GET", "http://example.org/"))
    with BaseTransport() as transport:
        assert isinstance(transport, BaseTransport)

    async def main() -> None:
        async with AsyncBaseTransport() as transport:
            with pytest.raises(NotImplementedError):
                await transport.handle_async_request(Request("GET", "http://example.org/"))

    asyncio.run(main())


def test_lazy_httptransport_attribute() -> None:
    import zephyr._transports as transports

    assert transports.HTTPTransport is HTTPTransport
    with pytest.raises(AttributeError):
        transports.NoSuchTransport  # noqa: B018
