"""`Cookies`: a mapping over `http.cookiejar.CookieJar`, as HTTPX offers it."""

from __future__ import annotations

import typing
import urllib.request
from collections.abc import Iterator, MutableMapping
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

from ._exceptions import CookieConflict

if TYPE_CHECKING:
    from ._request import Request
    from ._response import Response
    from ._types import CookieTypes

__all__ = ["Cookies"]


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


def _new_jar() -> CookieJar:
    return CookieJar(policy=HostOnlyCookiePolicy())


class Cookies(MutableMapping[str, str]):
    """The cookies of a client, a request or a response.

    Cookies({"session": "abc"}); cookies.set("a", "1", domain="example.org"); cookies.jar
    """

    def __init__(self, cookies: CookieTypes | None = None) -> None:
        if cookies is None or isinstance(cookies, dict):
            self.jar = _new_jar()
            if cookies:
                for name, value in cookies.items():
                    self.set(name, value)
        elif isinstance(cookies, list):
            self.jar = _new_jar()
            for name, value in cookies:
                self.set(name, value)
        elif isinstance(cookies, Cookies):
            self.jar = _new_jar()
            for cookie in cookies.jar:
                self.jar.set_cookie(cookie)
        elif isinstance(cookies, CookieJar):
            self.jar = cookies
        else:
            raise TypeError(
                "cookies must be a dict, a list of (name, value) pairs, a Cookies or a "
                f"CookieJar, not {type(cookies).__name__}."
            )

    def extract_cookies(self, response: Response) -> None:
        """Store the cookies a response sets (its Set-Cookie headers), for its request's URL."""
        self.jar.extract_cookies(
            _ResponseAdapter(response),  # type: ignore[arg-type]
            _RequestAdapter(response.request),
        )

    def set_cookie_header(self, request: Request) -> None:
        """Add the `Cookie` header that the jar's cookies call for to `request`."""
        self.jar.add_cookie_header(_RequestAdapter(request))

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Set a cookie; with no domain, it is sent to every host."""
        cookie = Cookie(
            version=0,
            name=name,
            value=value,
            port=None,
            port_specified=False,
            domain=domain,
            domain_specified=bool(domain),
            domain_initial_dot=domain.startswith("."),
            path=path,
            path_specified=bool(path),
            secure=False,
            expires=None,
            discard=True,
            comment=None,
            comment_url=None,
            rest={"HttpOnly": None},  # type: ignore[dict-item]  # typeshed says str; the stdlib stores None for flag attributes
            rfc2109=False,
        )
        self.jar.set_cookie(cookie)

    def get(  # type: ignore[override]
        self,
        name: str,
        default: str | None = None,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of the cookie `name`; CookieConflict when several cookies match."""
        value: str | None = None
        for cookie in self._matching(name, domain, path):
            if value is not None and cookie.value != value:
                raise CookieConflict(
                    f"Multiple cookies exist with name={name!r}; pass domain= or path= to "
                    "choose one."
                )
            value = cookie.value
        return default if value is None else value

    def delete(self, name: str, domain: str | None = None, path: str | None = None) -> None:
        """Remove every cookie called `name` (within `domain` and `path` when given)."""
        if domain is not None and path is not None:
            self.jar.clear(domain, path, name)
            return
        for cookie in list(self._matching(name, domain, path)):
            self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def clear(self, domain: str | None = None, path: str | None = None) -> None:
        """Remove all cookies, or those of `domain` (and `path`)."""
        if domain is None:
            if path is not None:
                raise ValueError("Cookies.clear(path=...) needs a domain as well.")
            self.jar.clear()
        elif path is None:
            self.jar.clear(domain)
        else:
            self.jar.clear(domain, path)

    def update(self, cookies: CookieTypes | None = None, /, **kwargs: Any) -> None:  # type: ignore[override]
        for cookie in Cookies(cookies).jar:
            self.jar.set_cookie(cookie)
        for name, value in kwargs.items():
            self.set(name, value)

    def _matching(self, name: str, domain: str | None, path: str | None) -> Iterator[Cookie]:
        for cookie in self.jar:
            if (
                cookie.name == name
                and (domain is None or cookie.domain == domain)
                and (path is None or cookie.path == path)
            ):
                yield cookie

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __delitem__(self, name: str) -> None:
        if not any(True for _ in self._matching(name, None, None)):
            raise KeyError(name)
        self.delete(name)

    def __len__(self) -> int:
        return len(self.jar)

    def __iter__(self) -> Iterator[str]:
        return (cookie.name for cookie in self.jar)

    def __bool__(self) -> bool:
        return any(True for _ in self.jar)

    def __repr__(self) -> str:
        described = ", ".join(
            f"<Cookie {cookie.name}={cookie.value} for {cookie.domain}{cookie.path} />"
            for cookie in self.jar
        )
        return f"<Cookies[{described}]>"


class _RequestAdapter(urllib.request.Request):
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


class _ResponseAdapter:
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
