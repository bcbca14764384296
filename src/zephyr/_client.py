"""`Client`: the blocking client. It drives `_flow` with plain calls and owns its transports."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from ._auth import Auth
from ._client_base import BaseClient, EventHooks
from ._config import DEFAULT_LIMITS, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT, Limits
from ._defaults import USE_CLIENT_DEFAULT, UseClientDefault
from ._exceptions import RequestError
from ._flow import AdvanceAuth, CallHook, ReadResponse, SendRequest, Sleep, StartAuth
from ._request import Request
from ._response import Response
from ._retry import Retry
from ._streams import SyncByteStream
from ._transports.base import BaseTransport
from ._types import (
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
    URLTypes,
)

__all__ = ["Client"]


class _TimedStream(SyncByteStream):
    """The transport's body stream, which sets `response.elapsed` when it is closed."""

    __slots__ = ("_response", "_started", "_stream")

    def __init__(self, stream: SyncByteStream, response: Response, started: float) -> None:
        self._stream = stream
        self._response = response
        self._started = started

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        self._response._set_elapsed_seconds(time.perf_counter() - self._started)
        self._stream.close()


class Client(BaseClient[BaseTransport]):
    """An HTTP client with connection pooling, cookie persistence and default settings.

    with zephyr.Client(base_url="https://api.example", headers={"X-Key": "k"}) as client:
        response = client.get("/items", params={"page": 2})
    """

    def __init__(
        self,
        *,
        auth: Any = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        verify: Any = True,
        cert: Any = None,
        http1: bool = True,
        http2: bool = False,
        mounts: Mapping[str, BaseTransport | None] | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        follow_redirects: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        retries: Retry | int | None = None,
        event_hooks: EventHooks | None = None,
        base_url: URLTypes = "",
        transport: BaseTransport | None = None,
        trust_env: bool = True,
        default_encoding: str | Callable[[bytes], str | None] = "utf-8",
    ) -> None:
        super().__init__(
            auth=auth,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            retries=retries,
            event_hooks=event_hooks,
            base_url=base_url,
            trust_env=trust_env,
            default_encoding=default_encoding,
        )
        if transport is None:
            from ._transports.http import HTTPTransport  # deferred: keeps `import zephyr` cheap

            transport = HTTPTransport(
                verify=verify,
                cert=cert,
                trust_env=trust_env,
                http1=http1,
                http2=http2,
                limits=limits,
            )
        self._transport = transport
        self._set_mounts(mounts)

    # -- the request methods -------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: URLTypes,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Response:
        """Build and send a request; the response body is read before it is returned."""
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        return self.send(request, auth=auth, follow_redirects=follow_redirects)

    @contextmanager
    def stream(
        self,
        method: str,
        url: URLTypes,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: Any | None = None,
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> Iterator[Response]:
        """Send a request and yield the response unread, closing it on exit:

        with client.stream("GET", url) as response:
            for chunk in response.iter_bytes(): ...
        """
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        response = self.send(request, auth=auth, follow_redirects=follow_redirects, stream=True)
        try:
            yield response
        finally:
            response.close()

    def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Response:
        """Send a built request, following the client's policies (auth, redirects, hooks)."""
        response = self._drive(self._start_flow(request, auth, follow_redirects))
        if not stream:
            try:
                response.read()
            except BaseException:
                response.close()
                raise
        return response

    def get(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("GET", url, **kwargs)

    def options(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("HEAD", url, **kwargs)

    def post(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: URLTypes, **kwargs: Any) -> Response:
        return self.request("DELETE", url, **kwargs)

    # -- driving the flow ----------------------------------------------------------------------

    def _drive(self, flow: Generator[Any, Any, Response]) -> Response:
        """Carry out the flow's actions with blocking calls until it returns a response."""
        opened: list[Response] = []
        auth_flows: list[Generator[Request, Response, None]] = []
        perform = self._perform
        try:
            action = flow.send(None)
            while True:
                try:
                    result = perform(action, opened, auth_flows)
                except Exception as exc:
                    action = flow.throw(exc)
                else:
                    action = flow.send(result)
        except StopIteration as stop:
            # Only the flow's own end lands here: `perform`'s exceptions go into the flow.
            final: Response = stop.value
            return final
        except BaseException:
            # The flow failed (or was interrupted): release what it had open.
            for response in opened:
                if not response.is_closed:
                    response.close()
            raise
        finally:
            flow.close()
            for auth_flow in auth_flows:
                auth_flow.close()

    def _perform(
        self,
        action: Any,
        opened: list[Response],
        auth_flows: list[Generator[Request, Response, None]],
    ) -> Any:
        if isinstance(action, SendRequest):
            response = self._send_single_request(action.request)
            opened.append(response)
            return response
        if isinstance(action, ReadResponse):
            action.response.read()
            action.response.close()
            return None
        if isinstance(action, CallHook):
            action.hook(action.argument)
            return None
        if isinstance(action, StartAuth):
            auth_flow = _auth_flow(action.auth, action.request)
            auth_flows.append(auth_flow)
            return auth_flow, next(auth_flow)
        if isinstance(action, AdvanceAuth):
            try:
                return action.flow.send(action.response)
            except StopIteration:
                return None
        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        raise TypeError(f"Unknown flow action {action!r}")  # pragma: no cover

    def _send_single_request(self, request: Request) -> Response:
        transport = self._transport
        if self._mounts:
            transport = self._transport_for_url(request.url, transport)
        if not isinstance(request.stream, SyncByteStream):
            raise RuntimeError(
                "Attempted to send an async request body with a sync Client; use AsyncClient."
            )
        self._before_send(request)
        started = time.perf_counter()
        try:
            response = transport.handle_request(request)
        except RequestError as exc:
            # What `request_context` does, without a context manager's ~0.8 us (measured).
            if exc._request is None:
                exc._request = request
            raise
        assert isinstance(response.stream, SyncByteStream)
        response.stream = _TimedStream(response.stream, response, started)
        self._after_send(request, response, started)
        return response

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every transport and its connections; later requests are refused."""
        if not self._is_closed:
            self._is_closed = True
            self._transport.close()
            for transport in self._mounts.values():
                if transport is not None:
                    transport.close()

    def __enter__(self) -> Client:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()


def _auth_flow(auth: Auth, request: Request) -> Generator[Request, Response, None]:
    # Auth.sync_auth_flow reads bodies when the scheme asks for them; a subclass may override it
    # to do its own I/O (a token refresh), which is why the driver, not the flow, calls it.
    return auth.sync_auth_flow(request)
