"""Model counterparts of the empirical moments (the moment map of ``docs/calibration.md``).

Occupations are tasks i on [0, 1].  In the benchmark (pre-LLM) equilibrium low-skill labour L
performs [0, I] and high-skill labour H performs [I, 1] (Proposition 1), so

* log wage of task i:    ln W_L on [0, I], ln W_H on [I, 1];
* employment density:    n(i) = L / I on [0, I] and H / (1 - I) on [I, 1]  (x_f = Y / W_f, eq. 7-8);
* exposure:              e(i) = max(0, 1 - c_M(i) / p0(i)), the share of the task's unit cost the LLM
                         would save at benchmark prices; c_M = κ on the data window, ∞ elsewhere [M8].

On the L region κ / p0(i) = r_L (1-i)^η and on the H region κ / p0(i) = r_H i^η, so every integral
of n, n·e and n·e² over an interval has a closed form, and each model moment is a jnp function of
the parameters that JAX differentiates directly.  The one moment that needs the post-LLM equilibrium
(growth of employment shares) differentiates through the equilibrium conditions [M4]-[M5]
implicitly (:func:`post_llm_log_wages`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator import analytic
from simulator.params import Economy, ScalingLLM

__all__ = [
    "Benchmark",
    "benchmark_state",
    "segment_integrals",
    "wage_exposure_slope",
    "exposed_share",
    "skill_premium",
    "post_llm_log_wages",
    "employment_growth_slope",
    "exposure_at",
]


class Benchmark:
    """Benchmark quantities that every moment uses (a plain container, built inside traced code)."""

    def __init__(self, economy: Economy, tech: ScalingLLM):
        self.economy, self.tech = economy, tech
        self.eta = economy.eta
        self.I, self.theta = analytic.benchmark_threshold(economy)
        self.x = analytic.benchmark_log_wage(economy, self.I, self.theta)
        self.log_kappa = analytic.llm_log_unit_cost(economy, tech)
        # ln r_L = ln κ - ln p0(i) - η ln(1-i) on L tasks; ln r_H likewise on H tasks
        self.log_r_L = self.log_kappa - self.x + jnp.log(economy.A_L)
        self.log_r_H = self.log_kappa - self.x - self.theta + jnp.log(economy.A_H)
        self.w_L = economy.L / self.I
        self.w_H = economy.H / (1.0 - self.I)


def benchmark_state(economy: Economy, tech: ScalingLLM) -> Benchmark:
    return Benchmark(economy, tech)


def _pow_int_L(p, q, a):
    """∫_p^q (1-i)^a di for p <= q."""
    return ((1.0 - p) ** (a + 1.0) - (1.0 - q) ** (a + 1.0)) / (a + 1.0)


def _pow_int_H(p, q, a):
    """∫_p^q i^a di for p <= q."""
    return (q ** (a + 1.0) - p ** (a + 1.0)) / (a + 1.0)


def _exposed_interval(b: Benchmark, p, q, region: str, cutoff=0.0):
    """Sub-interval of [p, q] (inside one benchmark region) on the window where e(i) > cutoff."""
    tech = b.tech
    lo = jnp.maximum(p, tech.I_lo)
    hi = jnp.minimum(q, tech.I_hi)
    finite = jnp.isfinite(b.log_kappa)
    log_r = jnp.where(finite, b.log_r_L if region == "L" else b.log_r_H, 0.0)
    # e > c  <=>  r u^η < 1 - c  <=>  u < exp((ln(1-c) - ln r)/η)
    u_max = jnp.exp((jnp.log1p(-cutoff) - log_r) / b.eta)
    if region == "L":  # u = 1 - i  ->  i > 1 - u_max
        lo = jnp.maximum(lo, 1.0 - u_max)
    else:  # u = i  ->  i < u_max
        hi = jnp.minimum(hi, u_max)
    hi = jnp.where(finite, hi, lo)
    hi = jnp.maximum(hi, lo)
    return lo, hi


def segment_integrals(b: Benchmark, p, q, region: str, weighted: bool = True):
    """(∫ n, ∫ n e, ∫ n e²) over [p, q] ⊂ benchmark region ('L' or 'H'); n = 1 when not weighted."""
    p = jnp.asarray(p, dtype=jnp.float64)
    q = jnp.maximum(jnp.asarray(q, dtype=jnp.float64), p)
    w = (b.w_L if region == "L" else b.w_H) if weighted else 1.0
    lo, hi = _exposed_interval(b, p, q, region)
    integ = _pow_int_L if region == "L" else _pow_int_H
    r = jnp.exp(jnp.where(jnp.isfinite(b.log_kappa), b.log_r_L if region == "L" else b.log_r_H, 0.0))
    width = hi - lo
    i1 = integ(lo, hi, b.eta)
    i2 = integ(lo, hi, 2.0 * b.eta)
    s0 = w * (q - p)
    s1 = w * (width - r * i1)
    s2 = w * (width - 2.0 * r * i1 + r * r * i2)
    return s0, s1, s2


def _region_totals(b: Benchmark, weighted: bool):
    L = segment_integrals(b, 0.0, b.I, "L", weighted)
    H = segment_integrals(b, b.I, 1.0, "H", weighted)
    return L, H


def wage_exposure_slope(b: Benchmark, weighted: bool = True):
    """Least-squares slope of log wage on exposure over tasks, weighted by benchmark employment.

    ln w is ln W_L on L's tasks and ln W_L + θ on H's, so Cov(ln w, e) = θ Cov(1_H, e).
    """
    (l0, l1, l2), (h0, h1, h2) = _region_totals(b, weighted)
    s0, s1, s2 = l0 + h0, l1 + h1, l2 + h2
    mean_e = s1 / s0
    var_e = s2 / s0 - mean_e**2
    cov = b.theta * (h1 / s0 - (h0 / s0) * mean_e)
    return cov / var_e


def exposed_share(b: Benchmark, cutoff, weighted: bool = True):
    """Share of (employment-weighted) tasks with exposure e(i) > cutoff."""
    (l0, _, _), (h0, _, _) = _region_totals(b, weighted)
    wl = b.w_L if weighted else 1.0
    wh = b.w_H if weighted else 1.0
    a, c = _exposed_interval(b, 0.0, b.I, "L", cutoff)
    d, f = _exposed_interval(b, b.I, 1.0, "H", cutoff)
    return (wl * (c - a) + wh * (f - d)) / (l0 + h0)


def skill_premium(b: Benchmark):
    """Aggregate log skill premium ln(W_H / W_L) of the benchmark, eq. (15)."""
    return b.theta


def exposure_at(b: Benchmark, i):
    """e(i) at task points ``i`` (used for plots and for simulated data)."""
    i = jnp.asarray(i, dtype=jnp.float64)
    tech = b.tech
    on = (i >= tech.I_lo) & (i <= tech.I_hi) & jnp.isfinite(b.log_kappa)
    log_ratio = jnp.where(i < b.I, b.log_r_L + b.eta * jnp.log1p(-i), b.log_r_H + b.eta * jnp.log(jnp.where(i > 0, i, 1.0)))
    return jnp.where(on, jnp.maximum(0.0, -jnp.expm1(log_ratio)), 0.0)


def log_wage_at(b: Benchmark, i):
    """Benchmark log wage of the factor performing task i."""
    i = jnp.asarray(i, dtype=jnp.float64)
    return jnp.where(i < b.I, b.x, b.x + b.theta)


def employment_at(b: Benchmark, i):
    i = jnp.asarray(i, dtype=jnp.float64)
    return jnp.where(i < b.I, b.w_L, b.w_H)


# --------------------------------------------------------------------------- post-LLM equilibrium
def _conditions(z, economy: Economy, tech: ScalingLLM):
    """[M4] ∫ ln p = 0 and [M5] θ + ln H - ln L + ln s_L - ln s_H = 0 at z = (x, θ)."""
    x, theta = z[0], z[1]
    log_kappa = analytic.llm_log_unit_cost(economy, tech)
    phi, s_L, s_H = analytic._llm_evaluate(economy, tech, log_kappa, x, theta)
    g = theta + jnp.log(economy.H) - jnp.log(economy.L) + jnp.log(s_L) - jnp.log(s_H)
    return jnp.stack([phi, g])


_SOLVER = []


def _llm_solver():
    """The engine's semi-analytic LLM solver, jitted once (compiled on first use)."""
    if not _SOLVER:
        _SOLVER.append(jax.jit(analytic.scaling_llm))
    return _SOLVER[0]


