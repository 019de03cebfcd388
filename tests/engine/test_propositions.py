"""Propositions 1-3 as properties over admissible parameters (hypothesis).

Admissible includes the adoption condition: the model's price lies between
the bound below which output is unbounded and the price above which nobody
rents it.  A counterexample fails the test and is printed by hypothesis.
"""
import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from simulator import Economy, ScalingLLM, SolverOptions, Status, TraditionalAI, solve

TOL = 1e-10
floats = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
log_uniform = lambda lo, hi: floats(math.log(lo), math.log(hi)).map(math.exp)  # noqa: E731

economies = st.builds(
    Economy,
    eta=floats(0.2, 4.0),
    A_L=log_uniform(0.2, 5.0),
    A_H=log_uniform(0.2, 5.0),
    L=log_uniform(0.1, 10.0),
    H=log_uniform(0.1, 10.0),
)


def check_residuals(eq):
    assert int(eq.status) == Status.OK, f"status {Status(int(eq.status)).name}, residuals {np.asarray(eq.residuals)}"
    assert np.max(np.abs(np.asarray(eq.residuals))) <= TOL, np.asarray(eq.residuals)


def lerp_log(lo, hi, u):
    return math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))


@given(economies)
def test_proposition_1(e):
    eq = solve(e)
    check_residuals(eq)
    I = eq.segments()[0]["end"]
    assert I == np.float64(1.0 / (1.0 + (e.A_H * e.H / (e.A_L * e.L)) ** (1 / (1 + e.eta)))) or abs(
        I - 1.0 / (1.0 + (e.A_H * e.H / (e.A_L * e.L)) ** (1 / (1 + e.eta)))
    ) < 1e-13
    premium = (e.A_H / e.A_L) ** (1 / (1 + e.eta)) * (e.H / e.L) ** (-e.eta / (1 + e.eta))
    assert abs(float(eq.premium) / premium - 1) < 1e-12


@given(economies, log_uniform(0.3, 10.0), floats(0.05, 5.0), floats(0.01, 0.99))
def test_proposition_2(e, A_bar, mu_gap, u):
    """Traditional AI, adopted: 0 < Ĩ₁ < Ĩ₂ < 1, Ĩ₂ > I, and the premium rises."""
    bench = solve(e)
    mu = e.eta + mu_gap
    F_low = A_bar * math.exp(-mu)  # below: no finite equilibrium
    F_star = A_bar * float(bench.W_L) / e.A_L  # above: no adoption
    assume(F_star > F_low * 1.01)
    F = lerp_log(F_low, F_star, u)
    eq = solve(e, [TraditionalAI(A_bar=A_bar, mu=mu, F=F)])
    check_residuals(eq)
    seg = eq.segments()
    assert [s["factor"] for s in seg] == ["M", "L", "H"]
    I1, I2 = seg[0]["end"], seg[1]["end"]
    assert 0 < I1 < I2 < 1
    assert I2 > bench.segments()[0]["end"]
    assert float(eq.premium) > float(bench.premium)


llm_shapes = st.fixed_dictionaries(
    {
        "C": floats(0.0, 0.5),
        "a": floats(0.0, 3.0),
        "alpha": floats(0.1, 0.6),
        "b": floats(0.0, 3.0),
        "beta": floats(0.1, 0.6),
        "G": log_uniform(1.0, 1e12),
        "N_bar": log_uniform(1.0, 1e13),
        "A_bar": log_uniform(0.3, 10.0),
    }
)


def divergence(p):
    return p["C"] + p["a"] / p["N_bar"] ** p["alpha"] + p["b"] / p["G"] ** p["beta"]


def benchmark_price(e, bench, i):
    return min(float(bench.W_L) / (e.A_L * (1 - i) ** e.eta), float(bench.W_H) / (e.A_H * i**e.eta))


@given(economies, llm_shapes, floats(0.0, 1.0), floats(0.0, 1.0), floats(0.01, 0.99))
def test_proposition_3(e, p, lo_u, hi_u, u):
    """LLM with its data window inside H's region (I < I_lo < I_hi <= 1), adopted: Î₁ < I, premium falls."""
    bench = solve(e)
    I = bench.segments()[0]["end"]
    I_lo = I + (1 - I) * (0.01 + 0.9 * lo_u)
    I_hi = I_lo + (1 - I_lo) * (0.05 + 0.95 * hi_u)
    D = divergence(p)
    assume(D < 0.99 and I_hi - I_lo > 1e-3)
    F_star = p["A_bar"] * (1 - D) ** e.eta * benchmark_price(e, bench, I_lo)  # adoption threshold
    F = F_star * (0.02 + 0.97 * u)
    eq = solve(e, [ScalingLLM(F=F, I_lo=I_lo, I_hi=I_hi, **p)])
    check_residuals(eq)
    seg = eq.segments()
    names = [s["factor"] for s in seg]
    assert names[:3] == ["L", "H", "M"] and names[3:] in ([], ["H"])
    assert seg[2]["start"] == I_lo  # the model's set starts at the data edge
    assert seg[0]["end"] < I
    assert float(eq.premium) < float(bench.premium)


