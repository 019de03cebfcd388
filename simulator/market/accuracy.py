"""How far a market's stationary state may sit from the engine's equilibrium, and how far it does.

The market works on n cells with a finite number of agents, so even its
exact stationary state differs from the continuum equilibrium:

* a switch point between two factors is resolved to the cell holding it:
  |Δ switch| ≤ h (1 + 1/c), with h = 1/n and c the fewest workers of one
  skill per cell that skill works (the mixed cell's split is an integer count).
  Workers' returns are equal only to within a factor 1 ± 1/c, so where a
  model meets labour with slope gap g (below) the frontier may also sit
  1/(c g) away: |Δ switch| ≤ h + 1/(c g);
* where both factors' profiles are smooth, the stationary state prices them
  at a cell centre instead of the switch point, which moves their relative
  unit cost by up to g·h/2 (a mixed L/H cell) or g·h (a model's boundary,
  which sits on a cell edge), with g = |d/di (ℓ_a - ℓ_b)| there;
* where a profile jumps (a data edge), the relative cost is fixed but the
  straddling cell goes to one factor whole, which moves the task measures
  by up to h/min(s_a, s_b) in relative terms (market clearing, [M3]);
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
        labour_only = {left["factor"], right["factor"]} == {"L", "H"}
        if g > 0 and not labour_only:
            # workers' returns are equal only to within 1/c, so a model's frontier is blurred by 1/(c g)
            switch = max(switch, h + 1.0 / (c * g))
        if g > 0:
            # a mixed L/H cell prices both at its centre (half a cell off at most); a model boundary sits on a cell edge
            log_term += g * (0.5 * h if labour_only else h)
        else:
            # a jump (data edge) fixes the relative cost, but the straddling cell goes to one factor whole
            s_min = min(shares[names.index(left["factor"])], shares[names.index(right["factor"])])
            log_term += h / s_min
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
