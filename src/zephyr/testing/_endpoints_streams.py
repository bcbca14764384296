"""Generated and streamed bodies: `/stream/{n}`, `/stream-bytes/{n}`, `/bytes/{n}`, `/drip`."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

from ._asgi import HTTPException, Request, Response, StreamingResponse
from ._echo import describe
from ._endpoints_http import MAX_DELAY_SECONDS, parse_float
from ._routing import RouteTable

__all__ = ["routes"]

routes = RouteTable()

MAX_STREAM_LINES = 100  # as httpbin
# Larger than httpbin's 100 KiB, so that a client's large-body paths can be exercised,
# but bounded so that one request cannot make the server allocate without limit.
MAX_GENERATED_BYTES = 64 * 1024 * 1024
MAX_DRIP_BYTES = 10 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 10 * 1024


def int_argument(request: Request, name: str, default: int) -> int:
    text = request.query_value(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be an integer") from None


def seeded_random(request: Request) -> random.Random:
    """A generator seeded by `?seed=`, so a test can ask for the same bytes twice."""
    seed = request.query_value("seed")
    if seed is None:
        return random.Random()
    return random.Random(int_argument(request, "seed", 0))


@routes.add("/stream/{n:int}")
async def stream_lines(request: Request) -> StreamingResponse:
    """min(n, 100) JSON documents, one per line and one per chunk, each with its `id`."""
    count = min(int(request.path_params["n"]), MAX_STREAM_LINES)
    description = describe(request, "args", "headers", "origin", "url")

    async def lines() -> AsyncIterator[bytes]:
        for index in range(count):
            yield json.dumps({**description, "id": index}).encode("ascii") + b"\n"

    return StreamingResponse(lines(), headers=[("Content-Type", "application/json")])


@routes.add("/stream-bytes/{n:int}")
async def stream_bytes(request: Request) -> StreamingResponse:
    """n random bytes (at most 64 MiB) in chunks of `?chunk_size=` (10 KiB by default)."""
    total = min(int(request.path_params["n"]), MAX_GENERATED_BYTES)
    chunk_size = max(1, int_argument(request, "chunk_size", DEFAULT_CHUNK_SIZE))
    generator = seeded_random(request)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, total, chunk_size):
            yield generator.randbytes(min(chunk_size, total - start))

    return StreamingResponse(chunks(), headers=[("Content-Type", "application/octet-stream")])


@routes.add("/bytes/{n:int}")
async def random_bytes(request: Request) -> Response:
    total = min(int(request.path_params["n"]), MAX_GENERATED_BYTES)
    body = seeded_random(request).randbytes(total)
    return Response(body, content_type="application/octet-stream")


@routes.add("/drip")
async def drip(request: Request) -> StreamingResponse:
    """`numbytes` asterisks spread over `duration` seconds, after `delay`, with status `code`.

    Content-Length is announced up front, so a client sees a well-framed but slow body:
    the case for read timeouts and total deadlines.
    """
    duration = parse_float(request.query_value("duration") or "2", "duration")
    delay = parse_float(request.query_value("delay") or "0", "delay")
    numbytes = min(int_argument(request, "numbytes", 10), MAX_DRIP_BYTES)
    code = int_argument(request, "code", 200)
    if numbytes <= 0 or duration < 0 or not 200 <= code <= 599:
        raise HTTPException(400, "numbytes must be positive, duration >= 0, code in 200-599")
    await asyncio.sleep(min(max(delay, 0.0), MAX_DELAY_SECONDS))
    pause = duration / numbytes

    async def asterisks() -> AsyncIterator[bytes]:
        if pause == 0:
            yield b"*" * numbytes
            return
        for _ in range(numbytes):
            yield b"*"
            await asyncio.sleep(pause)

    headers = [("Content-Type", "application/octet-stream"), ("Content-Length", str(numbytes))]
    return StreamingResponse(asterisks(), status=code, headers=headers)