@jax.custom_jvp
def post_llm_log_wages(economy: Economy, tech: ScalingLLM):
    """(ln W_L, ln W_H - ln W_L) of the post-LLM equilibrium, from the engine's semi-analytic solver.

    Derivatives come from the implicit function theorem on [M4]-[M5]; the root-finder is not
    differentiated.  NaN where the engine reports no equilibrium.
    """
    eq = _llm_solver()(jax.lax.stop_gradient(economy), jax.lax.stop_gradient(tech))
    ok = eq.status == 0
    x = jnp.where(ok, jnp.log(eq.W_L), jnp.nan)
    return jnp.stack([x, jnp.where(ok, jnp.log(eq.W_H) - jnp.log(eq.W_L), jnp.nan)])


@post_llm_log_wages.defjvp
def _post_llm_jvp(primals, tangents):
    economy, tech = primals
    z = post_llm_log_wages(economy, tech)
    J_z = jax.jacfwd(_conditions, argnums=0)(z, economy, tech)
    _, F_dot = jax.jvp(lambda e, t: _conditions(z, e, t), (economy, tech), tangents)
    return z, -jnp.linalg.solve(J_z, F_dot)


def employment_growth_slope(b: Benchmark, weighted: bool = True):
    """Slope of the growth of employment shares (post-LLM over benchmark, minus one) on exposure.

    Growth is n'(i)/n(i) - 1 with n' the post-LLM employment density (L/s_L', H/s_H', zero on the
    model's tasks); total employment is L + H in both, so shares and densities grow alike.  The
    regression weights are benchmark employment (the data use early-period vacancies).
    """
    e, tech = b.economy, b.tech
    z = post_llm_log_wages(e, tech)
    x, theta = z[0], z[1]
    points, widths = analytic._llm_geometry(e, tech, b.log_kappa, x, theta)
    s_L = widths[0] + widths[2]
    s_H = widths[3] + widths[5]
    post = [e.L / s_L, 0.0, e.L / s_L, e.H / s_H, 0.0, e.H / s_H]
    acc = jnp.zeros(4)  # Σ n, Σ n e, Σ n e², Σ n g e ; plus Σ n g tracked separately
    sg = 0.0
    for k in range(6):
        p, q = points[k], points[k + 1]
        for region, (a, c), pre in (("L", (p, jnp.minimum(q, b.I)), b.w_L), ("H", (jnp.maximum(p, b.I), q), b.w_H)):
            c = jnp.maximum(c, a)
            s0, s1, s2 = segment_integrals(b, a, c, region, weighted)
            g = post[k] / pre - 1.0
            acc = acc + jnp.stack([s0, s1, s2, g * s1])
            sg = sg + g * s0
    s0, s1, s2, sge = acc[0], acc[1], acc[2], acc[3]
    mean_e = s1 / s0
    var_e = s2 / s0 - mean_e**2
    cov = sge / s0 - (sg / s0) * mean_e
    return cov / var_e
