"""Cold against warm starts: what a user waits for in a new process, with the compilation cache empty and full.

Each measurement is a fresh Python process, as a user runs the tool:

* for every bundled scenario, the time from process start until the first block of its sweep
  is solved (imports, scenario loading, compilation, one block), through the same calls as
  ``llm-labor run``; frontier scenarios and market scenarios included;
* ``llm-labor solve --regime llm --json``, ``llm-labor calibrate`` (the synthetic China config)
  and ``llm-labor simulate`` (``scenarios/llm_transition.yaml``), end to end.

"Cold" runs with an empty cache folder (``LLM_LABOR_CACHE_DIR`` set to a new temporary folder);
"warm" runs the same command again with the folder the cold run filled.  The ratio is cold over
warm.  Targets (issue #19): a warm run spends under 2 s before its first block; a warm
``solve --json`` finishes in under 1 s.

``python -m benchmarks.bench_warmstart`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Runs the first block of a scenario's sweep the way ``llm-labor run`` does (the same process
#: settings, the same imports before solving), and prints the seconds since the process started
#: (taken before any import, so imports count).
FIRST_BLOCK = """
import time
t0 = time.perf_counter()
import sys
from llm_labor.cli import process_settings
process_settings()
import simulator.cli
from simulator import plots
from simulator.execution import execution_options, run_to_store
from simulator.scenario import load_scenario
from simulator.store import open_store
from simulator.sweep import format_bytes, layout, memory_estimate, run_sweep, solve_block, summary_table, write_netcdf
scenario = load_scenario(sys.argv[1])
solve_block(scenario, layout(scenario), 0)
print(time.perf_counter() - t0)
"""


def _python(code: str, *args: str, cache: Path) -> float:
    env = {**os.environ, "LLM_LABOR_CACHE_DIR": str(cache)}
    r = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"first block of {args} failed ({r.returncode}): {r.stderr[-2000:]}")
    return float(r.stdout.strip().splitlines()[-1])


def _cli(args: list[str], cache: Path, cwd: Path) -> float:
    env = {**os.environ, "LLM_LABOR_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "from llm_labor.cli import main; main()", *args], cwd=cwd,
                       capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"llm-labor {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return seconds


def _row(name: str, unit: str, cold: float, warm: float, target: float | None) -> dict:
    note = f"cold {cold:.2f} s, warm {warm:.2f} s"
    if target is not None:
        note += f"; target warm under {target:g} s: {'met' if warm < target else 'missed'}"
    return {"name": name, "work": 1, "unit": unit, "seconds": warm, "baseline": "cold start (empty cache)",
            "baseline_seconds": cold, "ratio": cold / warm, "note": note}


def run(quick: bool = False) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-warm-"))
    rows = []
    try:
        scenarios = sorted((ROOT / "scenarios").glob("*.yaml"))
        if quick:
            scenarios = [s for s in scenarios if s.stem in ("llm_scaling", "combined")]
        for path in scenarios:
            cache = work / f"cache-{path.stem}"
            cold = _python(FIRST_BLOCK, str(path), cache=cache)
            warm = _python(FIRST_BLOCK, str(path), cache=cache)
            rows.append(_row(f"run {path.name}: until the first block is solved", "process", cold, warm, 2.0))
        commands = {
            "solve --regime llm --json": (["solve", "--regime", "llm", "--json"], 1.0),
            "calibrate china_synthetic.yaml": (["calibrate", str(ROOT / "calibration" / "configs" / "china_synthetic.yaml"),
                                                "--out", str(work / "calibration")], None),
            "simulate llm_transition.yaml": (["simulate", str(ROOT / "scenarios" / "llm_transition.yaml"), "--no-plots",
                                              "--no-progress", "--out", str(work / "market")], None),
        }
        if quick:
            commands = {k: v for k, v in commands.items() if k.startswith("solve")}
        for name, (args, target) in commands.items():
            cache = work / f"cache-{name.split()[0]}"
            cold = _cli(args, cache, work)
            warm = _cli(args, cache, work)
            rows.append(_row(f"llm-labor {name}, end to end", "command", cold, warm, target))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
