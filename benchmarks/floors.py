"""The bare floors of this machine: Python with a socket (or an asyncio Protocol) and httptools.

    benchmarks/.venv/bin/python benchmarks/floors.py [--http URL] [--pin none|same|split|all]
                                                     [--scenarios seq,conc,memory,big,up]
                                                     [--json PATH]

No HTTP client library: a fixed request written to the socket, the response parsed by llhttp
(httptools) or counted. What these get out of the benchmark nginx (server.py's, started here
unless `--http` names a running one) is what no client written in Python on this machine can
beat, so it says which performance targets are physically reachable. Each row has the shape
of the scenario of the same name in scenarios.py (its counts and warm-ups come from there):

- `seq`: one blocking keep-alive socket (TCP_NODELAY), sequential GET /small, `recv_into` a
  reused buffer fed to one `HttpResponseParser` (on_body, on_message_complete); beside it the
  same with `recv` (a fresh bytes per read). Best and median of SEQ_ROUNDS timed calls.
- `conc`: 100 `asyncio.Protocol` connections (default event loop), llhttp in data_received.
  "tasks": clients.base.in_flight's 100 worker tasks, each awaiting a Future that the protocol
  resolves, over a free list of connections (a pool in its barest form); "callbacks": no task
  and no Future, every connection writes its next request from on_message_complete.
- `memory`: 10,000 GET /small, 500 in flight, pool of 500, as `tasks` above; measured as
  measure.py does (VmRSS once the event loop exists; VmHWM reset; VmHWM after the run), each
  sample in a fresh process of its own. The connections open inside the measured part.
- `big`: GET /big (100 MiB) on a keep-alive socket; the head parsed by httptools, then the
  Content-Length counted off `recv_into` a reused 1 MiB buffer, or off `recv(1 MiB)` (a bytes
  per read, which a client must hand out). One warm-up, then 3: best and median.
- `up`: POST 100 MiB of zeros (bytes) to /echo, one `sendall`, or `sendall` of 1 MiB
  memoryview slices; the `ok` answer parsed. One warm-up, then 3: best and median.

`--pin`, as run.py's: none (the scheduler's), same (nginx's worker and this process on CPU 0),
split (the worker on CPU 1, this process on CPU 0); `all` runs every scenario in each of the
three. The worker is pinned with sched_setaffinity (what worker_cpu_affinity does), so one
nginx serves every placement; with `--http` nginx is not ours and only this process is pinned.
The CPU columns are the share of one core this process and nginx's worker used in the timed
part (not for `memory`, measured in another process; nginx's only when it is ours).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httptools
from clients.base import BenchmarkError, in_flight
from measure import _reset_peak_rss, _status_mib
from scenarios import BY_NAME, CHUNK_SIZE, MIB, UPLOAD_SIZE
from server import BIG_SIZE, SMALL_BODY, Nginx, exit_on_sigterm, nginx_version

SEQ_ROUNDS = 10  # timed calls of seq's count; best and median
CONC_ROUNDS = 5  # timed calls of conc's count, per variant
MEMORY_SAMPLES = 3  # fresh processes
SMALL_BUFFER = 64 * 1024  # seq's reused receive buffer
CLK_TCK = os.sysconf("SC_CLK_TCK")
ALL_CPUS = frozenset(os.sched_getaffinity(0))
PLACEMENTS = {  # placement -> (this process's CPUs, nginx worker's CPUs)
    "none": (ALL_CPUS, ALL_CPUS),
    "same": (frozenset({0}), frozenset({0})),
    "split": (frozenset({0}), frozenset({1})),
}
SCENARIO_NAMES = ["seq", "conc", "memory", "big", "up"]


# -- the server and where things run --------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    workers: tuple[int, ...] = ()  # nginx's worker processes, when that nginx is ours

    @classmethod
    def from_url(cls, url: str, workers: tuple[int, ...] = ()) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit(f"--http wants http://HOST:PORT, not {url!r}")
        return cls(parts.hostname, parts.port or 80, workers)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str, extra: str = "") -> bytes:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{extra}\r\n"
        return head.encode("ascii")

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def nginx_workers(master: int) -> tuple[int, ...]:
    """The processes nginx's master started (its workers)."""
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return tuple(int(pid) for pid in children)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == master:
                    found.append(int(entry.name))
    return tuple(found)


