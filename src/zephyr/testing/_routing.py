"""Path routing for the test server: patterns like `/status/{codes}` mapped to handlers.

A pattern segment `{name}` matches one path segment, `{name:int}` one run of digits (so
`/bytes/abc` is a 404, as in httpbin), and `{name:path}` the rest of the path, slashes
included. Routes are tried in the order they were added; the first whose path matches wins,
and if its methods do not include the request's, the answer is 405 with an `Allow` header
rather than a 404 (RFC 9110 section 15.5.6).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from ._asgi import HTTPException, Request, Response, StreamingResponse

__all__ = ["AnyResponse", "Handler", "Route", "RouteTable", "Router"]

AnyResponse: TypeAlias = Response | StreamingResponse
Handler: TypeAlias = Callable[[Request], Awaitable[AnyResponse]]

_PARAMETER = re.compile(r"\{(?P<name>[a-z_]+)(?::(?P<kind>int|path))?\}")
_KIND_REGEX = {None: r"[^/]+", "int": r"[0-9]+", "path": r".*"}


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str
    regex: re.Pattern[str]
    methods: frozenset[str] | None  # None: any method at all
    handler: Handler

    def allows(self, method: str) -> bool:
        if self.methods is None:
            return True
        # A server that answers GET must answer HEAD the same way, minus the body
        # (RFC 9110 section 9.3.2); hypercorn drops the body for us.
        return method in self.methods or (method == "HEAD" and "GET" in self.methods)

    def allow_header(self) -> str:
        if self.methods is None:
            return "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE"
        methods = set(self.methods) | {"OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        return ", ".join(sorted(methods))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    regex = ""
    position = 0
    for match in _PARAMETER.finditer(pattern):
        regex += re.escape(pattern[position : match.start()])
        regex += f"(?P<{match['name']}>{_KIND_REGEX[match['kind']]})"
        position = match.end()
    regex += re.escape(pattern[position:])
    return re.compile(regex)


class RouteTable:
    """The routes of one endpoint module, collected with the `@table.add(...)` decorator."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, pattern: str, methods: Iterable[str] | None = ("GET",)
    ) -> Callable[[Handler], Handler]:
        allowed = None if methods is None else frozenset(methods)

        def register(handler: Handler) -> Handler:
            route = Route(pattern, compile_pattern(pattern), allowed, handler)
            self.routes.append(route)
            return handler

        return register


class Router:
    """Dispatches a request to the first route whose pattern matches its whole path."""

    def __init__(self, *tables: RouteTable) -> None:
        self.routes = [route for table in tables for route in table.routes]

    async def dispatch(self, request: Request) -> AnyResponse:
        for route in self.routes:
            match = route.regex.fullmatch(request.path)
            if match is None:
                continue
            if request.method == "OPTIONS" and not route.allows("OPTIONS"):
                return Response(status=200, headers=[("Allow", route.allow_header())])
            if not route.allows(request.method):
                allow = [("Allow", route.allow_header())]
                raise HTTPException(405, "Method Not Allowed", headers=allow)
            request.path_params = match.groupdict()
            return await route.handler(request)
        raise HTTPException(404, "Not Found")
