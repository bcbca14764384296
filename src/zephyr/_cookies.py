"""`Cookies`: a mapping over `http.cookiejar.CookieJar`, as HTTPX offers it."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._exceptions import CookieConflict

if TYPE_CHECKING:
    from http.cookiejar import Cookie

    from ._request import Request
    from ._response import Response
    from ._types import CookieTypes

__all__ = ["Cookies"]

# The headers `CookieJar.make_cookies` reads (RFC 6265 and the obsolete RFC 2965), lower-case.
_SET_COOKIE_NAMES = (b"set-cookie", b"set-cookie2")


_cookiejar_module: ModuleType | None = None


def _jar() -> ModuleType:
    # Loaded on first use: see _cookiejar.py for why. Remembered once loaded: an import
    # statement costs ~0.3 us even for a loaded module, and this runs on every request.
    global _cookiejar_module
    if _cookiejar_module is None:
        from . import _cookiejar

        _cookiejar_module = _cookiejar
    return _cookiejar_module


class Cookies(MutableMapping[str, str]):
    """The cookies of a client, a request or a response.

    Cookies({"session": "abc"}); cookies.set("a", "1", domain="example.org"); cookies.jar
    """

    def __init__(self, cookies: CookieTypes | None = None) -> None:
        if cookies is None or isinstance(cookies, dict):
            self.jar = _jar().new_jar()
            if cookies:
                for name, value in cookies.items():
                    self.set(name, value)
        elif isinstance(cookies, list):
            self.jar = _jar().new_jar()
            for name, value in cookies:
                self.set(name, value)
        elif isinstance(cookies, Cookies):
            self.jar = _jar().new_jar()
            for cookie in cookies.jar:
                self.jar.set_cookie(cookie)
        elif isinstance(cookies, _jar().CookieJar):
            self.jar = cookies
        else:
            raise TypeError(
                "cookies must be a dict, a list of (name, value) pairs, a Cookies or a "
                f"CookieJar, not {type(cookies).__name__}."
            )

    def extract_cookies(self, response: Response) -> None:
        """Store the cookies a response sets (its Set-Cookie headers), for its request's URL."""
        if response._request is not None and not response.headers._has_any(_SET_COOKIE_NAMES):
            # Most responses set no cookie, and the jar would find none only after wrapping
            # the request in a urllib Request (URL to text, every header to a dict): ~9 us
            # per response, measured. A response without a request still goes to the jar,
            # which raises as it always did.
            return
        self.jar.extract_cookies(
            _jar().ResponseAdapter(response),
            _jar().RequestAdapter(response.request),
        )

    def set_cookie_header(self, request: Request) -> None:
        """Add the `Cookie` header that the jar's cookies call for to `request`."""
        self.jar.add_cookie_header(_jar().RequestAdapter(request))

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Set a cookie; with no domain, it is sent to every host."""
        cookie = _jar().Cookie(
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
            rest={"HttpOnly": None},
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
        jar = self.jar
        # Asked before every request. The stdlib jar keeps its cookies in a dict of domains
        # (of paths, of names), so an empty dict is an empty jar: no iterator to build, ~0.3 us
        # (measured). A non-empty one may hold only emptied dicts, and a subclass may store
        # its cookies elsewhere: both are iterated.
        if type(jar) is _jar().CookieJar and not getattr(jar, "_cookies", True):
            return False
        return any(True for _ in jar)

    def __repr__(self) -> str:
        described = ", ".join(
            f"<Cookie {cookie.name}={cookie.value} for {cookie.domain} />" for cookie in self.jar
        )
        return f"<Cookies[{described}]>"