def place(placement: str, target: Target) -> None:
    mine, theirs = PLACEMENTS[placement]
    if max(mine | theirs) not in ALL_CPUS:
        raise SystemExit(f"--pin {placement} needs CPUs {sorted(mine | theirs)}")
    os.sched_setaffinity(0, mine)
    for pid in target.workers:
        os.sched_setaffinity(pid, theirs)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Usage:
    """The share of one core this process and nginx's workers used while it was open."""

    workers: tuple[int, ...]
    client: float | None = None
    server: float | None = None

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        wall, mine = time.perf_counter(), time.process_time()
        theirs = sum(_cpu_seconds(pid) for pid in self.workers)
        yield
        wall = time.perf_counter() - wall
        self.client = (time.process_time() - mine) / wall
        if self.workers:
            self.server = (sum(_cpu_seconds(pid) for pid in self.workers) - theirs) / wall


# -- results --------------------------------------------------------------------------------


@dataclass
class Floor:
    scenario: str
    variant: str
    placement: str
    unit: str  # req/s or MiB/s (higher is better), MiB (lower is better)
    samples: list[float]
    client_cpu: float | None = None
    server_cpu: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> float:
        return min(self.samples) if self.unit == "MiB" else max(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "best": self.best, "median": self.median}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def print_table(floors: list[Floor]) -> None:
    header = (
        f"{'scenario':8} {'variant':22} {'placement':9} {'floor':>9} {'median':>9} "
        f"{'unit':6} {'client cpu':>10} {'nginx cpu':>9}"
    )
    print(header)
    print("-" * len(header))
    for floor in floors:
        print(
            f"{floor.scenario:8} {floor.variant:22} {floor.placement:9} "
            f"{_fmt(floor.best):>9} {_fmt(floor.median):>9} {floor.unit:6} "
            f"{_fmt(floor.client_cpu, '%'):>10} {_fmt(floor.server_cpu, '%'):>9}"
        )


# -- the parser's callbacks -------------------------------------------------------------------


class Counted:
    """httptools callbacks: count the body, note the end of the message."""

    __slots__ = ("complete", "headers_complete", "size")

    def __init__(self) -> None:
        self.size = 0
        self.complete = False
        self.headers_complete = False

    def on_headers_complete(self) -> None:
        self.headers_complete = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)

    def on_message_complete(self) -> None:
        self.complete = True


class Headed(Counted):
    """Counted, keeping Content-Length."""

    __slots__ = ("content_length",)

    def __init__(self) -> None:
        super().__init__()
        self.content_length = -1

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-length":
            self.content_length = int(value)


def _check(parser: httptools.HttpResponseParser, size: int, expected: int) -> None:
    status = parser.get_status_code()
    if status != 200 or size != expected:
        raise BenchmarkError(f"status {status}, {size} bytes; expected 200, {expected} bytes")


# -- seq --------------------------------------------------------------------------------------


def seq(target: Target, placement: str) -> list[Floor]:
    scenario = BY_NAME["seq"]
    request = target.request("GET", "/small")
    expected = len(SMALL_BODY)
    floors = []
    with target.connect() as sock:
        buffer = bytearray(SMALL_BUFFER)
        view = memoryview(buffer)

        def run_recv_into(n: int) -> None:
            callbacks = Counted()
            parser = httptools.HttpResponseParser(callbacks)
            sendall, recv_into, feed = sock.sendall, sock.recv_into, parser.feed_data
            for _ in range(n):
                sendall(request)
                callbacks.size = 0
                callbacks.complete = False
                while not callbacks.complete:
                    got = recv_into(buffer)
                    if not got:
                        raise ConnectionError("nginx closed the connection")
                    feed(view[:got])
                _check(parser, callbacks.size, expected)

        def run_recv(n: int) -> None:
            callbacks = Counted()
            parser = httptools.HttpResponseParser(callbacks)
            sendall, recv, feed = sock.sendall, sock.recv, parser.feed_data
            for _ in range(n):
                sendall(request)
                callbacks.size = 0
                callbacks.complete = False
                while not callbacks.complete:
                    data = recv(SMALL_BUFFER)
                    if not data:
                        raise ConnectionError("nginx closed the connection")
                    feed(data)
                _check(parser, callbacks.size, expected)

        for variant, run in (("recv_into reused buf", run_recv_into), ("recv bytes", run_recv)):
            run(scenario.warmup)
            usage = Usage(target.workers)
            rates = []
            with usage.measure():
                for _ in range(SEQ_ROUNDS):
                    started = time.perf_counter()
                    run(scenario.count)
                    rates.append(scenario.count / (time.perf_counter() - started))
            floors.append(
                Floor("seq", variant, placement, "req/s", rates, usage.client, usage.server)
            )
    return floors


