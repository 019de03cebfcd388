"""The equilibrium conditions [M4]-[M5] of ``docs/model.md``, written once, and the implicit derivative of their root.

Every route reduces the equilibrium to two unknowns, the log wages x and θ, and
evaluates, for given (x, θ), the assignment [M1]-[M2] and what [M4]-[M5] need
from it: the numeraire integral φ and the task measures of the two kinds of
labour.  Each route has one public function that does so:

=================================================  =====================================  ==========
route                                              measures at (x, θ)                     residual
=================================================  =====================================  ==========
benchmark (L | H)                                  :func:`simulator.analytic.benchmark_measures`   :func:`simulator.analytic.benchmark_residual`
traditional AI (M | L | H)                         :func:`simulator.analytic.traditional_measures` :func:`simulator.analytic.traditional_residual`
scaling-law LLM on its window                      :func:`simulator.analytic.llm_measures`         :func:`simulator.analytic.llm_residual`
general (any profiles and technologies, a grid)    :meth:`simulator.discretized.Grid.measures`     :func:`simulator.discretized.residual`
=================================================  =====================================  ==========

and this module turns measures into the residuals (:func:`residual`), their
Jacobian for Newton steps (:func:`jacobian`), and a root into a differentiable
solution (:func:`implicit_solution`).

Symbols (paper: "Large Language Models at Work in China's Labor Market"):

==============  ====================  ===========================================================
code            symbol                meaning
==============  ====================  ===========================================================
``x``           x = ln W_L            log wage of low-skill labour
``theta``       θ = ln(W_H/W_L)       log skill premium, (15)
``phi``         φ = ∫₀¹ ln p(i) di    log unit cost of the final good; [M4] is φ = 0
``s_L, s_H``    s_L, s_H              measures of the tasks L and H perform = income shares, [M3], (10)-(11)
``r_M4``        φ                     numeraire residual [M4], in logs
``r_M5``        g(θ)                  relative labour-market residual [M5]:
                                      θ + ln H − ln L + ln s_L − ln s_H
``slopes``      ∂s/∂(x, θ)            (∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ)
==============  ====================  ===========================================================

Shapes: every quantity here is a scalar per equilibrium (the routes solve one
point and are ``vmap``-ped over batches), so each function works elementwise
over any batch shape.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp


class Measures(NamedTuple):
    """What [M4]-[M5] need from the assignment at log wages (x, θ)."""

    phi: Any  #: ∫ ln p, [M4]
    s_L: Any  #: measure of L's tasks, [M3]
    s_H: Any  #: measure of H's tasks, [M3]


class Slopes(NamedTuple):
    """Slopes of the task measures in the log wages (x, θ)."""

    dsL_dx: Any
    dsL_dtheta: Any
    dsH_dx: Any
    dsH_dtheta: Any


def log_supply_ratio(economy):
    """ln H − ln L, the constant of [M5]."""
    return jnp.log(economy.H) - jnp.log(economy.L)


def m5(theta, s_L, s_H, log_supply_ratio):
    """[M5]: g(θ) = θ + ln H − ln L + ln(s_L / s_H), with ``log_supply_ratio`` = ln H − ln L.

    One log of the ratio, not two logs: the same to rounding, and cheaper inside Newton steps.
    """
    return theta + log_supply_ratio + jnp.log(s_L / s_H)


def residual(measures: Measures, theta, log_supply_ratio):
    """(r_M4, r_M5): the numeraire [M4] and relative labour-market [M5] residuals from the measures at (x, θ)."""
    return measures.phi, m5(theta, measures.s_L, measures.s_H, log_supply_ratio)


def log_ratio_slopes(s_L, s_H, slopes: Slopes):
    """∂/∂x and ∂/∂θ of h = ln s_L − ln s_H."""
    return slopes.dsL_dx / s_L - slopes.dsH_dx / s_H, slopes.dsL_dtheta / s_L - slopes.dsH_dtheta / s_H


def jacobian(s_L, s_H, slopes: Slopes):
    """∂(r_M4, r_M5)/∂(x, θ) as ((a11, a12), (a21, a22)).

    ∂φ/∂x = s_L + s_H and ∂φ/∂θ = s_H by the envelope theorem (φ is a sum of minima of functions
    linear in the log wages); the second row from the slopes of the measures.
    """
    dh_dx, dh_dt = log_ratio_slopes(s_L, s_H, slopes)
    return (s_L + s_H, s_H), (dh_dx, 1.0 + dh_dt)


def inverse_rows(s_L, s_H, slopes: Slopes):
    """The rows of J⁻¹ (J: :func:`jacobian`) for x and for θ, and det J.

    A residual r = (r_M4, r_M5) left at a root moves it by δx = −row_x · r and δθ = −row_θ · r.
    """
    (a11, a12), (a21, a22) = jacobian(s_L, s_H, slopes)
    det = a11 * a22 - a12 * a21
    return (a22 / det, -a12 / det), (-a21 / det, a11 / det), det


def split(evaluated):
    """A route's ``(φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ)`` as (:class:`Measures`, :class:`Slopes`)."""
    return Measures(*evaluated[:3]), Slopes(*evaluated[3:7])


