"""How far a market's stationary state may sit from the engine's equilibrium, and how far it does.

The market works on n cells with a finite number of agents, so even its
exact stationary state differs from the continuum equilibrium:

* a switch point between two factors is resolved to the cell holding it:
  |Δ switch| ≤ h (1 + 1/c), with h = 1/n and c the fewest workers of one
  skill per cell that skill works (the mixed cell's split is an integer count);
* a switch point misplaced by up to h moves the relative unit cost of the two
  factors by up to g·h, where g = |d/di (ℓ_a - ℓ_b)| is the gap between their
  log-productivity slopes there, and the task measures of the two factors by
  up to 2·h/min(s_a, s_b) in relative terms (market clearing, [M3]);
* integer workers per cell leave each return within a factor (1 ± 1/c).

The bound on log wages, the log premium and log output is the sum of these
terms over all switch points plus 1/c; see ``docs/market.md``.
"""
from __future__ import annotations

import numpy as np


def _slope_gaps(economy, technologies, segments, names):
    from ..factors import log_productivities

    gaps = []
    for left, right in zip(segments[:-1], segments[1:]):
        b = left["end"]
        a_k, b_k = names.index(left["factor"]), names.index(right["factor"])
        d = 1e-6
        pts = np.array([max(b - d, 0.0), min(b + d, 1.0)])
        lp = np.asarray(log_productivities(economy, technologies, pts))
        diff = (lp[:, a_k] - lp[:, b_k])
        g = abs(diff[1] - diff[0]) / (pts[1] - pts[0])
        # a jump (data edge) fixes the switch at the edge itself: no cost gap to first order
        gaps.append(g if np.isfinite(g) and g < 1e3 else 0.0)
    return gaps


def discretisation_bounds(economy, technologies, equilibrium, tasks: int, workers: int) -> dict:
    """Error bounds for a stationary market of ``tasks`` cells and ``workers`` agents (no noise, no frictions)."""
    from ..factors import factor_names

    names = factor_names(technologies)
    segments = equilibrium.segments(names)
    shares = np.asarray(equilibrium.shares)
    L, H = float(economy.L), float(economy.H)
    n_low = round(workers * L / (L + H))
    h = 1.0 / tasks
    per_cell = min(n_low / max(shares[0] * tasks, 1.0), (workers - n_low) / max(shares[1] * tasks, 1.0))
    c = max(per_cell, 1.0)
    switch = h * (1.0 + 1.0 / c)
    gaps = _slope_gaps(economy, technologies, segments, names)
    log_term = 1.0 / c
    for (left, right), g in zip(zip(segments[:-1], segments[1:]), gaps):
        s_min = min(shares[names.index(left["factor"])], shares[names.index(right["factor"])])
        log_term += g * switch + 2.0 * switch / s_min
    return {"switch": switch, "log_wage": log_term, "log_premium": log_term, "log_Y": log_term, "h": h, "workers_per_cell": c}


def errors(market, equilibrium) -> dict:
    """Distance of the market's current state from an equilibrium: switch points, log wages, premium, output."""
    s = market.summary()
    ours, theirs = market.segment_list(), equilibrium.segments(market.names)
    same = [x["factor"] for x in ours] == [x["factor"] for x in theirs]
    switch = max((abs(a["end"] - b["end"]) for a, b in zip(ours[:-1], theirs[:-1])), default=0.0) if same else np.inf
    out = {
        "same_ordering": same,
        "switch": switch,
        "log_W_L": abs(np.log(s["W_L"] / float(equilibrium.W_L))),
        "log_W_H": abs(np.log(s["W_H"] / float(equilibrium.W_H))),
        "log_premium": abs(np.log(s["premium"] / float(equilibrium.premium))),
        "log_Y": abs(np.log(s["Y"] / float(equilibrium.Y))),
        "segments": ours,
    }
    return out
