"""Fixed-content endpoints: compressed bodies (`/gzip`, `/deflate`, `/brotli`) and documents."""

from __future__ import annotations

import gzip
import zlib

from ._asgi import Request, Response, json_response, render_json, text_response
from ._echo import describe
from ._pages import HTML_PAGE, SAMPLE_JSON, UTF8_TEXT
from ._routing import RouteTable

__all__ = ["routes"]

routes = RouteTable()


def encoded_json(encoding: str, compressed: bytes) -> Response:
    return Response(
        compressed,
        headers=[("Content-Type", "application/json"), ("Content-Encoding", encoding)],
    )


@routes.add("/gzip")
async def gzipped(request: Request) -> Response:
    payload = {**describe(request, "headers", "method", "origin"), "gzipped": True}
    return encoded_json("gzip", gzip.compress(render_json(payload)))


@routes.add("/deflate")
async def deflated(request: Request) -> Response:
    # HTTP's "deflate" is the zlib format (RFC 9110 section 8.4.1.2), not raw DEFLATE.
    payload = {**describe(request, "headers", "method", "origin"), "deflated": True}
    return encoded_json("deflate", zlib.compress(render_json(payload)))


@routes.add("/brotli")
async def brotli_encoded(request: Request) -> Response:
    try:
        import brotli  # optional: the `brotli` extra
    except ImportError:
        return text_response("brotli is not installed on this server\n", status=501)
    payload = {**describe(request, "headers", "method", "origin"), "brotli": True}
    compressed: bytes = brotli.compress(render_json(payload))
    return encoded_json("br", compressed)


@routes.add("/json")
async def sample_json(request: Request) -> Response:
    return json_response(SAMPLE_JSON)


@routes.add("/html")
async def html(request: Request) -> Response:
    return text_response(HTML_PAGE, content_type="text/html; charset=utf-8")


@routes.add("/encoding/utf8")
async def utf8(request: Request) -> Response:
    return text_response(UTF8_TEXT, content_type="text/html; charset=utf-8")
