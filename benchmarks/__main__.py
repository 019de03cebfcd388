"""Run every benchmark of the project: ``python -m benchmarks [--quick] [--only NAME ...]``.

Writes ``benchmarks/results/`` (a Markdown table, JSON rows, log-log plots of
cost against work with fitted exponents) and regenerates the README's
performance section between its markers.  Every figure is a ratio against a
baseline measured in the same run, next to the absolute number; compile time
is reported apart from run time.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

SUITES = {
    "engine": "benchmarks.engine",
    "llm_profile": "benchmarks.bench_llm_profile",
    "market": "benchmarks.bench_market",
    "postings": "benchmarks.bench_postings",
    "scoring": "benchmarks.bench_scoring",
    "aggregation": "benchmarks.bench_aggregation",
    "calibration": "benchmarks.bench_calibration",
    "scaleout": "benchmarks.bench_scaleout",
    "china": "benchmarks.bench_china",
    "warmstart": "benchmarks.bench_warmstart",
}
ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- performance:start -->", "<!-- performance:end -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import jax

        backend = f"JAX {jax.__version__} on {jax.default_backend()} ({', '.join(str(d) for d in jax.devices())})"
    except Exception as exc:  # pragma: no cover - reported, not hidden
        backend = f"JAX unavailable: {exc}"
    return f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; {backend}"


def exponent(rows: list[dict]) -> float | None:
    """Slope of log(seconds) on log(work): how cost grows with work."""
    import numpy as np

    pts = [(r["work"], r["seconds"]) for r in rows if r.get("seconds")]
    if len(pts) < 2:
        return None
    w, s = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    return float(np.polyfit(w, s, 1)[0])


def fmt(v, digits=3):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | work | time (s) | compile (s) | rate (/s) | baseline | baseline (s) | baseline time ÷ time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['name']} | {fmt(r['work'])} {r.get('unit', '')} | {fmt(r['seconds'])} | {fmt(r.get('compile_seconds'))} | "
            f"{fmt(r.get('rate'))} | {r.get('baseline') or '–'} | {fmt(r.get('baseline_seconds'))} | "
            f"{fmt(r.get('ratio'))}{'×' if r.get('ratio') else ''} |"
        )
    return "\n".join(lines)


def plots(rows: list[dict], folder: Path) -> list[tuple[str, float | None, Path]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("plot", True):
            groups.setdefault(r["name"], []).append(r)
    out = []
    for name, rs in groups.items():
        k = exponent(rs)
        if k is None:
            continue
        fig, ax = plt.subplots(figsize=(4.8, 3.6), constrained_layout=True)
        ax.loglog([r["work"] for r in rs], [r["seconds"] for r in rs], "o-", label="this project")
        if all(r.get("baseline_seconds") for r in rs):
            ax.loglog([r["work"] for r in rs], [r["baseline_seconds"] for r in rs], "s--", label=rs[0]["baseline"])
        ax.set_xlabel(rs[0].get("unit", "work"))
        ax.set_ylabel("seconds")
        ax.set_title(f"{name}\ncost ∝ work^{k:.2f}", fontsize=9)
        ax.legend(fontsize=7)
        path = folder / (name.replace(" ", "_").replace(",", "").replace("=", "") + ".png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out.append((name, k, path))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (minutes, not tens of minutes)")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), help="run only these suites")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--no-plots", action="store_true", help="write the table only")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other suites' rows from OUT/results.json (same machine, same mode) and replace these")
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)  # float64 for every suite: importing simulator does not switch it on
    args.out.mkdir(parents=True, exist_ok=True)
    rows, skipped = [], []
    for suite in args.only or SUITES:
        try:
            module = importlib.import_module(SUITES[suite])
        except ModuleNotFoundError as exc:
            skipped.append(f"{suite} ({exc.name} not available)")
            continue
        t0 = time.perf_counter()
        print(f"[{suite}] running ...", file=sys.stderr, flush=True)
        got = module.run(quick=args.quick)
        for r in got:
            r.setdefault("suite", suite)
        rows += got
        print(f"[{suite}] {len(got)} rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    desc = machine()
    if args.merge:
        rows = _merged(args.out / "results.json", rows, desc, args.quick)
    text = render(rows, desc, args.quick, skipped, args.out, plots_too=not args.no_plots)
    print(text)
    if not args.no_readme:
        update_readme(text)
    return 0


def _merged(path: Path, rows: list[dict], desc: str, quick: bool) -> list[dict]:
    """Earlier rows of the suites not run now, followed by the new rows, in suite order."""
    if not path.exists():
        return rows
    old = json.loads(path.read_text())
    if old.get("machine") != desc or old.get("quick") != quick:
        raise SystemExit(f"--merge: {path} was measured on another machine or mode; rerun every suite instead")
    ran = {r["suite"] for r in rows}
    kept = [r for r in old["rows"] if r.get("suite") not in ran]
    order = list(SUITES)
    return sorted(kept + rows, key=lambda r: order.index(r["suite"]) if r.get("suite") in order else len(order))


def _link(path: Path) -> str:
    """``path`` as the README links it: from the repository root where it lies inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def render(rows, desc, quick, skipped, out: Path, plots_too: bool = True) -> str:
    """Write results.md, results.json and the plots; return the Markdown text."""
    figs = plots(rows, out) if plots_too else []
    md = [f"Machine: {desc}.", f"Run: {'quick' if quick else 'full'}, {time.strftime('%Y-%m-%d')}.", "", table(rows), ""]
    if figs:
        md += ["Growth of cost with work (slope of log time on log work):", ""]
        md += [f"- {name}: exponent {k:.2f} ([plot]({_link(p)}))" for name, k, p in figs]
    memory = [r for r in rows if r.get("peak_memory_mb")]
    if memory:
        md += ["", "Peak memory (resident, summed over the process tree):", ""]
        md += [f"- {r['name']}, {fmt(r['work'])} {r.get('unit', '')}: {r['peak_memory_mb']:,.0f} MB"
               + (f" ({r['baseline']}: {r['baseline_peak_memory_mb']:,.0f} MB)" if r.get("baseline_peak_memory_mb") else "")
               for r in memory]
    notes = [r for r in rows if r.get("note")]
    if notes:
        md += ["", "Notes:", ""] + [f"- {r['name']}, {fmt(r['work'])} {r.get('unit', '')}: {r['note']}" for r in notes]
    if skipped:
        md += ["", "Not run: " + "; ".join(skipped) + "."]
    text = "\n".join(md) + "\n"
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"machine": desc, "quick": quick, "rows": rows}, indent=1, default=str))
    return text


def update_readme(text: str) -> None:
    """Replace the README's performance section between its markers."""
    readme = ROOT / "README.md"
    if readme.exists():
        body = readme.read_text()
        if START in body and END in body:
            head, rest = body.split(START, 1)
            _, tail = rest.split(END, 1)
            readme.write_text(head + START + "\n" + text + END + tail)


if __name__ == "__main__":
    raise SystemExit(main())