def implicit_solution(solve: Callable, residual_fn: Callable):
    """A root z(p) of ``residual_fn(z, p) = 0`` (shape (n,)), differentiable in the parameters p (any pytree).

    ``solve(p) -> z`` finds the root (its own iterations are not differentiated); the derivative
    comes from the implicit function theorem, dz = −(∂r/∂z)⁻¹ (∂r/∂p) dp, with both Jacobians of
    ``residual_fn`` by forward-mode autodiff at the root.  Used by the engine's routes
    (:func:`simulator.analytic.scaling_llm_log_wages`, :func:`simulator.discretized.log_wages`)
    and by calibration.
    """

    @jax.custom_jvp
    def solution(p):
        return solve(jax.lax.stop_gradient(p))

    @solution.defjvp
    def _solution_jvp(primals, tangents):
        (p,), (dp,) = primals, tangents
        z = solution(p)
        J_z = jax.jacfwd(residual_fn, argnums=0)(z, p)
        _, r_dot = jax.jvp(lambda q: residual_fn(z, q), (p,), (dp,))
        return z, -jnp.linalg.solve(J_z, r_dot)

    return solution



#: Unit roundoff of float64.
EPS = 2.0 ** -53
#: Rounding in a computed residual, in units of the roundoff times the size of the terms summed:
#: an allowance for the dozen or so operations each term takes.
ROUNDING_ULPS = 16.0


def position_rounding(boundaries, factors, k, complements: bool = True):
    """How well factor ``k``'s measure of tasks is known, in units of the roundoff: the sum of its
    segments' end positions, each as the distance to the nearer end of [0, 1] when the route computes
    narrow segments there from complements (``complements``), else as the position itself.

    ``boundaries`` (S+1,), ``factors`` (S,) as in :class:`~simulator.equilibrium.Equilibrium`.
    """
    b0, b1 = boundaries[:-1], boundaries[1:]
    size = (lambda p: jnp.minimum(p, 1.0 - p)) if complements else jnp.abs
    return jnp.sum(jnp.where((factors == k) & (b1 >= b0), size(b0) + size(b1), 0.0))


def error_estimate(measures: Measures, slopes: Slopes, theta, log_supply_ratio, phi_scale, rounding_L, rounding_H, shares=None):
    """Estimated relative error of W_L, W_H, W_H/W_L and Y at a computed root (x, θ) of [M4]-[M5].

    The root is off by δz = −J⁻¹(r + ν) (J: :func:`jacobian`), where r = (r_M4, r_M5) is what the
    solver left and ν the rounding in evaluating r: :data:`ROUNDING_ULPS` · eps times
    ``phi_scale`` (the sizes of the terms of φ, which cancel near the existence frontier) for
    [M4]; for [M5] the relative rounding of θ and of the two task measures, each known to
    eps · ``rounding_*`` in absolute terms (:func:`position_rounding`).  The wages then move by
    δx and δx + δθ.  Output satisfies both Y = W_L L/s_L and Y = W_H H/s_H, so it moves by
    δx − δ ln s_L or by δx + δθ − δ ln s_H plus the rounding of that measure, and the smaller of
    the two bounds holds.  ``shares``: the measures (s_L, s_H) the route reports, when it computes
    them otherwise than :class:`Measures` at (x, θ); their difference from ``measures`` is added.
    Bounds are taken term by term in absolute value; where J is singular the estimate is infinite.

    Returns the largest of the four relative errors (a scalar per point; elementwise over batches).
    """
    s_L, s_H = measures.s_L, measures.s_H
    r4, r5 = residual(measures, theta, log_supply_ratio)
    rel_L = ROUNDING_ULPS * EPS * rounding_L / s_L
    rel_H = ROUNDING_ULPS * EPS * rounding_H / s_H
    b4 = jnp.abs(r4) + ROUNDING_ULPS * EPS * jnp.abs(phi_scale)
    b5 = jnp.abs(r5) + ROUNDING_ULPS * EPS * (1.0 + jnp.abs(theta) + jnp.abs(log_supply_ratio)) + rel_L + rel_H
    row_x, row_t, det = inverse_rows(s_L, s_H, slopes)
    # and the row for x + θ
    row_wh = (row_x[0] + row_t[0], row_x[1] + row_t[1])

    def bound(row):
        return jnp.abs(row[0]) * b4 + jnp.abs(row[1]) * b5

    def output_bound(row, s, ds_dx, ds_dtheta, rel, reported):
        # ln Y = (log wage) + ln(supply) − ln s: the row of J⁻¹ for the log wage less (∂ ln s/∂z) J⁻¹
        gx, gt = ds_dx / s, ds_dtheta / s
        moved = (row[0] - gx * row_x[0] - gt * row_t[0], row[1] - gx * row_x[1] - gt * row_t[1])
        mismatch = 0.0 if reported is None else jnp.abs(jnp.log(reported / s))
        return bound(moved) + rel + mismatch

    reported_L, reported_H = (None, None) if shares is None else shares
    output = jnp.minimum(output_bound(row_x, s_L, slopes.dsL_dx, slopes.dsL_dtheta, rel_L, reported_L),
                         output_bound(row_wh, s_H, slopes.dsH_dx, slopes.dsH_dtheta, rel_H, reported_H))
    err = jnp.maximum(jnp.maximum(bound(row_x), bound(row_t)), jnp.maximum(bound(row_wh), output))
    return jnp.where(jnp.isnan(err) | (det == 0), jnp.inf, err)
