"""The JAX engine against an independent scalar scipy implementation (benchmarks/baselines.py)."""
import numpy as np
import pytest

from benchmarks import baselines
from simulator import Economy, ScalingLLM, TraditionalAI, solve

rng = np.random.default_rng(20261130)
ECONS = [dict(eta=float(rng.uniform(0.3, 3)), A_L=1.0, A_H=float(rng.uniform(0.5, 3)), L=1.0, H=float(rng.uniform(0.2, 3))) for _ in range(4)]


@pytest.mark.parametrize("econ", ECONS)
def test_benchmark_agrees(econ):
    eq = solve(Economy(**econ))
    W_L, W_H = baselines.benchmark_point(**econ)
    assert float(eq.W_L) == pytest.approx(W_L, rel=1e-12)
    assert float(eq.W_H) == pytest.approx(W_H, rel=1e-12)


@pytest.mark.parametrize("econ", ECONS)
@pytest.mark.parametrize("F", [0.3, 0.8, 5.0])
def test_traditional_agrees(econ, F):
    tech = dict(A_bar=2.0, mu=econ["eta"] + 1.0, F=F)
    eq = solve(Economy(**econ), [TraditionalAI(**tech)])
    ref = baselines.traditional_point(**econ, **tech)
    if ref is None:
        assert int(eq.status) == 1
    else:
        assert float(eq.W_L) == pytest.approx(ref[0], rel=1e-10)
        assert float(eq.W_H) == pytest.approx(ref[1], rel=1e-10)


@pytest.mark.parametrize("econ", ECONS)
@pytest.mark.parametrize("window", [(0.1, 0.3), (0.3, 0.8), (0.7, 0.95), (0.0, 1.0)])
@pytest.mark.parametrize("F", [0.5, 1.2])
def test_llm_agrees(econ, window, F):
    tech = dict(A_bar=2.0, F=F, C=0.1, a=0.5, alpha=0.3, b=0.5, beta=0.3, G=100.0, N_bar=100.0, I_lo=window[0], I_hi=window[1])
    eq = solve(Economy(**econ), [ScalingLLM(**tech)])
    ref = baselines.llm_point(**econ, **tech)
    if ref is None:
        assert int(eq.status) == 1
    else:
        assert int(eq.status) == 0
        assert float(eq.W_L) == pytest.approx(ref[0], rel=1e-9)
        assert float(eq.W_H) == pytest.approx(ref[1], rel=1e-9)
