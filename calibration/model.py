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

**Several technologies** (windowed LLMs and traditional AI).  Exposure of a task is the largest
cost saving among them, e(i) = max(0, 1 - min_j c_j(i) / p0(i)).  On a benchmark region each
ratio is ρ_j(i) = c_j(i)/p0(i) = r_j (1-i)^{a_j} i^{b_j} on the technology's window
(:func:`_ratio_terms`), so the region splits into pieces on which one technology is cheapest and
e keeps its sign: at window edges, where some e_j crosses the cutoff, and where two ratios cross
(closed forms in ln(1-i), since b_j is the same for every technology on a region; one bisection for
traditional AI on H's region).  On each piece the integrals are closed forms (powers of 1-i or of
i), or 64-point Gauss-Legendre where ρ_j has both factors (traditional AI on H's region).  The
post-technology equilibrium comes from the engine's semi-analytic route when it covers the set (one
windowed LLM, every other technology priced out at that equilibrium) and from the general route's
residual (:func:`simulator.discretized.log_wages`) otherwise.

Only public engine functions are used: :mod:`simulator.analytic` (benchmark closed forms, the LLM
route's residual and assignment), :mod:`simulator.discretized` (the general route) and
:func:`simulator.residuals.implicit_solution` through them.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

import numpy as np

from simulator import analytic, discretized
from simulator.factors import log_productivity_columns
from simulator.params import Economy, ScalingLLM, TraditionalAI
from simulator.precision import float64

__all__ = [
    "Benchmark",
    "benchmark_state",
    "segment_integrals",
    "wage_exposure_slope",
    "exposed_share",
    "skill_premium",
    "post_llm_log_wages",
    "post_log_wages",
    "employment_growth_slope",
    "check_technologies",
    "moments_at",
    "exposure_at",
]


def _as_set(technologies) -> tuple:
    if isinstance(technologies, (ScalingLLM, TraditionalAI)):
        return (technologies,)
    return tuple(technologies)


def check_technologies(technologies) -> tuple:
    """The technology set of a moment map: windowed LLMs and traditional AI, at least one (ValueError otherwise)."""
    techs = _as_set(technologies)
    if not techs:
        raise ValueError("the moment map needs at least one technology")
    for t in techs:
        if not (isinstance(t, TraditionalAI) or (isinstance(t, ScalingLLM) and t.uses_window)):
            raise ValueError(f"technology {getattr(t, 'name', t)!r}: the moment map takes windowed LLMs (kind: llm) and traditional AI only")
    return techs


class Benchmark:
    """Benchmark quantities that every moment uses (a plain container, built inside traced code).

    ``technologies``: one technology or a sequence.  A single windowed LLM takes the closed forms
    below; any other set the piecewise ones of the module docstring.
    """

    def __init__(self, economy: Economy, technologies):
        techs = _as_set(technologies)
        self.economy, self.technologies, self.tech = economy, techs, techs[0]
        self.single = len(techs) == 1 and isinstance(techs[0], ScalingLLM)
        tech = self.tech
        self.eta = economy.eta
        self.I, self.theta = analytic.benchmark_threshold(economy)
        self.x = analytic.benchmark_log_wage(economy, self.I, self.theta)
        self.log_kappa = analytic.llm_log_unit_cost(economy, tech) if isinstance(tech, ScalingLLM) else jnp.inf
        # ln r_L = ln κ - ln p0(i) - η ln(1-i) on L tasks; ln r_H likewise on H tasks
        self.log_r_L = self.log_kappa - self.x + jnp.log(economy.A_L)
        self.log_r_H = self.log_kappa - self.x - self.theta + jnp.log(economy.A_H)
        self.w_L = economy.L / self.I
        self.w_H = economy.H / (1.0 - self.I)


def benchmark_state(economy: Economy, tech: ScalingLLM) -> Benchmark:
    return Benchmark(economy, tech)


def _pow_int_L(p, q, power):
    """∫_p^q (1-i)^power di for p <= q."""
    return ((1.0 - p) ** (power + 1.0) - (1.0 - q) ** (power + 1.0)) / (power + 1.0)


def _pow_int_H(p, q, power):
    """∫_p^q i^power di for p <= q."""
    return (q ** (power + 1.0) - p ** (power + 1.0)) / (power + 1.0)


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
    if not b.single:
        return _set_segment_integrals(b, p, q, region, weighted)
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
    if not b.single:
        return (wl * _set_exposed_measure(b, 0.0, b.I, "L", cutoff) + wh * _set_exposed_measure(b, b.I, 1.0, "H", cutoff)) / (l0 + h0)
    lo_L, hi_L = _exposed_interval(b, 0.0, b.I, "L", cutoff)
    lo_H, hi_H = _exposed_interval(b, b.I, 1.0, "H", cutoff)
    return (wl * (hi_L - lo_L) + wh * (hi_H - lo_H)) / (l0 + h0)


def skill_premium(b: Benchmark):
    """Aggregate log skill premium ln(W_H / W_L) of the benchmark, eq. (15)."""
    return b.theta


def exposure_at(b: Benchmark, i):
    """e(i) at task points ``i`` (used for plots and for simulated data)."""
    i = jnp.asarray(i, dtype=jnp.float64)
    if not b.single:
        lam = jnp.where(i < b.I, _min_log_ratio(b, i, "L"), _min_log_ratio(b, i, "H"))
        return jnp.where(jnp.isfinite(lam), jnp.maximum(0.0, -jnp.expm1(jnp.where(jnp.isfinite(lam), lam, 0.0))), 0.0)
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




# --------------------------------------------------------------------------- several technologies
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)
#: Bisection steps for the one crossing without a closed form (traditional AI on H's region).
_BISECTIONS = 80


