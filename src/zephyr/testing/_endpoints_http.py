"""Request-echo endpoints: `/get`, `/post`, ..., `/anything`, `/status`, `/delay`, `/headers`."""

from __future__ import annotations

import asyncio
import random

from ._asgi import (
    HTTPException,
    Request,
    Response,
    is_safe_header,
    json_response,
    redirect_response,
    render_json,
    text_response,
)
from ._echo import describe, echo_headers, flatten_pairs, origin
from ._routing import RouteTable

__all__ = ["routes"]

routes = RouteTable()

_BODY_KEYS = ("args", "data", "files", "form", "headers", "json", "origin", "url")
MAX_DELAY_SECONDS = 10.0


@routes.add("/get", methods=["GET"])
async def get(request: Request) -> Response:
    return json_response(describe(request, "args", "headers", "origin", "url"))


@routes.add("/post", methods=["POST"])
@routes.add("/put", methods=["PUT"])
@routes.add("/patch", methods=["PATCH"])
@routes.add("/delete", methods=["DELETE"])
async def method_echo(request: Request) -> Response:
    return json_response(describe(request, *_BODY_KEYS))


@routes.add("/anything", methods=None)
@routes.add("/anything/{anything:path}", methods=None)
async def anything(request: Request) -> Response:
    return json_response(describe(request, *_BODY_KEYS, "method"))


@routes.add("/headers")
async def headers(request: Request) -> Response:
    return json_response({"headers": echo_headers(request)})


@routes.add("/ip")
async def ip(request: Request) -> Response:
    return json_response({"origin": origin(request)})


@routes.add("/user-agent")
async def user_agent(request: Request) -> Response:
    return json_response({"user-agent": request.header("user-agent")})


@routes.add("/echo-id/{id}", methods=None)
async def echo_id(request: Request) -> Response:
    # Not in httpbin: lets a concurrency test match each response to the request that caused it.
    echoed = request.path_params["id"]
    if not is_safe_header("X-Echo-Id", echoed):
        raise HTTPException(400, "the id cannot be sent back as a header value")
    return json_response({"id": echoed}, headers=[("X-Echo-Id", echoed)])


@routes.add("/delay/{delay}", methods=None)
async def delay(request: Request) -> Response:
    seconds = parse_float(request.path_params["delay"], "delay")
    await asyncio.sleep(min(max(seconds, 0.0), MAX_DELAY_SECONDS))
    return json_response(
        describe(request, "args", "data", "files", "form", "headers", "origin", "url")
    )


@routes.add("/status/{codes}", methods=None)
async def status(request: Request) -> Response:
    return status_code_response(choose_status(request.path_params["codes"]))


@routes.add("/response-headers", methods=["GET", "POST"])
async def response_headers(request: Request) -> Response:
    """Every query argument becomes a response header, and the JSON body lists all headers."""
    extra = request.query_args
    for name, value in extra:
        if not is_safe_header(name, value) or name.lower() == "content-length":
            raise HTTPException(400, f"cannot send {name!r} as a response header")
    # The body describes the headers, Content-Length included, which depends on the body:
    # iterate to the fixed point (it takes two or three rounds at most).
    length = 0
    while True:
        listed = [("Content-Type", "application/json"), ("Content-Length", str(length)), *extra]
        body = render_json(flatten_pairs(listed))
        if len(body) == length:
            return Response(body, headers=[("Content-Type", "application/json"), *extra])
        length = len(body)


def parse_float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HTTPException(400, f"invalid {what}: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise HTTPException(400, f"invalid {what}: {text!r}")
    return value


def choose_status(codes: str) -> int:
    """One status from `200`, or from `200,500` or `200:0.9,500:0.1` (weighted) at random."""
    choices: list[int] = []
    weights: list[float] = []
    for choice in codes.split(","):
        code, _, weight = choice.partition(":")
        try:
            choices.append(int(code))
            weights.append(float(weight) if weight else 1.0)
        except ValueError:
            raise HTTPException(400, "Invalid status code") from None
    # 1xx cannot be a final response through ASGI; outside 100-599 is no status at all.
    if any(not 200 <= code <= 599 for code in choices) or not sum(weights) > 0:
        raise HTTPException(400, "Invalid status code")
    return random.choices(choices, weights)[0]


_REDIRECT_STATUSES = frozenset({301, 302, 303, 305, 307, 308})


def status_code_response(code: int) -> Response:
    """A response with `code`, dressed as httpbin dresses the statuses a client reacts to."""
    if code in _REDIRECT_STATUSES:
        return redirect_response("/redirect/1", code)
    if code == 401:
        return Response(status=401, headers=[("WWW-Authenticate", 'Basic realm="Fake Realm"')])
    if code == 407:
        return Response(status=407, headers=[("Proxy-Authenticate", 'Basic realm="Fake Realm"')])
    if code == 418:
        info = [("X-More-Info", "https://www.rfc-editor.org/rfc/rfc2324")]
        return text_response("I'm a teapot; I cannot brew coffee.\n", status=418, headers=info)
    return Response(status=code)
