"""Measure one library in one scenario, in this process alone; run.py starts one per sample.

    benchmarks/.venv/bin/python benchmarks/measure.py LIBRARY FUNCTION \\
        --count N --warmup N --config JSON

Builds the client (the function's setup, untimed), warms up with `--warmup` units of work,
times one call doing `--count` units, closes the client, and prints one JSON line:
{"elapsed": seconds, "max_rss_mib": peak resident memory of this process}.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from clients import load
from clients.base import Config


def measure(library: str, function: str, count: int, warmup: int, config: Config) -> float:
    bench = load(library)[(library, function)]
    steps = bench(config)
    run = next(steps)  # the client is built
    try:
        if warmup:
            run(warmup)
        started = time.perf_counter()
        run(count)
        return time.perf_counter() - started
    finally:
        steps.close()  # the client is closed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("library")
    parser.add_argument("function")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--config", required=True, help="clients.base.Config as JSON")
    args = parser.parse_args()
    config = Config.from_dict(json.loads(args.config))
    elapsed = measure(args.library, args.function, args.count, args.warmup, config)
    max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"elapsed": elapsed, "max_rss_mib": max_rss_mib}))


if __name__ == "__main__":
    main()
