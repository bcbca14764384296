"""The scenarios: what is measured, how much of it, and in which unit.

Which libraries take part in a scenario is not written here: every library whose module in
`clients/` registers a function of the scenario's `function` name does. A new scenario is a
row here plus one client function per library; a new peer in a scenario is one function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024
BIG_SIZE = 100 * MIB  # /big, as the server writes it
UPLOAD_SIZE = 100 * MIB  # what `up` POSTs to /echo

# Every client gets this pool: at most POOL connections, all kept alive. It is larger than any
# sync scenario's concurrency (8 threads), so no client ever waits for a connection.
POOL = 10
# The read size for the streaming APIs that take one (requests' iter_content, urllib3's stream,
# aiohttp's iter_chunked, libcurl's buffer); zephyr and HTTPX's iter_raw() take none.
CHUNK_SIZE = 1 * MIB

# The async scenarios hold their concurrency with `in_flight` worker tasks sharing the count
# (clients.base.in_flight), the same way for every library, and give each client a pool as large
# as its concurrency: at most `pool` connections, all kept alive. nginx takes 8,192 connections
# (16,384 descriptors) and the shell 20,000, so no level here needs a cap below its concurrency.
CONC_IN_FLIGHT = 100
CONC_SCALE_LEVELS = [1, 16, 128, 512]
RETENTION = (512, 16)  # conc-scale's retention: the rate at the first level over the second's
MEMORY_IN_FLIGHT = 500
# `h2`: this many requests in flight as streams of this many connections (one: multiplexing).
H2_IN_FLIGHT = 100
H2_CONNECTIONS = 1
# The HTTP/2 download figure: h2-big's rate over each of these, per library, from one run.
# big-tls is the fair comparison (the same TLS listener, ALPN http/1.1 instead of h2); big is
# cleartext HTTP/1.1, zephyr's headline download, to be set against h2c-big (cleartext HTTP/2).
H2_DOWNLOAD_BASELINES = ["big-tls", "big"]

# `seq-cpu`'s unit: the client's CPU time (user + system) per request, in microseconds.
CPU_UNIT = "µs CPU"

# The order libraries are listed in: zephyr first, then the peers.
LIBRARY_ORDER = ["zephyr", "httpx", "requests", "urllib3", "niquests", "pycurl", "aiohttp"]


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    # "req/s" or "MiB/s" (higher is better); "ms", "MiB" or "µs CPU" (lower is better)
    unit: str
    count: int = 0  # units of work in the timed call: requests, or whole transfers
    warmup: int = 0  # units of work in the warm-up call, untimed
    item_bytes: int = 0  # bytes per unit of work, for MiB/s
    function: str = ""  # the client function's name; the scenario's name when empty
    params: dict[str, Any] = field(default_factory=dict)  # given to the functions as config
    modules: dict[str, str] = field(default_factory=dict)  # import: library -> module imported
    group: str = ""  # `--scenarios GROUP` runs every row of the group (conc-scale's levels)

    @property
    def client_function(self) -> str:
        return self.function or self.name

    @property
    def higher_is_better(self) -> bool:
        return self.unit not in ("ms", "MiB", CPU_UNIT)

    def value(self, result: dict[str, float]) -> float:
        """The scenario's figure from what measure.py printed for one sample."""
        if self.unit == "MiB":  # peak RSS over the one after imports and client creation
            return result["peak_rss_mib"] - result["baseline_rss_mib"]
        if self.unit == CPU_UNIT:  # the client process's CPU time per unit of work
            return result["cpu_seconds"] / self.count * 1e6
        elapsed = result["elapsed"]
        if self.unit == "req/s":
            return self.count / elapsed
        if self.unit == "MiB/s":
            return self.count * self.item_bytes / MIB / elapsed
        raise ValueError(f"{self.name}: no rate in {self.unit}")


