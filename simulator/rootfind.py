"""Fixed-iteration root finders that vectorise cleanly under ``vmap``.

No while-loops: every point of a batch runs the same number of iterations,
and a point that fails shows it in its residuals rather than stalling others.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def safeguarded_newton(value_and_slope, lo, hi, x0, n_iter: int):
    """Root of an increasing function on the bracket [lo, hi].

    ``value_and_slope(x) -> (f, f')``.  Each step takes Newton's step when it
    stays strictly inside the current bracket and bisects otherwise, so it
    converges whenever f(lo) < 0 < f(hi), quadratically near the root.
    """

    def body(_, carry):
        x, lo, hi = carry
        f, df = value_and_slope(x)
        lo = jnp.where(f < 0, x, lo)
        hi = jnp.where(f >= 0, x, hi)
        step = x - f / df
        inside = jnp.isfinite(step) & (step > lo) & (step < hi)
        x_new = jnp.where(inside, step, 0.5 * (lo + hi))
        x_new = jnp.where(f == 0, x, x_new)
        return x_new, lo, hi

    x, _, _ = jax.lax.fori_loop(0, n_iter, body, (jnp.clip(x0, lo, hi), lo, hi))
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

    ``evaluate(x, θ) -> (φ, s_L, s_H)`` gives the numeraire integral ∫ ln p
    and the task measures of L and H at wages (e^x, e^{x+θ}).  For fixed θ,
    φ is concave and increasing in x with slope s_L + s_H (envelope theorem),
    so the level x*(θ) follows from :func:`concave_newton`.  The premium
    solves the relative labour-market condition

        g(θ) = θ + ln H - ln L + ln s_L - ln s_H = 0      (log_supply_ratio = ln H - ln L)

    which increases in θ; its slope comes from implicit differentiation with
    x*'(θ) = -s_H / (s_L + s_H), and the step is safeguarded by the bracket.
    """

    def level(theta, x_start):
        def vs(x):
            phi, s_L, s_H = evaluate(x, theta)
            return phi, s_L + s_H

        return concave_newton(vs, x_start, n_inner)

    def log_ratio(x, theta):
        _, s_L, s_H = evaluate(x, theta)
        return jnp.log(s_L) - jnp.log(s_H)

    def solve(x0, theta0, theta_lo, theta_hi):
        def body(_, carry):
            theta, x, lo, hi = carry
            x = level(theta, x)
            _, s_L, s_H = evaluate(x, theta)
            dx = -s_H / (s_L + s_H)
            h, dh = jax.jvp(log_ratio, (x, theta), (dx, jnp.ones_like(theta)))
            g = theta + log_supply_ratio + h
            dg = 1.0 + dh
            g = jnp.where(jnp.isnan(g), jnp.inf, g)
            lo = jnp.where(g < 0, theta, lo)
            hi = jnp.where(g >= 0, theta, hi)
            step = theta - g / dg
            inside = jnp.isfinite(step) & (step > lo) & (step < hi)
            new_theta = jnp.where(inside, step, 0.5 * (lo + hi))
            new_theta = jnp.where(g == 0, theta, new_theta)
            # first-order predictor of the level at the new premium
            x = x + jnp.where(jnp.isfinite(dx), dx, 0.0) * (new_theta - theta)
            return new_theta, x, lo, hi

        theta, x, _, _ = jax.lax.fori_loop(0, n_outer, body, (theta0, x0, theta_lo, theta_hi))
        x = level(theta, x)
        return x, theta

    return solve