def _ratio_terms(b: Benchmark, region: str):
    """Per technology on a benchmark region: (log_r, a, b_j, lo, hi, mixed) with
    ρ_j(i) = c_j(i)/p0(i) = exp(ln r + a ln(1-i) + b_j ln i) on [lo, hi] (+inf elsewhere); ``mixed``
    (static): both logs present, as for traditional AI on H's region."""
    e, eta = b.economy, b.eta
    log_wage = b.x if region == "L" else b.x + b.theta
    log_A = jnp.log(e.A_L) if region == "L" else jnp.log(e.A_H)
    terms = []
    for t in b.technologies:
        if isinstance(t, ScalingLLM):
            log_kappa = analytic.llm_log_unit_cost(e, t)
            finite = jnp.isfinite(log_kappa)
            log_r = jnp.where(finite, log_kappa, 0.0) - log_wage + log_A
            lo = jnp.asarray(t.I_lo, dtype=jnp.float64)
            hi = jnp.where(finite, t.I_hi, t.I_lo)  # a model that cannot work has an empty window
            a, b_j = (eta, 0.0) if region == "L" else (0.0, eta)
            mixed = False
        else:
            log_r = jnp.log(t.F) - jnp.log(t.A_bar) - log_wage + log_A
            lo, hi = jnp.asarray(0.0), jnp.asarray(1.0)
            a, b_j = (eta - t.mu, 0.0) if region == "L" else (-t.mu, eta)
            mixed = region == "H"
        terms.append((log_r, a, b_j, lo, hi, mixed))
    return terms


def _log_ratio(term, i):
    log_r, a, b_j, lo, hi, _ = term
    inside = (i >= lo) & (i <= hi)
    value = log_r + jax.scipy.special.xlog1py(a, -i) + jax.scipy.special.xlogy(b_j, i)
    return jnp.where(inside, value, jnp.inf)


def _min_log_ratio(b: Benchmark, i, region: str):
    """min_j ln ρ_j(i) over the technologies, with the region's terms."""
    return functools.reduce(jnp.minimum, [_log_ratio(t, i) for t in _ratio_terms(b, region)])


