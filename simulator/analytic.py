"""Semi-analytic route: closed forms and analytic integrals for the paper's regimes.

* :func:`benchmark` — the closed form of Proposition 1, eqs. (14)-(15).
* :func:`traditional_ai` — Proposition 2: the ordering M | L | H reduces the
  equilibrium to one monotone equation in the L/H threshold Ĩ₂.
* :func:`scaling_llm` — Proposition 3 and its generalisations: the model's
  task set is an interval cut out of the data window, found with analytic
  integrals inside the nested wage solve of :mod:`simulator.rootfind`.

Each function solves a single point and returns an :class:`Equilibrium`;
``jax.vmap`` gives batches.  Derivations: ``docs/model.md``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from .equilibrium import Equilibrium, finalize
from .factors import H_INDEX, L_INDEX
from .params import Economy, ScalingLLM, TraditionalAI
from .rootfind import make_nested_solver, make_newton_solver, safeguarded_newton
from .status import Status

M_INDEX = 2


@dataclasses.dataclass(frozen=True)
class AnalyticOptions:
    """Iteration counts of the semi-analytic route (fixed, so batches vectorise)."""

    strategy: str = "nested"
    n_outer: int = 40
    n_inner: int = 6
    n_traditional: int = 80
    #: apply the residual tolerance (:func:`~simulator.equilibrium.apply_tolerance`) here; a batch
    #: solver turns it off and applies it to the whole batch afterwards
    check: bool = True


def _f64(v):
    return jnp.asarray(v, dtype=jnp.float64)


def economy_admissible(e: Economy):
    return (e.eta > 0) & (e.A_L > 0) & (e.A_H > 0) & (e.L > 0) & (e.H > 0)


def _primitive_log1m(u):
    return -xlogy(1.0 - u, 1.0 - u) - u


def _primitive_log(u):
    return xlogy(u, u) - u


def _int_log1m(p, q):
    """∫_p^q ln(1-i) di."""
    return _primitive_log1m(q) - _primitive_log1m(p)


def _int_log(p, q):
    """∫_p^q ln(i) di."""
    return _primitive_log(q) - _primitive_log(p)


def benchmark_threshold(e: Economy):
    """Threshold I of eq. (14) and the log premium of eq. (15)."""
    eta = _f64(e.eta)
    log_ratio = jnp.log(e.A_H) + jnp.log(e.H) - jnp.log(e.A_L) - jnp.log(e.L)
    I = jax.nn.sigmoid(-log_ratio / (1.0 + eta))  # = 1 / (1 + (A_H H / A_L L)^{1/(1+η)})
    log_premium = (jnp.log(e.A_H) - jnp.log(e.A_L)) / (1.0 + eta) - eta / (1.0 + eta) * (jnp.log(e.H) - jnp.log(e.L))
    return I, log_premium


def benchmark_log_wage(e: Economy, I, log_premium):
    """ln W_L from the numeraire ∫ ln p = 0 with L on [0, I] and H on [I, 1]."""
    # I(x - ln A_L) + (1-I)(x + θ - ln A_H) - η ∫_0^I ln(1-i) - η ∫_I^1 ln i = 0
    return (
        I * jnp.log(e.A_L)
        + (1.0 - I) * (jnp.log(e.A_H) - log_premium)
        + e.eta * (_int_log1m(0.0, I) + _int_log(I, 1.0))
    )


def _segments(points, factors):
    return jnp.stack([_f64(p) for p in points]), jnp.asarray(factors, dtype=jnp.int32)


def benchmark(economy: Economy, check: bool = True) -> Equilibrium:
    """Benchmark equilibrium without automation, Proposition 1 (eqs. 14-15); ``check``: as in
    :class:`AnalyticOptions`."""
    I, theta = benchmark_threshold(economy)
    x = benchmark_log_wage(economy, I, theta)
    boundaries, factors = _segments([0.0, I, 1.0], [L_INDEX, H_INDEX])
    status = jnp.where(economy_admissible(economy), Status.OK, Status.INADMISSIBLE)
    return finalize(economy, (), x, x + theta, boundaries, factors, status, check=check)


# --------------------------------------------------------------------------- traditional AI
def _traditional_system(e: Economy, tech: TraditionalAI, t):
    """Given t = logit(Ĩ₂): thresholds, log wages and the numeraire residual R.

    With the ordering M | L | H, labour-market clearing and the L/H no-arbitrage
    condition give Ĩ₁ explicitly:  Ĩ₁ = Ĩ₂ - (A_L L / A_H H) (1-Ĩ₂)^{1+η} / Ĩ₂^η;
    the M/L no-arbitrage condition gives W_L = (F A_L / Ā)(1-Ĩ₁)^{η-μ}; R is ∫ ln p.
    """
    eta, mu = e.eta, tech.mu
    I2 = jax.nn.sigmoid(t)
    one_minus_I2 = jax.nn.sigmoid(-t)
    r = (e.A_L * e.L) / (e.A_H * e.H)
    I1 = I2 - r * jnp.exp((1.0 + eta) * jnp.log(one_minus_I2) - eta * jnp.log(I2))
    I1 = jnp.clip(I1, 0.0, I2)
    x = jnp.log(tech.F) + jnp.log(e.A_L) - jnp.log(tech.A_bar) + (eta - mu) * jnp.log1p(-I1)
    y = x + jnp.log(e.A_H) - jnp.log(e.A_L) + eta * t
    R = (
        I1 * (jnp.log(tech.F) - jnp.log(tech.A_bar))
        - mu * _int_log1m(0.0, I1)
        + (I2 - I1) * (x - jnp.log(e.A_L))
        - eta * _int_log1m(I1, I2)
        + (1.0 - I2) * (y - jnp.log(e.A_H))
        - eta * _int_log(I2, 1.0)
    )
    return I1, I2, x, y, R


def traditional_ai(economy: Economy, tech: TraditionalAI, options: AnalyticOptions = AnalyticOptions()) -> Equilibrium:
    """Equilibrium with traditional AI, Proposition 2.

    * No finite equilibrium (``Status.UNBOUNDED``) when F <= Ā e^{-μ}: models
      alone then produce the final good at a unit cost below one.
    * No adoption when F >= Ā W_L/A_L at the benchmark wages (the model's cost
      at task 0 is not below labour's); the result is the benchmark.
    * Otherwise M | L | H with 0 < Ĩ₁ < Ĩ₂ < 1 and Ĩ₂ > I (Proposition 2).
    """
    e = economy
    I_b, theta_b = benchmark_threshold(e)
    x_b = benchmark_log_wage(e, I_b, theta_b)
    t_b = jnp.log(I_b) - jnp.log1p(-I_b)
    log_F_star = jnp.log(tech.A_bar) + x_b - jnp.log(e.A_L)  # adoption price threshold
    adopted = jnp.log(tech.F) < log_F_star
    unbounded = jnp.log(tech.F) - jnp.log(tech.A_bar) + tech.mu <= 0

    def R_and_slope(t):
        return jax.value_and_grad(lambda s: _traditional_system(e, tech, s)[4])(t)

    t_hi = jnp.maximum(t_b + 1.0, 40.0)
    t = safeguarded_newton(R_and_slope, t_b, t_hi, 0.5 * (t_b + jnp.minimum(t_hi, t_b + 5.0)), options.n_traditional)
    I1, I2, x, y, _ = _traditional_system(e, tech, t)
    # exact measures: s_L = r (1-Ĩ₂)^{1+η} / Ĩ₂^η and s_H = 1-Ĩ₂ = sigmoid(-t), free of cancellation near 1
    r = (e.A_L * e.L) / (e.A_H * e.H)
    s_H = jax.nn.sigmoid(-t)
    s_L = jnp.minimum(r * jnp.exp((1.0 + e.eta) * jnp.log(s_H) - e.eta * jnp.log(I2)), I2)
    widths = jnp.stack([jnp.where(adopted, I1, 0.0), jnp.where(adopted, s_L, I_b), jnp.where(adopted, s_H, 1.0 - I_b)])
    I1 = jnp.where(adopted, I1, 0.0)
    I2 = jnp.where(adopted, I2, I_b)
    x = jnp.where(adopted, x, x_b)
    y = jnp.where(adopted, y, x_b + theta_b)
    boundaries, factors = _segments([0.0, I1, I2, 1.0], [M_INDEX, L_INDEX, H_INDEX])
    ok = economy_admissible(e) & (tech.A_bar > 0) & (tech.F > 0) & (tech.mu > e.eta)
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    return finalize(e, (tech,), x, y, boundaries, factors, status, widths=widths, check=options.check)


# --------------------------------------------------------------------------- scaling-law LLM
class _Point(NamedTuple):
    """A task point with its complement and both logs: (v, 1-v, ln v, ln(1-v)).

    Carrying the logs through the geometry lets the numeraire integral use the
    closed forms ln(1-a) = u and ln b = v of the switch points instead of
    evaluating logarithms again (and keeps 1-v exact near 1).
    """

    v: Any
    c: Any
    log_v: Any
    log_c: Any

    @staticmethod
    def where(cond, p, q):
        return _Point(*(jnp.where(cond, a, b) for a, b in zip(p, q)))

    def primitive_log1m(self):
        """∫_0^v ln(1-i) di = -(1-v) ln(1-v) - v."""
        return -jnp.where(self.c > 0, self.c * self.log_c, 0.0) - self.v

    def primitive_log(self):
        """∫_0^v ln i di = v ln v - v."""
        return jnp.where(self.v > 0, self.v * self.log_v, 0.0) - self.v


def _sigmoid_point(z):
    """I* = sigmoid(z) as a :class:`_Point`, from one exponential and one log1p.

    With e = exp(-|z|) <= 1: sigmoid(|z|) = 1/(1+e), sigmoid(-|z|) = e/(1+e) and
    ln sigmoid(±z) = -(max(∓z, 0) + ln(1+e)), each to a few ulp (jax.nn's sigmoid and
    log_sigmoid would take four exponentials and two log1p).
    """
    e = jnp.exp(-jnp.abs(z))
    big, small = 1.0 / (1.0 + e), e / (1.0 + e)
    log1p_e = jnp.log1p(e)
    positive = z >= 0
    return _Point(jnp.where(positive, big, small), jnp.where(positive, small, big),
                  -(jnp.maximum(-z, 0.0) + log1p_e), -(jnp.maximum(z, 0.0) + log1p_e))


def _window_point(edge):
    edge = _f64(edge)
    return _Point(edge, 1.0 - edge, jnp.log(edge), jnp.log1p(-edge))


def _llm_points(e: Economy, tech: ScalingLLM, log_kappa, x, theta):
    """Switch points at log wages (x, x+θ) as :class:`_Point` s, and the six segment widths.

    κ is the model's unit cost on its window.  The model's task set is
    [s, t] = [max(a, I_lo), min(b, I_hi)] where c_L(a) = κ and c_H(b) = κ
    (empty, s = t = I*, if s >= t); I* is the L/H indifference point.
    Segments, in task order, are
    L [0, min(s,I*)], M [min(s,I*), min(t,I*)], L [min(t,I*), I*],
    H [I*, max(s,I*)], M [max(s,I*), max(t,I*)], H [max(t,I*), 1];
    their widths are computed from complements (expm1, sigmoid(-z)) so that
    narrow segments next to 0 or 1 keep full relative precision.
    Returns (points: 7 :class:`_Point` s, widths (6,)).
    """
    eta = e.eta
    y = x + theta
    z = (theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / eta
    star = _sigmoid_point(z)
    u = (x - jnp.log(e.A_L) - log_kappa) / eta  # 1 - a = e^u
    v = (y - jnp.log(e.A_H) - log_kappa) / eta  # b = e^v
    a = -jnp.expm1(u)
    b, one_minus_b = jnp.exp(v), -jnp.expm1(v)
    from_a = a > tech.I_lo
    from_b = b < tech.I_hi
    s = _Point.where(from_a, _Point(a, jnp.exp(u), jnp.log(jnp.where(from_a, a, 1.0)), u), _window_point(tech.I_lo))
    t = _Point.where(from_b, _Point(b, one_minus_b, v, jnp.log(jnp.where(from_b, one_minus_b, 1.0))), _window_point(tech.I_hi))
    empty = s.v >= t.v
    s = _Point.where(empty, star, s)
    t = _Point.where(empty, star, t)
    s_low, t_low = s.v < star.v, t.v < star.v
    zero = jnp.zeros_like(x)
    points = [
        _Point(zero, zero + 1.0, zero - jnp.inf, zero),
        _Point.where(s_low, s, star),
        _Point.where(t_low, t, star),
        star,
        _Point.where(s_low, star, s),
        _Point.where(t_low, star, t),
        _Point(zero + 1.0, zero, zero, zero - jnp.inf),
    ]
    widths = jnp.stack(
        [
            jnp.minimum(s.v, star.v),
            jnp.maximum(jnp.minimum(t.v, star.v) - jnp.minimum(s.v, star.v), 0.0),
            jnp.maximum(star.v - t.v, 0.0),
            jnp.maximum(s.v - star.v, 0.0),
            jnp.maximum(jnp.maximum(t.v, star.v) - jnp.maximum(s.v, star.v), 0.0),
            jnp.minimum(t.c, star.c),
        ]
    )
    return points, widths


def _llm_geometry(e: Economy, tech: ScalingLLM, log_kappa, x, theta):
    """Switch points (7,) and segment widths (6,) at log wages (x, x+θ); see :func:`_llm_points`."""
    points, widths = _llm_points(e, tech, log_kappa, x, theta)
    return jnp.stack([p.v for p in points]), widths


LLM_SEGMENT_FACTORS = [L_INDEX, M_INDEX, L_INDEX, H_INDEX, M_INDEX, H_INDEX]


def _llm_evaluate(e: Economy, tech: ScalingLLM, log_kappa, x, theta):
    """Numeraire integral ∫ ln p and the task measures of L and H at log wages (x, x+θ); analytic."""
    points, w = _llm_points(e, tech, log_kappa, x, theta)
    P1m = [p.primitive_log1m() for p in points[:4]]  # L works on [p0, p1] and [p2, p3]
    P = [None] * 3 + [p.primitive_log() for p in points[3:]]  # H on [p3, p4] and [p5, p6]
    integral_L = jnp.where(w[0] > 0, P1m[1] - P1m[0], 0.0) + jnp.where(w[2] > 0, P1m[3] - P1m[2], 0.0)
    integral_H = jnp.where(w[3] > 0, P[4] - P[3], 0.0) + jnp.where(w[5] > 0, P[6] - P[5], 0.0)
    s_L, s_H = w[0] + w[2], w[3] + w[5]
    phi = (
        log_kappa * (w[1] + w[4])
        + (x - jnp.log(e.A_L)) * s_L - e.eta * integral_L
        + (x + theta - jnp.log(e.A_H)) * s_H - e.eta * integral_H
    )
    return phi, s_L, s_H


def _llm_evaluate_with_slopes(e: Economy, tech: ScalingLLM, log_kappa, x, theta):
    """:func:`_llm_evaluate` and the slopes of s_L and s_H in (x, θ), differentiated by hand.

    The switch points move with the wages: a = 1 - e^u moves with x at -e^u/η,
    b = e^v with x and θ at b/η, and I* = sigmoid(z) with θ at I*(1-I*)/η;
    window edges do not move.  With s_L = min(s, I*) + (I* - t)_+ and
    s_H = (s - I*)_+ + 1 - max(t, I*), the slopes follow piece by piece.
    Returns (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ).
    """
    phi, s_L, s_H = _llm_evaluate(e, tech, log_kappa, x, theta)
    eta = e.eta
    z = (theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / eta
    star_point = _sigmoid_point(z)
    star = star_point.v
    dstar_dt = star * star_point.c / eta
    u = (x - jnp.log(e.A_L) - log_kappa) / eta
    v = (x + theta - jnp.log(e.A_H) - log_kappa) / eta
    a, b = -jnp.expm1(u), jnp.exp(v)
    from_a, from_b = a > tech.I_lo, b < tech.I_hi
    s = jnp.where(from_a, a, tech.I_lo)
    t = jnp.where(from_b, b, tech.I_hi)
    empty = s >= t
    zero = jnp.zeros_like(x)
    ds_dx = jnp.where(empty, zero, jnp.where(from_a, -jnp.exp(u) / eta, zero))
    ds_dt = jnp.where(empty, dstar_dt, zero)
    dt_dx = jnp.where(empty, zero, jnp.where(from_b, b / eta, zero))
    dt_dt = jnp.where(empty, dstar_dt, jnp.where(from_b, b / eta, zero))
    s = jnp.where(empty, star, s)
    t = jnp.where(empty, star, t)
    s_low, t_low = s < star, t < star
    dsL_dx = jnp.where(s_low, ds_dx, zero) - jnp.where(t_low, dt_dx, zero)
    dsL_dt = jnp.where(s_low, ds_dt, dstar_dt) + jnp.where(t_low, dstar_dt - dt_dt, zero)
    dsH_dx = jnp.where(s_low, zero, ds_dx) - jnp.where(t_low, zero, dt_dx)
    dsH_dt = jnp.where(s_low, zero, ds_dt - dstar_dt) - jnp.where(t_low, dstar_dt, dt_dt)
    return phi, s_L, s_H, dsL_dx, dsL_dt, dsH_dx, dsH_dt


def _whole_window_start(e: Economy, tech: ScalingLLM, log_kappa, theta0, n_steps: int = 4):
    """Log wages (x, θ) of the equilibrium in which the model performs its whole window [I_lo, I_hi].

    That is the answer when the model is cheaper than labour across the window (large G and N),
    and a close start for the wage solve otherwise.  θ solves the relative labour-market
    condition g(θ) = θ + ln H - ln L + ln s_L - ln s_H = 0 with the window's tasks taken out, by
    ``n_steps`` Newton steps from ``theta0``: with I* below the window s_L = I* and
    s_H = I_lo - I* + 1 - I_hi, inside it s_L = I_lo and s_H = 1 - I_hi, above it
    s_L = I_lo + I* - I_hi and s_H = 1 - I*.  For that assignment the numeraire ∫ ln p = 0 is
    linear in x, which gives x.  Not finite where the window leaves L or H no task.
    """
    lo, hi, eta = tech.I_lo, tech.I_hi, e.eta

    def measures(theta):
        star = _sigmoid_point((theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / eta)
        below, above = star.v <= lo, star.v >= hi
        s_L = jnp.where(below, star.v, jnp.where(above, lo + star.v - hi, lo))
        s_H = jnp.where(below, lo - star.v + 1.0 - hi, jnp.where(above, star.c, 1.0 - hi))
        moves = jnp.where(below | above, star.v * star.c / eta, 0.0)  # dI*/dθ where the measures move
        return star.v, s_L, s_H, moves

    theta = theta0
    for _ in range(n_steps):
        _, s_L, s_H, moves = measures(theta)
        g = theta + jnp.log(e.H) - jnp.log(e.L) + jnp.log(s_L / s_H)
        theta = theta - jnp.clip(g / (1.0 + moves / s_L + moves / s_H), -2.0, 2.0)
    star, s_L, s_H, _ = measures(theta)
    # L on [0, min(I*, I_lo)] and [I_hi, I*]; H on [I*, I_lo] and [max(I*, I_hi), 1]
    int_L = _int_log1m(0.0, jnp.minimum(star, lo)) + jnp.where(star > hi, _int_log1m(hi, jnp.maximum(star, hi)), 0.0)
    int_H = jnp.where(star < lo, _int_log(jnp.minimum(star, lo), lo), 0.0) + _int_log(jnp.maximum(star, hi), 1.0)
    x = (eta * (int_L + int_H) - log_kappa * (hi - lo) + jnp.log(e.A_L) * s_L - (theta - jnp.log(e.A_H)) * s_H) / (s_L + s_H)
    return x, theta


def llm_log_unit_cost(economy: Economy, tech: ScalingLLM):
    """ln κ = ln F - ln Ā - η ln(1 - D): the model's log unit cost on its window (+inf if D >= 1)."""
    D = tech.divergence_on_window
    return jnp.where(D < 1, jnp.log(tech.F) - jnp.log(tech.A_bar) - economy.eta * jnp.log1p(-jnp.where(D < 1, D, 0.0)), jnp.inf)


def scaling_llm(economy: Economy, tech: ScalingLLM, options: AnalyticOptions = AnalyticOptions()) -> Equilibrium:
    """Equilibrium with a scaling-law LLM on a data window (eq. 17, Proposition 3).

    The model is adopted iff κ is below the benchmark price somewhere on the
    window, i.e. below p(clip(I, I_lo, I_hi)).  Its task set starts at I_lo or
    where L's cost reaches κ, and ends where H's cost falls to κ or at I_hi;
    orderings L|H|M|H, L|M|H and L|M|L|H all arise.  With the window equal to
    [0, 1] and κ <= 1 there is no finite equilibrium.
    """
    if not tech.uses_window:
        raise ValueError("the semi-analytic LLM solver needs the window data profile; use the discretised route")
    e = economy
    log_kappa = llm_log_unit_cost(e, tech)
    I_b, theta_b = benchmark_threshold(e)
    x_b = benchmark_log_wage(e, I_b, theta_b)
    peak = jnp.clip(I_b, tech.I_lo, tech.I_hi)
    log_p_peak = jnp.minimum(x_b - jnp.log(e.A_L) - e.eta * jnp.log1p(-peak), x_b + theta_b - jnp.log(e.A_H) - e.eta * jnp.log(peak))
    adopted = log_kappa < log_p_peak
    unbounded = (tech.I_lo <= 0) & (tech.I_hi >= 1) & (log_kappa <= 0)
    safe_log_kappa = jnp.where(adopted, log_kappa, log_p_peak + 1.0)

    def evaluate(x, theta):
        return _llm_evaluate_with_slopes(e, tech, safe_log_kappa, x, theta)

    if options.strategy == "newton":
        solve = make_newton_solver(evaluate, jnp.log(e.H) - jnp.log(e.L), options.n_outer)
    else:
        solve = make_nested_solver(evaluate, jnp.log(e.H) - jnp.log(e.L), options.n_outer, options.n_inner)
    centre = jnp.log(e.A_H) - jnp.log(e.A_L)
    theta_lo, theta_hi = centre - 30.0 * e.eta, centre + 30.0 * e.eta
    # start where the model performs its whole window (the benchmark where that is not finite)
    x_w, theta_w = _whole_window_start(e, tech, safe_log_kappa, theta_b)
    use = adopted & jnp.isfinite(x_w) & (theta_w > theta_lo) & (theta_w < theta_hi)
    x, theta = solve(jnp.where(use, x_w, x_b), jnp.where(use, theta_w, theta_b), theta_lo, theta_hi)
    x = jnp.where(adopted, x, x_b)
    theta = jnp.where(adopted, theta, theta_b)
    points, widths = _llm_geometry(e, tech, safe_log_kappa, x, theta)
    bench_points = jnp.stack([0.0, I_b, I_b, I_b, I_b, I_b, 1.0])
    bench_widths = jnp.stack([I_b, 0.0, 0.0, 0.0, 0.0, 1.0 - I_b])
    points = jnp.where(adopted, points, bench_points)
    widths = jnp.where(adopted, widths, bench_widths)
    boundaries, factors = points, jnp.asarray(LLM_SEGMENT_FACTORS, dtype=jnp.int32)
    ok = economy_admissible(e) & (tech.F > 0) & (tech.A_bar > 0) & (tech.I_lo >= 0) & (tech.I_lo < tech.I_hi) & (tech.I_hi <= 1)
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    # at most four of the six segments are ever used: L|M|L|H, L|H|M|H or L|M|M|H (see _llm_points)
    return finalize(e, (tech,), x, x + theta, boundaries, factors, status, widths=widths, check=options.check, max_used=4)
