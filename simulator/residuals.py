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
