"""The exception hierarchy has HTTPX's names and bases, so `except httpx.X` code keeps working."""

import pytest

import zephyr

HIERARCHY = {
    "HTTPError": "ZephyrError",
    "RequestError": "HTTPError",
    "TransportError": "RequestError",
    "TimeoutException": "TransportError",
    "ConnectTimeout": "TimeoutException",
    "ReadTimeout": "TimeoutException",
    "WriteTimeout": "TimeoutException",
    "PoolTimeout": "TimeoutException",
    "NetworkError": "TransportError",
    "ConnectError": "NetworkError",
    "ReadError": "NetworkError",
    "WriteError": "NetworkError",
    "CloseError": "NetworkError",
    "ProtocolError": "TransportError",
    "LocalProtocolError": "ProtocolError",
    "RemoteProtocolError": "ProtocolError",
    "ProxyError": "TransportError",
    "UnsupportedProtocol": "TransportError",
    "DecodingError": "RequestError",
    "TooManyRedirects": "RequestError",
    "HTTPStatusError": "HTTPError",
    "InvalidURL": "ZephyrError",
    "CookieConflict": "ZephyrError",
    "StreamError": "ZephyrError",
    "StreamConsumed": "StreamError",
    "StreamClosed": "StreamError",
    "ResponseNotRead": "StreamError",
    "RequestNotRead": "StreamError",
}


@pytest.mark.parametrize(("name", "base"), sorted(HIERARCHY.items()))
def test_bases(name: str, base: str) -> None:
    cls = getattr(zephyr, name)
    assert getattr(zephyr, base) in cls.__bases__


def test_stream_errors_are_runtime_errors() -> None:
    assert issubclass(zephyr.StreamConsumed, RuntimeError)


def test_request_error_carries_its_request() -> None:
    request = zephyr.Request("GET", "https://example.org/")
    exc = zephyr.ConnectError("connection refused", request=request)
    assert exc.request is request
    assert str(exc) == "connection refused"


def test_request_error_without_request_says_so() -> None:
    exc = zephyr.ReadError("boom")
    with pytest.raises(RuntimeError, match="request"):
        _ = exc.request


def test_request_context_attaches_the_request() -> None:
    from zephyr._exceptions import request_context

    request = zephyr.Request("GET", "https://example.org/")
    with pytest.raises(zephyr.ReadError) as info, request_context(request):
        raise zephyr.ReadError("reset by peer")
    assert info.value.request is request


def test_request_context_keeps_an_existing_request() -> None:
    from zephyr._exceptions import request_context

    first = zephyr.Request("GET", "https://a.example/")
    second = zephyr.Request("GET", "https://b.example/")
    with pytest.raises(zephyr.ReadError) as info, request_context(second):
        raise zephyr.ReadError("x", request=first)
    assert info.value.request is first


def test_http_status_error_carries_request_and_response() -> None:
    request = zephyr.Request("GET", "https://example.org/")
    response = zephyr.Response(500, request=request)
    exc = zephyr.HTTPStatusError("bad", request=request, response=response)
    assert exc.request is request
    assert exc.response is response


def test_stream_error_messages_explain() -> None:
    assert "already been streamed" in str(zephyr.StreamConsumed())
    assert "closed" in str(zephyr.StreamClosed())
    assert "read()" in str(zephyr.ResponseNotRead())
    assert "read()" in str(zephyr.RequestNotRead())
