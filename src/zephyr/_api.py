"""The top-level functions: `zephyr.get(...)` and friends, each on a short-lived Client.

For more than a request or two, use a `Client`: it keeps connections open between requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._client import Client
from ._config import DEFAULT_TIMEOUT
from ._response import Response
from ._types import (
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestFiles,
    TimeoutTypes,
    URLTypes,
)

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request", "stream"]


def request(
    method: str,
    url: URLTypes,
    *,
    params: QueryParamTypes | None = None,
    content: RequestContent | None = None,
    data: RequestData | None = None,
    files: RequestFiles | None = None,
    json: Any | None = None,
    headers: HeaderTypes | None = None,
    cookies: CookieTypes | None = None,
    auth: Any = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    follow_redirects: bool = False,
    verify: Any = True,
    cert: Any = None,
    trust_env: bool = True,
) -> Response:
    """Send one request and return its response, read.

    zephyr.request("GET", "https://example.org/", params={"q": "x"}, timeout=3.0)
    """
    with Client(
        cookies=cookies, verify=verify, cert=cert, timeout=timeout, trust_env=trust_env
    ) as client:
        return client.request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            auth=auth,
            follow_redirects=follow_redirects,
        )


@contextmanager
def stream(
    method: str,
    url: URLTypes,
    *,
    params: QueryParamTypes | None = None,
    content: RequestContent | None = None,
    data: RequestData | None = None,
    files: RequestFiles | None = None,
    json: Any | None = None,
    headers: HeaderTypes | None = None,
    cookies: CookieTypes | None = None,
    auth: Any = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT,
    follow_redirects: bool = False,
    verify: Any = True,
    cert: Any = None,
    trust_env: bool = True,
) -> Iterator[Response]:
    """Send one request and yield its response unread; it is closed on exit."""
    with (
        Client(
            cookies=cookies, verify=verify, cert=cert, timeout=timeout, trust_env=trust_env
        ) as client,
        client.stream(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            auth=auth,
            follow_redirects=follow_redirects,
        ) as response,
    ):
        yield response


def get(url: URLTypes, **kwargs: Any) -> Response:
    """Send a GET request. Takes the keyword arguments of `request()` except the body ones."""
    return request("GET", url, **kwargs)


def options(url: URLTypes, **kwargs: Any) -> Response:
    return request("OPTIONS", url, **kwargs)


def head(url: URLTypes, **kwargs: Any) -> Response:
    return request("HEAD", url, **kwargs)


def post(url: URLTypes, **kwargs: Any) -> Response:
    return request("POST", url, **kwargs)


def put(url: URLTypes, **kwargs: Any) -> Response:
    return request("PUT", url, **kwargs)


def patch(url: URLTypes, **kwargs: Any) -> Response:
    return request("PATCH", url, **kwargs)


def delete(url: URLTypes, **kwargs: Any) -> Response:
    return request("DELETE", url, **kwargs)
