"""Concurrent GETs on one `AsyncHTTPTransport`, against a tiny keep-alive server.

    PYTHONPATH=src .venv/bin/python benchmarks/micro_async_conc.py [options]

    --requests N       GETs per timed round (5000)
    --rounds N         timed rounds per measurement; the best is kept (3)
    --repeat N         measure everything N times, alternating the order; report medians (1)
    --in-flight A,B,C  concurrency levels (16,100,512); the pool holds at most --pool (100)
    --loops L,M        event loops: asyncio, uvloop (both when uvloop is importable)
    --peer-python P    the interpreter that runs the peers (aiohttp); by default
                       benchmarks/.venv/bin/python when it exists, else this one

The server is an `asyncio.Protocol` (on uvloop when available) in a separate process, answering
every request head with the same ~100-byte JSON response. `in_flight` worker tasks share the
requests; each sends one GET at a time, reads the whole body and checks it. Every measurement
runs in a fresh process of its own (its own event loop, its own connections), warmed up first.
Beside zephyr:

- "bare Protocol + httptools": the floor. The same worker tasks, each borrowing one of `pool`
  raw `asyncio.Protocol` connections from a free list, writing a fixed request and awaiting a
  Future that `on_message_complete` (llhttp) resolves: the event loop and the parser, no client.
- aiohttp (`ClientSession`, `TCPConnector(limit=pool)`), when the peer interpreter has it.

Retention is the rate at the highest concurrency over the rate at the lowest. This is a micro
benchmark on loopback; the peer comparisons of record are BENCHMARKS.md's, against nginx.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

BODY = (
    b'{"id": 12345, "name": "zephyr", "tags": ["fast", "http", "client"], '
    b'"ok": true, "score": 0.987654321}'
)
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Server: micro\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
HERE = os.path.dirname(os.path.abspath(__file__))
WARMUP = 500
PYCACHE = ""  # the measuring processes' bytecode cache, made fresh by main()

# -- the server (a process of its own) ----------------------------------------------------


class _ServerProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.pending = b""
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        pending = self.pending + data
        count = pending.count(b"\r\n\r\n")  # GETs only: a head is a request
        if count:
            pending = pending[pending.rindex(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)
        self.pending = pending


def serve(listener: socket.socket) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_ServerProtocol, sock=listener, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the clients (each measurement in a process of its own) -------------------------------


async def workers(in_flight: int, count: int, one: Callable[[], Awaitable[None]]) -> None:
    remaining = count

    async def work() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    await asyncio.gather(*(work() for _ in range(in_flight)))


async def bench_zephyr(url: str, pool: int, in_flight: int, count: int, rounds: int) -> float:
    from zephyr import Limits, Request
    from zephyr._transports.async_http import AsyncHTTPTransport

    timeout = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 30.0}
    limits = Limits(max_connections=pool, max_keepalive_connections=pool)
    target = url + "small"
    async with AsyncHTTPTransport(limits=limits) as transport:

        async def one() -> None:
            response = await transport.handle_async_request(
                Request("GET", target, extensions={"timeout": timeout})
            )
            if response.status_code != 200 or await response.aread() != BODY:
                raise AssertionError("unexpected response")

        return await timed(in_flight, count, rounds, one)


async def bench_bare(url: str, pool: int, in_flight: int, count: int, rounds: int) -> float:
    import httptools

    host, port = url.split("//")[1].rstrip("/").split(":")
    request = f"GET /small HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpResponseParser(self)
            self.waiter: asyncio.Future[bytes] | None = None
            self.body: list[bytes] = []
            self.transport: Any = None

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            assert self.waiter is not None
            self.waiter.set_result(b"".join(self.body))
            self.body = []

    idle: list[Client] = []
    opened: list[Client] = []
    queued: collections.deque[asyncio.Future[Client]] = collections.deque()

    async def one() -> None:
        if idle:
            client = idle.pop()
        elif len(opened) < pool:
            _, client = await loop.create_connection(Client, host, int(port))
            opened.append(client)
        else:
            slot: asyncio.Future[Client] = loop.create_future()
            queued.append(slot)
            client = await slot  # handed over directly: FIFO, nobody overtakes
        client.waiter = loop.create_future()
        client.transport.write(request)
        body = await client.waiter
        if queued:
            queued.popleft().set_result(client)
        else:
            idle.append(client)
        if body != BODY:
            raise AssertionError("unexpected response")

    try:
        return await timed(in_flight, count, rounds, one)
    finally:
        for client in opened:
            client.transport.close()
        await asyncio.sleep(0)


async def bench_aiohttp(url: str, pool: int, in_flight: int, count: int, rounds: int) -> float:
    import aiohttp  # type: ignore[import-not-found, unused-ignore]

    target = url + "small"
    connector = aiohttp.TCPConnector(limit=pool)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            async with session.get(target) as response:
                if response.status != 200 or await response.read() != BODY:
                    raise AssertionError("unexpected response")

        return await timed(in_flight, count, rounds, one)


async def timed(
    in_flight: int, count: int, rounds: int, one: Callable[[], Awaitable[None]]
) -> float:
    await workers(in_flight, min(count, WARMUP), one)  # connections, caches, imports
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        await workers(in_flight, count, one)
        best = min(best, time.perf_counter() - started)
    return count / best


CLIENTS = {
    "bare Protocol + httptools": bench_bare,
    "zephyr AsyncHTTPTransport": bench_zephyr,
    "aiohttp": bench_aiohttp,
}


def measure_here(spec: dict[str, Any]) -> None:
    """Child process: one measurement, printed as JSON on stdout."""
    bench = CLIENTS[spec["client"]]
    args = (spec["url"], spec["pool"], spec["in_flight"], spec["requests"], spec["rounds"])
    if spec["loop"] == "uvloop":
        import uvloop

        rate = uvloop.run(bench(*args))
    else:
        rate = asyncio.run(bench(*args))
    print(json.dumps({"rate": rate}))


def measure(python: str, spec: dict[str, Any]) -> float | str:
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(HERE), "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    # Bytecode compiled from the sources as they are now, in a cache of this run's own: a
    # stale __pycache__ left in a working tree under edit was measured to cost a third here.
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    done = subprocess.run(
        [python, os.path.abspath(__file__), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return "skipped" if "ModuleNotFoundError" in last else f"error: {last}"
    rate: float = json.loads(done.stdout.strip().splitlines()[-1])["rate"]
    return rate


def has_module(python: str, name: str) -> bool:
    probe = subprocess.run([python, "-c", f"import {name}"], capture_output=True)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--in-flight", default="16,100,512")
    parser.add_argument("--pool", type=int, default=100)
    parser.add_argument("--loops", default="")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    default_peer = os.path.join(HERE, ".venv", "bin", "python")
    parser.add_argument(
        "--peer-python", default=default_peer if os.path.exists(default_peer) else sys.executable
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        measure_here(json.loads(options.child))
        return

    global PYCACHE
    scratch = tempfile.TemporaryDirectory(prefix="zephyr-bench-pycache-")
    PYCACHE = scratch.name
    levels = [int(level) for level in options.in_flight.split(",")]
    loops = options.loops.split(",") if options.loops else ["asyncio", "uvloop"]
    clients = [name for name in CLIENTS if name in options.clients.split(",")]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    server = multiprocessing.get_context("fork").Process(target=serve, args=(listener,))
    server.daemon = True
    server.start()
    listener.close()
    print(
        f"{options.requests} GETs per round, best of {options.rounds} rounds, median of "
        f"{options.repeat} run(s); pool {options.pool}; in flight "
        f"{', '.join(map(str, levels))}; req/s"
    )
    try:
        for loop in loops:
            runnable = []
            for client in clients:
                python = options.peer_python if client == "aiohttp" else sys.executable
                if loop == "uvloop" and not has_module(python, "uvloop"):
                    continue
                runnable.append((client, python))
            samples: dict[str, list[list[float | str]]] = {
                c: [[] for _ in levels] for c, _ in runnable
            }
            for repeat in range(options.repeat):
                # Alternate the order from run to run: no client always goes first.
                order = runnable if repeat % 2 == 0 else runnable[::-1]
                for client, python in order:
                    for index, in_flight in enumerate(levels):
                        spec = {
                            "client": client,
                            "loop": loop,
                            "url": url,
                            "pool": options.pool,
                            "in_flight": in_flight,
                            "requests": options.requests,
                            "rounds": options.rounds,
                        }
                        samples[client][index].append(measure(python, spec))
            print(f"\n[{loop}]")
            print(f"{'client':<28}" + "".join(f"{n:>10}" for n in levels) + f"{'retention':>11}")
            rates: dict[str, list[float | str]] = {}
            for client in clients:
                if client not in samples:
                    print(f"{client:<28} skipped: no uvloop for it")
                    continue
                row = [median(cell) for cell in samples[client]]
                rates[client] = row
                shown = "".join(
                    f"{rate:>10,.0f}" if isinstance(rate, float) else f"{rate:>10}" for rate in row
                )
                first, last = row[0], row[-1]
                retention = (
                    f"{last / first:>11.2f}"
                    if isinstance(first, float) and isinstance(last, float)
                    else ""
                )
                print(f"{client:<28}{shown}{retention}", flush=True)
            report_ratios(rates, levels)
    finally:
        server.kill()
        server.join()
        scratch.cleanup()


def median(values: list[float | str]) -> float | str:
    numbers = sorted(value for value in values if isinstance(value, float))
    if not numbers:
        return values[0] if values else "-"
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return (numbers[middle - 1] + numbers[middle]) / 2


def report_ratios(rates: dict[str, list[float | str]], levels: list[int]) -> None:
    ours = rates.get("zephyr AsyncHTTPTransport")
    if ours is None:
        return
    for peer in ("aiohttp", "bare Protocol + httptools"):
        theirs = rates.get(peer)
        if theirs is None:
            continue
        ratios = [
            f"{a / b:>10.2f}" if isinstance(a, float) and isinstance(b, float) else f"{'-':>10}"
            for a, b in zip(ours, theirs, strict=True)
        ]
        print(f"{'zephyr / ' + peer.split()[0]:<28}" + "".join(ratios))


if __name__ == "__main__":
    main()
