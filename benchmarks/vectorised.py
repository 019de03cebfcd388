"""The LLM regime solved over whole arrays with numpy and scipy: the fair peer of the engine.

A capable user without the engine would not loop over points in Python; they
would write the conditions [M4]-[M5] of docs/model.md as numpy expressions and
hand whole arrays to ``scipy.optimize.elementwise``, which brackets and solves
every point at once (Chandrupatla's method).  This module does that:

* the benchmark (eq. 14-15) and the adoption and existence conditions of
  section 5 in closed form;
* for each premium θ, the wage level x = ln W_L that solves the numeraire
  condition [M4] (increasing in x), by ``find_root``;
* the premium that solves the relative-supply condition [M5] (increasing in θ),
  by an outer ``find_root`` whose function runs the inner solve for the points
  still active.

It shares no code with the engine or with the scalar loop in
:mod:`benchmarks.baselines`, so it is also an independent check of both.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import elementwise
from scipy.special import expit, xlogy

OK, BENCHMARK, UNBOUNDED, FAILED = 0, 1, 2, 3


def _int_log1m(u):  # ∫_0^u ln(1-i) di
    return -xlogy(1.0 - u, 1.0 - u) - u


def _int_log(u):  # ∫_0^u ln(i) di
    return xlogy(u, u) - u


def benchmark(eta, A_L, A_H, L, H):
    """Benchmark threshold I and log wages (x, x + θ) in closed form (eq. 14-15, [M6]); arrays (n,)."""
    I = 1.0 / (1.0 + (A_H * H / (A_L * L)) ** (1.0 / (1.0 + eta)))
    theta = np.log(A_H / A_L) + eta * np.log(I / (1.0 - I))
    x = I * np.log(A_L) + (1.0 - I) * (np.log(A_H) - theta) + eta * (_int_log1m(I) - 1.0 - _int_log(I))
    return I, x, x + theta


def _numeraire_and_shares(x, theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi):
    """[M4] at (x, θ) with the model's interval [M9], and the task shares (s_L, s_H)."""
    I_star = expit((theta - (log_A_H - log_A_L)) / eta)
    start = -np.expm1((x - log_A_L - log_kappa) / eta)
    end = np.exp((x + theta - log_A_H - log_kappa) / eta)
    s, t = np.maximum(start, I_lo), np.minimum(end, I_hi)
    empty = s >= t
    s, t = np.where(empty, I_star, s), np.where(empty, I_star, t)
    lo_L, hi_L = np.minimum(s, I_star), np.minimum(t, I_star)
    lo_H, hi_H = np.maximum(s, I_star), np.maximum(t, I_star)
    s_L = I_star - (hi_L - lo_L)
    s_H = 1.0 - I_star - (hi_H - lo_H)
    phi = ((x - log_A_L) * s_L - eta * (_int_log1m(I_star) - (_int_log1m(hi_L) - _int_log1m(lo_L)))
           + (x + theta - log_A_H) * s_H - eta * ((-1.0 - _int_log(I_star)) - (_int_log(hi_H) - _int_log(lo_H)))
           + log_kappa * (t - s))
    return phi, s_L, s_H


#: Absolute and relative tolerance on each root (x and θ are logs).  The engine stops at residuals of 1e-10,
#: which leaves wages within about 1e-9; these tolerances give the baseline at least that accuracy
#: (1e-12 relative on wages against scipy's defaults, measured), at about 80% of the default's time.
ROOT_TOLERANCE = 1e-12


def _solve_increasing(f, guess_lo, guess_hi, args):
    """Root of an increasing elementwise ``f`` for every element: bracket outward, then Chandrupatla."""
    bracket = elementwise.bracket_root(f, guess_lo, guess_hi, args=args)
    result = elementwise.find_root(f, bracket.bracket, args=args,
                                   tolerances=dict(xatol=ROOT_TOLERANCE, xrtol=ROOT_TOLERANCE))
    return result.x, bracket.success & result.success


