"""Benchmark of the postings pipeline against plain pandas, in the same run.

``run(quick)`` generates synthetic postings (10^6 rows quick, 10^7 otherwise; every valid posting
with its occupation code so that title matching is timed apart), then times

* ``process`` (DuckDB: validation with quarantine, 30-day dedup, aggregation to every level and
  period, medians included) against :func:`benchmarks.references.postings.run` (pandas, in memory),
  each in a fresh subprocess so that its peak resident memory and CPU time are measured too
  (``cpu_seconds``: user + system time of the subprocess; on a shared machine the wall time
  depends on the other jobs, the CPU time much less); in both, imports and the loading of the
  validation rules come before the clock starts;
* title matching (titles/s) on the hand-labelled titles, against a plain-pandas baseline that
  only cleans the titles and looks up exact OCD titles (a floor, not a matcher of equal quality).

Peak resident memory of each subprocess goes in ``peak_memory_mb`` / ``baseline_peak_memory_mb``
(listed by ``python -m benchmarks``), the DuckDB settings in the row's ``note``, the stage timings
of ``process`` (``report["timings_s"]``) in ``stages``.

``python -m benchmarks.bench_postings --rows 100000000 --no-baseline`` runs the large case
(generation streams to disk; DuckDB runs under a 3 GB memory limit). Measured figures at 10^7 and
10^8 rows are in ``docs/postings.md`` (Performance).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Peak memory of the subprocess itself: VmHWM of its own address space. (getrusage's ru_maxrss
# carries over exec the resident size of the process that started it, here the benchmark runner.)
_PEAK = """
def peak_rss_mb():
    import resource
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

# Both subprocesses import their libraries and load the validation rules before the clock starts.
_PROCESS = """
import json, resource, sys, time
import duckdb, pandas, pyarrow.parquet
from empirics.postings.process import ProcessConfig, process
from empirics.postings.schema import default_rules
rules = default_rules()
t = time.perf_counter()
r = process(sys.argv[1], sys.argv[2], ProcessConfig(match_titles=False, memory_limit=sys.argv[3]), rules=rules)
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "rows": r.report["rows_read"], "timings": r.report["timings_s"], "duckdb": r.report["duckdb"],
                  "peak_rss_mb": peak_rss_mb(), "cpu_seconds": ru.ru_utime + ru.ru_stime}))
"""

_PANDAS = """
import json, resource, sys, time
import pandas, pyarrow.parquet
from benchmarks.references import postings as reference
from empirics.postings.process import ProcessConfig
from empirics.postings.schema import default_rules
rules = default_rules()
t = time.perf_counter()
parsed, heads, occ, growth = reference.run(sys.argv[1], rules, ProcessConfig(match_titles=False))
dt = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": dt, "rows": len(parsed), "peak_rss_mb": peak_rss_mb(), "cpu_seconds": ru.ru_utime + ru.ru_stime}))
"""


def _sub(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PEAK + code, *args], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


def _row(name, work, seconds, baseline, baseline_seconds, **extra):
    return {"name": name, "work": work, "seconds": seconds, "baseline": baseline, "baseline_seconds": baseline_seconds,
            "ratio": (baseline_seconds / seconds) if (seconds and baseline_seconds) else None, **extra}


def run(quick: bool = False, *, rows: int | None = None, baseline: bool = True, memory_limit: str = "3GB") -> list[dict]:
    from empirics.postings.synth import SynthConfig, generate

    n = rows or (1_000_000 if quick else 10_000_000)
    out: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        generate(SynthConfig(rows=n, seed=0, chunk_rows=1_000_000, missing_code_share=0.0), tmp / "s")
        gen = time.perf_counter() - t
        out.append(_row("postings_synth", f"{n:,} rows to Parquet", gen, None, None, rows_per_s=n / gen))
        d = _sub(_PROCESS, str(tmp / "s" / "postings"), str(tmp / "p"), memory_limit)
        b = _sub(_PANDAS, str(tmp / "s" / "postings")) if baseline else None
        out.append(_row("postings_process", f"{n:,} rows: validate, dedup, aggregate (DuckDB)", d["seconds"],
                        "pandas in memory" if b else None, b["seconds"] if b else None,
                        rows_per_s=n / d["seconds"], peak_memory_mb=d["peak_rss_mb"], cpu_seconds=d["cpu_seconds"],
                        baseline_peak_memory_mb=b["peak_rss_mb"] if b else None, baseline_cpu_seconds=b["cpu_seconds"] if b else None,
                        stages=d["timings"],
                        note=f"DuckDB {d['duckdb']['version']}: threads {d['duckdb']['threads']}, memory_limit {d['duckdb']['memory_limit']}, "
                             f"preserve_insertion_order {d['duckdb']['preserve_insertion_order']}; "
                             f"peak RSS {d['peak_rss_mb']:,.0f} MB"))
    out.append(_titles(quick))
    return out


def _titles(quick: bool) -> dict:
    import pandas as pd

    from empirics.postings.titles import clean_title, default_matcher, load_labeled_titles, load_occupation_documents

    m = default_matcher()
    titles = load_labeled_titles()["title"].tolist() * (1 if quick else 4)
    # distinct titles are scored once: make every copy distinct so each one is scored
    titles = [f"{t}{'' if i < 3045 else ' ' + str(i // 3045)}" for i, t in enumerate(titles)]
    t = time.perf_counter()
    m.match(titles)
    dt = time.perf_counter() - t
    docs = load_occupation_documents()
    lookup = dict(zip(docs["title"], docs["code"]))
    t = time.perf_counter()
    s = pd.Series(titles).map(clean_title).str.replace(" ", "", regex=False).map(lookup)
    db = time.perf_counter() - t
    del s
    return _row("title_matching", f"{len(titles):,} titles", dt, "pandas clean + exact-title lookup", db,
                titles_per_s=len(titles) / dt)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--memory-limit", default="3GB")
    a = ap.parse_args()
    for r in run(a.quick, rows=a.rows, baseline=not a.no_baseline, memory_limit=a.memory_limit):
        print(json.dumps(r, default=str))


if __name__ == "__main__":
    main()
