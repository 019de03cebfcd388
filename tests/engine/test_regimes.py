"""Traditional AI and scaling-law LLM equilibria: corner cases and the two routes."""
import math

import numpy as np
import pytest

from simulator import Economy, ParameterError, ScalingLLM, SolverOptions, Status, TraditionalAI, solve, solve_batch

ECON = Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6)
BENCH = solve(ECON)
I_BENCH = BENCH.segments()[0]["end"]


def llm(**kw):
    base = dict(A_bar=2.0, F=0.8, C=0.1, a=0.5, alpha=0.3, b=0.5, beta=0.3, G=100.0, N_bar=100.0, I_lo=0.7, I_hi=0.9)
    base.update(kw)
    return ScalingLLM(**base)


def factors(eq):
    return [s["factor"] for s in eq.segments()]


# ----------------------------------------------------------------- traditional AI
def test_traditional_no_finite_equilibrium_below_threshold():
    A_bar, mu = 2.0, 2.0
    threshold = A_bar * math.exp(-mu)
    F = np.array([0.5 * threshold, threshold, threshold * (1 + 1e-6), 1.2 * threshold, 0.6])
    eq = solve_batch(ECON, [TraditionalAI(A_bar=A_bar, mu=mu, F=F)])
    status = np.asarray(eq.status)
    assert status[0] == Status.UNBOUNDED
    # F = Ā e^{-μ} in float64 lies within rounding of the frontier: neither side can be vouched for
    assert status[1] == Status.ILL_CONDITIONED and np.isinf(eq.error[1])
    assert list(status[3:]) == [Status.OK, Status.OK]
    assert np.isnan(eq.Y[0]) and np.isfinite(eq.Y[3])  # an unbounded point is flagged, not a number
    # near the threshold output grows without bound
    assert float(eq.Y[3]) > 10 * float(eq.Y[4])


def test_traditional_no_adoption_above_price_threshold():
    A_bar = 2.0
    F_star = A_bar * float(BENCH.W_L) / ECON.A_L  # model's cost at task 0 equals labour's
    eq = solve_batch(ECON, [TraditionalAI(A_bar=A_bar, mu=2.0, F=np.array([F_star * 1.001, F_star * 2, F_star * 0.999]))])
    for k in (0, 1):
        assert float(eq.shares[k, 2]) == 0.0
        assert float(eq.premium[k]) == pytest.approx(float(BENCH.premium), rel=1e-14)
        assert float(eq.Y[k]) == pytest.approx(float(BENCH.Y), rel=1e-14)
    assert 0 < float(eq.shares[2, 2]) < 1e-2  # just below the threshold: a sliver of tasks


def test_traditional_ordering_and_proposition_2_example():
    eq = solve(ECON, [TraditionalAI(A_bar=2.0, mu=2.0, F=0.6)])
    assert factors(eq) == ["M", "L", "H"]
    I1, I2 = eq.segments()[0]["end"], eq.segments()[1]["end"]
    assert 0 < I1 < I2 < 1 and I2 > I_BENCH
    assert float(eq.premium) > float(BENCH.premium)
    # no-arbitrage at both thresholds, in levels (paper's A.1 conditions, corrected)
    F, A_bar, mu = 0.6, 2.0, 2.0
    assert float(eq.W_L) / (ECON.A_L * (1 - I1) ** ECON.eta) == pytest.approx(F / (A_bar * (1 - I1) ** mu), rel=1e-12)
    assert float(eq.W_L) / (ECON.A_L * (1 - I2) ** ECON.eta) == pytest.approx(float(eq.W_H) / (ECON.A_H * I2**ECON.eta), rel=1e-12)
    # labour per task is L/(I2 - I1) and H/(1 - I2)
    assert float(eq.W_L) * ECON.L / float(eq.Y) == pytest.approx(I2 - I1, rel=1e-12)


# ----------------------------------------------------------------- LLM
def test_llm_window_in_H_region_starts_at_data_edge():
    eq = solve(ECON, [llm(I_lo=0.7, I_hi=0.95, F=1.1)])
    seg = eq.segments()
    assert factors(eq) == ["L", "H", "M", "H"]
    assert seg[2]["start"] == pytest.approx(0.7, abs=0)  # data edge, not an indifference point
    e = seg[2]["end"]
    assert e < 0.95  # ends where H's unit cost equals the model's
    D = 0.1 + 0.5 / 100**0.3 + 0.5 / 100**0.3
    kappa = 1.1 / (2.0 * (1 - D) ** ECON.eta)
    assert float(eq.W_H) / (ECON.A_H * e**ECON.eta) == pytest.approx(kappa, rel=1e-12)
    # at the data edge the model is strictly cheaper than H
    assert float(eq.W_H) / (ECON.A_H * 0.7**ECON.eta) > kappa * (1 + 1e-3)
    assert float(eq.premium) < float(BENCH.premium)


