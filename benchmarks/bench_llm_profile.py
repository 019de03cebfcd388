"""Where the LLM regime's time goes on both routes, and the fastest any wage solver could make them.

``solve_batch`` on the engine benchmark's random LLM points (:func:`benchmarks.engine._points`), on
the semi-analytic route and on the discretised one at n = 1024 tasks.  Each variant runs in a fresh
process (the same program sometimes ran about twice as slowly in one process as in the next, most
often after other programs had been compiled in it); the variants alternate over :data:`ROUNDS`
rounds and the best time of each is kept:

* **full**: the default options, the figure a user gets (the first pass and its retries);
* **first pass**: the retries switched off;
* **one Newton step** (semi-analytic route): the first pass with one joint Newton step instead of five;
* **no Newton steps**: every Newton solver returns its starting point (on the discretised route
  the coarse grid's steps go too), so what is left is everything a faster formulation of the
  wage solve could not remove while it keeps the route's start and grid, its verification
  (output from the production function, market clearing, zero profit, the numeraire,
  no-arbitrage at every segment and switch point, the error estimate) and the batch's slices,
  streams and joining.  Its rate is the ceiling of the route as built.

The ratio of each row is the time of **full** over its own.  Every variant but **full** runs without
retries and leaves some points unsolved: those variants time the work, not the answers.

``python -m benchmarks.bench_llm_profile`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

#: One variant in a child process: draws the points, solves them once to compile, then
#: ``repeats`` times, and prints the best time in seconds.
CHILD = """
import dataclasses, importlib, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from benchmarks.engine import _objects, _points
from simulator import SolverOptions, Status, solve_batch
variant, method, n, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if variant == "none":
    # the wage solve returns its start: what remains is the rest of the route
    for name in ("simulator.analytic", "simulator.discretized"):
        module = importlib.import_module(name)
        if not hasattr(module, "make_newton_solver"):
            raise RuntimeError(f"{name} no longer calls make_newton_solver: the ceiling variant would time the full route")
        module.make_newton_solver = lambda *args, **kwargs: (lambda x0, t0, lo, hi: (x0, t0))
options = {"full": SolverOptions(), "first": SolverOptions(retry_n_outer=0),
           "one": SolverOptions(n_outer=1, retry_n_outer=0), "none": SolverOptions(retry_n_outer=0)}[variant]
options = dataclasses.replace(options, method=method, n_tasks=1024)
economy, technologies = _objects("llm", _points("llm", n, np.random.default_rng(0)))
jax.block_until_ready(solve_batch(economy, technologies, options=options))
best = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter()
    result = jax.block_until_ready(solve_batch(economy, technologies, options=options))
    best = min(best, time.perf_counter() - t0)
# solved: ok, or ill_conditioned (the discretised route at the default accuracy)
print(best, float(np.mean(np.isin(np.asarray(result.status), (Status.OK, Status.ILL_CONDITIONED)))))
"""

VARIANTS = {
    "full": "full (first pass and retries)",
    "first": "first pass, no retries",
    "one": "one Newton step, no retries",
    "none": "no Newton steps, no retries (ceiling)",
}
#: Rounds of the variants, each in fresh processes; the best time of each variant is kept (a process
#: sometimes runs a program about twice as slowly as the next one does).
ROUNDS = 3
#: method: (label, point counts (quick, full), variants)
ROUTES = {
    "analytic": ("semi-analytic", ([10**5], [10**5, 10**6]), ("full", "first", "one", "none")),
    "discretized": ("discretised n=1024", ([2000], [10**4]), ("full", "first", "none")),
}


def _child(variant: str, method: str, n: int, repeats: int) -> tuple[float, float]:
    """(seconds, share of points solved) of one variant, in a fresh process."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "LLM_LABOR_NO_CACHE": "1"}  # a patched program must never enter the cache
    r = subprocess.run([sys.executable, "-c", CHILD, variant, method, str(n), str(repeats)], cwd=root, capture_output=True,
                       text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"LLM profile, variant {variant} ({method}) at {n} points, failed ({r.returncode}): {r.stderr[-2000:]}")
    seconds, ok = r.stdout.split()[-2:]
    return float(seconds), float(ok)


def run(quick: bool = False) -> list[dict]:
    rows = []
    for method, (label, sizes, variants) in ROUTES.items():
        for n in sizes[0 if quick else 1]:
            repeats = 2 if n >= 10**6 or method == "discretized" else 5
            best: dict[str, float] = {}
            ok: dict[str, float] = {}
            for _ in range(ROUNDS):  # the variants alternated
                for variant in variants:
                    seconds, ok[variant] = _child(variant, method, n, repeats)
                    best[variant] = min(best.get(variant, float("inf")), seconds)
            rows += _rows(f"engine llm, {label}", n, best, ok)
    return rows


def _rows(name: str, n: int, best: dict[str, float], ok: dict[str, float]) -> list[dict]:
    full = best["full"]
    notes = {
        "full": f"{ok['full']:.1%} of points solved",
        "first": f"the retries take {1 - best['first'] / full:.0%} of the full time; "
                 f"{ok['first']:.1%} of points solved after the first pass",
        "none": f"the ceiling of any wage solver that keeps this start, verification and batching: "
                f"{n / best['none']:.3g} equilibria/s, {full / best['none']:.2f}× the full rate",
    }
    if "one" in best:
        from simulator import SolverOptions

        later_steps = SolverOptions().n_outer - 1  # the first pass's steps beyond the one kept in "one"
        notes["one"] = (f"each Newton step after the first costs {(best['first'] - best['one']) / later_steps / full:.1%} "
                        f"of the full time")
    return [{"name": f"{name}: {VARIANTS[v]}", "work": n, "unit": "equilibria", "seconds": best[v], "rate": n / best[v],
             "baseline": "full (first pass and retries)", "baseline_seconds": full, "ratio": full / best[v], "note": notes[v],
             "plot": False}
            for v in best]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=1))
