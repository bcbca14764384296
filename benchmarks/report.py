"""The report of a benchmark run: the table with ratios and targets, a chart, the README section.

    python benchmarks/report.py RESULTS.json [MORE.json ...] [--publish]
                                [--chart PATH] [--markdown PATH] [--readme PATH]

(run.py calls it at the end of every run; this script re-runs itself with benchmarks/.venv's
Python, which has matplotlib.)

From one results JSON (several are merged, later files winning per scenario), it
- prints the table: per scenario its unit, zephyr's median, each peer's median with zephyr's
  advantage over it, and issue 7's target with met / missed;
- writes the chart (PNG, matplotlib), one panel per scenario, and the table as markdown, beside
  the (last) JSON with the same name: results/<date>-<host>.png and .md;
- with `--publish`, rewrites the README's Performance section (between `<!-- bench:start -->`
  and `<!-- bench:end -->`, made before `## Layout` when missing) with the table, the chart,
  the machine, the versions, the date and how to reproduce.

The advantage "n x" is how many times better zephyr does than the peer: zephyr / peer for rates
(req/s, MiB/s: higher is better), peer / zephyr for ms and MiB (lower is better). Above 1,
zephyr is ahead. A target keeps its own terms (e.g. memory: zephyr / aiohttp <= 0.5).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README = ROOT / "README.md"
BENCH_PYTHON = HERE / ".venv" / "bin" / "python"

START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"

# The order of the rows and panels (BENCHMARKS.md's, the TLS downloads after `big`); a
# scenario not listed here follows, in the JSON's order.
SCENARIO_ORDER = [
    "seq",
    "seq-cpu",
    "conc",
    "conc-scale-1",
    "conc-scale-16",
    "conc-scale-128",
    "conc-scale-512",
    "h2",
    "big",
    "big-tls",
    "h2-big",
    "h2c-big",
    "up",
    "threads",
    "import",
    "memory",
]
LIBRARY_ORDER = ["zephyr", "httpx", "requests", "urllib3", "niquests", "pycurl", "aiohttp"]
PEERS = LIBRARY_ORDER[1:]
CONC_SCALE = "conc-scale"
RETENTION_ROW = "conc-scale retention"
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
RETENTION = (512, 16)  # as scenarios.RETENTION: the rate at 512 in flight over the one at 16

Report = dict[str, Any]  # a results JSON, as run.py writes it


# -- reading the results ---------------------------------------------------------------------


def load(paths: Iterable[Path]) -> Report:
    """One report from several results files: the scenarios of all (a later file's win), the
    machine of the last, every file's date and runs."""
    merged: Report = {"scenarios": {}, "sources": []}
    for path in paths:
        report = json.loads(path.read_text())
        merged["scenarios"].update(report.get("scenarios", {}))
        merged["machine"] = report.get("machine", {})
        merged["pin"] = report.get("pin", "none")
        merged["sources"].append(
            {
                "path": str(path),
                "date": report.get("machine", {}).get("date", ""),
                "runs": report.get("runs"),
                "zephyr": _zephyr_build(report.get("machine", {})),
                "scenarios": list(report.get("scenarios", {})),
            }
        )
    return merged


def ordered_scenarios(report: Report) -> list[str]:
    present = list(report["scenarios"])
    known = [name for name in SCENARIO_ORDER if name in present]
    return known + [name for name in present if name not in known]


def medians(report: Report, scenario: str) -> dict[str, float | None]:
    summary = report["scenarios"].get(scenario)
    if not summary:
        return {}
    results: dict[str, Any] = summary["results"]
    ordered = [lib for lib in LIBRARY_ORDER if lib in results]
    ordered += [lib for lib in results if lib not in ordered]
    return {lib: results[lib]["median"] for lib in ordered}


def higher_is_better(report: Report, scenario: str) -> bool:
    return bool(report["scenarios"][scenario]["higher_is_better"])


def unit_of(report: Report, scenario: str) -> str:
    return str(report["scenarios"][scenario]["unit"])


def retentions(report: Report) -> dict[str, float | None]:
    """Per library, conc-scale's rate at 512 in flight over its rate at 16 (from the medians)."""
    high = medians(report, f"{CONC_SCALE}-{RETENTION[0]}")
    low = medians(report, f"{CONC_SCALE}-{RETENTION[1]}")
    if not high or not low:
        return {}
    return {lib: (a / b if a and (b := low.get(lib)) else None) for lib, a in high.items()}


def advantage(zephyr: float | None, peer: float | None, higher: bool) -> float | None:
    """How many times better zephyr does than the peer (above 1: zephyr is ahead)."""
    if not zephyr or not peer:
        return None
    return zephyr / peer if higher else peer / zephyr


# -- the targets (issue 7) -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    met: bool | None  # None: not measured (a library missing or failed)
    achieved: str  # the measured figure in the target's own terms
    lines: list[tuple[float, str]] = field(default_factory=list)  # the chart's target markers


@dataclass(frozen=True)
class Target:
    scenario: str  # the row it belongs to
    text: str
    evaluate: Callable[[Report], Outcome]


def _against(scenario: str, peer: str, factor: float, *, at_most: bool = False) -> Target:
    """zephyr / peer >= factor (or <= factor, for lower-is-better figures)."""

    def evaluate(report: Report) -> Outcome:
        figures = medians(report, scenario)
        zephyr, other = figures.get("zephyr"), figures.get(peer)
        if not zephyr or not other:
            return Outcome(None, f"no {peer if zephyr else 'zephyr'} figure")
        ratio = zephyr / other
        met = ratio <= factor if at_most else ratio >= factor
        line = (other * factor, f"{factor:.1f}{TIMES} {peer}")
        return Outcome(met, f"{ratio:.2f}{TIMES} {peer}", [line])

    sign = "≤" if at_most else "≥"
    return Target(scenario, f"{sign} {factor:.1f}{TIMES} {peer}", evaluate)


def _retention(minimum: float) -> Target:
    def evaluate(report: Report) -> Outcome:
        value = retentions(report).get("zephyr")
        if value is None:
            return Outcome(None, "no figure")
        return Outcome(value >= minimum, f"{value:.2f}")

    return Target(RETENTION_ROW, f"≥ {minimum:g}", evaluate)


def _import(limit_ms: float, below: str) -> Target:
    def evaluate(report: Report) -> Outcome:
        figures = medians(report, "import")
        zephyr, other = figures.get("zephyr"), figures.get(below)
        if not zephyr or not other:
            return Outcome(None, f"no {below if zephyr else 'zephyr'} figure")
        met = zephyr <= limit_ms and zephyr < other
        return Outcome(
            met, f"{zephyr:.1f} ms ({below} {other:.1f})", [(limit_ms, f"{limit_ms:g} ms")]
        )

    return Target("import", f"≤ {limit_ms:g} ms and < {below}", evaluate)


TARGETS = [
    _against("seq", "pycurl", 1.0),
    _against("conc", "aiohttp", 2.5),
    _retention(0.9),
    _against("h2", "niquests", 5.0),
    _against("big", "pycurl", 2.0),
    _against("up", "urllib3", 2.5),
    _against("threads", "urllib3", 2.0),
    _import(40.0, "httpx"),
    _against("memory", "aiohttp", 0.5, at_most=True),
]
TARGET_OF = {target.scenario: target for target in TARGETS}


# -- the table -------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "failed"
    if unit.split()[0] in ("ms", "MiB", "µs"):
        return f"{value:,.1f}"
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


@dataclass(frozen=True)
class Row:
    scenario: str
    unit: str  # with its direction: "req/s ↑", "ms ↓"
    zephyr: str
    peers: dict[str, str]  # library -> "figure (advantage x)"; absent: not in the scenario
    target: str
    outcome: Outcome | None


def rows(report: Report) -> list[Row]:
    out: list[Row] = []
    for scenario in ordered_scenarios(report):
        figures = medians(report, scenario)
        unit, higher = unit_of(report, scenario), higher_is_better(report, scenario)
        zephyr = figures.get("zephyr")
        peers: dict[str, str] = {}
        for library, value in figures.items():
            if library == "zephyr":
                continue
            ratio = advantage(zephyr, value, higher)
            peers[library] = fmt(value, unit) + (f" ({ratio:.2f}{TIMES})" if ratio else "")
        out.append(_row(report, scenario, f"{unit} {'↑' if higher else '↓'}", zephyr, peers))
        if scenario == f"{CONC_SCALE}-{RETENTION[0]}" and (kept := retentions(report)):
            shown = {lib: fmt(value, "ratio") for lib, value in kept.items() if lib != "zephyr"}
            out.append(_row(report, RETENTION_ROW, "512/16 ↑", kept.get("zephyr"), shown))
    return out


def _row(
    report: Report, scenario: str, unit: str, zephyr: float | None, peers: dict[str, str]
) -> Row:
    target = TARGET_OF.get(scenario)
    outcome = target.evaluate(report) if target else None
    value = fmt(zephyr, "ratio" if scenario == RETENTION_ROW else unit.split()[0])
    return Row(scenario, unit, value, peers, target.text if target else "", outcome)


def peer_columns(table: list[Row]) -> list[str]:
    present = {library for row in table for library in row.peers}
    return [lib for lib in PEERS if lib in present] + sorted(present - set(PEERS))


def verdict(outcome: Outcome | None, *, markdown: bool) -> str:
    if outcome is None:
        return ""
    if outcome.met is None:
        word = "n/a"
    elif markdown:
        word = "✅ met" if outcome.met else "❌ missed"
    else:
        word = "met" if outcome.met else "MISSED"
    return f"{word}: {outcome.achieved}"


def score(table: list[Row]) -> tuple[int, int, list[str]]:
    """(targets met, targets with a figure, the targets' rows that were not measured)."""
    judged = [row.outcome.met for row in table if row.outcome and row.outcome.met is not None]
    measured = {row.scenario for row in table if row.outcome and row.outcome.met is not None}
    missing = [target.scenario for target in TARGETS if target.scenario not in measured]
    return sum(judged), len(judged), missing


def score_line(table: list[Row]) -> str:
    met, judged, missing = score(table)
    text = f"{met} of {judged} met"
    return text + (f" (not measured: {', '.join(missing)})" if missing else "")


def text_table(table: list[Row]) -> str:
    columns = peer_columns(table)
    header = ["scenario", "unit", "zephyr", *columns, "target (issue 7)", "result"]
    body = [
        [
            row.scenario,
            row.unit,
            row.zephyr,
            *(row.peers.get(lib, "-") for lib in columns),
            row.target,
            verdict(row.outcome, markdown=False),
        ]
        for row in table
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    right = set(range(2, 3 + len(columns)))  # the figures

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def markdown_table(table: list[Row]) -> str:
    columns = peer_columns(table)
    header = ["scenario", "unit", "zephyr", *columns, "target (issue 7)", "result"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", *["---:"] * (1 + len(columns)), "---", "---"]) + "|",
    ]
    for row in table:
        cells = [
            f"`{row.scenario}`",
            row.unit,
            f"**{row.zephyr}**",
            *(row.peers.get(lib, "—") for lib in columns),
            row.target,
            verdict(row.outcome, markdown=True),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- the machine, the versions, the date ---------------------------------------------------


def _libcurl(machine: dict[str, Any]) -> str:
    found = re.search(r"libcurl/(\S+)", machine.get("pycurl_version") or "")
    return f" (libcurl {found.group(1)})" if found else ""


def _zephyr_build(machine: dict[str, Any]) -> str:
    """The commit zephyr was measured at, e.g. "abcdb4a + uncommitted src"."""
    build = machine.get("zephyr") or {}
    if not build.get("commit"):
        return ""
    commit = str(build["commit"])[:7]
    return commit + (" + uncommitted src" if build.get("src_modified") else "")


def versions_line(report: Report) -> str:
    machine = report.get("machine", {})
    libraries: dict[str, str | None] = machine.get("libraries", {})
    builds = list(dict.fromkeys(filter(None, (s["zephyr"] for s in report["sources"]))))
    parts = []
    for library in LIBRARY_ORDER:
        version = libraries.get(library)
        if not version:
            continue
        text = f"{library} {version}"
        if library == "zephyr" and builds:
            text += f" ({'; '.join(builds)})"
        if library == "pycurl":
            text += _libcurl(machine)
        parts.append(text)
    return ", ".join(parts)


def machine_line(report: Report) -> str:
    machine = report.get("machine", {})
    memory = f", {machine['memory_gib']:g} GiB" if machine.get("memory_gib") else ""
    system = re.sub(r"-with-.*", "", machine.get("os", ""))
    python = f"{machine.get('python_implementation', 'Python')} {machine.get('python', '?')}"
    return (
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores{memory}; {system}; "
        f"{python}; {machine.get('nginx', 'nginx')} (1 worker, loopback)"
    )


def run_dates(report: Report) -> str:
    days = sorted({source["date"][:10] for source in report["sources"] if source["date"]})
    return " and ".join(days) or "?"


def date_line(report: Report) -> str:
    runs = sorted({source["runs"] for source in report["sources"] if source["runs"]})
    when = run_dates(report)
    how_many = DASH.join(str(n) for n in (runs[0], runs[-1])) if len(runs) > 1 else "?"
    if len(runs) == 1:
        how_many = str(runs[0])
    return (
        f"{when}; median of {how_many} run{'s' if how_many != '1' else ''} per figure, "
        f"each sample a process of its own, the libraries' order reversed every other round"
    )


# -- the chart -------------------------------------------------------------------------------

ZEPHYR_COLOUR = "#e8590c"
PEER_COLOUR = "#9aa5b1"
MET_COLOUR = "#2b8a3e"
MISSED_COLOUR = "#c92a2a"
# The panels' titles: the scenario and, shortly, what it does (scenarios.py has the details).
TITLES = {
    "seq": "seq: sequential GETs, one client",
    "seq-cpu": "seq-cpu: the client's CPU per request",
    "conc": "conc: async GETs, 100 in flight",
    "conc-scale": "conc-scale: 1 to 512 in flight",
    "h2": "h2: async GETs, TLS + HTTP/2, 1 conn.",
    "big": "big: GET 100 MiB, streamed",
    "big-tls": "big-tls: GET 100 MiB, TLS, HTTP/1.1",
    "h2-big": "h2-big: GET 100 MiB, TLS, HTTP/2",
    "h2c-big": "h2c-big: GET 100 MiB, cleartext HTTP/2",
    "up": "up: POST 100 MiB from bytes",
    "threads": "threads: 8 threads, one client",
    "import": "import: the import's time",
    "memory": "memory: peak RSS, 500 in flight",
}
PEER_LINES = ["#495057", "#868e96", "#adb5bd", "#5c7cfa", "#74c0fc", "#63e6be"]


def _panel_title(ax: Any, title: str, outcome: Outcome | None, target: str) -> None:
    ax.set_title(title, loc="left", fontsize=11.5, fontweight="bold", pad=20)
    if outcome is None:
        return
    colour = {True: MET_COLOUR, False: MISSED_COLOUR, None: "#495057"}[outcome.met]
    word = {True: "met", False: "missed", None: "n/a"}[outcome.met]
    ax.text(
        0,
        1.02,
        f"target {target}: {word} ({outcome.achieved})",
        transform=ax.transAxes,
        fontsize=9.5,
        color=colour,
        va="bottom",
    )


def _bars(ax: Any, report: Report, scenario: str) -> None:
    figures = medians(report, scenario)
    unit, higher = unit_of(report, scenario), higher_is_better(report, scenario)
    libraries = list(figures)
    values = [figures[lib] or 0.0 for lib in libraries]
    zephyr = figures.get("zephyr")
    positions = list(range(len(libraries)))
    colours = [ZEPHYR_COLOUR if lib == "zephyr" else PEER_COLOUR for lib in libraries]
    ax.barh(positions, values, color=colours, height=0.7)
    ax.set_yticks(positions, libraries, fontsize=10.5)
    ax.invert_yaxis()
    for label in ax.get_yticklabels():
        if label.get_text() == "zephyr":
            label.set_fontweight("bold")
            label.set_color(ZEPHYR_COLOUR)
    top = max(values, default=0.0) or 1.0
    target = TARGET_OF.get(scenario)
    outcome = target.evaluate(report) if target else None
    for value, text in outcome.lines if outcome else []:
        top = max(top, value)
        ax.axvline(value, color="#343a40", linestyle="--", linewidth=1)
        ax.text(value, -0.72, f" target {text}", fontsize=8.5, ha="left", va="bottom")
    for position, library, value in zip(positions, libraries, values, strict=True):
        shown = fmt(figures[library], unit)
        ratio = advantage(zephyr, figures[library], higher) if library != "zephyr" else None
        if ratio:
            shown += f"  zephyr {ratio:.2f}{TIMES}"
        ax.text(
            value + top * 0.015,
            position,
            shown,
            va="center",
            fontsize=9.5,
            fontweight="bold" if library == "zephyr" else "normal",
        )
    ax.set_xlim(0, top * 1.55)
    ax.set_ylim(len(libraries) - 0.5, -1.0)
    ax.set_xlabel(f"{unit}, {'higher' if higher else 'lower'} is better", fontsize=9.5)
    _panel_title(ax, TITLES.get(scenario, scenario), outcome, target.text if target else "")


def _conc_scale(ax: Any, report: Report, scenarios: list[str]) -> None:
    levels = sorted(int(name.rsplit("-", 1)[1]) for name in scenarios)
    by_library: dict[str, list[float | None]] = {}
    for level in levels:
        for library, value in medians(report, f"{CONC_SCALE}-{level}").items():
            by_library.setdefault(library, []).append(value)
    peers = iter(PEER_LINES)
    kept = retentions(report)
    top = 0.0
    for library, values in by_library.items():
        points = [(lv, v) for lv, v in zip(levels, values, strict=False) if v]
        if not points:
            continue
        xs, ys = zip(*points, strict=True)
        top = max(top, *ys)
        is_zephyr = library == "zephyr"
        colour = ZEPHYR_COLOUR if is_zephyr else next(peers, PEER_COLOUR)
        ax.plot(
            xs,
            ys,
            marker="o",
            color=colour,
            linewidth=2.8 if is_zephyr else 1.6,
            zorder=3 if is_zephyr else 2,
        )
        label = library
        if kept.get(library) is not None:
            label += f" (512/16: {kept[library]:.2f})"
        ax.annotate(
            label,
            (xs[-1], ys[-1]),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
            color=colour,
            fontweight="bold" if is_zephyr else "normal",
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels, [str(level) for level in levels])
    ax.set_xlim(levels[0] / 1.5, levels[-1] * 12)
    ax.set_ylim(0, top * 1.15 if top else 1)
    ax.set_xlabel("requests in flight (pool of as many)", fontsize=9.5)
    ax.set_ylabel("req/s", fontsize=9.5)
    ax.yaxis.set_major_formatter(_thousands())
    target = TARGET_OF.get(RETENTION_ROW)
    outcome = target.evaluate(report) if target else None
    _panel_title(
        ax,
        TITLES[CONC_SCALE],
        outcome,
        f"retention 512/16 {target.text}" if target else "",
    )


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:,.0f}")


def _summary(ax: Any, table: list[Row]) -> None:
    ax.axis("off")
    met, judged, _ = score(table)
    ax.set_title(
        f"issue 7 targets: {met} of {judged} met", loc="left", fontsize=12, fontweight="bold"
    )
    outcomes = {row.scenario: (row.target, row.outcome) for row in table if row.outcome}
    step = min(0.12, 0.95 / max(1, len(TARGETS)))
    for index, target in enumerate(TARGETS):
        _, outcome = outcomes.get(target.scenario, (target.text, None))
        met_ = outcome.met if outcome else None
        achieved = outcome.achieved if outcome else "not measured"
        colour = {True: MET_COLOUR, False: MISSED_COLOUR, None: "#495057"}[met_]
        mark = {True: "✔", False: "✘", None: DASH}[met_]
        y = 0.97 - index * step
        ax.text(0.0, y, mark, color=colour, fontsize=11, transform=ax.transAxes, va="top")
        ax.text(
            0.08,
            y,
            f"{target.scenario} {target.text}: {achieved}",
            fontsize=9.5,
            transform=ax.transAxes,
            va="top",
            color=colour if met_ is not None else "#495057",
        )


def chart(report: Report, table: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    names = ordered_scenarios(report)
    scale = [name for name in names if name.startswith(f"{CONC_SCALE}-")]
    panels: list[str] = []
    for name in names:
        if name in scale:
            if CONC_SCALE not in panels:
                panels.append(CONC_SCALE)
        else:
            panels.append(name)
    columns = 3
    count = len(panels) + 1  # and the targets' summary
    lines = math.ceil(count / columns)
    figure, axes = plt.subplots(
        lines, columns, figsize=(12, 3.3 * lines + 1.6), squeeze=False, dpi=110
    )
    flat = [ax for line in axes for ax in line]
    for ax, panel in zip(flat, panels, strict=False):
        if panel == CONC_SCALE:
            _conc_scale(ax, report, scale)
        else:
            _bars(ax, report, panel)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=9)
        if panel != CONC_SCALE:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
            ax.xaxis.set_major_formatter(_thousands())
    _summary(flat[len(panels)], table)
    for ax in flat[len(panels) + 1 :]:
        ax.axis("off")
    figure.suptitle(
        f"zephyr against its peers (medians); “zephyr n{TIMES}”: how many times better zephyr does",
        x=0.01,
        ha="left",
        fontsize=13.5,
        fontweight="bold",
    )
    footer = "\n".join(
        textwrap.fill(text, 160)
        for text in (machine_line(report), versions_line(report), date_line(report))
    )
    figure.text(0.01, 0.005, footer, fontsize=9.5, va="bottom", ha="left", color="#343a40")
    height = figure.get_figheight()
    bottom = (0.2 * (footer.count("\n") + 1) + 0.35) / height  # inches kept for the footer
    figure.tight_layout(rect=(0, bottom, 1, 1 - 0.45 / height), h_pad=2.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, bbox_inches="tight", pad_inches=0.15, pil_kwargs={"optimize": True})
    plt.close(figure)


# -- the markdown and the README -------------------------------------------------------------


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve())


def placement_line(report: Report, base: Path) -> str:
    """Where client and nginx ran (`run.py --pin`), and what that does to `seq`."""
    pin = report.get("pin", "none")
    where = {
        "none": "the scheduler's (unpinned)",
        "same": "nginx's worker and the client on one CPU",
        "split": "nginx's worker on one CPU, the client on the other",
    }.get(pin, str(pin))
    return (
        f"{where}. `seq` is a ping-pong whose wall-clock rate depends on it (on this 2-core VM a "
        "round trip between CPUs adds ~60-90 µs of wake-ups for every client, squeezing every "
        "ratio towards 1); `seq-cpu`, the client process's CPU time per request, does not "
        f"([docs/performance.md]({_relative(HERE.parent / 'docs' / 'performance.md', base)}), "
        "`benchmarks/floors.py`)"
    )


def markdown(report: Report, table: list[Row], chart_path: Path | None, base: Path) -> str:
    sources = ", ".join(
        f"[`{Path(s['path']).name}`]({_relative(Path(s['path']), base)})" for s in report["sources"]
    )
    parts = [
        f"zephyr against its peers, side by side, against one local nginx "
        f"([how]({_relative(HERE / 'README.md', base)})); "
        f"issue 7's targets: **{score_line(table)}**.",
        "",
        "Each cell is the median; in brackets, how many times better zephyr does than that peer "
        "(zephyr / peer for req/s and MiB/s, peer / zephyr for ms and MiB: above 1, zephyr is "
        "ahead). ↑ higher is better, ↓ lower is better.",
        "",
        markdown_table(table),
        "",
    ]
    if chart_path is not None:
        parts += [f"![zephyr against its peers]({_relative(chart_path, base)})", ""]
    parts += [
        f"- Machine: {machine_line(report)}",
        f"- Versions: {versions_line(report)}",
        f"- Date: {date_line(report)}",
        f"- Placement: {placement_line(report, base)}",
        f"- Results: {sources}",
        "",
        "How to reproduce: `make bench` (nginx, wrk, h2load and the peers are installed by "
        "`benchmarks/setup.sh`; `make bench BENCH_ARGS='--scenarios seq,big --runs 5'` for a "
        "part).",
    ]
    return "\n".join(parts)


def update_readme(readme: Path, body: str) -> None:
    text = readme.read_text()
    block = (
        f"{START_MARKER}\n<!-- written by benchmarks/report.py from the results; "
        f"not by hand -->\n{body}\n{END_MARKER}"
    )
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        after = rest.split(END_MARKER, 1)[1]
        text = before + block + after
    else:
        section = f"## Performance\n\n{block}\n\n"
        if "\n## Layout" in text:
            head, tail = text.split("\n## Layout", 1)
            text = f"{head}\n{section}## Layout{tail}"
        else:
            text = text.rstrip("\n") + f"\n\n{section.rstrip()}\n"
    readme.write_text(text)


# -- the command -----------------------------------------------------------------------------


def produce(
    paths: list[Path],
    *,
    chart_path: Path | None = None,
    markdown_path: Path | None = None,
    publish: bool = False,
    readme: Path = README,
) -> None:
    """Print the table, write the chart and the markdown (beside the last JSON unless told),
    and with `publish` the README's Performance section."""
    report = load(paths)
    table = rows(report)
    if not table:
        print("report: no scenario in", ", ".join(map(str, paths)))
        return
    print(f"\nzephyr against its peers: medians; (n{TIMES}) = how many times better zephyr does")
    print("(zephyr/peer for req/s and MiB/s, peer/zephyr for ms and MiB; ↑ higher is better)\n")
    print(text_table(table))
    print(f"\nissue 7 targets: {score_line(table)}")
    print(f"{machine_line(report)}\n{versions_line(report)}\n{date_line(report)}")
    stem = paths[-1].with_suffix("")
    chart_path = chart_path or stem.with_suffix(".png")
    markdown_path = markdown_path or stem.with_suffix(".md")
    try:
        chart(report, table, chart_path)
        print(f"chart: {chart_path}")
    except ImportError as exc:
        print(f"report: no chart ({exc}); `bash benchmarks/setup.sh` installs matplotlib")
        chart_path = None
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    title = f"# Benchmarks, {run_dates(report)}\n\n"
    markdown_path.write_text(
        title + markdown(report, table, chart_path, markdown_path.parent) + "\n"
    )
    print(f"table: {markdown_path}")
    if publish:
        update_readme(readme, markdown(report, table, chart_path, readme.parent))
        print(f"README: {readme} (Performance section)")


def _with_matplotlib() -> None:
    """Re-run with benchmarks/.venv's Python when this one has no matplotlib."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if BENCH_PYTHON.exists() and Path(sys.executable).resolve() != BENCH_PYTHON.resolve():
            script = str(Path(__file__).resolve())
            os.execv(BENCH_PYTHON, [str(BENCH_PYTHON), script, *sys.argv[1:]])


def main() -> None:
    _with_matplotlib()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results JSON (merged in order)")
    parser.add_argument("--chart", type=Path, help="default: the last JSON's name, .png")
    parser.add_argument("--markdown", type=Path, help="default: the last JSON's name, .md")
    parser.add_argument(
        "--publish", action="store_true", help="rewrite the README's Performance section"
    )
    parser.add_argument("--readme", type=Path, default=README, help=f"default: {README}")
    args = parser.parse_args()
    produce(
        args.results,
        chart_path=args.chart,
        markdown_path=args.markdown,
        publish=args.publish,
        readme=args.readme,
    )


if __name__ == "__main__":
    main()
