"""The China chain end to end, each step a fresh process as a user runs it (target: under a minute).

1. ``llm-labor empirics china``: NBS wages x exposure, slopes with 9,999 wild cluster bootstrap
   draws and 9,999 permutations, moments files and figures;
2. ``llm-labor calibrate calibration/configs/china_nbs.yaml`` on the moments just written: the
   estimate, 1,000 bootstrap re-estimations, profile, sensitivity table and the US estimate beside it;
3. ``llm-labor run scenarios/china_frontier.yaml``: the calibrated economy along the China
   frontier of released language models, NetCDF and plots.

Times include process start, imports and compilation: what a user waits for. There is no
baseline; the row's figure is the wall time of the chain against the one-minute target.

``python -m benchmarks.bench_china`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", "from llm_labor.cli import main; main()", *args], cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"llm-labor {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return dt


def run(quick: bool = False) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="bench-china-"))
    try:
        cfg = work / "china_nbs.yaml"
        text = (ROOT / "calibration" / "configs" / "china_nbs.yaml").read_text()
        text = text.replace("../../scenarios/", f"{ROOT / 'scenarios'}/").replace("../data/moments_china_nbs.json", str(work / "china" / "moments_china_nbs.json"))
        text = text.replace("compare_with: us_oews.yaml", f"compare_with: {ROOT / 'calibration' / 'configs' / 'us_oews.yaml'}")
        cfg.write_text(text)
        steps = [
            ("empirics china", ["empirics", "china", "--out", str(work / "china")]),
            ("calibrate china_nbs", ["calibrate", str(cfg), "--out", str(work / "calibration")]),
            ("run china_frontier", ["run", str(ROOT / "scenarios" / "china_frontier.yaml"), "--out", str(work / "frontier")]),
        ]
        times = {name: _cli(*args, cwd=work) for name, args in steps}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(times.values())
    note = "; ".join(f"{k} {v:.1f} s" for k, v in times.items()) + f"; target under 60 s: {'met' if total < 60 else 'missed'}"
    return [{"name": "china chain: NBS wages -> calibration -> frontier", "work": 3, "unit": "commands, fresh processes", "seconds": total,
             "note": note}]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
