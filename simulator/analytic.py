"""Semi-analytic route: closed forms and analytic integrals for the paper's regimes.

* :func:`benchmark` — the closed form of Proposition 1, eqs. (14)-(15).
* :func:`traditional_ai` — Proposition 2: the ordering M | L | H reduces the
  equilibrium to one monotone equation in the L/H threshold Ĩ₂.
* :func:`scaling_llm` — Proposition 3 and its generalisations: the model's
  task set is an interval cut out of the data window, found with analytic
  integrals inside the nested wage solve of :mod:`simulator.rootfind`.

Each function solves a single point and returns an :class:`Equilibrium`;
``jax.vmap`` gives batches.  Derivations: ``docs/model.md``.

Each regime also has its public measures and residual [M4]-[M5] at given log wages (x, θ)
(:mod:`simulator.residuals`): :func:`benchmark_measures`/:func:`benchmark_residual`,
:func:`traditional_measures`/:func:`traditional_residual` and
:func:`llm_measures`/:func:`llm_measures_with_slopes`/:func:`llm_residual`, with
:func:`llm_assignment` for the LLM's segments and :func:`scaling_llm_log_wages` for wages that
differentiate through the residual.

Symbols: x = ln W_L, θ = ln(W_H/W_L), log_W_H = x + θ; I* the L/H indifference point; I_L and I_H
the tasks where the model costs as much as L and as H (c_L(I_L) = κ, c_H(I_H) = κ, [M9]), and
[start, end] the model's interval; Ĩ₁, Ĩ₂ the thresholds of traditional AI and z2 = logit(Ĩ₂).
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

from .equilibrium import ACCURACY, Equilibrium, finalize
from .factors import H_INDEX, L_INDEX
from . import residuals
from .params import Economy, ScalingLLM, TraditionalAI, admissible, joint_admissible
from .residuals import Measures
from .rootfind import make_nested_solver, make_newton_solver, safeguarded_newton
from .status import Status

M_INDEX = 2
#: A point this many roundoffs (times the size of the terms) from the existence frontier cannot be
#: placed on either side of it: it is ILL_CONDITIONED, not UNBOUNDED.
_FRONTIER_ULPS = 8.0


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
    #: relative accuracy that ``ok`` vouches for (see :data:`simulator.equilibrium.ACCURACY`)
    accuracy: float = ACCURACY


def _f64(v):
    return jnp.asarray(v, dtype=jnp.float64)


def economy_admissible(e: Economy):
    """Elementwise mask of the economy's constraints (from the parameter registry; works on tracers)."""
    return admissible(e)


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


def _phi_scale(e: Economy, x, theta, measures: Measures, model_terms=()):
    """Size of the terms of φ = ∫ ln p at log wages (x, x+θ), for its rounding: each factor's log
    costs weighted by its measure of tasks (``model_terms``: the technology's log price terms and
    decay rate, weighted by the rest)."""
    s_L, s_H = measures.s_L, measures.s_H
    return (e.eta + s_L * (jnp.abs(x) + jnp.abs(jnp.log(e.A_L))) + s_H * (jnp.abs(x + theta) + jnp.abs(jnp.log(e.A_H)))
            + jnp.maximum(1.0 - s_L - s_H, 0.0) * sum((jnp.abs(t) for t in model_terms), 0.0))


def _error(e: Economy, measures_and_slopes, x, theta, boundaries, factors, model_terms=(), shares=None):
    """:func:`simulator.residuals.error_estimate` at (x, θ) for the segments (``boundaries``,
    ``factors``), from ``measures_and_slopes`` = (:class:`Measures`, :class:`~simulator.residuals.Slopes`) at (x, θ).
    The semi-analytic routes compute narrow segments next to 0 and 1 from complements."""
    at, slopes = measures_and_slopes
    return residuals.error_estimate(at, slopes, theta, residuals.log_supply_ratio(e), _phi_scale(e, x, theta, at, model_terms),
                                    residuals.position_rounding(boundaries, factors, L_INDEX),
                                    residuals.position_rounding(boundaries, factors, H_INDEX), shares)


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


