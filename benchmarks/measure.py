"""Measure one library in one scenario, in this process alone; run.py starts one per sample.

    benchmarks/.venv/bin/python benchmarks/measure.py LIBRARY FUNCTION \\
        --count N --warmup N --config JSON

Builds the client (the function's setup, untimed), warms up with `--warmup` units of work,
times one call doing `--count` units, closes the client, and prints one JSON line:
{"elapsed": seconds, "cpu_seconds": this process's CPU time (user + system) in the timed call,
"max_rss_mib": ru_maxrss, "baseline_rss_mib": the resident memory once the library is imported
and the client built, "peak_rss_mib": the peak from then on}.

The `memory` scenario is peak_rss_mib - baseline_rss_mib. Not ru_maxrss: on Linux it starts at
the high-water mark of the process that forked this one (run.py, ~40 MiB) and hides anything
smaller. So once the client is built, the baseline is VmRSS, the high-water mark is reset
(`5` to /proc/self/clear_refs) and the peak is VmHWM after the run: this process's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from clients import load
from clients.base import Config


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _status_mib(field: str) -> float:
    """A field of /proc/self/status in MiB (VmRSS: resident now; VmHWM: its high-water mark)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of this process
    return usage.ru_utime + usage.ru_stime


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS


def measure(
    library: str, function: str, count: int, warmup: int, config: Config
) -> tuple[float, float, float]:
    """The seconds the timed call took, the CPU seconds it used, and the RSS (MiB) once the
    client was built."""
    bench = load(library)[(library, function)]
    steps = bench(config)
    run = next(steps)  # the client is built
    baseline_rss_mib = _status_mib("VmRSS")
    _reset_peak_rss()
    try:
        if warmup:
            run(warmup)
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        run(count)
        elapsed = time.perf_counter() - started
        return elapsed, _cpu_seconds() - cpu_started, baseline_rss_mib
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
    elapsed, cpu_seconds, baseline_rss_mib = measure(
        args.library, args.function, args.count, args.warmup, config
    )
    result = {
        "elapsed": elapsed,
        "cpu_seconds": cpu_seconds,
        "max_rss_mib": _max_rss_mib(),
        "baseline_rss_mib": baseline_rss_mib,
        "peak_rss_mib": _status_mib("VmHWM"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
