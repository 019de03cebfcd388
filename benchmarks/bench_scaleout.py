"""Benchmark of a sweep through a Dask LocalCluster into a Zarr store, against the in-memory sweep.

The sweep is ``scenarios/llm_scale_out.yaml`` (the LLM regime over a square
(G, N) grid, 2 workers with 1 thread each, blocks of 131,072 points) run with
``llm-labor run --no-plots`` in a child process; the baseline is the same
grid solved in memory (``run_sweep``) in another child process.  Peak memory
is the largest sum of resident memory over the child and all its descendants
(scheduler, nannies, workers), sampled every 0.1 s.

``run(quick)``: quick = 150 x 150 and 300 x 300 grids; otherwise 1,000 x
1,000 and 3,163 x 3,163 = 10,004,569 points, the 10^7-point sweep on 2 cores.

``python -m benchmarks.bench_scaleout [--quick]`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "llm_scale_out.yaml"
FULL_SIDE = 3163

BASELINE = """
import sys
from simulator.scenario import load_scenario
from simulator.sweep import run_sweep
run_sweep(load_scenario(sys.argv[1]))
"""


def measure(command: list[str], cwd: Path) -> tuple[float, int, str]:
    """Run ``command``; return (seconds, peak resident bytes of its process tree, output)."""
    import psutil

    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        total = 0
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        peak = max(peak, total)
        time.sleep(0.1)
    output = child.communicate()[0]
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{output[-3000:]}")
    return seconds, peak, output


def run(quick: bool = False) -> list[dict]:
    return [_sweep(side) for side in ((150, 300) if quick else (1000, FULL_SIDE))]


def _sweep(side: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "scale_out.yaml"
        scenario.write_text(SCENARIO.read_text().replace("num: 3163", f"num: {side}"))
        cli = [sys.executable, "-c", "from llm_labor.cli import main; main()", "run", str(scenario),
               "--out", str(Path(tmp) / "out"), "--no-plots", "--no-progress"]
        seconds, peak, output = measure(cli, ROOT)
        base_seconds, base_peak, _ = measure([sys.executable, "-c", BASELINE, str(scenario)], ROOT)
    points = side * side
    solved = [line for line in output.splitlines() if "blocks in" in line]
    return {
        "name": "sweep_local_cluster_zarr", "work": points, "unit": "points", "seconds": seconds, "compile_seconds": None,
        "rate": points / seconds, "baseline": "in-memory sweep, one process", "baseline_seconds": base_seconds,
        "ratio": base_seconds / seconds, "peak_memory_mb": peak / 2**20, "baseline_peak_memory_mb": base_peak / 2**20,
        "note": (solved[0] if solved else "") + "; times include process start, cluster start and compiling on each worker",
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