# -- conc and memory: asyncio Protocols -------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive connection: `get()` writes the request and returns a Future that
    on_message_complete resolves (or sets a BenchmarkError on)."""

    def __init__(self, request: bytes, expected: int) -> None:
        self.request = request
        self.expected = expected
        self.parser = httptools.HttpResponseParser(self)
        self.size = 0
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.size += len(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        assert waiter is not None
        status, size, self.size = self.parser.get_status_code(), self.size, 0
        if status != 200 or size != self.expected:
            waiter.set_exception(BenchmarkError(f"status {status}, {size} bytes"))
        else:
            waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def get(self) -> asyncio.Future[None]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.request)
        return self.waiter


class Pool:
    """A free list of Connections, opened as they are first needed, never more than in use."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.request = target.request("GET", "/small")
        self.expected = len(SMALL_BODY)
        self.idle: list[Connection] = []
        self.opened: list[Connection] = []

    async def _open(self) -> Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: Connection(self.request, self.expected), self.target.host, self.target.port
        )
        self.opened.append(connection)
        return connection

    async def get(self) -> None:
        connection = self.idle.pop() if self.idle else await self._open()
        await connection.get()
        self.idle.append(connection)

    def close(self) -> None:
        for connection in self.opened:
            if connection.transport is not None:
                connection.transport.close()
        self.opened.clear()
        self.idle.clear()


class Chained(Connection):
    """A Connection that writes its next request from on_message_complete while the shared
    count lasts: no task, no Future per request."""

    def __init__(self, request: bytes, expected: int, chain: Chain) -> None:
        super().__init__(request, expected)
        self.chain = chain

    def connection_lost(self, exc: Exception | None) -> None:
        self.chain.fail(ConnectionError(f"connection lost: {exc}"))

    def on_message_complete(self) -> None:
        status, size, self.size = self.parser.get_status_code(), self.size, 0
        chain = self.chain
        if status != 200 or size != self.expected:
            chain.fail(BenchmarkError(f"status {status}, {size} bytes"))
        elif chain.remaining > 0:
            chain.remaining -= 1
            assert self.transport is not None
            self.transport.write(self.request)
        else:
            chain.idle += 1
            if chain.idle == chain.size and not chain.done.done():
                chain.done.set_result(None)


@dataclass
class Chain:
    size: int
    done: asyncio.Future[None]
    remaining: int = 0
    idle: int = 0

    def fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)

    async def run(self, connections: list[Chained], n: int) -> None:
        self.done = asyncio.get_running_loop().create_future()
        starting = connections[: min(n, len(connections))]
        self.remaining, self.idle, self.size = n - len(starting), 0, len(starting)
        for connection in starting:
            assert connection.transport is not None
            connection.transport.write(connection.request)
        await self.done


async def _open_chained(target: Target, chain: Chain, count: int) -> list[Chained]:
    loop = asyncio.get_running_loop()
    request, expected = target.request("GET", "/small"), len(SMALL_BODY)
    opened = await asyncio.gather(
        *(
            loop.create_connection(
                lambda: Chained(request, expected, chain), target.host, target.port
            )
            for _ in range(count)
        )
    )
    return [connection for _, connection in opened]


def conc(target: Target, placement: str) -> list[Floor]:
    scenario = BY_NAME["conc"]
    tasks, pool_size = scenario.params["in_flight"], scenario.params["pool"]
    floors = []
    with asyncio.Runner() as runner:
        pool = Pool(target)

        def run_tasks(n: int) -> None:
            runner.run(in_flight(tasks, n, pool.get))

        chain = Chain(pool_size, runner.get_loop().create_future())
        chained = runner.run(_open_chained(target, chain, pool_size))

        def run_callbacks(n: int) -> None:
            runner.run(chain.run(chained, n))

        try:
            for variant, run in (("tasks+Future", run_tasks), ("callbacks", run_callbacks)):
                run(scenario.warmup)  # every connection open before timing
                usage = Usage(target.workers)
                rates = []
                with usage.measure():
                    for _ in range(CONC_ROUNDS):
                        started = time.perf_counter()
                        run(scenario.count)
                        rates.append(scenario.count / (time.perf_counter() - started))
                opened = len(pool.opened) if run is run_tasks else len(chained)
                floors.append(
                    Floor(
                        "conc",
                        variant,
                        placement,
                        "req/s",
                        rates,
                        usage.client,
                        usage.server,
                        {"connections": opened},
                    )
                )
        finally:
            pool.close()
            for connection in chained:
                if connection.transport is not None:
                    connection.transport.close()
            runner.run(asyncio.sleep(0))
    return floors


