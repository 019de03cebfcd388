"""Rerun the engine benchmarks on a GPU and write ``benchmarks/results/gpu/``.

``python -m benchmarks.gpu`` (or ``benchmarks/gpu.sh``, which makes the project's
virtual environment first where there is none) checks that JAX sees a GPU, runs the
engine suite (:mod:`benchmarks.engine`, as ``python -m benchmarks --only engine``) and
writes results.json, results.md and the plots into the GPU folder, with the device,
the JAX and jaxlib versions and the git commit.  The CPU results and the README are
left alone.

Without a GPU it stops with exit status 2.  ``--allow-cpu --out DIR`` runs on the CPU
instead (a dry run of the script: the figures are no GPU figures, so they may not go
into the GPU folder); ``--dry-run`` takes tiny sizes, a few rows in seconds.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
import time
from pathlib import Path

from .__main__ import ROOT, machine, render

GPU_FOLDER = ROOT / "benchmarks" / "results" / "gpu"
CPU_FOLDER = ROOT / "benchmarks" / "results"
GPU_PLATFORMS = ("gpu", "cuda", "rocm")
NO_GPU = ("JAX sees no GPU (default backend: {backend}; devices: {devices}).  Run this on a machine with a GPU, in an "
          "environment whose JAX is built for it (for NVIDIA: pip install -U \"jax[cuda12]\"; see "
          "https://docs.jax.dev/en/latest/installation.html).  For a dry run on the CPU: --allow-cpu --out DIR.")


def accelerators(jax) -> list:
    """The GPU devices JAX sees (empty on a CPU-only install)."""
    try:
        return [d for d in jax.devices() if d.platform in GPU_PLATFORMS]
    except RuntimeError:  # a backend that fails to start
        return []


def git_commit() -> str:
    """``HEAD``'s commit, with ``+ uncommitted changes`` where tracked files differ from it; ``unknown`` without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=30)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def provenance(jax, devices: list, command: str) -> dict:
    """Where and with what the figures were measured."""
    import jaxlib

    shown = devices or jax.devices()
    try:
        platform_version = shown[0].client.platform_version
    except AttributeError:
        platform_version = None
    return {
        "device": shown[0].device_kind,
        "devices": [str(d) for d in shown],
        "platform": shown[0].platform,
        "platform_version": platform_version,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "x64": bool(jax.config.jax_enable_x64),
    }


def dry_run_rows() -> list[dict]:
    """Rows of the engine suite's kind on tiny sizes, timed by the suite's own code: the benchmark regime at two
    sizes (so that one plot is drawn), seconds on a CPU.  The LLM routes compile for tens of seconds there."""
    import numpy as np

    from simulator import SolverOptions

    from . import engine

    rng = np.random.default_rng(0)
    rows = []
    for n in (100, 200):
        seconds, compile_s, ok = engine._time_engine("benchmark", engine._points("benchmark", n, rng),
                                                     SolverOptions(method="analytic"))
        rows.append(dict(name="engine benchmark, semi-analytic", work=n, unit="equilibria", seconds=seconds,
                         compile_seconds=compile_s, baseline=None, baseline_seconds=None, ratio=None, rate=n / seconds,
                         ok_share=ok, suite="engine"))
    return rows


def header(prov: dict, quick: bool) -> str:
    """The first lines of results.md: what was run, where, on which code."""
    on = f"{prov['device']} ({', '.join(prov['devices'])}{', ' + prov['platform_version'] if prov['platform_version'] else ''})"
    return "\n".join([
        "# Engine benchmarks on a GPU" if prov["platform"] in GPU_PLATFORMS else "# Engine benchmarks: dry run on the CPU",
        "",
        f"Command: `{prov['command']}`, on a machine whose JAX sees a GPU (`benchmarks/gpu.sh` makes the project's "
        "environment first where there is none). Default solver settings; float64.",
        "",
        f"Device: {on}; JAX {prov['jax']}, jaxlib {prov['jaxlib']}; commit {prov['commit']}; {prov['date']}"
        f"{'; smaller sizes' if quick else ''}.",
        "",
        "",
    ])


def _refuse(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GPU_FOLDER, help="output folder (default: benchmarks/results/gpu)")
    parser.add_argument("--quick", action="store_true", help="the engine suite's smaller sizes")
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes, a few rows: checks the script in seconds")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a dry run; needs --out DIR)")
    parser.add_argument("--no-plots", action="store_true", help="write the table only")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == CPU_FOLDER.resolve():
        return _refuse(f"--out {args.out}: that is the CPU results folder; the GPU figures go to {GPU_FOLDER}")

    import jax

    jax.config.update("jax_enable_x64", True)  # float64, as in python -m benchmarks
    devices = accelerators(jax)
    if not devices:
        if not args.allow_cpu:
            return _refuse(NO_GPU.format(backend=jax.default_backend(), devices=", ".join(str(d) for d in jax.devices())))
        if out == GPU_FOLDER.resolve():
            return _refuse(f"--allow-cpu: CPU figures may not replace the GPU figures in {GPU_FOLDER}; give --out DIR")
    command = "python -m benchmarks.gpu" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    prov = provenance(jax, devices, command)
    print(f"[gpu] {prov['device']}: {', '.join(prov['devices'])}; JAX {prov['jax']}; commit {prov['commit']}",
          file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    if args.dry_run:
        rows = dry_run_rows()
    else:
        from . import engine

        rows = engine.run(quick=args.quick)
        for r in rows:
            r.setdefault("suite", "engine")
    print(f"[gpu] {len(rows)} rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    out.mkdir(parents=True, exist_ok=True)
    text = render(rows, machine(), args.quick or args.dry_run, [], out, plots_too=not args.no_plots)
    try:  # plot links relative to results.md itself
        text = text.replace(f"]({out.relative_to(ROOT).as_posix()}/", "](")
    except ValueError:
        pass
    text = header(prov, args.quick or args.dry_run) + text
    (out / "results.md").write_text(text)
    doc = json.loads((out / "results.json").read_text())
    (out / "results.json").write_text(json.dumps({"provenance": prov, **doc}, indent=1, default=str))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
