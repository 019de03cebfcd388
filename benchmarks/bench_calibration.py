"""Benchmark of the calibration against a scipy-only implementation, in the same run.

* ``calibrate_1param``: one calibration of η to the US employment-weighted wage-exposure slope
  (fit and delta-method error).  JAX: compiled Levenberg-Marquardt with JAX derivatives, compile
  time reported apart.  Baseline: the same closed-form moment in NumPy, ``scipy.optimize.least_squares``
  (trf, bounds) with finite-difference Jacobian, and a finite-difference delta method.
* ``bootstrap_<B>``: B re-estimations on resampled data moments.  JAX: one vmapped call.
  Baseline: a Python loop of ``least_squares`` calls.

``python -m benchmarks.bench_calibration [--quick]`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _np_slope(eta, e, t):
    """NumPy port of the weighted wage-exposure slope (calibration.model), for the baseline."""
    A_L, A_H, L, H = float(e.A_L), float(e.A_H), float(e.L), float(e.H)
    log_ratio = np.log(A_H) + np.log(H) - np.log(A_L) - np.log(L)
    I = 1.0 / (1.0 + np.exp(log_ratio / (1.0 + eta)))
    theta = (np.log(A_H) - np.log(A_L)) / (1.0 + eta) - eta / (1.0 + eta) * (np.log(H) - np.log(L))
    xl = lambda u: -(1 - u) * np.log(1 - u) - u if u < 1 else -1.0  # noqa: E731
    xi = lambda u: u * np.log(u) - u if u > 0 else 0.0  # noqa: E731
    x = I * np.log(A_L) + (1 - I) * (np.log(A_H) - theta) + eta * ((xl(I) - xl(0.0)) + (xi(1.0) - xi(I)))
    D = float(t.C) + float(t.a) * float(t.N_bar) ** (-float(t.alpha)) + float(t.b) * float(t.G) ** (-float(t.beta))
    if D >= 1:
        return np.nan
    lk = np.log(float(t.F)) - np.log(float(t.A_bar)) - eta * np.log1p(-D)
    lo_w, hi_w = float(t.I_lo), float(t.I_hi)
    out = []
    for region, p, q, w, lr in (("L", 0.0, I, L / I, lk - x + np.log(A_L)), ("H", I, 1.0, H / (1 - I), lk - x - theta + np.log(A_H))):
        a, b = max(p, lo_w), min(q, hi_w)
        umax = np.exp(-lr / eta)
        if region == "L":
            a = max(a, 1 - umax)
            f = lambda s, k: ((1 - s) ** (k + 1)) / (k + 1)  # noqa: E731
            i1, i2 = (f(a, eta) - f(b, eta), f(a, 2 * eta) - f(b, 2 * eta)) if b > a else (0.0, 0.0)
        else:
            b = min(b, umax)
            f = lambda s, k: s ** (k + 1) / (k + 1)  # noqa: E731
            i1, i2 = (f(b, eta) - f(a, eta), f(b, 2 * eta) - f(a, 2 * eta)) if b > a else (0.0, 0.0)
        r, wd = np.exp(lr), max(b - a, 0.0)
        out.append((w * (q - p), w * (wd - r * i1), w * (wd - 2 * r * i1 + r * r * i2)))
    (l0, l1, l2), (h0, h1, h2) = out
    s0, s1, s2 = l0 + h0, l1 + h1, l2 + h2
    me = s1 / s0
    return theta * (h1 / s0 - (h0 / s0) * me) / (s2 / s0 - me**2)


def _scipy_fit(d, se, e, t, start, lo, hi):
    from scipy.optimize import least_squares

    r = least_squares(lambda p: [(_np_slope(p[0], e, t) - d) / se], [start], bounds=([lo], [hi]), method="trf", xtol=1e-12, ftol=1e-12, gtol=1e-12)
    return r.x[0]


def _row(name, work, seconds, compile_seconds, baseline, baseline_seconds, **extra):
    return {"name": name, "work": work, "seconds": seconds, "compile_seconds": compile_seconds, "baseline": baseline,
            "baseline_seconds": baseline_seconds, "ratio": baseline_seconds / seconds if seconds and baseline_seconds else None, **extra}


def run(quick: bool = False) -> list[dict]:
    import simulator  # noqa: F401
    from calibration.config import load_config
    from calibration.data import data_moments, load_moments_file
    from calibration.estimate import Estimator, ModelSpec

    cfg = load_config(ROOT / "calibration" / "configs" / "us_oews.yaml")
    B = 200 if quick else 1000
    rng = np.random.default_rng(0)
    dm = data_moments(list(cfg.moments), load_moments_file(cfg.moments_path), draws=B, rng=rng)
    e, t = cfg.scenario.economy, cfg.scenario.technologies[0]
    spec = ModelSpec(e, t, cfg.names, cfg.moments)
    lo, hi = cfg.lower[0], cfg.upper[0]
    t0 = time.perf_counter()
    est = Estimator(spec, dm.values, dm.covariance, cfg.lower, cfg.upper)
    r = est.estimate(np.asarray(cfg.start))
    build = time.perf_counter() - t0 - r.seconds
    jax_s = min(est.estimate(np.asarray(cfg.start)).seconds for _ in range(5))  # compiled; the best of five
    import scipy.optimize  # noqa: F401  (imported before timing the baseline)

    _scipy_fit(float(dm.values[0]), float(dm.se[0]), e, t, cfg.start[0], lo, hi)
    d0, se0 = float(dm.values[0]), float(dm.se[0])
    t0 = time.perf_counter()
    eta_sp = _scipy_fit(d0, se0, e, t, cfg.start[0], lo, hi)
    h = 1e-6
    G = (_np_slope(eta_sp + h, e, t) - _np_slope(eta_sp - h, e, t)) / (2 * h)
    se_sp = se0 / abs(G)
    base_s = time.perf_counter() - t0
    rows = [_row("calibrate_1param", "one calibration of eta (US slope): fit + delta-method se", jax_s, build,
                 "numpy moment + scipy least_squares (finite-difference Jacobian)", base_s,
                 estimate=float(r.phi[0]), se=float(r.se[0]), baseline_estimate=float(eta_sp), baseline_se=float(se_sp))]
    t0 = time.perf_counter()
    est.bootstrap(r.phi, dm.draws[:8], 0.9)  # compile the vmapped solver (shape differs, so compile only)
    est.bootstrap(r.phi, dm.draws, 0.9)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    phi_b, _, good, blo, bhi = est.bootstrap(r.phi, dm.draws, 0.9)
    boot_s = time.perf_counter() - t0
    nb = B if not quick else min(B, 100)
    t0 = time.perf_counter()
    sp = np.array([_scipy_fit(float(d), se0, e, t, float(r.phi[0]), lo, hi) for d in dm.draws[:nb, 0]])
    base_b = (time.perf_counter() - t0) * (B / nb)
    rows.append(_row(f"bootstrap_{B}", f"{B} re-estimations on resampled US moments (vmapped)", boot_s, first - boot_s,
                     "loop of scipy least_squares" + ("" if nb == B else f" ({nb} timed, scaled to {B})"), base_b,
                     ci=[float(blo[0]), float(bhi[0])], max_abs_diff_vs_scipy=float(np.nanmax(np.abs(phi_b[:nb, 0] - sp)))))
    return rows


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
