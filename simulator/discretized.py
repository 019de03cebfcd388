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
* On the L part the task cost is min(x - ℓ_L, T) = (x - ℓ_L) - (x - E_L)_+
  with E_L = T + ℓ_L linear, so its integral and the models' measure there
  are closed forms of the end values; likewise on the H part with E_H.

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
from .params import admissible
from .equilibrium import ACCURACY, UNUSED, Equilibrium, finalize
from .factors import H_INDEX, L_INDEX, integrate_over_segments, log_productivity_columns
from . import residuals
from .kernels import MERGE_BY_COUNTING, argmin, cell_of, cell_of_reference, merged_nodes, paired_sums_before, pick, sums
from .residuals import Measures
from .rootfind import make_nested_solver, make_newton_solver
from .status import Status

#: The Newton pass on a fine grid starts from its solution on a grid of this many cells
#: (the O(h²) gap between the two is then closed by REFINE_STEPS quadratically convergent steps).
COARSE_TASKS = 64
REFINE_STEPS = 2
#: Cap on each Newton step of the first pass, in each log wage. From the benchmark's wages the
#: steps can cycle between two assignments (one where the models take their whole window, one
#: past it). At n = 1024, 4-5% of the LLM benchmark's points did so with a cap of 2 and went to the
#: retry; with a cap of 1, 2%.
NEWTON_MAX_STEP = 1.0
#: The discretisation error estimate is this multiple of the first-order change of the solution
#: from the grid's profiles to the exact ones (see :func:`discretisation_error`).
DISCRETISATION_SAFETY = 2.0
#: A kind of labour with a positive measure of tasks below this many cells (1/n_tasks), ending at a
#: switch point inside a cell, is not resolved by the grid (its wage is Y s/L): the estimate is
#: infinite.  A technology's sliver moves the wages at second order in its width, and its ends'
#: moves enter the estimate like any other switch point's.
SLIVER_CELLS = 1.0
#: E_L and E_H where no technology can work: above any log wage, and finite so that (x - D)
#: and its positive part stay exact (-1e300 and 0).
_OUT_OF_REACH = 1e300


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
    #: apply the residual tolerance in :func:`~simulator.equilibrium.finalize` (see ``AnalyticOptions.check``)
    check: bool = True
    #: relative accuracy that ``ok`` vouches for (see :data:`simulator.equilibrium.ACCURACY`)
    accuracy: float = ACCURACY
    #: run ``strategy`` on a grid of COARSE_TASKS cells and then take REFINE_STEPS Newton steps on
    #: the fine grid, twice as many after the nested strategy (when n_tasks >= 4 COARSE_TASKS);
    #: otherwise run it on the fine grid throughout
    coarse_start: bool = True


def _tech_costs(log_prices, ell_left, ell_right):
    """One-sided log costs of each technology on each cell (+inf where it cannot work in all of the cell)."""
    left, right = [], []
    for p, lo, hi in zip(log_prices, ell_left, ell_right):
        available = jnp.isfinite(lo) & jnp.isfinite(hi)
        left.append(jnp.where(available, p - lo, jnp.inf))
        right.append(jnp.where(available, p - hi, jnp.inf))
    return left, right


