"""Fixed-iteration root finders that vectorise cleanly under ``vmap``.

The wage solvers (:func:`make_nested_solver`, :func:`make_newton_solver`) work on any route's
measures at (x, θ) and its slopes (see :mod:`simulator.residuals`): the residuals [M4]-[M5] and
their Jacobian come from :func:`simulator.residuals.residual` and :func:`simulator.residuals.jacobian`.

No while-loops: every point of a batch runs the same number of iterations,
and a point that fails shows it in its residuals rather than stalling others.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from . import residuals
from .kernels import divided_pair


def rtsafe_step(x, f, df, lo, hi, dx_old):
    """One step of safeguarded Newton on an increasing function (Numerical Recipes' rtsafe).

    Updates the bracket from the sign of f(x), then takes Newton's step unless
    it leaves the bracket or fails to halve the step before last, in which
    case it bisects.  The bracket thus shrinks at least geometrically even
    where f has kinks.  Returns (x_new, lo, hi, dx).
    """
    f = jnp.where(jnp.isnan(f), jnp.inf, f)
    lo = jnp.where(f < 0, x, lo)
    hi = jnp.where(f >= 0, x, hi)
    newton = x - f / df
    tiny = jnp.abs(newton - x) <= 1e-13 * (1.0 + jnp.abs(x))
    halves = jnp.abs(2.0 * f) <= jnp.abs(dx_old * df)
    use_newton = jnp.isfinite(newton) & (newton >= lo) & (newton <= hi) & (halves | tiny)
    bisect = 0.5 * (lo + hi)
    x_new = jnp.where(use_newton, newton, bisect)
    x_new = jnp.where(f == 0, x, x_new)
    return x_new, lo, hi, jnp.abs(x_new - x)


def safeguarded_newton(value_and_slope, lo, hi, x0, n_iter: int):
    """Root of an increasing function on the bracket [lo, hi].

    ``value_and_slope(x) -> (f, f')``.  Each step takes Newton's step when it
    stays strictly inside the current bracket and bisects otherwise, so it
    converges whenever f(lo) < 0 < f(hi), quadratically near the root.
    """

    def body(_, carry):
        x, lo, hi, dx = carry
        f, df = value_and_slope(x)
        return rtsafe_step(x, f, df, lo, hi, dx)

    x, _, _, _ = jax.lax.fori_loop(0, n_iter, body, (jnp.clip(x0, lo, hi), lo, hi, hi - lo))
    return x


def concave_newton(value_and_slope, x0, n_iter: int, max_step: float = 30.0):
    """Root of an increasing concave function by Newton's method.

    From the left of the root Newton's iterates increase monotonically to it;
    from the right one step lands on its left.  Steps are capped at ``max_step``.
    """

    def body(_, x):
        f, df = value_and_slope(x)
        step = jnp.clip(-f / df, -max_step, max_step)
        return x + jnp.where(jnp.isfinite(step), step, 0.0)

    return jax.lax.fori_loop(0, n_iter, body, x0)


def make_nested_solver(evaluate, log_supply_ratio, n_outer: int, n_inner: int):
    """Return ``solve(x0, θ0, θ_lo, θ_hi) -> (x, θ)``: log wages x = ln W_L, θ = ln(W_H/W_L).

    ``evaluate(x, θ) -> (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ)`` gives
    the numeraire integral ∫ ln p, the task measures of L and H at wages
    (e^x, e^{x+θ}) and their slopes.  For fixed θ,
    φ is concave and increasing in x with slope s_L + s_H (envelope theorem),
    so the level x*(θ) follows from :func:`concave_newton`.  The premium
    solves the relative labour-market condition

        g(θ) = θ + ln H - ln L + ln s_L - ln s_H = 0      (log_supply_ratio = ln H - ln L)

    which increases in θ; its slope comes from implicit differentiation with
    x*'(θ) = -s_H / (s_L + s_H), and the step is safeguarded by the bracket.
    """

    def level(theta, x_start):
        def vs(x):
            phi, s_L, s_H = evaluate(x, theta)[:3]
            return phi, s_L + s_H

        return concave_newton(vs, x_start, n_inner)

    def solve(x0, theta0, theta_lo, theta_hi):
        def body(_, carry):
            theta, x, lo, hi, step = carry
            x = level(theta, x)
            measures, slopes = residuals.split(evaluate(x, theta))
            s_L, s_H = measures.s_L, measures.s_H
            _, g = residuals.residual(measures, theta, log_supply_ratio)
            dh_dx, dh_dt = residuals.log_ratio_slopes(s_L, s_H, slopes)
            dx = -s_H / (s_L + s_H)  # x*'(θ), from [M4]
            dh = dh_dx * dx + dh_dt
            new_theta, lo, hi, step = rtsafe_step(theta, g, 1.0 + dh, lo, hi, step)
            # first-order predictor of the level at the new premium
            x = x + jnp.where(jnp.isfinite(dx), dx, 0.0) * (new_theta - theta)
            return new_theta, x, lo, hi, step

        theta, x, _, _, _ = jax.lax.fori_loop(0, n_outer, body, (theta0, x0, theta_lo, theta_hi, theta_hi - theta_lo))
        x = level(theta, x)
        return x, theta

    return solve


def make_newton_solver(evaluate, log_supply_ratio, n_iter: int, max_step: float = 2.0):
    """Return ``solve(x0, θ0, θ_lo, θ_hi) -> (x, θ)`` by joint Newton steps on [M4]-[M5].

    The fast first pass: each step solves the 2x2 linear system of
    ∫ ln p = 0 and g = 0 in (x, θ).  ∂φ/∂x = s_L + s_H and ∂φ/∂θ = s_H follow
    from the envelope theorem; the derivatives of g = θ + ln H - ln L + ln s_L
    - ln s_H from the slopes that ``evaluate`` returns (as in
    :func:`make_nested_solver`; one pass, where autodiff would add two
    derivatives).  Steps are capped at ``max_step``
    in each coordinate and θ is kept inside the bracket.  There is no global
    guarantee: points it leaves unconverged are flagged by their residuals and
    solved again by :func:`make_nested_solver`.
    """

    def solve(x0, theta0, theta_lo, theta_hi):
        def body(_, carry):
            x, theta = carry
            measures, slopes = residuals.split(evaluate(x, theta))
            phi, g = residuals.residual(measures, theta, log_supply_ratio)
            (a11, a12), (a21, a22) = residuals.jacobian(measures.s_L, measures.s_H, slopes)
            dx, dt = divided_pair(-phi * a22 + g * a12, -g * a11 + phi * a21, a11 * a22 - a12 * a21)
            good = jnp.isfinite(dx) & jnp.isfinite(dt)
            dx = jnp.where(good, jnp.clip(dx, -max_step, max_step), 0.0)
            dt = jnp.where(good, jnp.clip(dt, -max_step, max_step), 0.0)
            return x + dx, jnp.clip(theta + dt, theta_lo, theta_hi)

        return jax.lax.fori_loop(0, n_iter, body, (x0, theta0))

    return solve