def test_llm_window_ends_at_I_hi_when_model_cheap():
    eq = solve(ECON, [llm(I_lo=0.7, I_hi=0.9, F=0.05)])
    seg = eq.segments()
    assert factors(eq) == ["L", "H", "M", "H"]
    assert (seg[2]["start"], seg[2]["end"]) == (0.7, 0.9)


def test_llm_window_in_L_region_raises_premium():
    eq = solve(ECON, [llm(I_lo=0.1, I_hi=0.3)])
    assert factors(eq) == ["L", "M", "L", "H"]
    assert float(eq.premium) > float(BENCH.premium)


def test_llm_window_straddling_threshold_gives_L_M_H():
    eq = solve(ECON, [llm(I_lo=0.3, I_hi=0.8, F=0.3)])
    assert factors(eq) == ["L", "M", "H"]
    seg = eq.segments()
    assert (seg[1]["start"], seg[1]["end"]) == (0.3, 0.8)  # cheap model: the whole window, I* inside it


def test_llm_window_straddling_with_L_indifference():
    # the model is dear enough that L beats it near the window's lower edge: L|M|H starting at an indifference point
    eq = solve(ECON, [llm(I_lo=0.2, I_hi=0.8, F=1.5)])
    seg = eq.segments()
    assert factors(eq) == ["L", "M", "H"]
    s, e = seg[1]["start"], seg[1]["end"]
    assert 0.2 < s < I_BENCH < e < 0.8
    D = 0.1 + 2 * 0.5 / 100**0.3
    kappa = 1.5 / (2.0 * (1 - D))
    assert float(eq.W_L) / (ECON.A_L * (1 - s)) == pytest.approx(kappa, rel=1e-12)
    assert float(eq.W_H) / (ECON.A_H * e) == pytest.approx(kappa, rel=1e-12)


def test_llm_no_adoption_equals_benchmark():
    # D >= 1: no productivity at all; and a price above the adoption threshold
    for tech in (llm(C=0.99), llm(F=50.0)):
        eq = solve(ECON, [tech])
        assert float(eq.shares[2]) == 0.0
        assert float(eq.premium) == pytest.approx(float(BENCH.premium), rel=1e-14)
        assert float(eq.Y) == pytest.approx(float(BENCH.Y), rel=1e-14)


def test_llm_adoption_price_threshold_is_benchmark_price_at_window():
    # window [0.7, 0.9] inside H's region: the threshold is H's benchmark cost at I_lo
    D = 0.1 + 2 * 0.5 / 100**0.3
    p_at_edge = float(BENCH.W_H) / (ECON.A_H * 0.7**ECON.eta)
    F_star = p_at_edge * 2.0 * (1 - D) ** ECON.eta
    eq = solve_batch(ECON, [llm(F=np.array([F_star * 1.0001, F_star * 0.9999]))])
    assert float(eq.shares[0, 2]) == 0.0
    assert 0 < float(eq.shares[1, 2]) < 1e-3


def test_llm_whole_window():
    whole = dict(I_lo=0.0, I_hi=1.0)
    D = 0.1 + 2 * 0.5 / 100**0.3
    cheap = solve(ECON, [llm(F=0.9 * 2.0 * (1 - D), **whole)])  # κ = 0.9 < 1: unbounded
    assert int(cheap.status) == Status.UNBOUNDED
    dear = solve(ECON, [llm(F=1.2 * 2.0 * (1 - D), **whole)])  # κ = 1.2: workers remain at both ends
    assert int(dear.status) == Status.OK
    assert factors(dear) == ["L", "M", "H"]
    assert np.max(np.abs(dear.residuals)) <= 1e-10


def test_failure_does_not_poison_batch():
    eq2 = solve_batch(ECON, [llm(F=np.array([0.5, 0.9, 3.0]), I_lo=np.array([0.0, 0.7, 0.0]), I_hi=np.array([1.0, 0.9, 1.0]))])
    status = np.asarray(eq2.status)
    assert status[0] == Status.UNBOUNDED and status[1] == Status.OK and status[2] == Status.OK
    single = solve(ECON, [llm(F=0.9, I_lo=0.7, I_hi=0.9)])
    assert float(eq2.premium[1]) == pytest.approx(float(single.premium), rel=1e-14)