def _positive_part(a0, a1, width):
    """Over a piece of ``width`` on which a is linear from a0 to a1: ∫ a_+, the measure of {a > 0},
    its fraction of the piece, and the measure's slope as a shifts up by a constant."""
    hi, lo = jnp.maximum(a0, a1), jnp.minimum(a0, a1)
    span = jnp.where(hi > lo, hi - lo, 1.0)
    crossing = (lo < 0) & (hi > 0)
    frac = jnp.where(lo >= 0, 1.0, jnp.where(hi <= 0, 0.0, hi / span))
    mean = jnp.where(lo >= 0, 0.5 * (a0 + a1), 0.5 * hi)
    return width * frac * mean, width * frac, frac, jnp.where(crossing, width / span, 0.0)


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
        breaks = list(jnp.sort(jnp.clip(jnp.stack(breaks), 0.0, 1.0))) if breaks else []
        # labour profiles are continuous: one value per node, nudged off the singular ends 0 and 1;
        # ln(1 - i) and ln i are tabulated at the uniform nodes
        nudge = options.edge_offset / n

        def labour_logs(i, xp):
            i = xp.clip(i, nudge, 1.0 - nudge)
            return xp.log1p(-i), xp.log(i)

        nodes, log_1m, log_i = merged_nodes(n, breaks, labour_logs)
        left, right = nodes[:-1], nodes[1:]
        width = right - left
        labour = [jnp.log(economy.A_L) + economy.eta * log_1m, jnp.log(economy.A_H) + economy.eta * log_i]
        # technologies may jump at nodes: one-sided values inside each cell
        offset = options.edge_offset * width
        tech_left = log_productivity_columns(economy, technologies, left + offset)[2:]
        tech_right = log_productivity_columns(economy, technologies, right - offset)[2:]
        log_prices = [jnp.log(jnp.asarray(t.F, dtype=jnp.float64)) for t in technologies]
        ell_left = [labour[L_INDEX][:-1], labour[H_INDEX][:-1]] + tech_left
        ell_right = [labour[L_INDEX][1:], labour[H_INDEX][1:]] + tech_right
        # what locates a point's cell without a search: the uniform step, the breakpoints, and the cuts
        self._n = n
        self._breaks = breaks
        self._searched = len(breaks) > MERGE_BY_COUNTING
        self._cuts = None
        self._before = None
        if len(technologies) >= 2:
            left, right, ell_left, ell_right, self._cuts = self._split_where_technologies_cross(left, right, ell_left, ell_right, log_prices)
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
        self.tech_factor = 2 + argmin(mid) if mid else jnp.zeros(width.shape, dtype=jnp.int32)
        has_tech = jnp.isfinite(self.T_left) & jnp.isfinite(self.T_right)
        # models beat L where x > E_L, H where ln W_H > E_H; H beats L where ℓ_H - ℓ_L > ln(W_H/W_L).
        # Where no technology can work, D is a finite number no log wage reaches, so that the
        # evaluation needs no mask: the models' terms there are exact zeros.
        sides = ((self.T_left, ell_left), (self.T_right, ell_right))
        self.E_L, self.E_H = (tuple(jnp.where(has_tech, T + ell[k], _OUT_OF_REACH) for T, ell in sides) for k in (L_INDEX, H_INDEX))
        self.gap = (ell_left[H_INDEX] - ell_left[L_INDEX], ell_right[H_INDEX] - ell_right[L_INDEX])

    @staticmethod
    def _split_where_technologies_cross(left, right, ell_left, ell_right, log_prices):
        """Cut each cell in two where the cheapest technology changes (at its middle if it does not); also returns the cuts."""
        cost_l, cost_r = _tech_costs(log_prices, ell_left[2:], ell_right[2:])
        f, g = argmin(cost_l), argmin(cost_r)
        d0 = pick(cost_l, f) - pick(cost_l, g)
        d1 = pick(cost_r, f) - pick(cost_r, g)
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
        return new_left, new_right, new_ell_left, new_ell_right, mid

    # -- the interpolant (verification and plots) -----------------------------------------
    def _cell_of(self, points):
        """Index of the cell holding each point (the last one whose left node is <= the point).

        Counted directly: the uniform nodes k/n <= p, plus the breakpoints <= p, plus, where cells
        were cut in two, whether p is past the cut (a binary search would be a loop of about
        log2(n) steps for every call, and the verification makes dozens of calls).
        """
        if self._searched:
            return cell_of_reference(points, self.nodes)
        return cell_of(points, self._n, self._breaks, self._cuts)

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

    def _whole_cells_before(self, boundaries):
        """The cell of each boundary and, per factor, the sums over the cells before it of the
        factor's whole-cell integrals (and, for a technology, of its unusable cells, as a count).

        Columns are paired as the two parts of complex numbers (L with H, each technology's
        integrals with its count), which halves the passes over the cells (about 10% of the
        route's time).  Kept for the last ``boundaries``: the verification asks for every factor.
        """
        if self._before is not None and self._before[0] is boundaries:
            return self._before[1]
        wholes, unusable = [], []
        for lo, hi in zip(self.ell_left, self.ell_right):
            ok = jnp.isfinite(lo) & jnp.isfinite(hi)
            wholes.append(jnp.where(ok, self.width * 0.5 * (lo + hi), 0.0))
            unusable.append(((~ok) & (self.width > 0)).astype(jnp.float64))
        j = self._cell_of(boundaries)
        pairs = [(wholes[L_INDEX], wholes[H_INDEX])] + list(zip(wholes[2:], unusable[2:]))
        sums_ = paired_sums_before(j, pairs)
        before = list(sums_[0]) + sums_[1:]
        self._before = (boundaries, (j, before))
        return j, before

    def integrate_segments(self, k, boundaries):
        """∫ of the interpolant of ℓ_k over each segment of nondecreasing ``boundaries`` (S+1,): shape (S,).

        From sums over the whole cells before each boundary plus the partial cells at the ends;
        -inf where the factor cannot work somewhere in the segment.
        """
        lo, hi = self.ell_left[k], self.ell_right[k]
        j, before = self._whole_cells_before(boundaries)
        w = self.width[j]
        into = boundaries - self.left[j]
        tau = jnp.where(w > 0, into / jnp.where(w > 0, w, 1.0), 0.0)
        lo_j, hi_j = lo[j], hi[j]
        ok_j = jnp.isfinite(lo_j) & jnp.isfinite(hi_j)
        partial = into * (lo_j + 0.5 * tau * (hi_j - lo_j))
        if k in (L_INDEX, H_INDEX):  # labour is usable everywhere
            running = before[k] + partial
            return jnp.where(boundaries[1:] > boundaries[:-1], jnp.diff(running), 0.0)
        before, bad_before = before[k]
        running = before + jnp.where(ok_j, partial, 0.0)
        bad_so_far = bad_before + ((~ok_j) & (into > 0))
        value = jnp.where(jnp.diff(bad_so_far) > 0, -jnp.inf, jnp.diff(running))
        return jnp.where(boundaries[1:] > boundaries[:-1], value, 0.0)

    # -- the assignment at given wages ----------------------------------------------------------
    def _parts(self, x, theta):
        """Per cell: the fraction τ* performed by labour L rather than H, and the L and H parts' model terms.

        Returns τ* and, for each part, (∫ (wage - D)_+, models' measure, fraction of the part used
        by models, and whether models sit at the part's start) — all of shape (C,).
        """
        log_W_H = x + theta
        g0, g1 = self.gap
        rising = g1 > g0
        tau_star = jnp.where(rising, jnp.clip((theta - g0) / jnp.where(rising, g1 - g0, 1.0), 0.0, 1.0), jnp.where(theta >= g0, 1.0, 0.0))
        w = self.width
        dl0, dl1 = self.E_L[0], _lerp(self.E_L[0], self.E_L[1], tau_star)
        dh0, dh1 = _lerp(self.E_H[0], self.E_H[1], tau_star), self.E_H[1]
        psi_L, mu_L, frac_L, slope_L = _positive_part(x - dl0, x - dl1, w * tau_star)
        psi_H, mu_H, frac_H, slope_H = _positive_part(log_W_H - dh0, log_W_H - dh1, w * (1.0 - tau_star))
        return tau_star, (psi_L, mu_L, frac_L, dl0 <= dl1, slope_L, x > dl1), (psi_H, mu_H, frac_H, dh0 <= dh1, slope_H, log_W_H > dh0)

    def measures(self, x, theta) -> Measures:
        """[M4]'s integral φ = ∫ ln p and the task measures s_L, s_H at log wages (x, x + θ), on this grid."""
        return Measures(*self.evaluate_with_slopes(x, theta)[:3])

    def evaluate(self, x, theta):
        """(φ, s_L, s_H) at log wages (x, x + θ): :meth:`measures` as a plain tuple."""
        return self.evaluate_with_slopes(x, theta)[:3]

    def evaluate_with_slopes(self, x, theta):
        """:meth:`evaluate` and the slopes of s_L and s_H in (x, θ), in the same pass over the cells.

        Within a cell, in its own coordinate τ, the L/H cut τ* moves with θ at
        1/(g1 - g0), and the models' measure on a part moves with the wage at
        (part width)/|change of D across it| where D crosses it; at the cut a
        part gains or loses labour unless models work there.
        Returns (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ).
        """
        tau_star, (psi_L, mu_L, _, _, slope_L, models_at_cut_L), (psi_H, mu_H, _, _, slope_H, models_at_cut_H) = self._parts(x, theta)
        w = self.width
        # labour's own log costs, integrated exactly over the L and H parts (linear profiles)
        ell_L_cut = _lerp(self.ell_left[L_INDEX], self.ell_right[L_INDEX], tau_star)
        ell_H_cut = _lerp(self.ell_left[H_INDEX], self.ell_right[H_INDEX], tau_star)
        w_L, w_H = w * tau_star, w * (1.0 - tau_star)
        labour_cost = w_L * (x - 0.5 * (self.ell_left[L_INDEX] + ell_L_cut)) + w_H * (x + theta - 0.5 * (ell_H_cut + self.ell_right[H_INDEX]))
        g0, g1 = self.gap
        moving = (g1 > g0) & (tau_star > 0) & (tau_star < 1)
        cut_speed = jnp.where(moving, w / jnp.where(g1 > g0, g1 - g0, 1.0), 0.0)  # d(w τ*)/dθ
        return sums(
            labour_cost - psi_L - psi_H,
            w_L - mu_L,
            w_H - mu_H,
            -slope_L,
            jnp.where(models_at_cut_L, 0.0, cut_speed),
            -slope_H,
            -(jnp.where(models_at_cut_H, 0.0, cut_speed) + slope_H),
        )

    def segments(self, x, theta, max_segments: int):
        """Task assignment at log wages (x, x + θ) as fixed-size (boundaries, factors) arrays.

        Each cell holds up to four pieces: its L part split between L and the
        models, then its H part split between the models and H.
        """
        tau_star, (_, _, frac_L, models_first_L, _, _), (_, _, frac_H, models_first_H, _, _) = self._parts(x, theta)
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
        # the k-th change (k = 1 .. max_segments - 1) lies in the cell where the running count of
        # changes per cell first reaches k (a running sum over cells and a binary search: much
        # cheaper on CPU than nonzero's scatter); its rank within that cell picks the piece
        per_cell = functools.reduce(jnp.add, [c.astype(jnp.int32) for c in change])
        running = jax.lax.associative_scan(jnp.add, per_cell)
        k = jnp.arange(1, max_segments)
        cell = jnp.searchsorted(running, k, side="left")
        valid = cell < per_cell.shape[0]
        cell = jnp.minimum(cell, per_cell.shape[0] - 1)
        rank = k - (running[cell] - per_cell[cell])
        position, label, seen = jnp.ones(k.shape), jnp.full(k.shape, UNUSED), jnp.zeros(k.shape, dtype=jnp.int32)
        for c, start, lab in zip(change, starts, effective):
            c = c[cell]
            seen = seen + c
            hit = c & (seen == rank)
            position = jnp.where(hit, self.left[cell] + start[cell] * self.width[cell], position)
            label = jnp.where(hit, lab[cell], label)
        boundaries = jnp.concatenate([jnp.zeros(1), jnp.where(valid, position, 1.0), jnp.ones(1)])
        factors = jnp.concatenate([effective[0][:1], jnp.where(valid, label, UNUSED)]).astype(jnp.int32)
        return boundaries, factors