def memory_sample(target: Target) -> dict[str, float]:
    """One `memory` sample, in this process (a fresh one: see memory())."""
    scenario = BY_NAME["memory"]
    tasks = scenario.params["in_flight"]
    with asyncio.Runner() as runner:
        runner.get_loop()  # the event loop exists before the baseline, as in measure.py
        pool = Pool(target)
        baseline = _status_mib("VmRSS")
        _reset_peak_rss()
        try:
            started = time.perf_counter()
            runner.run(in_flight(tasks, scenario.count, pool.get))
            elapsed = time.perf_counter() - started
            connections = len(pool.opened)
        finally:
            pool.close()
            runner.run(asyncio.sleep(0))
    return {
        "elapsed": elapsed,
        "baseline_rss_mib": baseline,
        "peak_rss_mib": _status_mib("VmHWM"),
        "connections": connections,
    }


def memory(target: Target, placement: str) -> list[Floor]:
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-sample", target.url]
    results = []
    for _ in range(MEMORY_SAMPLES):
        out = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"memory sample failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    extra = {
        "baseline_rss_mib": [r["baseline_rss_mib"] for r in results],
        "req_per_s": [BY_NAME["memory"].count / r["elapsed"] for r in results],
        "connections": [r["connections"] for r in results],
    }
    peaks = [r["peak_rss_mib"] - r["baseline_rss_mib"] for r in results]
    return [Floor("memory", "tasks+Future", placement, "MiB", peaks, extra=extra)]


# -- big and up: one socket, 100 MiB ---------------------------------------------------------


def _read_head(
    sock: socket.socket, view: memoryview
) -> tuple[Headed, httptools.HttpResponseParser]:
    """Feed the parser until the head is parsed; the body bytes it saw are in callbacks.size."""
    callbacks = Headed()
    parser = httptools.HttpResponseParser(callbacks)
    while not callbacks.headers_complete:
        got = sock.recv_into(view, 65536)
        if not got:
            raise ConnectionError("nginx closed the connection")
        parser.feed_data(view[:got])
    if parser.get_status_code() != 200 or callbacks.content_length < 0:
        raise BenchmarkError(f"status {parser.get_status_code()}, no Content-Length?")
    return callbacks, parser


def _transfers(
    name: str, variant: str, placement: str, target: Target, run: Callable[[], int]
) -> Floor:
    """The scenario's warm-up transfers, then its timed ones, each a sample. `run` returns the
    number of socket calls the body took: their mean size is in the extra."""
    scenario = BY_NAME[name]
    for _ in range(scenario.warmup):
        run()
    usage = Usage(target.workers)
    rates = []
    calls = 0
    with usage.measure():
        for _ in range(scenario.count):
            started = time.perf_counter()
            calls += run()
            rates.append(scenario.item_bytes / MIB / (time.perf_counter() - started))
    extra = {"mean_call_kib": scenario.count * scenario.item_bytes / 1024 / max(calls, 1)}
    return Floor(name, variant, placement, "MiB/s", rates, usage.client, usage.server, extra)