SCENARIOS = [
    Scenario(
        name="seq",
        what="3,000 sequential GET /small on one pooled sync client, body read",
        unit="req/s",
        count=3000,
        warmup=300,
    ),
    Scenario(
        name="seq-cpu",
        what="seq again, measured as the client process's CPU time (user + system) per request: "
        "what the client itself costs, whatever CPUs the scheduler gives the client and nginx "
        "(the wall-clock rate of `seq` also pays the wake-ups between them)",
        unit=CPU_UNIT,
        count=3000,
        warmup=300,
        function="seq",
    ),
    Scenario(
        name="conc",
        what=f"5,000 async GET /small, {CONC_IN_FLIGHT} in flight, pool of {CONC_IN_FLIGHT}",
        unit="req/s",
        count=5000,
        warmup=500,
        params={"in_flight": CONC_IN_FLIGHT, "pool": CONC_IN_FLIGHT},
    ),
    *[
        Scenario(
            name=f"conc-scale-{level}",
            what=f"5,000 async GET /small, {level} in flight, pool of {level}",
            unit="req/s",
            count=5000,
            warmup=max(500, 2 * level),  # every connection of the pool opened before timing
            function="conc-scale",
            params={"in_flight": level, "pool": level},
            group="conc-scale",
        )
        for level in CONC_SCALE_LEVELS
    ],
    Scenario(
        name="memory",
        what=f"peak RSS over the baseline after imports and client creation: 10,000 async GET "
        f"/small, {MEMORY_IN_FLIGHT} in flight, pool of {MEMORY_IN_FLIGHT}",
        unit="MiB",
        count=10000,
        warmup=0,  # the baseline is taken before any request: the first ones' cost counts
        params={"in_flight": MEMORY_IN_FLIGHT, "pool": MEMORY_IN_FLIGHT},
    ),
    Scenario(
        name="h2",
        what=f"5,000 async GET /small over TLS + HTTP/2, {H2_IN_FLIGHT} in flight, "
        f"{H2_CONNECTIONS} connection",
        unit="req/s",
        count=5000,
        warmup=500,
        params={"in_flight": H2_IN_FLIGHT, "connections": H2_CONNECTIONS},
    ),
    Scenario(
        name="big",
        what="stream GET /big (100 MiB) and discard, 3 times",
        unit="MiB/s",
        count=3,
        warmup=1,
        item_bytes=BIG_SIZE,
    ),
    Scenario(
        name="big-tls",
        what="stream GET /big (100 MiB) over TLS with HTTP/1.1 (ALPN http/1.1), 3 times",
        unit="MiB/s",
        count=3,
        warmup=1,
        item_bytes=BIG_SIZE,
    ),
    Scenario(
        name="h2-big",
        what="stream GET /big (100 MiB) over TLS with HTTP/2 (ALPN h2), 3 times",
        unit="MiB/s",
        count=3,
        warmup=1,
        item_bytes=BIG_SIZE,
    ),
    Scenario(
        name="h2c-big",
        what="stream GET /big (100 MiB) over cleartext HTTP/2 (prior knowledge), 3 times",
        unit="MiB/s",
        count=3,
        warmup=1,
        item_bytes=BIG_SIZE,
    ),
    Scenario(
        name="up",
        what="POST 100 MiB from bytes to /echo, 3 times",
        unit="MiB/s",
        count=3,
        warmup=1,
        item_bytes=UPLOAD_SIZE,
    ),
    Scenario(
        name="threads",
        what="8 threads sharing one sync client, 8 x 500 GET /small",
        unit="req/s",
        count=4000,
        warmup=400,
        params={"threads": 8},
    ),
    Scenario(
        name="import",
        what="python -X importtime -c 'import <library>': the top-level cumulative time",
        unit="ms",
        modules={
            "zephyr": "zephyr",
            "httpx": "httpx",
            "requests": "requests",
            "urllib3": "urllib3",
            "niquests": "niquests",
            "aiohttp": "aiohttp",
        },
    ),
]

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
GROUPS: dict[str, list[Scenario]] = {}
for _scenario in SCENARIOS:
    if _scenario.group:
        GROUPS.setdefault(_scenario.group, []).append(_scenario)


def select(names: list[str]) -> list[Scenario]:
    """The rows named: a scenario's own name, or a group's (all its rows, in order)."""
    unknown = [name for name in names if name not in BY_NAME and name not in GROUPS]
    if unknown:
        raise KeyError(f"unknown scenarios {unknown}; known: {', '.join([*BY_NAME, *GROUPS])}")
    return [row for name in names for row in (GROUPS.get(name) or [BY_NAME[name]])]