# ----------------------------------------------------------------- two routes
ROUTE_CASES = {
    "traditional": [TraditionalAI(A_bar=2.0, mu=2.5, F=0.6)],
    "llm_H_region": [llm(I_lo=0.63, I_hi=0.91)],
    "llm_L_region": [llm(I_lo=0.13, I_hi=0.31)],
    "llm_straddling": [llm(I_lo=0.3, I_hi=0.8, F=0.3)],
}


@pytest.mark.parametrize("case", sorted(ROUTE_CASES))
def test_routes_agree_with_second_order_convergence(case):
    techs = ROUTE_CASES[case]
    exact = solve(ECON, techs, method="analytic")
    ns = np.array([64, 128, 256, 512])
    errors = []
    for n in ns:
        d = solve(ECON, techs, options=SolverOptions(method="discretized", n_tasks=int(n)))
        assert int(d.status) == Status.ILL_CONDITIONED  # its O(h²) error exceeds the accuracy 1e-8; values kept
        assert np.max(np.abs(d.residuals)) <= 1e-10
        assert [s["factor"] for s in d.segments()] == factors(exact)
        errors.append(max(abs(float(d.W_L - exact.W_L)), abs(float(d.W_H - exact.W_H)), float(np.max(np.abs(d.shares - exact.shares)))))
    order = -np.polyfit(np.log(ns), np.log(errors), 1)[0]
    assert 1.8 < order < 2.3, f"observed order {order:.2f}, errors {errors}"
    assert errors[-1] < 1e-5


def test_discretized_takes_general_profiles_and_two_technologies():
    from simulator import ProfileTechnology

    # a user profile identical to traditional AI must give the same equilibrium
    trad = TraditionalAI(A_bar=2.0, mu=2.5, F=0.6)
    prof = ProfileTechnology(A=2.0, F=0.6, profile=lambda i: (1 - i) ** 2.5, name="rules")
    a = solve(ECON, [trad], options=SolverOptions(method="discretized", n_tasks=512))
    b = solve(ECON, [prof], options=SolverOptions(method="discretized", n_tasks=512))
    assert float(a.premium) == pytest.approx(float(b.premium), rel=1e-12)
    both = solve(ECON, [trad, llm(I_lo=0.63, I_hi=0.91)], options=SolverOptions(method="discretized", n_tasks=512))
    assert int(both.status) == Status.ILL_CONDITIONED  # O(h²) error above 1e-8
    seg = both.segments(["L", "H", "traditional", "llm"])
    assert seg[0]["factor"] == "traditional" and seg[-1]["factor"] == "H"
    llm_seg = [s for s in seg if s["factor"] == "llm"]
    assert len(llm_seg) == 1 and llm_seg[0]["start"] == 0.63  # the data edge
    assert np.max(np.abs(both.residuals)) <= 1e-10


def test_llm_data_profile_as_array_or_callable():
    """N(i) given as cell values or as a callable reproduces the window result on the general route."""
    window = llm(I_lo=0.6, I_hi=0.95)
    exact = solve(ECON, [window], method="analytic")
    cells = np.zeros(20)
    cells[12:19] = 100.0  # cells 12..18 cover [0.6, 0.95]
    as_array = llm(data=cells)
    as_callable = llm(data=lambda i: np.where((i >= 0.6) & (i <= 0.95), 100.0, 0.0) if isinstance(i, float) else
                      __import__("jax").numpy.where((i >= 0.6) & (i <= 0.95), 100.0, 0.0))
    opts = SolverOptions(method="discretized", n_tasks=512)
    a = solve(ECON, [as_array], options=opts)
    c = solve(ECON, [as_callable], options=opts)
    for eq in (a, c):
        assert int(eq.status) == Status.ILL_CONDITIONED  # O(h²) error above 1e-8
        assert np.max(np.abs(eq.residuals)) <= 1e-10
    # array cells put the window edges on nodes: second-order accurate
    assert float(a.premium) == pytest.approx(float(exact.premium), rel=1e-5)
    # a callable declares no breakpoints: the edges are resolved to within a cell
    assert float(c.premium) == pytest.approx(float(exact.premium), rel=5e-3)
    with pytest.raises(ParameterError, match="use 'discretized'"):
        solve(ECON, [as_array], method="analytic")
