"""General route: any profiles and several technologies on a discretised task line.

The task line [0, 1] is cut into cells at ``n_tasks`` equal steps plus every
breakpoint the technologies declare (data-window edges, jumps of a profile),
so discontinuities sit on nodes.  In each cell every factor's log productivity
ℓ_k is linear between its one-sided end values, and switch points are placed
inside cells where two log-cost lines cross.  Integrals of the piecewise-linear
log costs are exact, so switch points and integrals carry an O(h²) error and
the solution converges at second order in the cell width.

The evaluation at given wages is built to be cheap, since the wage solve
calls it a few dozen times:

* The technologies' prices are fixed, so their lower envelope of log costs
  T(i) = min_j (ln F_j - ℓ_j(i)) is computed once.  With two or more
  technologies each cell is split where the cheapest technology changes, so
  that T is linear on every (sub)cell.
* L is cheaper than H left of the point where ℓ_H - ℓ_L (increasing, by
  Assumption 1) equals ln(W_H/W_L); that splits each cell into an L part and
  an H part.
* On the L part the task cost is min(x - ℓ_L, T) = (x - ℓ_L) - (x - D_L)_+
  with D_L = T + ℓ_L linear, so its integral and the models' measure there
  are closed forms of the end values; likewise on the H part with D_H.

Everything is elementwise over cells, with no sort, argmin or gather.
The wages solve the same conditions as the semi-analytic route (see
:mod:`simulator.rootfind`).  A technology that undercuts another inside a
cell twice (three or more technologies in one cell) is missed, which the
no-arbitrage residual then reports.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from .analytic import benchmark_log_wage, benchmark_threshold, economy_admissible
from .equilibrium import UNUSED, Equilibrium, _pick, finalize
from .factors import H_INDEX, L_INDEX, log_productivity_columns
from .rootfind import make_nested_solver, make_newton_solver
from .status import Status

#: The Newton pass on a fine grid starts from its solution on a grid of this many cells
#: (the O(h²) gap between the two is then closed by REFINE_STEPS quadratically convergent steps).
COARSE_TASKS = 64
REFINE_STEPS = 2
#: Up to this many breakpoints are merged into the uniform nodes by counting; more are sorted.
_MERGE_BY_COUNTING = 32


@dataclasses.dataclass(frozen=True)
class DiscretizedOptions:
    """Grid and iteration counts of the discretised route."""

    n_tasks: int = 1024
    strategy: str = "nested"
    n_outer: int = 40
    n_inner: int = 6
    max_segments: int = 16
    #: One-sided profile values are taken this fraction of a cell inside it.
    edge_offset: float = 1e-9


def _merged_nodes(n: int, breaks: list):
    """The nodes k/n (k = 0..n) and the breakpoints, in increasing order: shape (n + 1 + len(breaks),)."""
    uniform = jnp.arange(n + 1, dtype=jnp.float64) / n
    if not breaks:
        return uniform
    b = jnp.sort(jnp.clip(jnp.stack(breaks), 0.0, 1.0))
    if len(breaks) > _MERGE_BY_COUNTING:
        return jnp.sort(jnp.concatenate([uniform, b]))
    # break j lands after j breaks and every uniform node below it; a few comparisons per node, no sort
    position = jnp.arange(b.shape[0]) + jnp.sum(uniform[None, :] < b[:, None], axis=1)
    slots = jnp.arange(n + 1 + b.shape[0])
    hit = slots[:, None] == position[None, :]
    before = jnp.sum(position[None, :] < slots[:, None], axis=1)
    return jnp.where(jnp.any(hit, axis=1), jnp.sum(jnp.where(hit, b[None, :], 0.0), axis=1), (slots - before) / n)


def _tech_costs(log_prices, ell_left, ell_right):
    """One-sided log costs of each technology on each cell (+inf where it cannot work in all of the cell)."""
    left, right = [], []
    for p, lo, hi in zip(log_prices, ell_left, ell_right):
        available = jnp.isfinite(lo) & jnp.isfinite(hi)
        left.append(jnp.where(available, p - lo, jnp.inf))
        right.append(jnp.where(available, p - hi, jnp.inf))
    return left, right


def _positive_part(a0, a1, width):
    """∫ a_+ and the measure of {a > 0} over a piece of ``width`` on which a is linear from a0 to a1."""
    hi, lo = jnp.maximum(a0, a1), jnp.minimum(a0, a1)
    frac = jnp.where(lo >= 0, 1.0, jnp.where(hi <= 0, 0.0, hi / jnp.where(hi > lo, hi - lo, 1.0)))
    mean = jnp.where(lo >= 0, 0.5 * (a0 + a1), 0.5 * hi)
    return width * frac * mean, width * frac, frac


def _lerp(lo, hi, tau):
    return lo + tau * (hi - lo)


class Grid:
    """Cells, every factor's one-sided log productivities on them, and the fixed technology envelope (one point).

    Arrays over cells have shape ``(C,)``; ``ell_left``/``ell_right`` are lists
    of K such arrays (L, H, then each technology).
    """

    def __init__(self, economy, technologies, options: DiscretizedOptions):
        n = options.n_tasks
        breaks = [jnp.asarray(b, dtype=jnp.float64) for t in technologies for b in t.breakpoints()]
        nodes = _merged_nodes(n, breaks)
        left, right = nodes[:-1], nodes[1:]
        width = right - left
        # labour profiles are continuous: one value per node, nudged off the singular ends 0 and 1
        nudge = options.edge_offset / n
        labour = log_productivity_columns(economy, (), jnp.clip(nodes, nudge, 1.0 - nudge))
        # technologies may jump at nodes: one-sided values inside each cell
        offset = options.edge_offset * width
        tech_left = log_productivity_columns(economy, technologies, left + offset)[2:]
        tech_right = log_productivity_columns(economy, technologies, right - offset)[2:]
        log_prices = [jnp.log(jnp.asarray(t.F, dtype=jnp.float64)) for t in technologies]
        ell_left = [labour[L_INDEX][:-1], labour[H_INDEX][:-1]] + tech_left
        ell_right = [labour[L_INDEX][1:], labour[H_INDEX][1:]] + tech_right
        if len(technologies) >= 2:
            left, right, ell_left, ell_right = self._split_where_technologies_cross(left, right, ell_left, ell_right, log_prices)
            width = right - left
        self.left, self.right, self.width = left, right, width
        self.nodes = jnp.concatenate([left, right[-1:]])
        self.ell_left, self.ell_right = ell_left, ell_right
        self.n_factors = len(ell_left)
        # the technologies' envelope of log costs, +inf where none can work
        costs_left, costs_right = _tech_costs(log_prices, ell_left[2:], ell_right[2:])
        self.T_left = functools.reduce(jnp.minimum, costs_left, jnp.full_like(width, jnp.inf))
        self.T_right = functools.reduce(jnp.minimum, costs_right, jnp.full_like(width, jnp.inf))
        # the cheapest technology on each cell (at its middle), as a factor index
        mid = [0.5 * (a + b) for a, b in zip(costs_left, costs_right)]
        self.tech_factor = 2 + _argmin(mid) if mid else jnp.zeros(width.shape, dtype=jnp.int32)
        self.has_tech = jnp.isfinite(self.T_left) & jnp.isfinite(self.T_right)
        T_left = jnp.where(self.has_tech, self.T_left, 0.0)
        T_right = jnp.where(self.has_tech, self.T_right, 0.0)
        # models beat L where x > D_L, H where ln W_H > D_H; H beats L where ℓ_H - ℓ_L > ln(W_H/W_L)
        self.D_L = (T_left + ell_left[L_INDEX], T_right + ell_right[L_INDEX])
        self.D_H = (T_left + ell_left[H_INDEX], T_right + ell_right[H_INDEX])
        self.gap = (ell_left[H_INDEX] - ell_left[L_INDEX], ell_right[H_INDEX] - ell_right[L_INDEX])

    @staticmethod
    def _split_where_technologies_cross(left, right, ell_left, ell_right, log_prices):
        """Cut each cell in two where the cheapest technology changes (at its middle if it does not)."""
        cost_l, cost_r = _tech_costs(log_prices, ell_left[2:], ell_right[2:])
        f, g = _argmin(cost_l), _argmin(cost_r)
        d0 = _pick(cost_l, f) - _pick(cost_l, g)
        d1 = _pick(cost_r, f) - _pick(cost_r, g)
        tau = d0 / (d0 - d1)
        tau = jnp.where((f != g) & jnp.isfinite(tau), jnp.clip(tau, 0.0, 1.0), 0.5)
        mid = left + tau * (right - left)

        def interleave(a, b):
            return jnp.stack([a, b], axis=1).reshape(-1)

        # every factor stays linear on the cell, so its value at the cut is interpolated
        at_cut = [jnp.where(jnp.isfinite(lo) & jnp.isfinite(hi), _lerp(lo, hi, tau), -jnp.inf) for lo, hi in zip(ell_left, ell_right)]
        new_left = interleave(left, mid)
        new_right = interleave(mid, right)
        new_ell_left = [interleave(lo, c) for lo, c in zip(ell_left, at_cut)]
        new_ell_right = [interleave(c, hi) for c, hi in zip(at_cut, ell_right)]
        return new_left, new_right, new_ell_left, new_ell_right

    # -- the interpolant (verification and plots) -----------------------------------------
    def _cell_of(self, points):
        j = jnp.searchsorted(self.nodes, points, side="right") - 1
        return jnp.clip(j, 0, self.width.shape[0] - 1)

    def log_prod_columns(self, points):
        """Piecewise-linear ℓ_k at ``points``: one array of ``points.shape`` per factor."""
        j = self._cell_of(points)
        w = self.width[j]
        tau = jnp.where(w > 0, (points - self.left[j]) / jnp.where(w > 0, w, 1.0), 0.0)
        out = []
        for lo, hi in zip(self.ell_left, self.ell_right):
            lo, hi = lo[j], hi[j]
            out.append(jnp.where(jnp.isfinite(lo) & jnp.isfinite(hi), _lerp(lo, hi, tau), -jnp.inf))
        return out

    def integrate_segments(self, k, boundaries):
        """∫ of the interpolant of ℓ_k over each segment of nondecreasing ``boundaries`` (S+1,): shape (S,).

        From running sums over whole cells plus the partial cells at the ends;
        -inf where the factor cannot work somewhere in the segment.
        """
        lo, hi = self.ell_left[k], self.ell_right[k]
        ok = jnp.isfinite(lo) & jnp.isfinite(hi)
        whole = jnp.where(ok, self.width * 0.5 * (lo + hi), 0.0)
        unusable = ((~ok) & (self.width > 0)).astype(jnp.int32)
        # materialised first, so that the running sums do not recompute the profile; an associative
        # scan, as jnp.cumsum's reduce-window is slow on CPU
        whole, unusable = jax.lax.optimization_barrier((whole, unusable))
        total = jnp.concatenate([jnp.zeros(1), jax.lax.associative_scan(jnp.add, whole)])
        bad = jnp.concatenate([jnp.zeros(1, dtype=jnp.int32), jax.lax.associative_scan(jnp.add, unusable)])
        j = self._cell_of(boundaries)
        w = self.width[j]
        into = boundaries - self.left[j]
        tau = jnp.where(w > 0, into / jnp.where(w > 0, w, 1.0), 0.0)
        partial = into * (lo[j] + 0.5 * tau * (hi[j] - lo[j]))
        running = total[j] + jnp.where(ok[j], partial, 0.0)
        bad_so_far = bad[j] + ((~ok[j]) & (into > 0))
        value = jnp.diff(running)
        value = jnp.where(jnp.diff(bad_so_far) > 0, -jnp.inf, value)
        return jnp.where(boundaries[1:] > boundaries[:-1], value, 0.0)

    # -- the assignment at given wages ----------------------------------------------------------
    def _parts(self, x, theta):
        """Per cell: the fraction τ* performed by labour L rather than H, and the L and H parts' model terms.

        Returns τ* and, for each part, (∫ (wage - D)_+, models' measure, fraction of the part used
        by models, and whether models sit at the part's start) — all of shape (C,).
        """
        y = x + theta
        g0, g1 = self.gap
        rising = g1 > g0
        tau_star = jnp.where(rising, jnp.clip((theta - g0) / jnp.where(rising, g1 - g0, 1.0), 0.0, 1.0), jnp.where(theta >= g0, 1.0, 0.0))
        w = self.width
        dl0, dl1 = self.D_L[0], _lerp(self.D_L[0], self.D_L[1], tau_star)
        dh0, dh1 = _lerp(self.D_H[0], self.D_H[1], tau_star), self.D_H[1]
        psi_L, mu_L, frac_L = _positive_part(x - dl0, x - dl1, w * tau_star)
        psi_H, mu_H, frac_H = _positive_part(y - dh0, y - dh1, w * (1.0 - tau_star))
        on = self.has_tech
        zero = jnp.zeros_like(w)
        part_L = (jnp.where(on, psi_L, zero), jnp.where(on, mu_L, zero), jnp.where(on, frac_L, zero), dl0 <= dl1)
        part_H = (jnp.where(on, psi_H, zero), jnp.where(on, mu_H, zero), jnp.where(on, frac_H, zero), dh0 <= dh1)
        return tau_star, part_L, part_H

    def evaluate(self, x, theta):
        """Numeraire integral ∫ ln p and the task measures s_L, s_H at log wages (x, x + θ)."""
        tau_star, (psi_L, mu_L, _, _), (psi_H, mu_H, _, _) = self._parts(x, theta)
        w = self.width
        # labour's own log costs, integrated exactly over the L and H parts (linear profiles)
        ell_L_cut = _lerp(self.ell_left[L_INDEX], self.ell_right[L_INDEX], tau_star)
        ell_H_cut = _lerp(self.ell_left[H_INDEX], self.ell_right[H_INDEX], tau_star)
        w_L, w_H = w * tau_star, w * (1.0 - tau_star)
        labour_cost = w_L * (x - 0.5 * (self.ell_left[L_INDEX] + ell_L_cut)) + w_H * (x + theta - 0.5 * (ell_H_cut + self.ell_right[H_INDEX]))
        phi = jnp.sum(labour_cost - psi_L - psi_H)
        return phi, jnp.sum(w_L - mu_L), jnp.sum(w_H - mu_H)

    def segments(self, x, theta, max_segments: int):
        """Task assignment at log wages (x, x + θ) as fixed-size (boundaries, factors) arrays.

        Each cell holds up to four pieces: its L part split between L and the
        models, then its H part split between the models and H.
        """
        tau_star, (_, _, frac_L, models_first_L), (_, _, frac_H, models_first_H) = self._parts(x, theta)
        models = self.tech_factor
        L = jnp.full_like(models, L_INDEX)
        H = jnp.full_like(models, H_INDEX)
        cut_L = jnp.where(models_first_L, frac_L, 1.0 - frac_L) * tau_star
        cut_H = tau_star + jnp.where(models_first_H, frac_H, 1.0 - frac_H) * (1.0 - tau_star)
        starts = [jnp.zeros_like(tau_star), cut_L, tau_star, cut_H]
        ends = [cut_L, tau_star, cut_H, jnp.ones_like(tau_star)]
        labels = [jnp.where(models_first_L, models, L), jnp.where(models_first_L, L, models),
                  jnp.where(models_first_H, models, H), jnp.where(models_first_H, H, models)]
        sizes = [(e - s) * self.width for s, e in zip(starts, ends)]
        # an empty piece takes the label before it (the cell's first nonempty one at its start), so
        # it starts nothing; an empty cell repeats the last label of the cell before it
        first = labels[3]
        for size, lab in zip(sizes[2::-1], labels[2::-1]):
            first = jnp.where(size > 0, lab, first)
        effective = []
        for size, lab in zip(sizes, labels):
            first = jnp.where(size > 0, lab, first)
            effective.append(first)
        previous = jnp.concatenate([effective[0][:1], effective[3][:-1]])
        empty_cell = self.width <= 0
        effective = [jnp.where(empty_cell, previous, lab) for lab in effective]
        previous = jnp.concatenate([effective[0][:1], effective[3][:-1]])
        change = [effective[0] != previous] + [effective[k] != effective[k - 1] for k in range(1, 4)]
        # pieces in task order: (cell, piece) flattened
        pos = jnp.stack([self.left + s * self.width for s in starts], axis=1).reshape(-1)
        label = jnp.stack(effective, axis=1).reshape(-1).astype(jnp.int32)
        change = jnp.stack(change, axis=1).reshape(-1)
        # indices of the first max_segments - 1 changes (as jnp.nonzero(size=...), from a running count
        # and a binary search, which is much cheaper on CPU than nonzero's scatter)
        count = jax.lax.associative_scan(jnp.add, change.astype(jnp.int32))
        idx = jnp.searchsorted(count, jnp.arange(1, max_segments), side="left")
        valid = idx < pos.shape[0]
        safe = jnp.minimum(idx, pos.shape[0] - 1)
        boundaries = jnp.concatenate([jnp.zeros(1), jnp.where(valid, pos[safe], 1.0), jnp.ones(1)])
        factors = jnp.concatenate([label[:1], jnp.where(valid, label[safe], UNUSED)]).astype(jnp.int32)
        return boundaries, factors


def _argmin(columns):
    """Index of the smallest of K arrays, elementwise; the first one on ties."""
    best, index = columns[0], jnp.zeros(columns[0].shape, dtype=jnp.int32)
    for k in range(1, len(columns)):
        better = columns[k] < best
        best = jnp.where(better, columns[k], best)
        index = jnp.where(better, k, index)
    return index


def solve_discretized(economy, technologies=(), options: DiscretizedOptions = DiscretizedOptions()) -> Equilibrium:
    """Equilibrium of an economy with any number of technologies, on a task grid.

    Parameters are pytrees, so this function vmaps over a batch of economies
    and technologies.  Returns a verified :class:`Equilibrium` whose residuals
    refer to the discretised profiles (the discretisation error itself is
    measured against the semi-analytic route in the tests).
    """
    technologies = tuple(technologies)
    e = economy
    grid = Grid(e, technologies, options)

    # No finite equilibrium if models alone produce every task at unit cost < 1.
    if technologies:
        models_only = jnp.sum(grid.width * 0.5 * (grid.T_left + grid.T_right))
        unbounded = jnp.isfinite(models_only) & (models_only <= 0)
    else:
        unbounded = jnp.asarray(False)

    I_b, theta_b = benchmark_threshold(e)
    x_b = benchmark_log_wage(e, I_b, theta_b)
    theta_lo = jnp.minimum(jnp.min(grid.gap[0]), theta_b) - 200.0
    theta_hi = jnp.maximum(jnp.max(grid.gap[1]), theta_b) + 200.0
    log_supply_ratio = jnp.log(e.H) - jnp.log(e.L)
    if options.strategy == "newton":
        if options.n_tasks >= 4 * COARSE_TASKS:
            # Newton's steps on a coarse grid first, then a few on the fine one from there
            coarse = Grid(e, technologies, dataclasses.replace(options, n_tasks=COARSE_TASKS))
            x_b, theta_b = make_newton_solver(coarse.evaluate, log_supply_ratio, options.n_outer)(x_b, theta_b, theta_lo, theta_hi)
            solve = make_newton_solver(grid.evaluate, log_supply_ratio, min(options.n_outer, REFINE_STEPS))
        else:
            solve = make_newton_solver(grid.evaluate, log_supply_ratio, options.n_outer)
    else:
        solve = make_nested_solver(grid.evaluate, log_supply_ratio, options.n_outer, options.n_inner)
    x, theta = solve(x_b, theta_b, theta_lo, theta_hi)
    boundaries, factors = grid.segments(x, theta, options.max_segments)
    ok = economy_admissible(e)
    for t in technologies:
        ok = ok & (t.F > 0)
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    return finalize(e, technologies, x, x + theta, boundaries, factors, status, log_prod=grid.log_prod_columns,
                    integrate=grid.integrate_segments)
