"""Measure zephyr against its peers, side by side, against one local nginx.

    python benchmarks/run.py [--scenarios seq,big,...] [--libraries zephyr,httpx,...]
                             [--runs N] [--quick] [--output PATH]

(`bash benchmarks/setup.sh` first; this script re-runs itself with benchmarks/.venv/bin/python.)

The rules of /work/shared/BENCHMARKS.md: one nginx for everything (server.py), its ceiling
checked and printed first; every sample is a process of its own (measure.py) that builds its
client outside the timed loop and warms up; the libraries go in one order in even rounds and
in the reverse order in odd ones; a figure is the median of `--runs` samples (3; `--quick`: 1);
the ratio printed is zephyr / peer. The results, with the machine's description, go to
benchmarks/results/<date>-<host>.json (<date>-<host>-partial.json for a partial run); then
report.py prints the summary table (ratios, issue 7's targets) and writes the chart (.png) and
the table (.md) beside the JSON. A complete run (every scenario and library, at least 3 runs,
no --quick) also rewrites the README's Performance section (`--publish yes` / `no` to force
it either way).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_VENV = HERE / ".venv"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
SCRATCH = HERE / "results" / "tmp"
SAMPLE_TIMEOUT = 300  # seconds; a sample that takes longer has hung and counts as failed


def _in_bench_venv() -> None:
    """Re-run this script with the benchmark venv's Python (it has trustme and the peers)."""
    if Path(sys.prefix).resolve() == BENCH_VENV.resolve():
        return
    if not BENCH_PYTHON.exists():
        raise SystemExit("benchmarks/.venv is missing: run `bash benchmarks/setup.sh` first")
    os.execv(BENCH_PYTHON, [str(BENCH_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


_in_bench_venv()

from clients import load_all  # noqa: E402 - after the venv check
from report import produce  # noqa: E402
from scenarios import (  # noqa: E402
    CHUNK_SIZE,
    CPU_UNIT,
    H2_DOWNLOAD_BASELINES,
    LIBRARY_ORDER,
    POOL,
    RETENTION,
    SCENARIOS,
    UPLOAD_SIZE,
    Scenario,
    select,
)
from server import Nginx, ceiling, exit_on_sigterm, nginx_version  # noqa: E402

Sample = dict[str, Any]  # {"value": float} or {"error": str}


def _environment() -> dict[str, str]:
    """The environment of every sample: this one, less what could change what gets imported."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


def _failure(process: subprocess.CompletedProcess[str]) -> str:
    text = (process.stderr or "") + (process.stdout or "")
    return f"exit {process.returncode}:\n" + "\n".join(text.strip().splitlines()[-40:])


def sample_client(scenario: Scenario, library: str, config: dict[str, Any]) -> Sample:
    """One sample: a process that measures `library` in `scenario`."""
    command = [
        str(BENCH_PYTHON),
        str(HERE / "measure.py"),
        library,
        scenario.client_function,
        f"--count={scenario.count}",
        f"--warmup={scenario.warmup}",
        "--config",
        json.dumps({**config, "params": scenario.params}),
    ]
    try:
        process = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT,
            cwd=SCRATCH,
            env=_environment(),
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {SAMPLE_TIMEOUT} s"}
    if process.returncode != 0:
        return {"error": _failure(process)}
    result = json.loads(process.stdout.strip().splitlines()[-1])
    return {"value": scenario.value(result), **result}


def import_time_ms(module: str) -> float:
    """The cumulative import time of `module`'s top-level import, from `-X importtime`."""
    process = subprocess.run(
        [str(BENCH_PYTHON), "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=SAMPLE_TIMEOUT,
        cwd=SCRATCH,
        env=_environment(),
        check=True,
    )
    # "import time:   self [us] | cumulative | imported package", nested names indented.
    for line in process.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1000
    raise RuntimeError(f"no top-level `import {module}` in:\n{process.stderr[-2000:]}")


IMPORT_REPEATS = 5  # per sample: the median of this many fresh interpreters


def sample_import(scenario: Scenario, library: str) -> Sample:
    module = scenario.modules[library]
    try:
        import_time_ms(module)  # warm-up: writes the .pyc files if they are missing
        times = [import_time_ms(module) for _ in range(IMPORT_REPEATS)]
    except (subprocess.SubprocessError, RuntimeError) as exc:
        error = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
        return {"error": f"{exc}\n{error}"}
    return {"value": statistics.median(times), "repeats": times}


def libraries_of(scenario: Scenario, registry: dict[tuple[str, str], Any]) -> list[str]:
    if scenario.modules:
        present = set(scenario.modules)
    else:
        present = {lib for lib, function in registry if function == scenario.client_function}
    known = [lib for lib in LIBRARY_ORDER if lib in present]
    return known + sorted(present - set(known))


# -- the machine -----------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _command_output(command: list[str]) -> str:
    try:
        process = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (process.stdout + process.stderr).strip()


def _zephyr_commit() -> dict[str, Any]:
    commit = _command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    status = _command_output(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"])
    return {"commit": commit or None, "src_modified": bool(status)}


def machine() -> dict[str, Any]:
    versions = {}
    for distribution in [*LIBRARY_ORDER, "httpcore", "h2", "urllib3-future", "httptools"]:
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[distribution] = None
    curl = _command_output([str(BENCH_PYTHON), "-c", "import pycurl; print(pycurl.version)"])
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "libraries": versions,
        "pycurl_version": curl,
        "nginx": nginx_version(),
        "wrk": (_command_output(["wrk", "--version"]).splitlines() or [""])[0],
        "zephyr": _zephyr_commit(),
    }


# -- the report ----------------------------------------------------------------------------


def _format(value: float, unit: str) -> str:
    if unit in ("ms", CPU_UNIT):
        return f"{value:,.1f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def summarise(scenario: Scenario, samples: dict[str, list[Sample]]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for library, runs in samples.items():
        values = [run["value"] for run in runs if "value" in run]
        errors = [run["error"] for run in runs if "error" in run]
        results[library] = {
            "median": statistics.median(values) if values else None,
            "values": values,
            "errors": errors,
            "samples": runs,
        }
    zephyr = results.get("zephyr", {}).get("median")
    ratios = {
        library: (zephyr / result["median"] if zephyr is not None and result["median"] else None)
        for library, result in results.items()
        if library != "zephyr"
    }
    return {
        "what": scenario.what,
        "unit": scenario.unit,
        "higher_is_better": scenario.higher_is_better,
        "count": scenario.count,
        "warmup": scenario.warmup,
        "params": scenario.params,
        "results": results,
        "zephyr_over_peer": ratios,
    }


def print_table(name: str, summary: dict[str, Any]) -> None:
    unit = summary["unit"]
    better = "higher" if summary["higher_is_better"] else "lower"
    print(f"\n{name}: {summary['what']}  [{unit}, {better} is better]")
    print(f"  {'library':10} {'median':>10}   {'runs':<30} {'zephyr/peer':>11}")
    for library, result in summary["results"].items():
        runs = " ".join(_format(value, unit) for value in result["values"])
        if result["errors"]:
            runs += f" ({len(result['errors'])} failed)"
        median = _format(result["median"], unit) if result["median"] is not None else "ERROR"
        ratio = summary["zephyr_over_peer"].get(library)
        shown = "" if library == "zephyr" else (f"{ratio:.2f}x" if ratio else "n/a")
        print(f"  {library:10} {median:>10}   {runs:<30} {shown:>11}")


def retention(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """conc-scale's retention per library: the median rate at RETENTION[0] in flight over the
    one at RETENTION[1] (when both levels ran)."""
    high, low = (report.get(f"conc-scale-{level}") for level in RETENTION)
    if not high or not low:
        return {}
    out: dict[str, dict[str, float | None]] = {}
    for library in high["results"]:
        a = high["results"][library]["median"]
        b = low["results"].get(library, {}).get("median")
        out[library] = {"retention": a / b if a and b else None}
    return out


def print_retention(retentions: dict[str, dict[str, float | None]]) -> None:
    high, low = RETENTION
    print(f"\nconc-scale retention: req/s at {high} in flight / req/s at {low}  [higher is better]")
    for library, result in retentions.items():
        value = result["retention"]
        print(f"  {library:10} {'ERROR' if value is None else f'{value:.2f}':>10}")


def h2_download(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per library, h2-big's median rate over each baseline's (H2_DOWNLOAD_BASELINES) that ran:
    the HTTP/2 download against the same library's HTTP/1.1 one, measured in this run."""
    h2 = report.get("h2-big")
    baselines = [name for name in H2_DOWNLOAD_BASELINES if name in report]
    if not h2 or not baselines:
        return {}
    out: dict[str, dict[str, float | None]] = {}
    for library, result in h2["results"].items():
        ratios: dict[str, float | None] = {}
        for name in baselines:
            other = report[name]["results"].get(library, {}).get("median")
            ratios[f"h2-big/{name}"] = (
                result["median"] / other if result["median"] and other else None
            )
        out[library] = ratios
    return out


def print_h2_download(ratios: dict[str, dict[str, float | None]]) -> None:
    columns = list(next(iter(ratios.values())))
    print("\nHTTP/2 download / HTTP/1.1 download, per library, this run  [higher is better]")
    print(
        "  (h2-big/big-tls: the same TLS listener, ALPN h2 vs http/1.1; h2-big/big: vs cleartext)"
    )
    print(f"  {'library':10} " + " ".join(f"{column:>16}" for column in columns))
    for library, row in ratios.items():
        shown = ["ERROR" if row[c] is None else f"{row[c]:.2f}" for c in columns]
        print(f"  {library:10} " + " ".join(f"{value:>16}" for value in shown))


MIN_PUBLISHED_RUNS = 3  # a run the README shows has at least this many samples per figure


def _default_scenarios() -> str:
    names = dict.fromkeys(s.group or s.name for s in SCENARIOS)  # groups once, in order
    return ",".join(names)


def main() -> None:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenarios",
        default=_default_scenarios(),
        help="scenarios or groups (conc-scale: all its levels), comma-separated",
    )
    parser.add_argument("--libraries", default="", help="only these (comma-separated)")
    parser.add_argument("--runs", type=int, default=3, help="samples per figure (median)")
    parser.add_argument("--quick", action="store_true", help="1 run, shorter ceiling checks")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=CHUNK_SIZE,
        help=f"read size for the streaming APIs that take one (default {CHUNK_SIZE})",
    )
    parser.add_argument(
        "--pin",
        choices=["none", "same", "split"],
        default="none",
        help="CPU placement: none (the scheduler's, the default), same (nginx and the client on "
        "CPU 0), split (nginx on CPU 1, the client on CPU 0)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="default: results/<date>-<host>.json; -partial.json when not a complete run",
    )
    parser.add_argument(
        "--publish",
        choices=["auto", "yes", "no"],
        default="auto",
        help="rewrite the README's Performance section from this run: auto (the default) when "
        f"the run is complete (every scenario and library, at least {MIN_PUBLISHED_RUNS} runs)",
    )
    args = parser.parse_args()
    runs = 1 if args.quick else max(1, args.runs)
    try:
        scenarios = select(args.scenarios.split(","))
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    only = set(filter(None, args.libraries.split(",")))
    registry = load_all()
    plan = {
        scenario.name: [lib for lib in libraries_of(scenario, registry) if not only or lib in only]
        for scenario in scenarios
    }
    SCRATCH.mkdir(parents=True, exist_ok=True)

    report: dict[str, Any] = {"machine": machine(), "runs": runs, "pin": args.pin}
    nginx_cpu = {"none": None, "same": 0, "split": 1}[args.pin]
    with Nginx(cpu=nginx_cpu) as server:
        if args.pin != "none":
            # This process and all it starts (wrk, h2load, curl, the samples) on CPU 0.
            os.sched_setaffinity(0, {0})
        server.check()
        print(f"{report['machine']['nginx']} on {server.http} {server.h2c} {server.https}")
        print(f"{report['machine']['cpu']}, {report['machine']['cores']} cores, ", end="")
        print(f"Python {report['machine']['python']}")
        report["ceiling"] = ceiling(server, quick=args.quick)
        for what, value in report["ceiling"].items():
            print(f"  ceiling: {what:45} {value:>12,.0f}")
        config = {
            "http": server.http,
            "h2c": server.h2c,
            "https": server.https,
            "cafile": server.cafile,
            "pool": POOL,
            "chunk_size": args.chunk_size,
            "big_size": server.describe()["big_size"],
            "upload_size": UPLOAD_SIZE,
        }
        report["config"] = {k: v for k, v in config.items() if k != "cafile"}
        samples: dict[str, dict[str, list[Sample]]] = {
            scenario.name: {lib: [] for lib in plan[scenario.name]} for scenario in scenarios
        }
        for round_number in range(runs):
            for scenario in scenarios:
                order = plan[scenario.name]
                if round_number % 2:
                    order = order[::-1]
                for library in order:
                    if scenario.modules:
                        sample = sample_import(scenario, library)
                    else:
                        sample = sample_client(scenario, library, config)
                    samples[scenario.name][library].append(sample)
                    shown = (
                        _format(sample["value"], scenario.unit) if "value" in sample else "FAILED"
                    )
                    print(
                        f"  round {round_number + 1}/{runs} {scenario.name:14} {library:9} "
                        f"{shown} {scenario.unit}",
                        file=sys.stderr,
                        flush=True,
                    )

    report["scenarios"] = {
        scenario.name: summarise(scenario, samples[scenario.name]) for scenario in scenarios
    }
    report["scenario_definitions"] = {s.name: asdict(s) for s in scenarios}
    for name, summary in report["scenarios"].items():
        print_table(name, summary)
    retentions = retention(report["scenarios"])
    if retentions:
        report["conc_scale_retention"] = retentions
        print_retention(retentions)
    downloads = h2_download(report["scenarios"])
    if downloads:
        report["h2_download"] = downloads
        print_h2_download(downloads)
    failures = [
        (name, library, error)
        for name, summary in report["scenarios"].items()
        for library, result in summary["results"].items()
        for error in result["errors"]
    ]
    for name, library, error in failures:
        print(f"\nFAILED: {library} in {name}:\n{error}")

    complete = (
        not only
        and runs >= MIN_PUBLISHED_RUNS
        and {s.name for s in scenarios} == {s.name for s in SCENARIOS}
    )
    day = datetime.date.today().isoformat()
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())
    # A partial run never overwrites the day's complete one (nor its chart and table).
    filename = f"{day}-{host}.json" if complete else f"{day}-{host}-partial.json"
    output = args.output or HERE / "results" / filename
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {output}")

    publish = args.publish == "yes" or (args.publish == "auto" and complete)
    produce([output], publish=publish)
    if not publish:
        print("README not updated (not a complete run; `--publish yes` forces it)")


if __name__ == "__main__":
    main()
