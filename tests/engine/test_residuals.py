"""The public residual of every route vanishes at the route's own solution, the routes' measures agree
where their assignments coincide, and the implicit derivative matches finite differences."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulator import Economy, ScalingLLM, TraditionalAI, analytic, discretized, residuals
from simulator.solve import _as_f64

ECONOMY = Economy(eta=1.2, A_H=1.4, H=0.8)
LLM = ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.5, I_hi=0.9)
TRADITIONAL = TraditionalAI(A_bar=2.0, mu=2.5, F=0.7)


def _log_wages(eq):
    return jnp.log(eq.W_L), jnp.log(eq.W_H) - jnp.log(eq.W_L)


def test_each_route_residual_vanishes_at_its_solution():
    e, llm, trad = _as_f64(ECONOMY), _as_f64(LLM), _as_f64(TRADITIONAL)
    x, theta = _log_wages(analytic.benchmark(e))
    np.testing.assert_allclose(analytic.benchmark_residual(e, x, theta), 0.0, atol=1e-12)
    x, theta = _log_wages(analytic.traditional_ai(e, trad))
    np.testing.assert_allclose(analytic.traditional_residual(e, trad, x, theta), 0.0, atol=1e-12)
    x, theta = _log_wages(analytic.scaling_llm(e, llm))
    np.testing.assert_allclose(analytic.llm_residual(e, llm, x, theta), 0.0, atol=1e-12)
    options = discretized.DiscretizedOptions(n_tasks=256)
    for techs in ((), (llm,), (llm, trad)):
        eq = jax.jit(lambda e, t: discretized.solve_discretized(e, t, options))(e, techs)
        assert int(eq.status) == 5  # ill_conditioned: the grid's O(h²) error is above 1e-8; values kept
        x, theta = _log_wages(eq)
        np.testing.assert_allclose(discretized.residual(e, techs, x, theta, options), 0.0, atol=1e-10)


@pytest.mark.parametrize("x, theta", [(0.1, 0.3), (-0.4, 0.0), (0.5, 0.9)])
def test_measures_agree_across_routes(x, theta):
    """The benchmark's measures equal the LLM route's with a model too dear to work, and the general
    route's without technologies equal the benchmark's to its O(h²)."""
    e = _as_f64(ECONOMY)
    dear = _as_f64(ScalingLLM(A_bar=3.0, F=1e6, G=1e10, N_bar=1e11, I_lo=0.5, I_hi=0.9))
    bench = analytic.benchmark_measures(e, x, theta)
    np.testing.assert_allclose(bench, analytic.llm_measures(e, dear, x, theta), rtol=1e-13, atol=1e-14)
    grid = discretized.measures(e, (), x, theta, discretized.DiscretizedOptions(n_tasks=1024))
    np.testing.assert_allclose(grid, bench, rtol=0, atol=1e-6)
    # traditional AI too dear to work (Ĩ₁ = 0) gives the benchmark as well
    dear_ai = _as_f64(TraditionalAI(A_bar=2.0, mu=2.5, F=1e6))
    np.testing.assert_allclose(analytic.traditional_measures(e, dear_ai, x, theta), bench, rtol=1e-13, atol=1e-14)


def test_jacobian_is_the_derivative_of_the_residual():
    e, llm = _as_f64(ECONOMY), _as_f64(LLM)
    x, theta = jnp.asarray(0.2), jnp.asarray(0.4)
    measures, slopes = residuals.split(analytic.llm_measures_with_slopes(e, llm, x, theta))
    J = np.asarray(residuals.jacobian(measures.s_L, measures.s_H, slopes))
    auto = np.asarray(jax.jacfwd(lambda z: jnp.stack(analytic.llm_residual(e, llm, z[0], z[1])))(jnp.stack([x, theta])))
    np.testing.assert_allclose(J, auto, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("x, theta", [(0.2, 0.4), (-0.3, 1.1), (0.6, -0.2), (2.0, 0.5)])
@pytest.mark.parametrize("route", ["benchmark", "traditional", "llm"])
def test_hand_slopes_equal_autodiff(route, x, theta):
    """The slopes each semi-analytic route writes out by hand equal forward-mode autodiff of its measures
    (the last point puts traditional AI past Ĩ₂, where L's measure is pinned at zero)."""
    e = _as_f64(ECONOMY)
    with_slopes = {
        "benchmark": lambda x, t: analytic.benchmark_measures_with_slopes(e, x, t),
        "traditional": lambda x, t: analytic.traditional_measures_with_slopes(e, _as_f64(TRADITIONAL), x, t),
        "llm": lambda x, t: analytic.llm_measures_with_slopes(e, _as_f64(LLM), x, t),
    }[route]
    z = jnp.asarray([x, theta], dtype=jnp.float64)
    values = with_slopes(z[0], z[1])
    auto = np.asarray(jax.jacfwd(lambda z: jnp.stack(with_slopes(z[0], z[1])[1:3]))(z))
    np.testing.assert_allclose(np.asarray(values[3:7]).reshape(2, 2), auto, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("route", ["analytic", "discretized"])
def test_implicit_derivative_matches_finite_differences(route):
    e, llm, trad = _as_f64(ECONOMY), _as_f64(LLM), _as_f64(TRADITIONAL)

    def z(p):
        econ = e.replace(eta=p[0], H=p[1])
        if route == "analytic":
            return analytic.scaling_llm_log_wages(econ, llm.replace(F=p[2]))
        return discretized.log_wages(econ, (llm.replace(F=p[2]), trad), discretized.DiscretizedOptions(n_tasks=256))

    p0 = jnp.asarray([1.2, 0.8, 1.0])
    f = jax.jit(z)
    J = np.asarray(jax.jit(jax.jacfwd(z))(p0))
    h = 1e-6
    for k in range(3):
        dp = jnp.zeros(3).at[k].set(h)
        fd = (np.asarray(f(p0 + dp)) - np.asarray(f(p0 - dp))) / (2 * h)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("technologies", [
    [TraditionalAI(A_bar=2.0, mu=2.0, F=1.2), ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.6, I_hi=0.95)],
    [ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.6, I_hi=0.9)],
], ids=["traditional and LLM", "LLM"])
def test_no_arbitrage_check_unrolled_equals_stacked(technologies):
    """The two forms of the no-arbitrage check agree bit for bit: at an equilibrium (zero) and at wages
    moved off it (positive excess), over segments from the discretised route and made-up ones."""
    from simulator.equilibrium import _no_arbitrage_stacked, _no_arbitrage_unrolled
    from simulator.factors import log_productivity_columns

    economy = Economy(eta=1.0, A_H=1.5, H=0.6)
    eq = jax.jit(discretized.solve_discretized, static_argnums=2)(_as_f64(economy), _as_f64(technologies),
                                                                  discretized.DiscretizedOptions(n_tasks=256))
    log_prod = lambda points: log_productivity_columns(economy, technologies, points)  # noqa: E731
    log_wages = [jnp.log(eq.W_L), jnp.log(eq.W_H)] + [jnp.log(t.F) for t in technologies]
    rng = np.random.default_rng(3)
    cases = [(eq.boundaries, eq.factors)]
    for _ in range(6):  # random segmentations with every factor somewhere, and unused padding at the end
        inner = np.sort(rng.uniform(0.0, 1.0, 6))
        cases.append((jnp.asarray(np.concatenate([[0.0], inner, [1.0, 1.0]])),
                      jnp.asarray(np.concatenate([rng.integers(0, 2 + len(technologies), 7), [-1]]), dtype=jnp.int32)))
    unrolled = jax.jit(lambda w, b, f: _no_arbitrage_unrolled(log_prod, w, b, f))
    stacked = jax.jit(lambda w, b, f: _no_arbitrage_stacked(log_prod, w, b, f))
    checked = 0
    for boundaries, factors in cases:
        for shift in (0.0, 0.05, -0.3):
            wages = [log_wages[0] + shift, log_wages[1] - shift] + log_wages[2:]
            a, b = unrolled(wages, boundaries, factors), stacked(wages, boundaries, factors)
            assert np.asarray(a) == np.asarray(b), (boundaries, factors, shift)
            checked += float(a) > 0
    assert checked >= 10  # most cases test a positive excess, not only zeros
