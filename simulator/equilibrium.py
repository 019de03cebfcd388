"""The equilibrium result and its verification.

Every solver route ends in :func:`finalize`: given log wages and the task
assignment as segments, it computes output, shares, model quantities and the
residuals of every equilibrium condition (see ``docs/model.md``):

============  =================================================================
residual      condition
============  =================================================================
labour_L      L market clears: Y·s_L = W_L·L            (eq. 10, in units of Y)
labour_H      H market clears: Y·s_H = W_H·H            (eq. 11, in units of Y)
numeraire     ∫ ln p(i) di = 0                          (price of Y is one)
zero_profit   Y = W_L L + W_H H + Σ F_j m_j             (final-good sector, relative)
no_arbitrage  each task uses a cheapest factor          (eqs. 4-5, 9; in logs; at segment
              midpoints and one-sidedly at every switch point)
============  =================================================================

Every residual is measured in units of output (or, for the numeraire and
no-arbitrage, in logs), so all are comparable with one tolerance.  A task
share s is only known to about eps/s in relative terms, which is why the
labour residuals are not divided by the share itself.

Here Y is computed from the production function (eq. 1) with the allocation
l = L/s_L, h = H/s_H, m_j = Y s_j / F_j on each factor's tasks, so the
residuals test the solution rather than restate it.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from .factors import L_INDEX, H_INDEX, integrate_over_segments, log_productivity_columns
from .kernels import argmin, pick
from .status import Status

#: Residual names, in the order of ``Equilibrium.residuals``.
RESIDUALS = ("labour_L", "labour_H", "numeraire", "zero_profit", "no_arbitrage")
#: Default tolerance on every residual.
TOLERANCE = 1e-10
#: Default relative accuracy that ``ok`` vouches for: a point whose error estimate
#: (``Equilibrium.error``) exceeds it is ILL_CONDITIONED (``SolverOptions.accuracy``).
ACCURACY = 1e-8
UNUSED = -1


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Equilibrium:
    """A solved equilibrium (or a batch of them; leading axes are the batch).

    Attributes (batch shape ``B``; ``S`` segments; ``J`` technologies):

    * ``W_L, W_H`` (B): wages.  ``premium`` (B): W_H / W_L.
    * ``Y`` (B): output.  ``m`` (B, J): quantity of each model rented.
    * ``shares`` (B, 2+J): measure of tasks performed by L, H and each model;
      also each factor's income share of Y.
    * ``boundaries`` (B, S+1), ``factors`` (B, S): segment k covers
      [boundaries[k], boundaries[k+1]] and is performed by factor ``factors[k]``
      (0 = L, 1 = H, 2+j = technology j, -1 = unused padding at the end).
    * ``residuals`` (B, 5): see :data:`RESIDUALS`.
    * ``error`` (B): estimated relative error of W_L, W_H, the premium and Y (the largest of the
      four): float64 rounding amplified by the conditioning of [M4]-[M5], plus what the residuals
      leave, and on the general route the grid's resolution (``docs/model.md``, section 9).
      NaN where there is no equilibrium.
    * ``status`` (B): a :class:`~simulator.status.Status` code.
    """

    W_L: Any
    W_H: Any
    premium: Any
    Y: Any
    m: Any
    shares: Any
    boundaries: Any
    factors: Any
    residuals: Any
    error: Any
    status: Any

    @property
    def ok(self):
        return self.status == Status.OK

    def residual(self, name: str):
        return self.residuals[..., RESIDUALS.index(name)]

    def segments(self, names=None) -> list[dict]:
        """Segments of a single (unbatched) equilibrium as ``[{factor, start, end}]`` in task order."""
        import numpy as np

        b = np.asarray(self.boundaries)
        f = np.asarray(self.factors)
        if f.ndim != 1:
            raise ValueError("segments() needs a single equilibrium, not a batch")
        if names is None:
            n_tech = np.asarray(self.shares).shape[-1] - 2
            names = ["L", "H"] + (["M"] if n_tech == 1 else [f"M{j}" for j in range(n_tech)])
        out = []
        for k in range(f.size):
            if f[k] == UNUSED or b[k + 1] <= b[k]:
                continue
            name = names[int(f[k])]
            if out and out[-1]["factor"] == name:
                out[-1]["end"] = float(b[k + 1])
            else:
                out.append({"factor": name, "start": float(b[k]), "end": float(b[k + 1])})
        return out


def compact_segments(boundaries, factors, widths=None):
    """Drop zero-width segments, keeping the order; padding goes to the end as (1, UNUSED).

    ``widths`` (optional) are the segments' exact measures, when the solver
    knows them more precisely than the difference of two boundaries.
    """
    starts, ends = boundaries[:-1], boundaries[1:]
    if widths is None:
        widths = jnp.maximum(ends - starts, 0.0)
    keep = (widths > 0) & (ends > starts) & (factors != UNUSED)
    # stable partition without a sort: kept segments first, in order
    n_kept = jnp.sum(keep)
    target = jnp.where(keep, jnp.cumsum(keep) - 1, n_kept + jnp.cumsum(~keep) - 1)
    new_factors = jnp.full_like(factors, UNUSED).at[target].set(jnp.where(keep, factors, UNUSED))
    new_ends = jnp.ones_like(ends).at[target].set(jnp.where(keep, ends, 1.0))
    new_widths = jnp.zeros_like(widths).at[target].set(jnp.where(keep, widths, 0.0))
    return jnp.concatenate([boundaries[:1], new_ends]), new_factors, new_widths


def segment_shares(widths, factors, n_factors: int):
    """Measure of tasks per factor: shape ``(n_factors,)``."""
    return jnp.stack([jnp.sum(jnp.where(factors == k, widths, 0.0)) for k in range(n_factors)])


#: Unit roundoff of float64: a task position p is only known to about EPS·|p|.
_EPS = 2.0 ** -53


#: Up to this many segments the no-arbitrage check calls the profiles once per check point
#: (unrolled); with more, once on a vector of all of them.  Measured on 2 cores, in-process:
#: unrolled, the semi-analytic LLM route (4 segments) solved about 2x as many points per second;
#: stacked, the discretised route (16 segments) compiled about 4x faster into a program a quarter
#: the size (14 s to 3.2 s, 8.7 MB to 2.4 MB; loading it from the cache 2.1 s to 0.5 s), and
#: solved as fast or faster (in-process A/B, alternated, n = 1024 at 2,000 points: 0.93x the time).
UNROLLED_SEGMENTS = 4


def _no_arbitrage(log_prod, log_wages, boundaries, factors):
    """Largest log-cost excess of the assigned factor over the cheapest one, beyond what the
    resolution of task positions explains: :func:`_no_arbitrage_unrolled` for at most
    :data:`UNROLLED_SEGMENTS` segments, else :func:`_no_arbitrage_stacked` (the same checks).
    """
    if factors.shape[0] <= UNROLLED_SEGMENTS:
        return _no_arbitrage_unrolled(log_prod, log_wages, boundaries, factors)
    return _no_arbitrage_stacked(log_prod, log_wages, boundaries, factors)


def _no_arbitrage_unrolled(log_prod, log_wages, boundaries, factors):
    """:func:`_no_arbitrage` with a call of ``log_prod`` per check point: the largest log-cost excess of
    the assigned factor over the cheapest one, beyond what the resolution of task positions explains.

    Checked at the midpoint of each used segment and at each boundary between
    two used segments: one-sidedly for the technologies, whose profiles may
    jump there, and at the point itself for labour (Assumption 1 profiles are
    continuous; the unused one-sided labour columns are dropped by the
    compiler).  A segment's ends are floats, known to 2 eps |p|; over that
    distance the excess can change by its slope, which is allowed for (it
    matters only for slivers where profiles are steep, as next to 1).
    ``log_prod(points)`` returns one array per factor.  The loops over the (few, static) segments are unrolled:
    under ``vmap`` every operation is then on a batch-long vector, which
    vectorises far better than small per-point axes with gathers.
    """
    S = factors.shape[0]
    b = [boundaries[k] for k in range(S + 1)]
    f = [factors[k] for k in range(S)]
    used = [(f[k] != UNUSED) & (b[k + 1] > b[k]) for k in range(S)]

    def costs(point):
        """Log costs of each factor at ``point`` and their slopes in the task position."""
        values, slopes = jax.jvp(log_prod, (point,), (jnp.ones_like(point),))
        return [w - ell for w, ell in zip(log_wages, values)], [jnp.where(jnp.isfinite(d), -d, 0.0) for d in slopes]

    def beyond(excess, slope, position):
        return jnp.maximum(excess - 2.0 * _EPS * jnp.abs(position) * jnp.abs(slope), 0.0)

    worst = jnp.zeros_like(b[0])
    for k in range(S):
        cost, slope = costs(b[k] + 0.5 * (b[k + 1] - b[k]))
        cheapest = argmin(cost)
        excess = pick(cost, f[k]) - pick(cost, cheapest)
        excess = beyond(excess, pick(slope, f[k]) - pick(slope, cheapest), jnp.maximum(jnp.abs(b[k]), jnp.abs(b[k + 1])))
        worst = jnp.maximum(worst, jnp.where(used[k], excess, 0.0))
    delta = 1e-12
    for k in range(S - 1):
        (at, at_slope), (below, below_slope), (above, above_slope) = costs(b[k + 1]), costs(b[k + 1] - delta), costs(b[k + 1] + delta)
        minus, plus = at[:2] + below[2:], at[:2] + above[2:]
        minus_slope, plus_slope = at_slope[:2] + below_slope[2:], at_slope[:2] + above_slope[2:]
        gap = jnp.maximum(beyond(pick(minus, f[k]) - pick(minus, f[k + 1]), pick(minus_slope, f[k]) - pick(minus_slope, f[k + 1]), b[k + 1]),
                          beyond(pick(plus, f[k + 1]) - pick(plus, f[k]), pick(plus_slope, f[k + 1]) - pick(plus_slope, f[k]), b[k + 1]))
        gap = jnp.where(used[k] & used[k + 1] & (f[k] != f[k + 1]), gap, 0.0)
        worst = jnp.maximum(worst, jnp.where(jnp.isnan(gap), jnp.inf, gap))
    return worst


def _no_arbitrage_stacked(log_prod, log_wages, boundaries, factors):
    """The checks of :func:`_no_arbitrage_unrolled`, with ``log_prod`` called once, on the vector of
    all ``4 S - 3`` check points (``S`` segments): a smaller program, compiled faster."""
    S = factors.shape[0]
    starts, ends = boundaries[:-1], boundaries[1:]
    used = (factors != UNUSED) & (ends > starts)
    inner = boundaries[1:S]  # boundaries between segments k and k + 1, shape (S - 1,)
    delta = 1e-12
    points = jnp.concatenate([starts + 0.5 * (ends - starts), inner, inner - delta, inner + delta])
    values, slopes = jax.jvp(log_prod, (points,), (jnp.ones_like(points),))
    cost = [w - ell for w, ell in zip(log_wages, values)]
    slope = [jnp.where(jnp.isfinite(d), -d, 0.0) for d in slopes]

    def beyond(excess, slope_, position):
        return jnp.maximum(excess - 2.0 * _EPS * jnp.abs(position) * jnp.abs(slope_), 0.0)

    mid, at, below, above = (slice(0, S), slice(S, 2 * S - 1), slice(2 * S - 1, 3 * S - 2), slice(3 * S - 2, 4 * S - 3))
    mid_cost, mid_slope = [c[mid] for c in cost], [d[mid] for d in slope]
    cheapest = argmin(mid_cost)
    excess = beyond(pick(mid_cost, factors) - pick(mid_cost, cheapest), pick(mid_slope, factors) - pick(mid_slope, cheapest),
                    jnp.maximum(jnp.abs(starts), jnp.abs(ends)))
    worst = jnp.max(jnp.where(used, excess, 0.0), initial=0.0)
    # at a boundary labour is compared at the point, technologies one-sidedly
    minus = [c[at] for c in cost[:2]] + [c[below] for c in cost[2:]]
    plus = [c[at] for c in cost[:2]] + [c[above] for c in cost[2:]]
    minus_slope = [d[at] for d in slope[:2]] + [d[below] for d in slope[2:]]
    plus_slope = [d[at] for d in slope[:2]] + [d[above] for d in slope[2:]]
    f_left, f_right = factors[:S - 1], factors[1:]
    gap = jnp.maximum(beyond(pick(minus, f_left) - pick(minus, f_right), pick(minus_slope, f_left) - pick(minus_slope, f_right), inner),
                      beyond(pick(plus, f_right) - pick(plus, f_left), pick(plus_slope, f_right) - pick(plus_slope, f_left), inner))
    gap = jnp.where(used[:S - 1] & used[1:] & (f_left != f_right), gap, 0.0)
    return jnp.maximum(worst, jnp.max(jnp.where(jnp.isnan(gap), jnp.inf, gap), initial=0.0))


def finalize(economy, technologies, x, log_W_H, boundaries, factors, status, *, error, widths=None, log_prod=None,
             integrate=None, check: bool = True, accuracy: float = ACCURACY, max_used: int | None = None) -> Equilibrium:
    """Build a verified :class:`Equilibrium` from log wages ``x = ln W_L``, ``log_W_H = ln W_H`` and segments.

    Works on a single point; vmap it for batches.  ``status`` is the solver's
    own status; it becomes NOT_CONVERGED when a residual exceeds :data:`TOLERANCE`, and
    ILL_CONDITIONED when the route's ``error`` estimate (see :class:`Equilibrium`) exceeds ``accuracy``.
    ``log_prod(points) -> [ℓ_0, ..., ℓ_{K-1}]`` (one array of ``points.shape``
    per factor) and ``integrate(k, boundaries) -> (S,)`` (∫ ℓ_k over each
    segment) define the task profiles the conditions are checked against;
    by default the exact profiles
    (the discretised route passes its own interpolant).  ``widths`` gives the
    segments' measures when the solver knows them more exactly than
    ``diff(boundaries)`` (narrow segments near a boundary of [0, 1]).
    ``max_used``: at most this many segments can have positive width (the solver's geometry
    guarantees it); the checks then run over that many, and a point with more fails the
    no-arbitrage check (its residual is +inf).
    ``check=False`` leaves the tolerance test to a later :func:`apply_tolerance`, and ``residuals``
    is then the tuple of the five residuals, stacked by :func:`apply_tolerance` (a batch solver
    runs it as a program of its own: see :func:`simulator.solve._solve_flat`).
    """
    if log_prod is None:
        log_prod = lambda points: log_productivity_columns(economy, technologies, points)  # noqa: E731
    if integrate is None:
        integrate = lambda k, b: integrate_over_segments(economy, technologies, k, b)  # noqa: E731
    n_factors = 2 + len(technologies)
    boundaries, factors, widths = compact_segments(boundaries, factors, widths)
    all_boundaries, all_factors, overflow = boundaries, factors, False
    if max_used is not None and max_used < factors.shape[0]:
        # the segments after the first max_used are padding (zero width, UNUSED): leaving them out
        # changes no sum and no maximum
        overflow = jnp.any(factors[max_used:] != UNUSED)
        boundaries, factors, widths = boundaries[:max_used + 1], factors[:max_used], widths[:max_used]
    prices = [jnp.exp(x), jnp.exp(log_W_H)] + [jnp.asarray(t.F, dtype=jnp.float64) for t in technologies]
    log_wages = [x, log_W_H] + [jnp.log(t.F) for t in technologies]
    shares = segment_shares(widths, factors, n_factors)
    W_L, W_H = prices[0], prices[1]
    income = (W_L * economy.L + W_H * economy.H) / jnp.maximum(1.0 - jnp.sum(shares[2:]), 1e-300)
    m = jnp.stack([income * shares[2 + j] / technologies[j].F for j in range(len(technologies))]) if technologies else jnp.zeros((0,))

    model_rentals = sum((technologies[j].F * m[j] for j in range(len(technologies))), jnp.zeros(()))
    # per-task input quantity of each factor on its own tasks (eq. 7-8 and their model analogue)
    supply = [economy.L, economy.H] + [m[j] for j in range(len(technologies))]
    log_input = jnp.stack([jnp.log(supply[k] / jnp.where(shares[k] > 0, shares[k], 1.0)) for k in range(n_factors)])
    log_Y = 0.0
    log_price_integral = 0.0
    for k in range(n_factors):
        on_k = factors == k
        ints = integrate(k, boundaries)  # one integral per segment
        int_k = jnp.sum(jnp.where(on_k, ints, 0.0))
        width_k = jnp.sum(jnp.where(on_k, widths, 0.0))
        log_Y = log_Y + int_k + jnp.where(width_k > 0, width_k * log_input[k], 0.0)
        log_price_integral = log_price_integral + width_k * log_wages[k] - int_k
    Y = jnp.exp(log_Y)

    residuals = (
        (Y * shares[L_INDEX] - W_L * economy.L) / Y,
        (Y * shares[H_INDEX] - W_H * economy.H) / Y,
        log_price_integral,
        (Y - W_L * economy.L - W_H * economy.H - model_rentals) / Y,
        jnp.where(overflow, jnp.inf, _no_arbitrage(log_prod, log_wages, boundaries, factors)),
    )
    eq = Equilibrium(W_L=W_L, W_H=W_H, premium=W_H / W_L, Y=Y, m=m, shares=shares, boundaries=all_boundaries, factors=all_factors,
                     residuals=residuals, error=_with_market_clearing(error, shares, residuals), status=jnp.asarray(status).astype(jnp.int32))
    return apply_tolerance(eq, accuracy) if check else eq


def _with_market_clearing(error, shares, residuals):
    """The route's error estimate, at least each labour market's residual relative to that factor's
    measure of tasks: the residuals are in units of Y, so a sliver can leave them tiny while its
    market is far from clearing (and a labour type with no tasks at all cannot clear its market)."""
    error = jnp.asarray(error, dtype=jnp.float64)
    for k, r in ((L_INDEX, residuals[0]), (H_INDEX, residuals[1])):
        s = shares[k]
        error = jnp.maximum(error, jnp.where(s > 0, jnp.abs(r) / jnp.where(s > 0, s, 1.0), jnp.inf))
    return error


def apply_tolerance(eq: Equilibrium, accuracy: float = ACCURACY) -> Equilibrium:
    """A point whose solver reported OK but with a residual above :data:`TOLERANCE` becomes
    NOT_CONVERGED, and one whose error estimate exceeds ``accuracy`` (or is not a number) becomes
    ILL_CONDITIONED; every point without an equilibrium (neither OK nor ILL_CONDITIONED) then has
    NaN wages, premium, output, models, shares and error.

    Elementwise over any batch shape; :func:`finalize` applies it unless told not to. Residuals
    given as a tuple of columns are stacked on the last axis.
    """
    if isinstance(eq.residuals, tuple):
        eq = dataclasses.replace(eq, residuals=jnp.stack(eq.residuals, axis=-1))
    bad = ~jnp.all(jnp.abs(eq.residuals) <= TOLERANCE, axis=-1)
    status = jnp.where((eq.status == Status.OK) & bad, Status.NOT_CONVERGED, eq.status)
    vague = ~(eq.error <= accuracy)
    status = jnp.where((status == Status.OK) & vague, Status.ILL_CONDITIONED, status).astype(jnp.int32)
    failed = (status != Status.OK) & (status != Status.ILL_CONDITIONED)

    def masked(v):
        return jnp.where(failed.reshape(failed.shape + (1,) * (v.ndim - failed.ndim)), jnp.nan, v)

    return dataclasses.replace(eq, W_L=masked(eq.W_L), W_H=masked(eq.W_H), premium=masked(eq.premium), Y=masked(eq.Y),
                               m=masked(eq.m), shares=masked(eq.shares), error=masked(eq.error), status=status)