def solve_discretized(economy, technologies=(), options: DiscretizedOptions = DiscretizedOptions()) -> Equilibrium:
    """Equilibrium of an economy with any number of technologies, on a task grid.

    Parameters are pytrees, so this function vmaps over a batch of economies
    and technologies.  Returns a verified :class:`Equilibrium` whose residuals
    refer to the discretised profiles; its ``error`` adds the grid's distance from the
    continuous model (:func:`discretisation_error`) to the rounding (:func:`conditioning_error`).
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
    log_supply_ratio = residuals.log_supply_ratio(e)

    def solver(evaluate):
        if options.strategy == "newton":
            return make_newton_solver(evaluate, log_supply_ratio, options.n_outer, NEWTON_MAX_STEP)
        return make_nested_solver(evaluate, log_supply_ratio, options.n_outer, options.n_inner)

    if options.coarse_start and options.n_tasks >= 4 * COARSE_TASKS:
        # the solution on a coarse grid differs from the fine one by O(h²): a few quadratically
        # convergent Newton steps on the fine grid close the gap
        coarse = Grid(e, technologies, dataclasses.replace(options, n_tasks=COARSE_TASKS))
        x_b, theta_b = solver(coarse.evaluate_with_slopes)(x_b, theta_b, theta_lo, theta_hi)
        # a retry (nested strategy) takes twice the steps: its points include those whose coarse
        # solution is far from the fine one, such as a labour share narrower than a coarse cell
        steps = min(options.n_outer, REFINE_STEPS if options.strategy == "newton" else 2 * REFINE_STEPS)
        solve = make_newton_solver(grid.evaluate_with_slopes, log_supply_ratio, steps)
    else:
        solve = solver(grid.evaluate_with_slopes)
    x, theta = solve(x_b, theta_b, theta_lo, theta_hi)
    boundaries, factors = grid.segments(x, theta, options.max_segments)
    ok = economy_admissible(e)
    for t in technologies:
        ok = ok & admissible(t, ("F",))
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    evaluated = grid.evaluate_with_slopes(x, theta)
    error = (conditioning_error(grid, e, x, theta, boundaries, factors, evaluated)
             + discretisation_error(grid, e, technologies, x, theta, boundaries, factors, evaluated, options.n_tasks))
    return finalize(e, technologies, x, x + theta, boundaries, factors, status, error=error, log_prod=grid.log_prod_columns,
                    integrate=grid.integrate_segments, check=options.check, accuracy=options.accuracy)


def conditioning_error(grid: Grid, economy, x, theta, boundaries, factors, evaluated=None):
    """:func:`simulator.residuals.error_estimate` on the grid's own profiles at (x, θ) with the segments
    (``boundaries``, ``factors``): rounding and what the residuals leave, amplified by the
    conditioning (not the discretisation error).  Positions on the grid are plain numbers in [0, 1].
    ``evaluated``: :meth:`Grid.evaluate_with_slopes` at (x, θ), when already computed."""
    measures, slopes = residuals.split(grid.evaluate_with_slopes(x, theta) if evaluated is None else evaluated)
    size = [jnp.max(jnp.where(jnp.isfinite(v), jnp.abs(v), 0.0)) for v in (grid.ell_left[L_INDEX], grid.ell_left[H_INDEX], grid.T_left)]
    phi_scale = jnp.abs(x) + jnp.abs(theta) + sum(size)
    return residuals.error_estimate(measures, slopes, theta, residuals.log_supply_ratio(economy), phi_scale,
                                    residuals.position_rounding(boundaries, factors, L_INDEX, complements=False),
                                    residuals.position_rounding(boundaries, factors, H_INDEX, complements=False))


def discretisation_error(grid: Grid, economy, technologies, x, theta, boundaries, factors, evaluated, n_tasks: int):
    """Estimated relative error of W_L, W_H, W_H/W_L and Y from the grid's interpolation of the
    profiles (one point; the largest of the four).

    The residual of the continuous model at the grid's solution, to first order: [M4] with the
    exact integrals of the profiles over the grid's segments, and [M5] with each switch point moved
    to where the exact profiles cross (one Newton step along the task line, with exact slopes;
    boundaries at breakpoints stay).  The wages then move by −J⁻¹ r (J: the grid's Jacobian, as
    in :func:`simulator.residuals.error_estimate`), and output with them and with the measures of
    labour's tasks.  The result is :data:`DISCRETISATION_SAFETY` times the largest change.
    A kind of labour with positive measure below :data:`SLIVER_CELLS` cells that ends at a switch
    point is not resolved by the grid; nor is a switch point that moves by more than a quarter of
    the narrower segment beside it (the first-order step is then out of its range): the estimate
    is then infinite.

    ``boundaries`` (S+1,), ``factors`` (S,): the grid's segments (:meth:`Grid.segments`);
    ``evaluated``: :meth:`Grid.evaluate_with_slopes` at (x, θ).  Returns a scalar.
    """
    measures, slopes = residuals.split(evaluated)
    n_factors = 2 + len(technologies)
    b = boundaries
    inner = b[1:-1]
    left_f, right_f = factors[:-1], factors[1:]
    breaks = jnp.stack([jnp.asarray(p, dtype=jnp.float64) for p in grid._breaks]) if grid._breaks else jnp.zeros((0,))
    at_break = jnp.any(inner[:, None] == breaks[None, :], axis=1) if grid._breaks else jnp.zeros(inner.shape, dtype=bool)
    switch = (right_f != UNUSED) & (left_f != right_f) & (inner > 0.0) & (inner < 1.0) & ~at_break
    # exact log productivities and their slopes at the switch points: (K, S - 1)
    ell, slope = jax.jvp(lambda i: jnp.stack(log_productivity_columns(economy, technologies, i)), (inner,), (jnp.ones_like(inner),))
    log_prices = jnp.stack([x, x + theta] + [jnp.log(jnp.asarray(t.F, dtype=jnp.float64)) for t in technologies])
    fl, fr = jnp.clip(left_f, 0, n_factors - 1), jnp.clip(right_f, 0, n_factors - 1)
    cols = jnp.arange(inner.shape[0])
    # cost of the left factor less that of the right one; it rises through zero at the true switch
    gap = (log_prices[fl] - ell[fl, cols]) - (log_prices[fr] - ell[fr, cols])
    rate = slope[fr, cols] - slope[fl, cols]
    move = jnp.where(switch, -gap / jnp.where(switch, rate, 1.0), 0.0)
    # the left factor gains the move, the right one loses it
    gain = [jnp.sum(jnp.where(left_f == k, move, 0.0)) - jnp.sum(jnp.where(right_f == k, move, 0.0)) for k in range(n_factors)]
    widths = jnp.where(factors != UNUSED, jnp.diff(b), 0.0)
    shares = [jnp.sum(jnp.where(factors == k, widths, 0.0)) for k in range(n_factors)]
    exact = [jnp.sum(jnp.where(factors == k, integrate_over_segments(economy, technologies, k, b), 0.0)) for k in range(n_factors)]
    r4 = sum(s * log_prices[k] - exact[k] for k, s in enumerate(shares))
    s_L, s_H = measures.s_L, measures.s_H
    r5 = residuals.residual(measures, theta, residuals.log_supply_ratio(economy))[1] + jnp.log1p(gain[L_INDEX] / s_L) - jnp.log1p(gain[H_INDEX] / s_H)
    row_x, row_t, _ = residuals.inverse_rows(s_L, s_H, slopes)
    dx = -(row_x[0] * r4 + row_x[1] * r5)
    dt = -(row_t[0] * r4 + row_t[1] * r5)
    # ln Y = ln(W_L L + W_H H) − ln(s_L + s_H)
    total = s_L + s_H
    w_H = s_H / total
    d_total = gain[L_INDEX] + gain[H_INDEX] + (slopes.dsL_dx + slopes.dsH_dx) * dx + (slopes.dsL_dtheta + slopes.dsH_dtheta) * dt
    dy = dx + w_H * dt - jnp.log1p(d_total / total)
    worst = jnp.max(jnp.abs(jnp.stack([dx, dt, dx + dt, dy])))
    # what the grid cannot resolve
    cell = 1.0 / n_tasks
    free_end = jnp.concatenate([jnp.zeros(1, dtype=bool), switch, jnp.zeros(1, dtype=bool)])
    seg_free = free_end[:-1] | free_end[1:]
    sliver = functools.reduce(jnp.logical_or, [(shares[k] > 0) & (shares[k] < SLIVER_CELLS * cell) & jnp.any(seg_free & (factors == k))
                                               for k in (L_INDEX, H_INDEX)])
    beside = jnp.minimum(widths[:-1], widths[1:])
    too_far = jnp.any(switch & (jnp.abs(move) > 0.25 * beside))
    error = DISCRETISATION_SAFETY * jnp.expm1(worst)
    return jnp.where(sliver | too_far | jnp.isnan(error), jnp.inf, error)


def residual(economy, technologies, x, theta, options: DiscretizedOptions = DiscretizedOptions()):
    """(r_M4, r_M5) of the general route at log wages (x, x + θ): [M4]-[M5] on the grid of ``options``
    (see :func:`simulator.residuals.residual`).  Scalars (one point)."""
    grid = Grid(economy, tuple(technologies), options)
    return residuals.residual(grid.measures(x, theta), theta, residuals.log_supply_ratio(economy))


def measures(economy, technologies, x, theta, options: DiscretizedOptions = DiscretizedOptions()) -> Measures:
    """φ = ∫ ln p and the task measures s_L, s_H at log wages (x, x + θ) on the grid of ``options``."""
    return Grid(economy, tuple(technologies), options).measures(x, theta)


def assignment(economy, technologies, x, theta, options: DiscretizedOptions = DiscretizedOptions()):
    """The task assignment at log wages (x, x + θ) as (boundaries (S+1,), factors (S,)), S = ``options.max_segments``
    (factor 0 = L, 1 = H, 2 + j = technology j, -1 = unused)."""
    return Grid(economy, tuple(technologies), options).segments(x, theta, options.max_segments)


def log_wages(economy, technologies, options: DiscretizedOptions = DiscretizedOptions()):
    """(x, θ) = (ln W_L, ln(W_H/W_L)) of :func:`solve_discretized`'s equilibrium, shape (2,), NaN where it
    has none (neither ``ok`` nor ``ill_conditioned``: the grid's solution does not depend on the accuracy
    asked for); differentiable in the parameters through :func:`residual` (implicit function theorem,
    :func:`simulator.residuals.implicit_solution`)."""
    technologies = tuple(technologies)
    checked = dataclasses.replace(options, check=True)

    def solve(p):
        eq = solve_discretized(p[0], p[1], checked)
        ok = (eq.status == Status.OK) | (eq.status == Status.ILL_CONDITIONED)  # the grid's own solution either way
        return jnp.stack([jnp.where(ok, jnp.log(eq.W_L), jnp.nan), jnp.where(ok, jnp.log(eq.W_H) - jnp.log(eq.W_L), jnp.nan)])

    def residual_at(z, p):
        return jnp.stack(residual(p[0], p[1], z[0], z[1], options))

    return residuals.implicit_solution(solve, residual_at)((economy, technologies))