@given(economies, llm_shapes, floats(0.0, 1.0), floats(0.0, 1.0), floats(0.01, 0.99))
def test_llm_in_L_region_raises_premium(e, p, lo_u, hi_u, u):
    bench = solve(e)
    I = bench.segments()[0]["end"]
    I_lo = I * 0.9 * lo_u
    I_hi = I_lo + (I - I_lo) * (0.05 + 0.95 * hi_u)
    D = divergence(p)
    assume(D < 0.99 and I_hi - I_lo > 1e-3)
    F_star = p["A_bar"] * (1 - D) ** e.eta * benchmark_price(e, bench, I_hi)
    F = F_star * (0.02 + 0.97 * u)
    eq = solve(e, [ScalingLLM(F=F, I_lo=I_lo, I_hi=I_hi, **p)])
    check_residuals(eq)
    assert [s["factor"] for s in eq.segments()][-1] == "H"
    assert float(eq.premium) > float(bench.premium)


@given(economies, llm_shapes, st.one_of(st.just(0.0), floats(0.01, 0.95)), floats(0.0, 1.0), log_uniform(0.05, 20.0))
def test_llm_any_window_any_price_residuals(e, p, I_lo, width_u, F):
    """Whatever the window and price: an OK status with tight residuals, or an honest UNBOUNDED.

    Excluded, and documented in docs/model.md: a window within 1% of [0, 1] with
    κ within 1% of 1, where output grows like exp(1/gap) and leaves float64.
    """
    I_hi = I_lo + (1 - I_lo) * (0.02 + 0.98 * width_u)
    D = divergence(p)
    if D < 1:
        log_kappa = math.log(F) - math.log(p["A_bar"]) - e.eta * math.log1p(-D)
        near_whole = I_lo < 0.01 and I_hi > 0.99
        assume(not (near_whole and not (I_lo == 0.0 and I_hi == 1.0) and abs(log_kappa) < 0.01))
        assume(not (I_lo == 0.0 and I_hi == 1.0 and 0 < log_kappa < 0.01))
    eq = solve(e, [ScalingLLM(F=F, I_lo=I_lo, I_hi=I_hi, **p)])
    if int(eq.status) == Status.UNBOUNDED:
        D = divergence(p)
        assert I_lo == 0.0 and I_hi == 1.0 and F <= p["A_bar"] * (1 - D) ** e.eta
        return
    check_residuals(eq)


def models_only_log_cost(e, trad, F, A_bar, D, I_lo, I_hi, n=20000):
    """∫ ln(min model unit cost) di: output is unbounded when this is <= 0 (midpoint rule)."""
    i = (np.arange(n) + 0.5) / n
    cost = np.log(trad.F / trad.A_bar) - trad.mu * np.log1p(-i)
    if D < 1:
        inside = (i >= I_lo) & (i <= I_hi)
        kappa = math.log(F / A_bar) - e.eta * math.log1p(-D)
        cost = np.where(inside, np.minimum(cost, kappa), cost)
    return cost.mean()


@given(economies, llm_shapes, floats(0.0, 0.9), floats(0.0, 1.0), log_uniform(0.05, 5.0))
def test_general_route_residuals(e, p, I_lo, width_u, F):
    """The discretised route satisfies its own equilibrium conditions to 1e-10.

    Points within 0.25 of the unbounded frontier are excluded (docs/model.md,
    numerical limits): there wages explode and a factor survives only in a
    sliver at the singular end of the task line, finer than the grid.
    """
    I_hi = I_lo + (1 - I_lo) * (0.05 + 0.95 * width_u)
    trad = TraditionalAI(A_bar=2.0, mu=e.eta + 1.0, F=2.0)
    assume(models_only_log_cost(e, trad, F, p["A_bar"], divergence(p), I_lo, I_hi) > 0.25)
    techs = [trad, ScalingLLM(F=F, I_lo=I_lo, I_hi=I_hi, **p)]
    eq = solve(e, techs, options=SolverOptions(method="discretized", n_tasks=256))
    if int(eq.status) == Status.UNBOUNDED:
        return
    assert int(eq.status) in (Status.OK, Status.ILL_CONDITIONED), Status(int(eq.status)).name  # O(h²) error vs 1e-8
    assert np.max(np.abs(np.asarray(eq.residuals))) <= TOL, np.asarray(eq.residuals)
