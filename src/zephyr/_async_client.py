"""`AsyncClient`: the asyncio client. It drives the same `_flow` as `Client`, with awaits."""

from __future__ import annotations

import inspect
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Generator,
    Mapping,
)
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from ._client_base import BaseClient, EventHooks
from ._config import DEFAULT_LIMITS, DEFAULT_MAX_REDIRECTS, DEFAULT_TIMEOUT, Limits
from ._deadline import Deadline
from ._defaults import USE_CLIENT_DEFAULT, UseClientDefault
from ._exceptions import RequestError
from ._flow import (
    AdvanceAuth,
    CallHook,
    ReadResponse,
    SendRequest,
    Sleep,
    StartAuth,
    after_single_send,
)
from ._request import Request
from ._response import Response
from ._retry import Retry
from ._streams import AsyncByteStream
from ._transports.base import AsyncBaseTransport
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

__all__ = ["AsyncClient"]


def _note_request(exc: RequestError, request: Request) -> None:
    # What `request_context` does, without a context manager's ~0.8 us (measured).
    if exc._request is None:
        exc._request = request


class AsyncClient(BaseClient[AsyncBaseTransport]):
    """An asyncio HTTP client with connection pooling; the API of `Client`, awaited.

    async with zephyr.AsyncClient(base_url="https://api.example") as client:
        responses = await asyncio.gather(*(client.get(f"/items/{i}") for i in range(10)))
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
        mounts: Mapping[str, AsyncBaseTransport | None] | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        follow_redirects: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        retries: Retry | int | None = None,
        event_hooks: EventHooks | None = None,
        base_url: URLTypes = "",
        transport: AsyncBaseTransport | None = None,
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
            from ._transports.async_http import AsyncHTTPTransport  # deferred: cheap import

            transport = AsyncHTTPTransport(
                verify=verify,
                cert=cert,
                trust_env=trust_env,
                http1=http1,
                http2=http2,
                limits=limits,
            )
        self._transport = transport
        self._set_mounts(mounts)
        self._set_response_limit(limits)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._request_overridden = (
            cls.request is not AsyncClient.request
            or cls.build_request is not BaseClient.build_request
        )

    # -- the request methods -------------------------------------------------------------------

    async def request(
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
        return await self.send(request, auth=auth, follow_redirects=follow_redirects)

    @asynccontextmanager
    async def stream(
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
    ) -> AsyncIterator[Response]:
        """Send a request and yield the response unread, closing it on exit:

        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_bytes(): ...
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
        response = await self.send(
            request, auth=auth, follow_redirects=follow_redirects, stream=True
        )
        try:
            yield response
        finally:
            await response.aclose()

    async def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Response:
        """Send a built request, following the client's policies (auth, redirects, hooks)."""
        settings, follow, flow = self._start_flow(request, auth, follow_redirects)
        if flow is None:
            # Nothing to do before the response (no auth, hooks or retries): no flow to drive.
            transport = self._start_single(request, settings.deadline)
            started = time.perf_counter()
            try:
                response = await transport.handle_async_request(request)
            except RequestError as exc:
                _note_request(exc, request)
                raise
            self._finish_single(request, response, started)
            try:
                flow = after_single_send(settings, request, response, follow)
            except BaseException:
                await response.aclose()
                raise
            if flow is not None:
                response = await self._drive(flow, [response], settings.deadline)
        else:
            response = await self._drive(flow, [], settings.deadline)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response

    # The shortcuts go through `request()`, as HTTPX's do, unless they have no argument but the
    # URL and `request()` is ours: then they build and send the request themselves, without
    # passing a dozen default arguments on twice (~0.6 us, measured). A subclass that overrides
    # `request` or `build_request` still sees every call.

    # A plain function returning the coroutine to await: one coroutine frame fewer per request
    # in flight (memory: ~300 bytes each) and per resumption of its task.
    def _shortcut(
        self, method: str, url: URLTypes, kwargs: dict[str, Any]
    ) -> Coroutine[Any, Any, Response]:
        if kwargs or self._request_overridden:
            return self.request(method, url, **kwargs)
        return self.send(self._build_default_request(method, url))

    async def get(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("GET", url, kwargs)

    async def options(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("OPTIONS", url, kwargs)

    async def head(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("HEAD", url, kwargs)

    async def post(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("POST", url, kwargs)

    async def put(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("PUT", url, kwargs)

    async def patch(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("PATCH", url, kwargs)

    async def delete(self, url: URLTypes, **kwargs: Any) -> Response:
        return await self._shortcut("DELETE", url, kwargs)

    # -- driving the flow ----------------------------------------------------------------------

    async def _drive(
        self,
        flow: Generator[Any, Any, Response],
        opened: list[Response],
        deadline: Deadline | None = None,
    ) -> Response:
        """Carry out the flow's actions with awaits until it returns a response. `opened`: the
        responses to close if the flow fails (every one a `SendRequest` returns joins them)."""
        auth_flows: list[AsyncGenerator[Request, Response]] = []
        try:
            action = flow.send(None)
            while True:
                try:
                    if type(action) is SendRequest:
                        # Nearly every action: sent without `_perform`'s coroutine and tests.
                        result = await self._send_single_request(action.request, deadline)
                        opened.append(result)
                    else:
                        result = await self._perform(action, auth_flows)
                except Exception as exc:
                    action = flow.throw(exc)
                else:
                    action = flow.send(result)
        except StopIteration as stop:
            # Only the flow's own end lands here: the actions' exceptions go into the flow.
            final: Response = stop.value
            return final
        except BaseException:
            # The flow failed, or the task was cancelled: release what it had open.
            for response in opened:
                if not response.is_closed:
                    await response.aclose()
            raise
        finally:
            flow.close()
            for auth_flow in auth_flows:
                await auth_flow.aclose()

    async def _perform(
        self, action: Any, auth_flows: list[AsyncGenerator[Request, Response]]
    ) -> Any:
        """Carry out an action other than `SendRequest` (which `_drive` does itself)."""
        if isinstance(action, ReadResponse):
            await action.response.aread()
            await action.response.aclose()
            return None
        if isinstance(action, CallHook):
            outcome = action.hook(action.argument)
            if inspect.isawaitable(outcome):
                await outcome
            return None
        if isinstance(action, StartAuth):
            auth_flow = action.auth.async_auth_flow(action.request)
            auth_flows.append(auth_flow)
            return auth_flow, await auth_flow.__anext__()
        if isinstance(action, AdvanceAuth):
            try:
                return await action.flow.asend(action.response)
            except StopAsyncIteration:
                return None
        if isinstance(action, Sleep):
            import asyncio  # not at import: `import zephyr` need not load asyncio (~18 ms)

            await asyncio.sleep(action.seconds)
            return None
        raise TypeError(f"Unknown flow action {action!r}")  # pragma: no cover

    async def _send_single_request(
        self, request: Request, deadline: Deadline | None = None
    ) -> Response:
        transport = self._start_single(request, deadline)
        started = time.perf_counter()
        try:
            response = await transport.handle_async_request(request)
        except RequestError as exc:
            _note_request(exc, request)
            raise
        return self._finish_single(request, response, started)

    # `send` without a flow awaits the transport itself between these two, which is
    # `_send_single_request` inlined: a coroutine frame fewer per request in flight.

    def _start_single(self, request: Request, deadline: Deadline | None) -> AsyncBaseTransport:
        """The transport for `request`, once the request is ready to go to it."""
        transport = self._transport
        if self._mounts:
            transport = self._transport_for_url(request.url, transport)
        if not isinstance(request.stream, AsyncByteStream):
            raise RuntimeError(
                "Attempted to send a sync request body with an AsyncClient; use Client."
            )
        self._before_send(request)
        if deadline is not None:
            # Each attempt: the phase timeouts capped to what is left, and the deadline itself
            # for the transport's waits (`_deadline.py`).
            request.extensions["timeout"] = deadline.timeouts()
        return transport

    def _finish_single(self, request: Request, response: Response, started: float) -> Response:
        assert isinstance(response.stream, AsyncByteStream)
        response._sent_at = started  # `elapsed` is set when the response is closed
        self._after_send(request, response, started)
        return response

    # -- lifetime ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close every transport and its connections; later requests are refused."""
        if not self._is_closed:
            self._is_closed = True
            await self._transport.aclose()
            for transport in self._mounts.values():
                if transport is not None:
                    await transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()
