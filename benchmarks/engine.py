"""Engine benchmarks: equilibria per second for each regime and route, against scipy baselines.

Every row times the vmapped JAX solver on a batch of random admissible points
(compile time measured apart, as first call minus steady call) and a plain
``scipy.optimize`` loop (benchmarks/baselines.py) on a subset of the same
points, in the same run.  The LLM regime is also timed against the vectorised
numpy/scipy solver of benchmarks/vectorised.py on the same points, the fair
peer a capable user would write.  The ratio is the baseline's time per
equilibrium over the engine's.
"""
from __future__ import annotations

import time

import numpy as np


def _points(regime: str, n: int, rng: np.random.Generator) -> dict:
    econ = dict(eta=rng.uniform(0.5, 2.0, n), A_L=np.ones(n), A_H=rng.uniform(1.0, 2.0, n), L=np.ones(n), H=rng.uniform(0.3, 1.5, n))
    if regime == "benchmark":
        return {"economy": econ}
    if regime == "traditional":
        tech = dict(A_bar=np.full(n, 2.0), mu=econ["eta"] + rng.uniform(0.5, 2.0, n), F=rng.uniform(0.5, 1.5, n))
        return {"economy": econ, "tech": tech}
    tech = dict(A_bar=np.full(n, 3.0), F=np.full(n, 1.0), C=np.zeros(n), a=np.full(n, 410.7), alpha=np.full(n, 0.28),
                b=np.full(n, 406.4), beta=np.full(n, 0.34), G=10 ** rng.uniform(8, 12, n), N_bar=10 ** rng.uniform(9, 13, n),
                I_lo=rng.uniform(0.0, 0.8, n), I_hi=np.full(n, 0.95))
    return {"economy": econ, "tech": tech}


def _objects(regime, pts):
    from simulator import Economy, ScalingLLM, TraditionalAI

    e = Economy(**pts["economy"])
    if regime == "benchmark":
        return e, ()
    cls = TraditionalAI if regime == "traditional" else ScalingLLM
    return e, (cls(**pts["tech"]),)


def _baseline(regime, pts, k):
    from . import baselines

    args = {key: float(v[k]) for key, v in pts["economy"].items()}
    if regime == "benchmark":
        return baselines.benchmark_point(**args)
    tech = {key: float(v[k]) for key, v in pts["tech"].items()}
    fn = baselines.traditional_point if regime == "traditional" else baselines.llm_point
    return fn(**args, **tech)


def _time_engine(regime, pts, options):
    import jax

    from simulator import solve_batch

    e, techs = _objects(regime, pts)
    t0 = time.perf_counter()
    jax.block_until_ready(solve_batch(e, techs, options=options))
    first = time.perf_counter() - t0
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = jax.block_until_ready(solve_batch(e, techs, options=options))
        runs.append(time.perf_counter() - t0)
    steady = min(runs)
    # points with an equilibrium: ok, or ill_conditioned (the general route at the default accuracy)
    ok = float(np.mean(np.isin(np.asarray(result.status), (0, 5))))
    return steady, max(first - steady, 0.0), ok


VECTORISED = "numpy/scipy elementwise find_root over whole arrays"
#: The vectorised baseline is timed on at most this many of the points and scaled: its cost per point is flat
#: beyond about 1e4 points, and a full 1e6-point run would add half a minute to the suite.
VECTORISED_MAX_POINTS = 10**5


def _time_vectorised(pts: dict) -> float:
    """Seconds the vectorised numpy/scipy solver takes for all points (best of two; scaled past the cap)."""
    from . import vectorised

    n = len(pts["economy"]["eta"])
    m = min(n, VECTORISED_MAX_POINTS)
    args = {k: v[:m] for part in ("economy", "tech") for k, v in pts[part].items()}
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        vectorised.solve_llm(**args)
        runs.append(time.perf_counter() - t0)
    return min(runs) * n / m


def run(quick: bool = False) -> list[dict]:
    """Rows: name, work (points), seconds, compile_seconds, baseline, baseline_seconds, ratio, rate."""
    from simulator import SolverOptions

    rng = np.random.default_rng(0)
    rows = []
    sizes = {"benchmark": [10**3, 10**4, 10**5] + ([] if quick else [10**6]),
             "traditional": [10**3, 10**4] + ([] if quick else [10**5]),
             "llm": [10**3, 10**4, 10**5] + ([] if quick else [10**6])}
    n_base = 30 if quick else 200
    for regime, ns in sizes.items():
        base_pts = _points(regime, n_base, np.random.default_rng(1))
        _baseline(regime, base_pts, 0)  # imports and first-call costs stay out of the timing
        t0 = time.perf_counter()
        for k in range(n_base):
            _baseline(regime, base_pts, k)
        per_point_base = (time.perf_counter() - t0) / n_base
        for n in ns:
            pts = _points(regime, n, rng)
            seconds, compile_s, ok = _time_engine(regime, pts, SolverOptions(method="analytic"))
            rows.append(dict(name=f"engine {regime}, semi-analytic", work=n, unit="equilibria", seconds=seconds,
                             compile_seconds=compile_s, baseline="scipy brentq loop", baseline_seconds=per_point_base * n,
                             ratio=per_point_base * n / seconds, rate=n / seconds, ok_share=ok))
            if regime == "llm":
                base_seconds = _time_vectorised(pts)
                rows.append(dict(name="engine llm, semi-analytic, against vectorised scipy", work=n, unit="equilibria",
                                 seconds=seconds, compile_seconds=compile_s, baseline=VECTORISED,
                                 baseline_seconds=base_seconds, ratio=base_seconds / seconds, rate=n / seconds, ok_share=ok))
    # general route: cost against the number of tasks, and against grid size
    n_points = 200 if quick else 2000
    tasks = [128, 256, 512] + ([] if quick else [1024])
    for n_tasks in tasks:
        seconds, compile_s, ok = _time_engine("llm", _points("llm", n_points, rng), SolverOptions(method="discretized", n_tasks=n_tasks))
        rows.append(dict(name="engine llm, discretised, by tasks", work=n_tasks, unit="tasks", points=n_points, seconds=seconds,
                         compile_seconds=compile_s, baseline=None, baseline_seconds=None, ratio=None, rate=n_points / seconds, ok_share=ok))
    base_pts = _points("llm", 10, np.random.default_rng(2))
    _baseline("llm", base_pts, 0)
    t0 = time.perf_counter()
    for k in range(10):
        _baseline("llm", base_pts, k)
    per_point_base = (time.perf_counter() - t0) / 10
    for n in [100, 1000] + ([] if quick else [10000]):
        seconds, compile_s, ok = _time_engine("llm", _points("llm", n, rng), SolverOptions(method="discretized", n_tasks=1024))
        rows.append(dict(name="engine llm, discretised n=1024", work=n, unit="equilibria", seconds=seconds, compile_seconds=compile_s,
                         baseline="scipy brentq loop (semi-analytic)", baseline_seconds=per_point_base * n,
                         ratio=per_point_base * n / seconds, rate=n / seconds, ok_share=ok))
    return rows