def _level(theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi):
    def numeraire(x, theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi):
        return _numeraire_and_shares(x, theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi)[0]

    args = (theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi)
    return _solve_increasing(numeraire, np.full_like(theta, -5.0), np.full_like(theta, 5.0), args)


def _supply(theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi, log_H_over_L):
    x, _ = _level(theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi)
    _, s_L, s_H = _numeraire_and_shares(x, theta, eta, log_A_L, log_A_H, log_kappa, I_lo, I_hi)
    with np.errstate(divide="ignore"):
        g = theta + log_H_over_L + np.log(s_L) - np.log(s_H)
    # A factor left with no tasks: its wage is off the root's side; a large finite value keeps the bracket valid.
    return np.where(s_L <= 0, -1e300, np.where(s_H <= 0, 1e300, g))


def solve_llm(eta, A_L, A_H, L, H, A_bar, F, C, a, alpha, b, beta, G, N_bar, I_lo, I_hi):
    """Equilibria of the windowed scaling-law LLM for arrays of parameters (all broadcast to one shape).

    Returns ``(W_L, W_H, status)``: wages as float64 arrays, NaN where ``status`` is
    ``UNBOUNDED`` (no finite equilibrium) or ``FAILED`` (no root found, or wages beyond
    float64's range); ``BENCHMARK`` where the model
    is not adopted (its cost is at least the benchmark price on the whole window).
    """
    eta, A_L, A_H, L, H, A_bar, F, C, a, alpha, b, beta, G, N_bar, I_lo, I_hi = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (eta, A_L, A_H, L, H, A_bar, F, C, a, alpha, b, beta, G, N_bar, I_lo, I_hi)))
    I_b, x_b, y_b = benchmark(eta, A_L, A_H, L, H)
    D = C + a / N_bar**alpha + b / G**beta
    with np.errstate(invalid="ignore", divide="ignore"):
        log_kappa = np.where(D < 1, np.log(F / A_bar) - eta * np.log1p(-np.minimum(D, 1.0)), np.inf)
    unbounded = (I_lo <= 0) & (I_hi >= 1) & (log_kappa <= 0)
    peak = np.clip(I_b, I_lo, I_hi)
    with np.errstate(divide="ignore"):
        log_peak_price = np.minimum(x_b - np.log(A_L) - eta * np.log1p(-peak), y_b - np.log(A_H) - eta * np.log(peak))
    adopted = ~unbounded & (log_kappa < log_peak_price)

    W_L, W_H = np.exp(x_b), np.exp(y_b)
    status = np.where(unbounded, UNBOUNDED, BENCHMARK)
    W_L[unbounded] = W_H[unbounded] = np.nan
    if adopted.any():
        # Bracket expansion visits wage levels where exp overflows to the right limit (an end point at ±inf),
        # and scipy's Chandrupatla step takes square roots of values it then discards.
        with np.errstate(invalid="ignore", over="ignore"):
            _solve_adopted(adopted, eta, A_L, A_H, L, H, log_kappa, I_lo, I_hi, W_L, W_H, status)
    return W_L, W_H, status


def _solve_adopted(k, eta, A_L, A_H, L, H, log_kappa, I_lo, I_hi, W_L, W_H, status):
    """Fill wages and status of the points ``k`` where the model is adopted (in place)."""
    args = (eta[k], np.log(A_L[k]), np.log(A_H[k]), log_kappa[k], I_lo[k], I_hi[k])
    centre = np.log(A_H[k] / A_L[k])
    theta, converged = _solve_increasing(_supply, centre - 5 * eta[k], centre + 5 * eta[k], args + (np.log(H[k] / L[k]),))
    x, level_ok = _level(theta, *args)
    # a wage beyond float64's range (a sliver of tasks left to one factor) is a failure, not an equilibrium
    good = converged & level_ok & np.isfinite(np.exp(x)) & np.isfinite(np.exp(x + theta))
    W_L[k] = np.where(good, np.exp(x), np.nan)
    W_H[k] = np.where(good, np.exp(x + theta), np.nan)
    status[k] = np.where(good, OK, FAILED)
