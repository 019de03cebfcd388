"""General route: any profiles and several technologies on a discretised task line.

The task line [0, 1] is cut into cells at ``n_tasks`` equal steps plus every
breakpoint the technologies declare (data-window edges, jumps of a profile),
so discontinuities sit on nodes.  In each cell every factor's log productivity
ℓ_k is linear between its one-sided end values.  The cheapest factor at each
end of a cell is found; where the two differ, the switch point is placed
inside the cell where the two log-cost lines cross.  Integrals of the
piecewise-linear log costs are exact, so switch points and integrals carry
an O(h²) error and the solution converges at second order in the cell width.
Up to three factors can share a cell (a third that undercuts the two end
factors where they cross); a fourth inside one cell is missed, which the
no-arbitrage residual then reports.

The wages solve the same conditions as the semi-analytic route (see
:func:`simulator.rootfind.make_nested_solver`), with the numeraire integral
and the task measures computed from the cells.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from .analytic import benchmark_log_wage, benchmark_threshold, economy_admissible
from .equilibrium import UNUSED, Equilibrium, finalize
from .factors import log_productivities
from .rootfind import make_nested_solver, make_newton_solver
from .status import Status


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


class Grid:
    """Cell nodes and one-sided log productivities of every factor (one point)."""

    def __init__(self, economy, technologies, options: DiscretizedOptions):
        breaks = [jnp.asarray(b, dtype=jnp.float64) for t in technologies for b in t.breakpoints()]
        uniform = jnp.linspace(0.0, 1.0, options.n_tasks + 1)
        nodes = jnp.concatenate([uniform] + [jnp.clip(b, 0.0, 1.0)[None] for b in breaks]) if breaks else uniform
        self.nodes = jnp.sort(nodes)
        self.left, self.right = self.nodes[:-1], self.nodes[1:]
        self.width = self.right - self.left
        offset = options.edge_offset * self.width
        self.ell_left = log_productivities(economy, technologies, self.left + offset)  # (C, K)
        self.ell_right = log_productivities(economy, technologies, self.right - offset)
        self.n_factors = self.ell_left.shape[-1]

    # -- the interpolant ------------------------------------------------------------
    def _cell_of(self, points):
        j = jnp.searchsorted(self.nodes, points, side="right") - 1
        return jnp.clip(j, 0, self.width.shape[0] - 1)

    def log_prod(self, points):
        """Piecewise-linear ℓ_k at ``points``: shape ``points.shape + (K,)``."""
        j = self._cell_of(points)
        w = self.width[j]
        tau = jnp.where(w > 0, (points - self.left[j]) / jnp.where(w > 0, w, 1.0), 0.0)
        lo, hi = self.ell_left[j], self.ell_right[j]
        value = lo + tau[..., None] * (hi - lo)
        return jnp.where(jnp.isfinite(lo) & jnp.isfinite(hi), value, -jnp.inf)

    def log_prod_columns(self, points):
        """:meth:`log_prod` as one array per factor."""
        value = self.log_prod(points)
        return [value[..., k] for k in range(self.n_factors)]

    def integrate(self, k, p, q):
        """∫_p^q of the interpolant of ℓ_k (exact for piecewise-linear), elementwise over ``p``, ``q``."""
        p, q = jnp.asarray(p)[..., None], jnp.asarray(q)[..., None]
        a = jnp.maximum(p, self.left)
        b = jnp.minimum(q, self.right)
        overlap = jnp.maximum(b - a, 0.0)
        w = jnp.where(self.width > 0, self.width, 1.0)
        mid_tau = (0.5 * (a + b) - self.left) / w
        lo, hi = self.ell_left[:, k], self.ell_right[:, k]
        value = lo + mid_tau * (hi - lo)
        return jnp.sum(jnp.where(overlap > 0, overlap * value, 0.0), axis=-1)

    # -- the assignment ---------------------------------------------------------------
    def assign(self, log_wages):
        """Lower envelope of the factors' log-cost lines in every cell.

        Each cell is split into up to three pieces, f on [0, τ₁], m on [τ₁, τ₂]
        and g on [τ₂, 1] (fractions of the cell): f and g are the cheapest
        factors at the cell's ends, and m a third factor that undercuts both
        where they cross.  Returns (f, m, g, τ₁, τ₂, U, V) with U, V the log
        costs of every factor at the cell ends.
        """
        U = log_wages - self.ell_left  # (C, K) log unit costs, +inf where unavailable
        V = log_wages - self.ell_right
        # a factor unavailable at either end of a cell is unavailable in all of it (as in the interpolant)
        available = jnp.isfinite(U) & jnp.isfinite(V)
        U = jnp.where(available, U, jnp.inf)
        V = jnp.where(available, V, jnp.inf)
        take = lambda M, f: jnp.take_along_axis(M, f[:, None], axis=-1)[:, 0]  # noqa: E731

        def crossing(f, g):
            d0, d1 = take(U, f) - take(U, g), take(V, f) - take(V, g)
            tau = d0 / (d0 - d1)
            return jnp.where(jnp.isfinite(tau), jnp.clip(tau, 0.0, 1.0), 0.5)

        f = jnp.argmin(U, axis=-1)
        g = jnp.argmin(V, axis=-1)
        same = f == g
        tau = jnp.where(same, 1.0, crossing(f, g))
        at_tau = U + tau[:, None] * (V - U)  # every factor's cost where f and g cross
        at_tau = jnp.where(jnp.isnan(at_tau), jnp.inf, at_tau)
        m = jnp.argmin(at_tau, axis=-1)
        c_fg = jnp.where(jnp.isfinite(take(V, f)), take(at_tau, f), take(at_tau, g))
        middle = (~same) & (m != f) & (m != g) & (take(at_tau, m) < c_fg)
        tau1 = jnp.where(middle, jnp.minimum(crossing(f, m), tau), tau)
        tau2 = jnp.where(middle, jnp.maximum(crossing(m, g), tau), tau)
        m = jnp.where(middle, m, g)
        return f, m, g, tau1, tau2, U, V

    def _pieces(self, log_wages):
        f, m, g, tau1, tau2, U, V = self.assign(log_wages)
        take = lambda M, k: jnp.take_along_axis(M, k[:, None], axis=-1)[:, 0]  # noqa: E731
        w = self.width
        pieces = []
        for k, a, b in ((f, jnp.zeros_like(tau1), tau1), (m, tau1, tau2), (g, tau2, jnp.ones_like(tau2))):
            u, v = take(U, k), take(V, k)
            width = w * (b - a)
            # average of the factor's (linear) log cost over the piece
            mean = jnp.where(jnp.isfinite(v), u + 0.5 * (a + b) * (v - u), u)
            pieces.append((k, width, mean, a))
        return pieces

    def evaluate(self, log_wages):
        """Numeraire integral ∫ ln p and the task measure of every factor."""
        ks = jnp.arange(self.n_factors)
        phi = 0.0
        measures = jnp.zeros(self.n_factors)
        for k, width, mean, _ in self._pieces(log_wages):
            phi = phi + jnp.sum(jnp.where(width > 0, width * mean, 0.0))
            measures = measures + jnp.sum(width[:, None] * (k[:, None] == ks), axis=0)
        return phi, measures

    def segments(self, log_wages, max_segments: int):
        """Task assignment as fixed-size (boundaries, factors) arrays."""
        f, m, g, tau1, tau2, _, _ = self.assign(log_wages)
        at_node = jnp.concatenate([jnp.zeros(1, dtype=bool), g[:-1] != f[1:]])
        pos = jnp.stack([self.left, self.left + tau1 * self.width, self.left + tau2 * self.width], axis=1).reshape(-1)
        after = jnp.stack([f, m, g], axis=1).reshape(-1)
        mask = jnp.stack([at_node, f != m, m != g], axis=1).reshape(-1)
        (idx,) = jnp.nonzero(mask, size=max_segments - 1, fill_value=pos.shape[0])
        valid = idx < pos.shape[0]
        safe = jnp.minimum(idx, pos.shape[0] - 1)
        boundaries = jnp.concatenate([jnp.zeros(1), jnp.where(valid, pos[safe], 1.0), jnp.ones(1)])
        factors = jnp.concatenate([f[:1], jnp.where(valid, after[safe], UNUSED)]).astype(jnp.int32)
        return boundaries, factors


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
    tech_log_prices = [jnp.log(jnp.asarray(t.F, dtype=jnp.float64)) for t in technologies]

    def log_wages(x, theta):
        return jnp.stack([x, x + theta] + tech_log_prices)

    def evaluate(x, theta):
        phi, measures = grid.evaluate(log_wages(x, theta))
        return phi, measures[0], measures[1]

    # No finite equilibrium if models alone produce every task at unit cost < 1.
    if technologies:
        U = jnp.stack(tech_log_prices) - grid.ell_left[:, 2:]
        V = jnp.stack(tech_log_prices) - grid.ell_right[:, 2:]
        models_only = jnp.sum(grid.width * 0.5 * (jnp.min(U, axis=-1) + jnp.min(V, axis=-1)))
        unbounded = jnp.isfinite(models_only) & (models_only <= 0)
    else:
        unbounded = jnp.asarray(False)

    I_b, theta_b = benchmark_threshold(e)
    x_b = benchmark_log_wage(e, I_b, theta_b)
    both = jnp.isfinite(grid.ell_left[:, 0]) & jnp.isfinite(grid.ell_left[:, 1])
    ratio = jnp.where(both, grid.ell_left[:, 1] - grid.ell_left[:, 0], jnp.nan)
    theta_lo = jnp.minimum(jnp.nanmin(ratio), theta_b) - 200.0
    theta_hi = jnp.maximum(jnp.nanmax(ratio), theta_b) + 200.0
    if options.strategy == "newton":
        solve = make_newton_solver(evaluate, jnp.log(e.H) - jnp.log(e.L), options.n_outer)
    else:
        solve = make_nested_solver(evaluate, jnp.log(e.H) - jnp.log(e.L), options.n_outer, options.n_inner)
    x, theta = solve(x_b, theta_b, theta_lo, theta_hi)
    boundaries, factors = grid.segments(log_wages(x, theta), options.max_segments)
    ok = economy_admissible(e)
    for t in technologies:
        ok = ok & (t.F > 0)
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    return finalize(e, technologies, x, x + theta, boundaries, factors, status, log_prod=grid.log_prod_columns,
                    integrate=lambda k, b: grid.integrate(k, b[:-1], b[1:]))