def _level_crossing(term, level, region: str):
    """The task where ln ρ_j = ``level`` (ln ρ_j is monotone on a region)."""
    log_r, a, b_j, _, _, mixed = term
    if mixed:
        # log_r + a ln(1-i) + b ln i increases in i (a < 0 < b): bisect in z = logit(i), then one
        # Newton step, which carries the derivative
        def f(z, log_r=log_r, a=a, b_j=b_j, level=level):
            return log_r + a * jax.nn.log_sigmoid(-z) + b_j * jax.nn.log_sigmoid(z) - level

        fixed = jax.lax.stop_gradient((log_r, a, b_j, level))

        def body(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            up = f(mid, *fixed) > 0
            return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

        lo, hi = jax.lax.fori_loop(0, _BISECTIONS, body, (jnp.asarray(-60.0), jnp.asarray(60.0)))
        z = jax.lax.stop_gradient(0.5 * (lo + hi))
        value, slope = jax.jvp(f, (z,), (jnp.ones_like(z),))
        return jax.nn.sigmoid(z - value / slope)
    if region == "L":
        return 1.0 - jnp.exp((level - log_r) / a)  # as in _exposed_interval
    return jnp.exp((level - log_r) / b_j)


def _pieces(b: Benchmark, p, q, region: str, level, extra=None):
    """Pieces of [p, q] on which one technology is cheapest and each e_j keeps its side of the level:
    edges (K+1,), the cheapest technology (K,) and whether ln ρ < ``level`` there (K,).  ``extra``:
    more cut points (such as segment boundaries)."""
    terms = _ratio_terms(b, region)
    cuts = []
    for t in terms:
        cuts += [t[3], t[4], _level_crossing(t, level, region)]
    for j in range(len(terms)):
        for k in range(j + 1, len(terms)):
            if isinstance(b.technologies[j], ScalingLLM) and isinstance(b.technologies[k], ScalingLLM):
                continue  # two LLMs have the same shape on a region: their ratio is constant
            d_log_r, d_a = terms[j][0] - terms[k][0], terms[j][1] - terms[k][1]
            cuts.append(-jnp.expm1(-d_log_r / jnp.where(d_a != 0, d_a, 1.0)))
    cuts = jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in cuts])
    if extra is not None:
        cuts = jnp.concatenate([cuts, extra])
    cuts = jnp.clip(jnp.where(jnp.isnan(cuts), p, cuts), p, q)
    edges = jnp.sort(jnp.concatenate([jnp.stack([p, q]), cuts]))
    mid = 0.5 * (edges[:-1] + edges[1:])
    logs = [_log_ratio(t, mid) for t in terms]
    cheapest = jnp.argmin(jnp.stack(logs), axis=0)
    return edges, cheapest, functools.reduce(jnp.minimum, logs) < level


def _piece_integrals(b: Benchmark, edges, cheapest, exposed, region: str):
    """Per piece: (∫ e, ∫ e²) with e = 1 - ρ of the cheapest technology where exposed, else 0."""
    s1 = s2 = 0.0
    for j, term in enumerate(_ratio_terms(b, region)):
        used = exposed & (cheapest == j)
        # pieces not used are moved to a harmless empty interval, so that no infinity enters
        u, v = jnp.where(used, edges[:-1], 0.5), jnp.where(used, edges[1:], 0.5)
        i1, i2 = _ratio_integrals(term, u, v, region)
        s1 = s1 + (v - u - i1)
        s2 = s2 + (v - u - 2.0 * i1 + i2)
    return s1, s2


def _ratio_integrals(term, u, v, region: str):
    """(∫_u^v ρ_j, ∫_u^v ρ_j²) elementwise over pieces: closed forms in 1-i or i, Gauss-Legendre when mixed."""
    log_r, a, b_j, _, _, mixed = term
    if mixed:
        half = 0.5 * (v - u)
        nodes = u[..., None] + half[..., None] * (jnp.asarray(_GL_NODES) + 1.0)
        log_rho = log_r + a * jnp.log1p(-nodes) + b_j * jnp.log(nodes)
        weights = jnp.asarray(_GL_WEIGHTS)
        return half * jnp.sum(weights * jnp.exp(log_rho), axis=-1), half * jnp.sum(weights * jnp.exp(2.0 * log_rho), axis=-1)
    r = jnp.exp(log_r)
    out = []
    for k in (1.0, 2.0):
        power = k * (a if region == "L" else b_j)
        A = power + 1.0
        # the single-LLM closed forms (_pow_int_L, _pow_int_H) where A is not near 0, logs there
        if region == "L":
            closed = _pow_int_L(u, v, jnp.where(jnp.abs(A) > 1e-6, power, 0.0))
            log_form = jnp.log1p(-u) - jnp.log1p(-v)
        else:
            closed = _pow_int_H(u, v, jnp.where(jnp.abs(A) > 1e-6, power, 0.0))
            log_form = jnp.log(v) - jnp.log(u)
        out.append(jnp.where(jnp.abs(A) > 1e-6, closed, log_form))
    return r * out[0], r * r * out[1]


