"""The engine's fast paths against direct computations: hand-coded Newton slopes against forward-mode
autodiff, the tabulated node merge against evaluating the profiles, and counted cell lookup against a
binary search."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulator import Economy, ScalingLLM, TraditionalAI
from simulator import analytic, discretized, kernels
from simulator.solve import _as_f64

B = 256


def _batch(seed):
    rng = np.random.default_rng(seed)
    economy = Economy(eta=rng.uniform(0.5, 2.0, B), A_L=np.ones(B), A_H=rng.uniform(1.0, 2.0, B), L=np.ones(B),
                      H=rng.uniform(0.3, 1.5, B))
    llm = ScalingLLM(A_bar=np.full(B, 3.0), F=np.full(B, 1.0), C=np.zeros(B), a=np.full(B, 410.7), alpha=np.full(B, 0.28),
                     b=np.full(B, 406.4), beta=np.full(B, 0.34), G=10 ** rng.uniform(8, 12, B), N_bar=10 ** rng.uniform(9, 13, B),
                     I_lo=rng.uniform(0.0, 0.8, B), I_hi=np.full(B, 0.95))
    # wages spread widely around the solutions, so that the switch points come in many orderings
    x, theta = jnp.asarray(rng.normal(0.3, 0.6, B)), jnp.asarray(rng.normal(0.3, 0.6, B))
    return _as_f64(economy), _as_f64(llm), x, theta


def _autodiff(evaluate, x, theta):
    """(φ, s_L, s_H, ∂s_L/∂x, ∂s_L/∂θ, ∂s_H/∂x, ∂s_H/∂θ) by two jvps of ``evaluate``."""
    phi, s_L, s_H = evaluate(x, theta)
    _, (dL_dx, dH_dx) = jax.jvp(lambda u: evaluate(u, theta)[1:], (x,), (jnp.ones_like(x),))
    _, (dL_dt, dH_dt) = jax.jvp(lambda v: evaluate(x, v)[1:], (theta,), (jnp.ones_like(theta),))
    return jnp.stack([phi, s_L, s_H, dL_dx, dL_dt, dH_dx, dH_dt])


def test_llm_slopes_equal_autodiff():
    economy, llm, x, theta = _batch(0)

    def both(e, t, x, theta):
        log_kappa = analytic.llm_log_unit_cost(e, t)
        log_kappa = jnp.where(jnp.isfinite(log_kappa), log_kappa, 0.0)  # models that could not work get a price
        evaluate = lambda u, v: analytic.llm_measures(e, t, u, v, log_kappa)  # noqa: E731
        return _autodiff(evaluate, x, theta), jnp.stack(analytic.llm_measures_with_slopes(e, t, x, theta, log_kappa))

    auto, hand = jax.jit(jax.vmap(both))(economy, llm, x, theta)
    assert np.all(np.isfinite(auto))
    # many slopes are nonzero, so the comparison tests something
    assert np.mean(np.abs(np.asarray(auto)[:, 3:]) > 0) > 0.25
    np.testing.assert_allclose(hand, auto, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("with_traditional", [False, True])
def test_grid_slopes_equal_autodiff(with_traditional):
    economy, llm, x, theta = _batch(1)
    techs = (llm,)
    if with_traditional:
        techs += (_as_f64(TraditionalAI(A_bar=np.full(B, 2.0), mu=np.asarray(economy.eta) + 1.0, F=np.full(B, 1.2))),)
    options = discretized.DiscretizedOptions(n_tasks=96)

    def both(e, t, x, theta):
        grid = discretized.Grid(e, t, options)
        return _autodiff(grid.evaluate, x, theta), jnp.stack(grid.evaluate_with_slopes(x, theta))

    auto, hand = jax.jit(jax.vmap(both))(economy, techs, x, theta)
    assert np.all(np.isfinite(auto))
    assert np.mean(np.abs(np.asarray(auto)[:, 3:]) > 0) > 0.25
    np.testing.assert_allclose(hand, auto, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("breaks", [[], [0.3, 0.7], [0.7, 0.3], [0.25, 0.5], [0.0, 1.0], [0.5, 0.5], [1 / 3, 0.1, 0.9],
                                    [0.05, 0.15, 0.25, 0.35, 0.45, 0.55], [k / 16 for k in range(1, 9)]])
def test_merged_nodes_and_tabulated_profiles(breaks):
    n = 16

    def profile(i, xp):
        i = xp.clip(i, 1e-9, 1 - 1e-9)
        return xp.log1p(-i), xp.log(i)

    nodes, log_1m, log_i = kernels.merged_nodes(n, [jnp.asarray(b) for b in sorted(breaks)], profile)  # sorted, as Grid gives them
    expected = np.sort(np.concatenate([np.arange(n + 1) / n, np.clip(breaks, 0, 1)]))
    np.testing.assert_array_equal(nodes, expected)
    direct_1m, direct_i = profile(expected, np)
    np.testing.assert_allclose(log_1m, direct_1m, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(log_i, direct_i, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("techs", [
    (),
    (ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.25, I_hi=0.5),),
    (ScalingLLM(A_bar=3.0, G=1e10, data=np.array([1e9, 1e10, 1e11, 1e12, 1e11, 1e10])),),
    (ScalingLLM(A_bar=3.0, G=1e10, data=np.geomspace(1e9, 1e12, 40)),),  # more breakpoints than are merged by counting
    (ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.3, I_hi=0.8), TraditionalAI(A_bar=2.0, mu=2.0, F=1.2)),  # cut cells
], ids=["none", "window", "array6", "array40", "two"])
def test_cell_lookup_equals_binary_search(techs):
    grid = discretized.Grid(_as_f64(Economy(eta=1.0, A_H=1.5, H=0.6)), _as_f64(techs), discretized.DiscretizedOptions(n_tasks=64))
    nodes = np.asarray(grid.nodes)
    rng = np.random.default_rng(0)
    # random points, every node, and the floats just either side of every node
    points = np.concatenate([rng.uniform(-0.1, 1.1, 2000), nodes, np.nextafter(nodes, -1), np.nextafter(nodes, 2)])
    expected = np.clip(np.searchsorted(nodes, points, side="right") - 1, 0, nodes.size - 2)
    np.testing.assert_array_equal(grid._cell_of(jnp.asarray(points)), expected)


@pytest.mark.parametrize("C", [1, 31, 32, 66, 1026, 1056])
def test_sums_before_equal_running_sums(C):
    """Blocked sums over the cells before given indices equal numpy's running sums (exclusive),
    at every index from 0 to C, for lengths below, at and between multiples of the block."""
    rng = np.random.default_rng(C)
    columns = [rng.normal(size=C), rng.integers(0, 2, C).astype(float)]
    index = np.arange(C + 1)
    got = kernels.sums_before(jnp.asarray(index), *[jnp.asarray(c) for c in columns])
    for g, c in zip(got, columns):
        expected = np.concatenate([[0.0], np.cumsum(c)])
        np.testing.assert_allclose(np.asarray(g), expected, rtol=0, atol=1e-12 * np.sum(np.abs(c)))
    np.testing.assert_array_equal(got[1], np.concatenate([[0.0], np.cumsum(columns[1])]))  # counts are exact


def test_sigmoid_point_matches_jax_nn():
    """I* and its logs from one exponential and one log1p agree with jax.nn's sigmoid and log_sigmoid
    to within 2 ulp, from z = -700 (I* near 0) to 700 (near 1)."""
    z = jnp.concatenate([jnp.linspace(-40.0, 40.0, 4001), jnp.asarray([-700.0, -300.0, 0.0, 1e-300, 300.0, 700.0])])
    point = analytic._sigmoid_point(z)
    expected = (jax.nn.sigmoid(z), jax.nn.sigmoid(-z), jax.nn.log_sigmoid(z), jax.nn.log_sigmoid(-z))
    for got, want in zip(point, expected):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=4.5e-16, atol=0)


@pytest.mark.parametrize("eta, A_H, H, I_lo, I_hi", [(1.0, 1.5, 0.6, 0.6, 0.9), (1.2, 1.2, 1.0, 0.1, 0.3),
                                                    (0.8, 1.8, 0.5, 0.3, 0.7), (1.5, 1.0, 1.4, 0.05, 0.95)])
def test_whole_window_start_is_the_equilibrium_when_the_model_takes_its_window(eta, A_H, H, I_lo, I_hi):
    """With a model cheap enough to perform its whole window, the Newton start of the LLM solver is
    already the equilibrium the solver finds: I* above the window (L|H|M|H), below it (L|M|L|H) and
    inside it (L|M|H)."""
    from simulator import solve

    economy, tech = Economy(eta=eta, A_H=A_H, H=H), ScalingLLM(A_bar=3.0, G=1e13, N_bar=1e14, I_lo=I_lo, I_hi=I_hi)
    eq = solve(economy, [tech], method="analytic")
    assert int(eq.status) == 0
    assert [s for s in eq.segments() if s["factor"] == "M"] == [{"factor": "M", "start": I_lo, "end": I_hi}]
    e, t = _as_f64(economy), _as_f64(tech)
    x, theta = analytic._whole_window_start(e, t, analytic.llm_log_unit_cost(e, t), analytic.benchmark_threshold(e)[1])
    np.testing.assert_allclose([float(x), float(theta)], [np.log(float(eq.W_L)), np.log(float(eq.premium))], rtol=0, atol=1e-14)


def test_checks_over_the_used_segments_only_change_nothing_and_catch_an_overflow():
    """``finalize(max_used=k)`` checks only the first k compacted segments: with k at least the
    number used the result is the same to the bit; with fewer, the point fails no-arbitrage."""
    from simulator.equilibrium import RESIDUALS, finalize
    from simulator.status import Status

    economy, tech = Economy(eta=1.2, A_H=1.4, H=0.8), TraditionalAI(A_bar=2.0, mu=2.5, F=0.7)
    e, t = _as_f64(economy), _as_f64(tech)
    eq = analytic.traditional_ai(e, t)
    assert int(eq.status) == Status.OK and len(eq.segments()) == 3  # M | L | H
    x, y = jnp.log(eq.W_L), jnp.log(eq.W_H)

    def again(max_used):
        return finalize(e, (t,), x, y, eq.boundaries, eq.factors, jnp.int32(Status.OK), error=0.0, max_used=max_used)

    full = again(None)
    for k in (3, 4):
        same = again(k)
        for field in ("W_L", "Y", "shares", "boundaries", "factors", "residuals", "status"):
            np.testing.assert_array_equal(np.asarray(getattr(same, field)), np.asarray(getattr(full, field)), err_msg=field)
    short = again(2)
    assert int(short.status) == Status.NOT_CONVERGED
    assert np.isinf(float(short.residuals[RESIDUALS.index("no_arbitrage")]))


def test_divided_pair_is_the_real_quotients_to_the_bit():
    """The Newton step's two coordinates from one complex quotient equal the two real quotients
    exactly, over 60 decades of magnitude; a zero divisor gives a non-finite step either way."""
    rng = np.random.default_rng(7)
    p, q, d = (rng.normal(size=20000) * 10.0 ** rng.uniform(-30, 30, 20000) for _ in range(3))
    dx, dt = jax.jit(kernels.divided_pair)(p, q, d)
    np.testing.assert_array_equal(np.asarray(dx), p / d)
    np.testing.assert_array_equal(np.asarray(dt), q / d)
    zero = jax.jit(kernels.divided_pair)(jnp.asarray([1.0, 0.0]), jnp.asarray([2.0, 0.0]), jnp.zeros(2))
    assert not np.isfinite(np.asarray(zero)).any()


def test_coarse_started_retry_solves_a_labour_share_narrower_than_a_coarse_cell():
    """The first retry of the general route (nested strategy on the 64-cell grid, then Newton steps
    on the fine grid) solves a point whose L share, 0.7%, is under half a coarse cell: two fine
    steps from the coarse solution leave residuals of about 3e-9, four reach rounding.  Its
    wages agree with the last retry's, which works on the fine grid throughout."""
    from simulator.status import Status

    economy = _as_f64(Economy(eta=0.50765852, A_H=1.6757371, H=0.80964509))
    llm = _as_f64(ScalingLLM(A_bar=3.0, G=7.36615151e11, N_bar=1.74652491e10, I_lo=0.00167243, I_hi=0.95))
    retry = discretized.DiscretizedOptions(strategy="nested", n_outer=16, n_inner=4)
    last = discretized.DiscretizedOptions(strategy="nested", n_outer=80, n_inner=12, coarse_start=False)
    first, reference = (jax.jit(lambda e, t, o=o: discretized.solve_discretized(e, (t,), o))(economy, llm) for o in (retry, last))
    assert int(first.status) == int(reference.status) == Status.ILL_CONDITIONED  # O(h²) error above 1e-8; values kept
    assert float(first.shares[0]) < 0.5 / discretized.COARSE_TASKS
    np.testing.assert_allclose([float(first.W_L), float(first.premium)], [float(reference.W_L), float(reference.premium)], rtol=1e-12)