def _indifference_point(e: Economy, theta):
    """I*, where c_L(I*) = c_H(I*) at log premium θ, and dI*/dθ = I*(1 − I*)/η."""
    star = _sigmoid_point((theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / e.eta)
    return star, star.v * star.one_minus_v / e.eta


def benchmark_measures_with_slopes(e: Economy, x, theta):
    """:func:`benchmark_measures` and the slopes of s_L and s_H in (x, θ), by hand: s_L = I* and
    s_H = 1 − I*, which only θ moves.  Returns (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ)."""
    star, dI_dtheta = _indifference_point(e, theta)
    phi = star.v * (x - jnp.log(e.A_L)) + star.one_minus_v * (x + theta - jnp.log(e.A_H)) - e.eta * (
        star.primitive_log1m() - star.primitive_log() - 1.0)  # η[∫_0^I* ln(1-i) + ∫_I*^1 ln i], ∫_0^1 ln i = -1
    zero = jnp.zeros_like(dI_dtheta)
    return phi, star.v, star.one_minus_v, zero, dI_dtheta, zero, -dI_dtheta


def benchmark_measures(e: Economy, x, theta) -> Measures:
    """φ = ∫ ln p and the task measures at log wages (x, x+θ) with L on [0, I*] and H on [I*, 1],
    where I* is the L/H indifference point: c_L(I*) = c_H(I*).  Scalars (one point)."""
    return Measures(*benchmark_measures_with_slopes(e, x, theta)[:3])


def benchmark_residual(e: Economy, x, theta):
    """(r_M4, r_M5) of the benchmark route (no technology) at log wages (x, x+θ)."""
    return residuals.residual(benchmark_measures(e, x, theta), theta, residuals.log_supply_ratio(e))


def _segments(points, factors):
    return jnp.stack([_f64(p) for p in points]), jnp.asarray(factors, dtype=jnp.int32)


def benchmark(economy: Economy, check: bool = True, accuracy: float = ACCURACY) -> Equilibrium:
    """Benchmark equilibrium without automation, Proposition 1 (eqs. 14-15); ``check`` and
    ``accuracy``: as in :class:`AnalyticOptions`."""
    I, theta = benchmark_threshold(economy)
    x = benchmark_log_wage(economy, I, theta)
    boundaries, factors = _segments([0.0, I, 1.0], [L_INDEX, H_INDEX])
    status = jnp.where(economy_admissible(economy), Status.OK, Status.INADMISSIBLE)
    error = _error(economy, residuals.split(benchmark_measures_with_slopes(economy, x, theta)), x, theta, boundaries, factors)
    return finalize(economy, (), x, x + theta, boundaries, factors, status, error=error, check=check, accuracy=accuracy)


# --------------------------------------------------------------------------- traditional AI
def traditional_system(e: Economy, tech: TraditionalAI, z2):
    """Given z2 = logit(Ĩ₂): thresholds, log wages and the numeraire residual R.

    With the ordering M | L | H, labour-market clearing and the L/H no-arbitrage
    condition give Ĩ₁ explicitly:  Ĩ₁ = Ĩ₂ - (A_L L / A_H H) (1-Ĩ₂)^{1+η} / Ĩ₂^η;
    the M/L no-arbitrage condition gives W_L = (F A_L / Ā)(1-Ĩ₁)^{η-μ}; R is ∫ ln p.
    """
    eta, mu = e.eta, tech.mu
    I2 = jax.nn.sigmoid(z2)
    one_minus_I2 = jax.nn.sigmoid(-z2)
    r = (e.A_L * e.L) / (e.A_H * e.H)
    I1 = I2 - r * jnp.exp((1.0 + eta) * jnp.log(one_minus_I2) - eta * jnp.log(I2))
    I1 = jnp.clip(I1, 0.0, I2)
    x = jnp.log(tech.F) + jnp.log(e.A_L) - jnp.log(tech.A_bar) + (eta - mu) * jnp.log1p(-I1)
    log_W_H = x + jnp.log(e.A_H) - jnp.log(e.A_L) + eta * z2
    R = (
        I1 * (jnp.log(tech.F) - jnp.log(tech.A_bar))
        - mu * _int_log1m(0.0, I1)
        + (I2 - I1) * (x - jnp.log(e.A_L))
        - eta * _int_log1m(I1, I2)
        + (1.0 - I2) * (log_W_H - jnp.log(e.A_H))
        - eta * _int_log(I2, 1.0)
    )
    return I1, I2, x, log_W_H, R


def traditional_thresholds(e: Economy, tech: TraditionalAI, x, theta):
    """(Ĩ₁, Ĩ₂) at log wages (x, x+θ) for the ordering M | L | H: Ĩ₂ where c_L = c_H, Ĩ₁ where
    c_M = c_L (clipped to [0, Ĩ₂])."""
    I2 = jax.nn.sigmoid((theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / e.eta)
    log_1m_I1 = (x - jnp.log(tech.F) - jnp.log(e.A_L) + jnp.log(tech.A_bar)) / (e.eta - tech.mu)
    return jnp.clip(-jnp.expm1(log_1m_I1), 0.0, I2), I2


def traditional_measures_with_slopes(e: Economy, tech: TraditionalAI, x, theta):
    """:func:`traditional_measures` and the slopes of s_L and s_H in (x, θ), by hand: with
    1 − Ĩ₁ = (F A_L/(Ā W_L))^{1/(μ−η)}, d(1 − Ĩ₁)/dx = (1 − Ĩ₁)/(η − μ); θ moves the measures
    through I* = Ĩ₂ alone.  Returns (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ)."""
    I1, I2 = traditional_thresholds(e, tech, x, theta)
    star, dI_dtheta = _indifference_point(e, theta)
    unclipped = jnp.exp((x - jnp.log(tech.F) - jnp.log(e.A_L) + jnp.log(tech.A_bar)) / (e.eta - tech.mu))
    one_minus_I1 = jnp.clip(unclipped, star.one_minus_v, 1.0)
    phi = (
        I1 * (jnp.log(tech.F) - jnp.log(tech.A_bar)) - tech.mu * _int_log1m(0.0, I1)
        + (I2 - I1) * (x - jnp.log(e.A_L)) - e.eta * _int_log1m(I1, I2)
        + (1.0 - I2) * (x + theta - jnp.log(e.A_H)) - e.eta * _int_log(I2, 1.0)
    )
    # where the model would reach past I*, Ĩ₁ sits on I* and L has no tasks to lose or gain
    below = unclipped <= star.one_minus_v
    within = ~below & (unclipped < 1.0)
    dsL_dx = jnp.where(within, one_minus_I1 / (e.eta - tech.mu), 0.0)
    dsL_dtheta = jnp.where(below, 0.0, dI_dtheta)
    return phi, one_minus_I1 - star.one_minus_v, star.one_minus_v, dsL_dx, dsL_dtheta, jnp.zeros_like(dsL_dx), -dI_dtheta


def traditional_measures(e: Economy, tech: TraditionalAI, x, theta) -> Measures:
    """φ = ∫ ln p and the task measures at log wages (x, x+θ) with traditional AI (μ > η) in the
    ordering M | L | H: M on [0, Ĩ₁], L on [Ĩ₁, Ĩ₂], H on [Ĩ₂, 1].  Valid at wages where the
    model does not undercut H (Ĩ₁ < Ĩ₂), as at every equilibrium.  The measures are differences
    of complements (1 − Ĩ₁ and 1 − Ĩ₂), which keep their precision as both thresholds near 1."""
    return Measures(*traditional_measures_with_slopes(e, tech, x, theta)[:3])


def traditional_residual(e: Economy, tech: TraditionalAI, x, theta):
    """(r_M4, r_M5) of the traditional-AI route at log wages (x, x+θ).

    The solver :func:`traditional_ai` imposes [M5] and both no-arbitrage conditions through
    Ĩ₂ and solves the remaining [M4] as R(Ĩ₂) = 0 (:func:`traditional_system`); at its root
    both residuals here vanish.
    """
    return residuals.residual(traditional_measures(e, tech, x, theta), theta, residuals.log_supply_ratio(e))


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
    z2_b = jnp.log(I_b) - jnp.log1p(-I_b)
    log_F_star = jnp.log(tech.A_bar) + x_b - jnp.log(e.A_L)  # adoption price threshold
    adopted = jnp.log(tech.F) < log_F_star
    margin = jnp.log(tech.F) - jnp.log(tech.A_bar) + tech.mu
    unbounded = margin <= 0
    # within rounding of the frontier F = Ā e^{-μ} the side cannot be told: no answer is vouched for
    undecided = jnp.abs(margin) <= _FRONTIER_ULPS * residuals.EPS * (jnp.abs(jnp.log(tech.F)) + jnp.abs(jnp.log(tech.A_bar)) + tech.mu)

    def R_and_slope(z2):
        return jax.value_and_grad(lambda s: traditional_system(e, tech, s)[4])(z2)

    z2_hi = jnp.maximum(z2_b + 1.0, 40.0)
    z2 = safeguarded_newton(R_and_slope, z2_b, z2_hi, 0.5 * (z2_b + jnp.minimum(z2_hi, z2_b + 5.0)), options.n_traditional)
    I1, I2, x, log_W_H, _ = traditional_system(e, tech, z2)
    # exact measures: s_L = r (1-Ĩ₂)^{1+η} / Ĩ₂^η and s_H = 1-Ĩ₂ = sigmoid(-z2), free of cancellation near 1
    r = (e.A_L * e.L) / (e.A_H * e.H)
    s_H = jax.nn.sigmoid(-z2)
    s_L = jnp.minimum(r * jnp.exp((1.0 + e.eta) * jnp.log(s_H) - e.eta * jnp.log(I2)), I2)
    widths = jnp.stack([jnp.where(adopted, I1, 0.0), jnp.where(adopted, s_L, I_b), jnp.where(adopted, s_H, 1.0 - I_b)])
    I1 = jnp.where(adopted, I1, 0.0)
    I2 = jnp.where(adopted, I2, I_b)
    x = jnp.where(adopted, x, x_b)
    log_W_H = jnp.where(adopted, log_W_H, x_b + theta_b)
    boundaries, factors = _segments([0.0, I1, I2, 1.0], [M_INDEX, L_INDEX, H_INDEX])
    ok = economy_admissible(e) & admissible(tech) & joint_admissible(e, tech)
    status = jnp.where(ok, jnp.where(unbounded & ~undecided, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    error = _error(e, residuals.split(traditional_measures_with_slopes(e, tech, x, log_W_H - x)), x, log_W_H - x, boundaries, factors,
                   (jnp.log(tech.F), jnp.log(tech.A_bar), tech.mu), shares=(widths[1], widths[2]))
    error = jnp.where(undecided, jnp.inf, error)
    return finalize(e, (tech,), x, log_W_H, boundaries, factors, status, error=error, widths=widths, check=options.check,
                    accuracy=options.accuracy)


# --------------------------------------------------------------------------- scaling-law LLM
class _Point(NamedTuple):
    """A task point v with its complement and both logs: (v, 1-v, ln v, ln(1-v)).

    Carrying the logs through the geometry lets the numeraire integral use the
    closed forms ln(1-I_L) = u and ln I_H = v of the switch points instead of
    evaluating logarithms again (and keeps 1-v exact near 1).
    """

    v: Any
    one_minus_v: Any
    log_v: Any
    log_one_minus_v: Any

    @staticmethod
    def where(cond, p, q):
        return _Point(*(jnp.where(cond, u, w) for u, w in zip(p, q)))

    def primitive_log1m(self):
        """∫_0^v ln(1-i) di = -(1-v) ln(1-v) - v."""
        return -jnp.where(self.one_minus_v > 0, self.one_minus_v * self.log_one_minus_v, 0.0) - self.v

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
    [start, end] = [max(I_L, I_lo), min(I_H, I_hi)] where c_L(I_L) = κ and c_H(I_H) = κ
    (empty, start = end = I*, if start >= end); I* is the L/H indifference point.
    Segments, in task order, are
    L [0, min(start,I*)], M [min(start,I*), min(end,I*)], L [min(end,I*), I*],
    H [I*, max(start,I*)], M [max(start,I*), max(end,I*)], H [max(end,I*), 1];
    their widths are computed from complements (expm1, sigmoid(-z)) so that
    narrow segments next to 0 or 1 keep full relative precision.
    Returns (points: 7 :class:`_Point` s, widths (6,)).
    """
    eta = e.eta
    log_W_H = x + theta
    z = (theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / eta
    star = _sigmoid_point(z)
    u = (x - jnp.log(e.A_L) - log_kappa) / eta  # 1 - I_L = e^u
    v = (log_W_H - jnp.log(e.A_H) - log_kappa) / eta  # I_H = e^v
    I_L = -jnp.expm1(u)
    I_H, one_minus_I_H = jnp.exp(v), -jnp.expm1(v)
    from_L = I_L > tech.I_lo
    from_H = I_H < tech.I_hi
    start = _Point.where(from_L, _Point(I_L, jnp.exp(u), jnp.log(jnp.where(from_L, I_L, 1.0)), u), _window_point(tech.I_lo))
    end = _Point.where(from_H, _Point(I_H, one_minus_I_H, v, jnp.log(jnp.where(from_H, one_minus_I_H, 1.0))), _window_point(tech.I_hi))
    empty = start.v >= end.v
    start = _Point.where(empty, star, start)
    end = _Point.where(empty, star, end)
    start_low, end_low = start.v < star.v, end.v < star.v
    zero = jnp.zeros_like(x)
    points = [
        _Point(zero, zero + 1.0, zero - jnp.inf, zero),
        _Point.where(start_low, start, star),
        _Point.where(end_low, end, star),
        star,
        _Point.where(start_low, star, start),
        _Point.where(end_low, star, end),
        _Point(zero + 1.0, zero, zero, zero - jnp.inf),
    ]
    widths = jnp.stack(
        [
            jnp.minimum(start.v, star.v),
            jnp.maximum(jnp.minimum(end.v, star.v) - jnp.minimum(start.v, star.v), 0.0),
            jnp.maximum(star.v - end.v, 0.0),
            jnp.maximum(start.v - star.v, 0.0),
            jnp.maximum(jnp.maximum(end.v, star.v) - jnp.maximum(start.v, star.v), 0.0),
            jnp.minimum(end.one_minus_v, star.one_minus_v),
        ]
    )
    return points, widths


def llm_assignment(e: Economy, tech: ScalingLLM, x, theta, log_kappa=None):
    """The assignment at log wages (x, x+θ): switch points (7,) and segment widths (6,), the
    segments performed by :data:`LLM_SEGMENT_FACTORS`; see :func:`_llm_points`.  ``log_kappa``:
    ln κ, [M8] (default :func:`llm_log_unit_cost`)."""
    log_kappa = llm_log_unit_cost(e, tech) if log_kappa is None else log_kappa
    points, widths = _llm_points(e, tech, log_kappa, x, theta)
    return jnp.stack([p.v for p in points]), widths


LLM_SEGMENT_FACTORS = [L_INDEX, M_INDEX, L_INDEX, H_INDEX, M_INDEX, H_INDEX]


def llm_measures(e: Economy, tech: ScalingLLM, x, theta, log_kappa=None) -> Measures:
    """[M4]'s integral φ = ∫ ln p and the task measures s_L, s_H at log wages (x, x+θ), in closed form.

    The model works on [max(I_L, I_lo), min(I_H, I_hi)] of [M9]; ``log_kappa``: ln κ, [M8] (default
    :func:`llm_log_unit_cost`).  Scalars (one point).
    """
    log_kappa = llm_log_unit_cost(e, tech) if log_kappa is None else log_kappa
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
    return Measures(phi, s_L, s_H)


def llm_residual(e: Economy, tech: ScalingLLM, x, theta, log_kappa=None):
    """(r_M4, r_M5) of the LLM route at log wages (x, x+θ): see :func:`simulator.residuals.residual`."""
    return residuals.residual(llm_measures(e, tech, x, theta, log_kappa), theta, residuals.log_supply_ratio(e))


def llm_measures_with_slopes(e: Economy, tech: ScalingLLM, x, theta, log_kappa=None):
    """:func:`llm_measures` and the slopes of s_L and s_H in (x, θ), differentiated by hand.

    The switch points move with the wages: I_L = 1 - e^u moves with x at -e^u/η,
    I_H = e^v with x and θ at I_H/η, and I* = sigmoid(z) with θ at I*(1-I*)/η;
    window edges do not move.  With s_L = min(start, I*) + (I* - end)_+ and
    s_H = (start - I*)_+ + 1 - max(end, I*), the slopes follow piece by piece.
    Returns (φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ).
    """
    log_kappa = llm_log_unit_cost(e, tech) if log_kappa is None else log_kappa
    phi, s_L, s_H = llm_measures(e, tech, x, theta, log_kappa)
    eta = e.eta
    z = (theta - jnp.log(e.A_H) + jnp.log(e.A_L)) / eta
    star_point = _sigmoid_point(z)
    star = star_point.v
    dstar_dtheta = star * star_point.one_minus_v / eta
    u = (x - jnp.log(e.A_L) - log_kappa) / eta
    v = (x + theta - jnp.log(e.A_H) - log_kappa) / eta
    I_L, I_H = -jnp.expm1(u), jnp.exp(v)
    from_L, from_H = I_L > tech.I_lo, I_H < tech.I_hi
    start = jnp.where(from_L, I_L, tech.I_lo)
    end = jnp.where(from_H, I_H, tech.I_hi)
    empty = start >= end
    zero = jnp.zeros_like(x)
    dstart_dx = jnp.where(empty, zero, jnp.where(from_L, -jnp.exp(u) / eta, zero))
    dstart_dtheta = jnp.where(empty, dstar_dtheta, zero)
    dend_dx = jnp.where(empty, zero, jnp.where(from_H, I_H / eta, zero))
    dend_dtheta = jnp.where(empty, dstar_dtheta, jnp.where(from_H, I_H / eta, zero))
    start = jnp.where(empty, star, start)
    end = jnp.where(empty, star, end)
    start_low, end_low = start < star, end < star
    dsL_dx = jnp.where(start_low, dstart_dx, zero) - jnp.where(end_low, dend_dx, zero)
    dsL_dtheta = jnp.where(start_low, dstart_dtheta, dstar_dtheta) + jnp.where(end_low, dstar_dtheta - dend_dtheta, zero)
    dsH_dx = jnp.where(start_low, zero, dstart_dx) - jnp.where(end_low, zero, dend_dx)
    dsH_dtheta = jnp.where(start_low, zero, dstart_dtheta - dstar_dtheta) - jnp.where(end_low, dstar_dtheta, dend_dtheta)
    return phi, s_L, s_H, dsL_dx, dsL_dtheta, dsH_dx, dsH_dtheta


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
        s_H = jnp.where(below, lo - star.v + 1.0 - hi, jnp.where(above, star.one_minus_v, 1.0 - hi))
        moves = jnp.where(below | above, star.v * star.one_minus_v / eta, 0.0)  # dI*/dθ where the measures move
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


def scaling_llm_log_wages(economy: Economy, tech: ScalingLLM, options: AnalyticOptions = AnalyticOptions()):
    """(x, θ) = (ln W_L, ln(W_H/W_L)) of :func:`scaling_llm`'s equilibrium, shape (2,), NaN where it
    is not ``ok``; differentiable in the parameters through [M4]-[M5] (:func:`llm_residual` and
    :func:`simulator.residuals.implicit_solution`), the solver's iterations are not differentiated."""

    def solve(p):
        eq = scaling_llm(*p, dataclasses.replace(options, check=True))
        ok = eq.status == Status.OK
        return jnp.stack([jnp.where(ok, jnp.log(eq.W_L), jnp.nan), jnp.where(ok, jnp.log(eq.W_H) - jnp.log(eq.W_L), jnp.nan)])

    def residual(z, p):
        return jnp.stack(llm_residual(p[0], p[1], z[0], z[1]))

    return residuals.implicit_solution(solve, residual)((economy, tech))


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
    whole_line = (tech.I_lo <= 0) & (tech.I_hi >= 1)
    unbounded = whole_line & (log_kappa <= 0)
    # within rounding of the frontier κ = 1 the side cannot be told: no answer is vouched for
    undecided = whole_line & (jnp.abs(log_kappa) <= _FRONTIER_ULPS * residuals.EPS * (
        jnp.abs(jnp.log(tech.F)) + jnp.abs(jnp.log(tech.A_bar)) + jnp.abs(log_kappa - jnp.log(tech.F) + jnp.log(tech.A_bar))))
    safe_log_kappa = jnp.where(adopted, log_kappa, log_p_peak + 1.0)

    def evaluate(x, theta):
        return llm_measures_with_slopes(e, tech, x, theta, safe_log_kappa)

    if options.strategy == "newton":
        solve = make_newton_solver(evaluate, residuals.log_supply_ratio(e), options.n_outer)
    else:
        solve = make_nested_solver(evaluate, residuals.log_supply_ratio(e), options.n_outer, options.n_inner)
    centre = jnp.log(e.A_H) - jnp.log(e.A_L)
    theta_lo, theta_hi = centre - 30.0 * e.eta, centre + 30.0 * e.eta
    # start where the model performs its whole window (the benchmark where that is not finite)
    x_w, theta_w = _whole_window_start(e, tech, safe_log_kappa, theta_b)
    use = adopted & jnp.isfinite(x_w) & (theta_w > theta_lo) & (theta_w < theta_hi)
    x, theta = solve(jnp.where(use, x_w, x_b), jnp.where(use, theta_w, theta_b), theta_lo, theta_hi)
    x = jnp.where(adopted, x, x_b)
    theta = jnp.where(adopted, theta, theta_b)
    points, widths = llm_assignment(e, tech, x, theta, safe_log_kappa)
    bench_points = jnp.stack([0.0, I_b, I_b, I_b, I_b, I_b, 1.0])
    bench_widths = jnp.stack([I_b, 0.0, 0.0, 0.0, 0.0, 1.0 - I_b])
    points = jnp.where(adopted, points, bench_points)
    widths = jnp.where(adopted, widths, bench_widths)
    boundaries, factors = points, jnp.asarray(LLM_SEGMENT_FACTORS, dtype=jnp.int32)
    # the fields the route needs; the scaling-law constants only enter D, where any value gives a valid cost
    ok = economy_admissible(e) & admissible(tech, ("A_bar", "F", "I_lo", "I_hi"))
    status = jnp.where(ok, jnp.where(unbounded, Status.UNBOUNDED, Status.OK), Status.INADMISSIBLE)
    # at most four of the six segments are ever used: L|M|L|H, L|H|M|H or L|M|M|H (see _llm_points)
    error = _error(e, residuals.split(evaluate(x, theta)), x, theta, boundaries, factors,
                   (jnp.log(tech.F), jnp.log(tech.A_bar), safe_log_kappa))
    return finalize(e, (tech,), x, x + theta, boundaries, factors, status, error=error, widths=widths, check=options.check,
                    accuracy=options.accuracy, max_used=4)
