"""`http.cookiejar` and the adapters that let it read and write our Request and Response.

Kept apart from `_cookies.py` because `http.cookiejar` imports urllib.request, http.client, email
and ssl (~16 ms): they load with the first `Cookies` object, not with `import zephyr`.
"""

from __future__ import annotations

import typing
import urllib.request
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._request import Request
    from ._response import Response

__all__ = [
    "Cookie",
    "CookieJar",
    "HostOnlyCookiePolicy",
    "RequestAdapter",
    "ResponseAdapter",
    "new_jar",
]


class HostOnlyCookiePolicy(DefaultCookiePolicy):
    """The standard policy, with host-only cookies kept host-only (RFC 6265 §5.3 step 6).

    A cookie set without a Domain attribute must go back only to the host that set it; the
    stdlib's default also sends it to that host's subdomains. Cookies set by hand with no
    domain at all (`cookies.set("a", "b")`) are the user's own and go to every host, as in HTTPX.
    """

    def return_ok_domain(self, cookie: Cookie, request: urllib.request.Request) -> bool:
        if cookie.domain == "":
            return True
        if not cookie.domain_specified:
            request_host = (request.host or "").split(":", 1)[0].lower()
            host = cookie.domain.lower()
            return request_host == host or request_host == host.removesuffix(".local")
        return super().return_ok_domain(cookie, request)

    def domain_return_ok(self, domain: str, request: urllib.request.Request) -> bool:
        if domain == "":
            return True
        return super().domain_return_ok(domain, request)


def new_jar() -> CookieJar:
    return CookieJar(policy=HostOnlyCookiePolicy())


class RequestAdapter(urllib.request.Request):
    """Presents our Request to `CookieJar`, which speaks `urllib.request.Request`.

    The jar reads the URL and headers, and writes the Cookie header back through
    `add_unredirected_header`, which lands on our request.
    """

    def __init__(self, request: Request) -> None:
        super().__init__(
            url=str(request.url),
            headers=dict(request.headers.items()),
            method=request.method,
        )
        self.request = request

    def add_unredirected_header(self, key: str, header: str) -> None:
        super().add_unredirected_header(key, header)
        self.request.headers[key] = header


class ResponseAdapter:
    """Presents our Response's headers the way `CookieJar.extract_cookies` reads them."""

    def __init__(self, response: Response) -> None:
        self.response = response

    def info(self) -> _HeaderAdapter:
        return _HeaderAdapter(self.response)


class _HeaderAdapter:
    def __init__(self, response: Response) -> None:
        self.response = response

    def get_all(self, name: str, default: typing.Any = None) -> list[str] | Any:
        values = self.response.headers.get_list(name)
        return values if values else default
