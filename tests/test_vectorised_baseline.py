"""The vectorised numpy/scipy baseline of the LLM regime agrees with the scalar loop and with the engine.

The three share no code: the engine (JAX, semi-analytic Newton), the scalar loop
(``math`` and nested ``brentq``) and the vectorised solver (numpy and scipy's
elementwise Chandrupatla) must give the same wages and the same verdicts on
adoption and existence, so the benchmark compares like with like.
"""
import numpy as np
import pytest

from benchmarks import baselines, vectorised


def _points(n, seed):
    rng = np.random.default_rng(seed)
    return dict(eta=rng.uniform(0.5, 2.0, n), A_L=np.ones(n), A_H=rng.uniform(1.0, 2.0, n), L=np.ones(n),
                H=rng.uniform(0.3, 1.5, n), A_bar=rng.uniform(1.0, 4.0, n), F=rng.uniform(0.2, 2.0, n), C=np.zeros(n),
                a=np.full(n, 410.7), alpha=np.full(n, 0.28), b=np.full(n, 406.4), beta=np.full(n, 0.34),
                G=10 ** rng.uniform(7, 13, n), N_bar=10 ** rng.uniform(8, 14, n),
                # a quarter of the windows cover all of [0, 1], where cheap models make output unbounded
                I_lo=np.where(rng.random(n) < 0.25, 0.0, rng.uniform(0.0, 0.8, n)),
                I_hi=np.where(rng.random(n) < 0.25, 1.0, rng.uniform(0.85, 1.0, n)))


@pytest.fixture(scope="module")
def solved():
    pts = _points(400, seed=11)
    return pts, vectorised.solve_llm(**pts)


def test_every_status_occurs(solved):
    _, (W_L, W_H, status) = solved
    assert set(np.unique(status)) == {vectorised.OK, vectorised.BENCHMARK, vectorised.UNBOUNDED, vectorised.FAILED}
    solved_points = np.isin(status, (vectorised.OK, vectorised.BENCHMARK))
    assert np.isfinite(W_L[solved_points]).all() and np.isfinite(W_H[solved_points]).all()
    assert np.isnan(W_L[~solved_points]).all() and np.isnan(W_H[~solved_points]).all()


def test_agrees_with_the_scalar_loop(solved):
    pts, (W_L, W_H, status) = solved
    compared = 0
    for k in range(0, 400, 4):
        if status[k] == vectorised.FAILED:  # wages beyond float64: the scalar loop overflows there
            continue
        reference = baselines.llm_point(**{name: float(v[k]) for name, v in pts.items()})
        if reference is None:
            assert status[k] == vectorised.UNBOUNDED
            continue
        assert status[k] in (vectorised.OK, vectorised.BENCHMARK)
        np.testing.assert_allclose([W_L[k], W_H[k]], reference, rtol=1e-11)
        compared += 1
    assert compared >= 60


def test_agrees_with_the_engine(solved):
    from simulator import Economy, ScalingLLM, Status, solve_batch

    pts, (W_L, W_H, status) = solved
    economy = Economy(**{k: pts[k] for k in ("eta", "A_L", "A_H", "L", "H")})
    llm = ScalingLLM(**{k: pts[k] for k in ("A_bar", "F", "C", "a", "alpha", "b", "beta", "G", "N_bar", "I_lo", "I_hi")})
    eq = solve_batch(economy, [llm])
    engine_status = np.asarray(eq.status)
    np.testing.assert_array_equal(engine_status == Status.UNBOUNDED, status == vectorised.UNBOUNDED)
    solved_both = np.isin(status, (vectorised.OK, vectorised.BENCHMARK))
    np.testing.assert_array_equal(engine_status == Status.OK, solved_both)
    np.testing.assert_allclose(np.asarray(eq.W_L)[solved_both], W_L[solved_both], rtol=1e-8)
    np.testing.assert_allclose(np.asarray(eq.W_H)[solved_both], W_H[solved_both], rtol=1e-8)


def test_benchmark_in_closed_form_matches_the_scalar_solver():
    pts = _points(50, seed=3)
    econ = {k: pts[k] for k in ("eta", "A_L", "A_H", "L", "H")}
    _, x, y = vectorised.benchmark(**econ)
    for k in range(50):
        W = baselines.benchmark_point(**{name: float(v[k]) for name, v in econ.items()})
        np.testing.assert_allclose([np.exp(x[k]), np.exp(y[k])], W, rtol=1e-13)