def _set_segment_integrals(b: Benchmark, p, q, region: str, weighted: bool):
    w = (b.w_L if region == "L" else b.w_H) if weighted else 1.0
    edges, cheapest, exposed = _pieces(b, p, q, region, 0.0)
    s1, s2 = _piece_integrals(b, edges, cheapest, exposed, region)
    return w * (q - p), w * jnp.sum(s1), w * jnp.sum(s2)


def _set_growth_sums(b: Benchmark, boundaries, post, weighted: bool):
    """(Σ n, Σ n e, Σ n e², Σ n g e, Σ n g) over tasks, with growth g = post/pre - 1 on each segment of
    ``boundaries`` (S+1,) with post employment density ``post`` (S,): each region is cut once, at
    its pieces and at the segment boundaries."""
    totals = []
    for region, (p, q), pre in (("L", (0.0, b.I), b.w_L), ("H", (b.I, 1.0), b.w_H)):
        p, q = jnp.asarray(p, dtype=jnp.float64), jnp.asarray(q, dtype=jnp.float64)
        edges, cheapest, exposed = _pieces(b, p, q, region, 0.0, extra=boundaries)
        s1, s2 = _piece_integrals(b, edges, cheapest, exposed, region)
        mid = 0.5 * (edges[:-1] + edges[1:])
        segment = jnp.clip(jnp.searchsorted(boundaries, mid, side="right") - 1, 0, post.shape[0] - 1)
        g = post[segment] / pre - 1.0
        w = pre if weighted else 1.0
        width = jnp.diff(edges)
        totals.append(jnp.stack([jnp.sum(w * width), jnp.sum(w * s1), jnp.sum(w * s2), jnp.sum(g * w * s1), jnp.sum(g * w * width)]))
    return totals[0] + totals[1]


def _set_exposed_measure(b: Benchmark, p, q, region: str, cutoff):
    edges, _, exposed = _pieces(b, jnp.asarray(p, dtype=jnp.float64), jnp.asarray(q, dtype=jnp.float64), region, jnp.log1p(-cutoff))
    return jnp.sum(jnp.where(exposed, jnp.diff(edges), 0.0))


# --------------------------------------------------------------------------- post-technology equilibrium
#: The general route's grid and iterations for the post-technology equilibrium of a technology set.
GENERAL_ROUTE = discretized.DiscretizedOptions()
#: Tasks on which a technology is checked to be priced out at the semi-analytic equilibrium.
_PRICED_OUT_POINTS = 4096


def post_llm_log_wages(economy: Economy, tech: ScalingLLM):
    """(ln W_L, ln W_H - ln W_L) of the post-LLM equilibrium, from the engine's semi-analytic solver.

    Derivatives come from the implicit function theorem on [M4]-[M5]
    (:func:`simulator.analytic.scaling_llm_log_wages`); the root-finder is not differentiated.
    NaN where the engine reports no equilibrium.
    """
    return analytic.scaling_llm_log_wages(economy, tech)


def post_log_wages(economy: Economy, technologies):
    """(ln W_L, ln W_H - ln W_L) of the post-technology equilibrium of any set, by the general route
    (:func:`simulator.discretized.log_wages`, implicit derivative through its residual)."""
    return discretized.log_wages(economy, _as_set(technologies), GENERAL_ROUTE)


def _llm_post(e: Economy, tech: ScalingLLM):
    """Switch points (7,), post employment densities (6,) and log wages (x, θ) of the semi-analytic route."""
    z = post_llm_log_wages(e, tech)
    x, theta = z[0], z[1]
    points, widths = analytic.llm_assignment(e, tech, x, theta)
    s_L = widths[0] + widths[2]
    s_H = widths[3] + widths[5]
    return points, [e.L / s_L, 0.0, e.L / s_L, e.H / s_H, 0.0, e.H / s_H], x, theta


