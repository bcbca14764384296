"""Redirect and cookie endpoints: `/redirect/{n}`, `/redirect-to`, `/cookies/...`."""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import quote

from ._asgi import (
    HTTPException,
    Request,
    Response,
    is_safe_header,
    json_response,
    redirect_response,
)
from ._routing import RouteTable

__all__ = ["parse_cookie_header", "routes"]

routes = RouteTable()

# The characters of a URI (RFC 3986 section 2) pass through; anything else is %-encoded.
_URI_CHARACTERS = "!#$%&'()*+,-./:;=?@[]_~"


def hops_left(request: Request) -> int:
    n = int(request.path_params["n"])
    if n < 1:
        raise HTTPException(400, "the number of redirects must be at least 1")
    return n


@routes.add("/redirect/{n:int}")
async def redirect_n_times(request: Request) -> Response:
    """302 n times, then /get: relative Locations, or absolute ones with `?absolute=true`."""
    n = hops_left(request)
    absolute = (request.query_value("absolute") or "").lower() == "true"
    prefix = request.base_url if absolute else ""
    if n == 1:
        return redirect_response(prefix + "/get")
    kind = "absolute" if absolute else "relative"
    return redirect_response(f"{prefix}/{kind}-redirect/{n - 1}")


@routes.add("/relative-redirect/{n:int}")
async def relative_redirect(request: Request) -> Response:
    n = hops_left(request)
    return redirect_response("/get" if n == 1 else f"/relative-redirect/{n - 1}")


@routes.add("/absolute-redirect/{n:int}")
async def absolute_redirect(request: Request) -> Response:
    n = hops_left(request)
    path = "/get" if n == 1 else f"/absolute-redirect/{n - 1}"
    return redirect_response(request.base_url + path)


@routes.add("/redirect-to", methods=None)
async def redirect_to(request: Request) -> Response:
    """Redirect to `?url=` with `?status_code=` (a 3xx; 302 otherwise), whatever the method."""
    url = request.query_value("url")
    if url is None:
        raise HTTPException(400, "the url query argument is required")
    # Anything that is not a URI character is %-encoded: non-ASCII, as browsers do, and
    # CR/LF, which would otherwise let a caller split the Location header in two.
    location = quote(url, safe=_URI_CHARACTERS)
    status = 302
    requested = request.query_value("status_code")
    if requested is not None:
        if not requested.isdigit():
            raise HTTPException(400, "status_code must be a number")
        status = int(requested) if 300 <= int(requested) < 400 else 302
    return redirect_response(location, status)


def parse_cookie_header(value: str | None) -> dict[str, str]:
    """The name=value pairs of a `Cookie` header (RFC 6265 section 5.4), quotes removed."""
    cookies: dict[str, str] = {}
    for piece in (value or "").split(";"):
        name, equals, cookie_value = piece.strip().partition("=")
        if not equals or not name.strip():
            continue
        cookie_value = cookie_value.strip()
        if len(cookie_value) >= 2 and cookie_value[0] == cookie_value[-1] == '"':
            cookie_value = cookie_value[1:-1]
        cookies[name.strip()] = cookie_value
    return cookies


def set_cookie_header(request: Request, name: str, value: str) -> str:
    """`name=value; Path=/` (and `Secure` over https); values quoted as `http.cookies` does."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar[name] = value
    except CookieError:
        raise HTTPException(400, f"{name!r} is not a valid cookie name") from None
    morsel = jar[name]
    morsel["path"] = "/"
    if request.scheme == "https":
        morsel["secure"] = True
    header = morsel.OutputString()
    if not is_safe_header("Set-Cookie", header):
        raise HTTPException(400, f"cannot send the value of {name!r} in a Set-Cookie header")
    return header


def expire_cookie_header(name: str) -> str:
    # A date in the past and Max-Age=0 both mean "delete now" (RFC 6265 section 5.3, step 11).
    if not is_safe_header(name, "") or "=" in name:
        raise HTTPException(400, f"{name!r} is not a valid cookie name")
    return f"{name}=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"


@routes.add("/cookies")
async def cookies(request: Request) -> Response:
    return json_response({"cookies": parse_cookie_header(request.header("cookie"))})


@routes.add("/cookies/set")
async def set_cookies(request: Request) -> Response:
    response = redirect_response("/cookies")
    for name, value in request.query_args:
        response.headers.append(("Set-Cookie", set_cookie_header(request, name, value)))
    return response


@routes.add("/cookies/set/{name}/{value}")
async def set_one_cookie(request: Request) -> Response:
    name, value = request.path_params["name"], request.path_params["value"]
    response = redirect_response("/cookies")
    response.headers.append(("Set-Cookie", set_cookie_header(request, name, value)))
    return response


@routes.add("/cookies/delete")
async def delete_cookies(request: Request) -> Response:
    response = redirect_response("/cookies")
    for name, _ in request.query_args:
        response.headers.append(("Set-Cookie", expire_cookie_header(name)))
    return response
