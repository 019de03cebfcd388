"""The GPU benchmark script (benchmarks/gpu.py) on a machine without a GPU: it refuses to run, or, with
``--allow-cpu --dry-run``, writes its folder with provenance and leaves the CPU and GPU results alone."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jax
import pytest

from benchmarks import gpu

RESULTS = Path(gpu.ROOT) / "benchmarks" / "results"


def _snapshot() -> dict:
    """sha256 of every file under benchmarks/results (the CPU figures and the GPU folder)."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(RESULTS.rglob("*")) if p.is_file()}


needs_no_gpu = pytest.mark.skipif(bool(gpu.accelerators(jax)), reason="JAX sees a GPU here")


@needs_no_gpu
def test_refuses_without_a_gpu(capsys, tmp_path):
    before = _snapshot()
    assert gpu.main(["--dry-run", "--out", str(tmp_path / "a")]) == 2
    assert "JAX sees no GPU" in capsys.readouterr().err
    assert gpu.main(["--allow-cpu", "--dry-run"]) == 2  # CPU figures never go into the GPU folder
    assert "may not replace the GPU figures" in capsys.readouterr().err
    assert gpu.main(["--allow-cpu", "--dry-run", "--out", str(RESULTS)]) == 2
    assert "CPU results folder" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert _snapshot() == before


@needs_no_gpu
def test_dry_run_on_the_cpu_writes_its_folder_with_provenance(tmp_path):
    before = _snapshot()
    out = tmp_path / "gpu"
    assert gpu.main(["--allow-cpu", "--dry-run", "--out", str(out)]) == 0
    assert _snapshot() == before and before  # the CPU and GPU results are untouched
    doc = json.loads((out / "results.json").read_text())
    prov = doc["provenance"]
    assert prov["device"] and prov["platform"] == "cpu" and prov["jax"] == jax.__version__ and prov["x64"] is True
    assert prov["commit"] and prov["command"].endswith(f"--allow-cpu --dry-run --out {out}")
    assert [r["work"] for r in doc["rows"]] == [100, 200]
    for r in doc["rows"]:
        assert r["suite"] == "engine" and r["ok_share"] == 1.0 and r["seconds"] > 0 and r["rate"] == r["work"] / r["seconds"]
    md = (out / "results.md").read_text()
    assert md.startswith("# Engine benchmarks: dry run on the CPU")
    assert f"JAX {prov['jax']}" in md and prov["commit"] in md
    assert "| engine benchmark, semi-analytic | 200 equilibria |" in md
    assert "([plot](engine_benchmark_semi-analytic.png))" in md  # linked from results.md itself
    assert (out / "engine_benchmark_semi-analytic.png").stat().st_size > 0