def _priced_out(e: Economy, technologies, k: int, x, theta):
    """Whether every technology but the k-th costs more than the equilibrium price p(i) of L, H and
    technology k alone at log wages (x, x + θ), on a grid of tasks: then that equilibrium is also the
    set's."""
    i = (jnp.arange(_PRICED_OUT_POINTS) + 0.5) / _PRICED_OUT_POINTS
    ell = log_productivity_columns(e, technologies, i)
    log_p = jnp.minimum(jnp.minimum(x - ell[0], x + theta - ell[1]), jnp.log(technologies[k].F) - ell[2 + k])
    out = jnp.asarray(True)
    for j, t in enumerate(technologies):
        if j != k:
            out = out & jnp.all(jnp.log(t.F) - ell[2 + j] > log_p)
    return out


def _post_assignment(b: Benchmark):
    """Boundaries (S+1,) and post-technology employment densities (S,) of the post equilibrium's segments."""
    e, techs = b.economy, b.technologies
    if b.single:
        points, post, _, _ = _llm_post(e, b.tech)
        return points, post
    z = post_log_wages(e, techs)
    x, theta = z[0], z[1]
    boundaries, factors = discretized.assignment(e, techs, x, theta, GENERAL_ROUTE)
    m = discretized.measures(e, techs, x, theta, GENERAL_ROUTE)
    post = jnp.where(factors == 0, e.L / m.s_L, jnp.where(factors == 1, e.H / m.s_H, 0.0))
    # the semi-analytic route covers the set when one LLM is adopted and every other technology is
    # priced out at its equilibrium (the first such LLM, in the set's order)
    S = factors.shape[0]
    for k in reversed([k for k, t in enumerate(techs) if isinstance(t, ScalingLLM)]):
        points, llm_post, x_a, theta_a = _llm_post(e, techs[k])
        points = jnp.concatenate([points, jnp.ones(S - 6)])
        llm_post = jnp.concatenate([jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in llm_post]), jnp.zeros(S - 6)])
        covered = _priced_out(e, techs, k, x_a, theta_a) & jnp.isfinite(x_a)
        boundaries = jnp.where(covered, points, boundaries)
        post = jnp.where(covered, llm_post, post)
    return boundaries, [post[k] for k in range(post.shape[0])]


def employment_growth_slope(b: Benchmark, weighted: bool = True):
    """Slope of the growth of employment shares (post-technology over benchmark, minus one) on exposure.

    Growth is n'(i)/n(i) - 1 with n' the post-technology employment density (L/s_L', H/s_H', zero on
    the models' tasks); total employment is L + H in both, so shares and densities grow alike.  The
    regression weights are benchmark employment (the data use early-period vacancies).
    """
    points, post = _post_assignment(b)
    if not b.single:
        s0, s1, s2, sge, sg = _set_growth_sums(b, points, jnp.stack([jnp.asarray(v, dtype=jnp.float64) for v in post]), weighted)
        mean_e = s1 / s0
        return (sge / s0 - (sg / s0) * mean_e) / (s2 / s0 - mean_e**2)
    acc = jnp.zeros(4)  # Σ n, Σ n e, Σ n e², Σ n g e ; plus Σ n g tracked separately
    sg = 0.0
    for k in range(len(post)):
        p, q = points[k], points[k + 1]
        for region, (lo, hi), pre in (("L", (p, jnp.minimum(q, b.I)), b.w_L), ("H", (jnp.maximum(p, b.I), q), b.w_H)):
            hi = jnp.maximum(hi, lo)
            s0, s1, s2 = segment_integrals(b, lo, hi, region, weighted)
            g = post[k] / pre - 1.0
            acc = acc + jnp.stack([s0, s1, s2, g * s1])
            sg = sg + g * s0
    s0, s1, s2, sge = acc[0], acc[1], acc[2], acc[3]
    mean_e = s1 / s0
    var_e = s2 / s0 - mean_e**2
    cov = sge / s0 - (sg / s0) * mean_e
    return cov / var_e


@float64
def moments_at(economy: Economy, technologies, moments) -> np.ndarray:
    """The model moments (``Moment`` objects) at one economy and technology set, as a numpy array."""
    b = Benchmark(economy, check_technologies(technologies))
    return np.asarray(jnp.stack([jnp.asarray(m.function(b), dtype=jnp.float64) for m in moments]))