def big(target: Target, placement: str) -> list[Floor]:
    request = target.request("GET", "/big")
    floors = []
    with target.connect() as sock:
        buffer = bytearray(CHUNK_SIZE)
        view = memoryview(buffer)

        def run_recv_into() -> int:
            sock.sendall(request)
            callbacks, _ = _read_head(sock, view)
            remaining = callbacks.content_length - callbacks.size
            recv_into = sock.recv_into
            reads = 0
            while remaining:
                got = recv_into(view, min(remaining, CHUNK_SIZE))
                if not got:
                    raise ConnectionError("nginx closed the connection")
                remaining -= got
                reads += 1
            if callbacks.content_length != BIG_SIZE:
                raise BenchmarkError(f"{callbacks.content_length} bytes, expected {BIG_SIZE}")
            return reads

        def run_recv() -> int:
            sock.sendall(request)
            callbacks, _ = _read_head(sock, view)
            remaining = callbacks.content_length - callbacks.size
            recv = sock.recv
            reads = 0
            while remaining:
                data = recv(min(remaining, CHUNK_SIZE))
                if not data:
                    raise ConnectionError("nginx closed the connection")
                remaining -= len(data)
                reads += 1
            if callbacks.content_length != BIG_SIZE:
                raise BenchmarkError(f"{callbacks.content_length} bytes, expected {BIG_SIZE}")
            return reads

        for variant, run in (
            ("recv_into 1 MiB buf", run_recv_into),
            ("recv(1 MiB) bytes", run_recv),
        ):
            floors.append(_transfers("big", variant, placement, target, run))
    return floors


def up(target: Target, placement: str) -> list[Floor]:
    head = target.request("POST", "/echo", f"Content-Length: {UPLOAD_SIZE}\r\n")
    body = bytes(UPLOAD_SIZE)
    body_view = memoryview(body)
    floors = []
    with target.connect() as sock:
        view = memoryview(bytearray(65536))

        def answer() -> None:
            callbacks = Headed()
            parser = httptools.HttpResponseParser(callbacks)
            while not callbacks.complete:
                got = sock.recv_into(view)
                if not got:
                    raise ConnectionError("nginx closed the connection")
                parser.feed_data(view[:got])
            _check(parser, callbacks.size, len(b"ok"))

        def run_one() -> int:
            sock.sendall(head)
            sock.sendall(body)
            answer()
            return 1

        def run_slices() -> int:
            sock.sendall(head)
            sendall = sock.sendall
            for offset in range(0, UPLOAD_SIZE, CHUNK_SIZE):
                sendall(body_view[offset : offset + CHUNK_SIZE])
            answer()
            return -(-UPLOAD_SIZE // CHUNK_SIZE)

        for variant, run in (
            ("one sendall(bytes)", run_one),
            ("sendall 1 MiB slices", run_slices),
        ):
            floors.append(_transfers("up", variant, placement, target, run))
    return floors


RUNNERS: dict[str, Callable[[Target, str], list[Floor]]] = {
    "seq": seq,
    "conc": conc,
    "memory": memory,
    "big": big,
    "up": up,
}


# -- main -------------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "httptools": httptools.__version__,
    }


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--http", help="a running benchmark nginx (http://HOST:PORT); default: ours"
    )
    parser.add_argument(
        "--pin",
        choices=[*PLACEMENTS, "all"],
        default="none",
        help="CPU placement, as run.py's; all: every scenario in each of the three",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIO_NAMES), help="comma-separated")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--memory-sample", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.memory_sample:  # a child of memory(): one sample, as JSON
        print(json.dumps(memory_sample(Target.from_url(args.memory_sample))))
        return

    names = [name for name in args.scenarios.split(",") if name]
    unknown = sorted(set(names) - set(RUNNERS))
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIO_NAMES)}")
    placements = list(PLACEMENTS) if args.pin == "all" else [args.pin]

    floors: list[Floor] = []
    report: dict[str, Any] = {"machine": _machine(), "pin": args.pin}
    with contextlib.ExitStack() as stack:
        if args.http:
            target = Target.from_url(args.http)
            report["nginx"] = f"running at {target.url} (not pinned)"
            print(f"nginx at {target.url}: not ours, only this process is pinned", flush=True)
        else:
            server = stack.enter_context(Nginx())
            server.check()
            assert server.process is not None
            target = Target.from_url(server.http, nginx_workers(server.process.pid))
            report["nginx"] = nginx_version()
            print(f"nginx {report['nginx']} at {target.url}, workers {target.workers}", flush=True)
        stack.callback(place, "none", target)
        for placement in placements:
            place(placement, target)
            # `*`: nginx is not ours, so only this process is placed.
            label = placement if target.workers or placement == "none" else placement + "*"
            for name in names:
                started = time.perf_counter()
                floors.extend(RUNNERS[name](target, label))
                took = time.perf_counter() - started
                print(f"  {placement:5} {name:6} done in {took:.1f}s", file=sys.stderr, flush=True)

    print()
    print_table(floors)
    if args.json:
        report["floors"] = [floor.as_dict() for floor in floors]
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
