"""Batches: slicing and retries change nothing; the segment integrals agree with the per-segment ones."""
import dataclasses
import importlib

import jax
import numpy as np
import pytest

from simulator import Economy, ProfileTechnology, ScalingLLM, SolverOptions, Status, TraditionalAI, solve_batch
from simulator.errors import ParameterError
from simulator.factors import integrate_log_productivity, integrate_over_segments

solve_module = importlib.import_module("simulator.solve")  # the package re-exports a function of that name
batch = importlib.import_module("simulator.execution.batch")
FIELDS = ("W_L", "W_H", "premium", "Y", "m", "shares", "boundaries", "factors", "residuals", "status")


def _llm_batch(n, seed):
    rng = np.random.default_rng(seed)
    economy = Economy(eta=rng.uniform(0.5, 2.0, n), A_H=rng.uniform(1.0, 2.0, n), H=rng.uniform(0.3, 1.5, n))
    tech = ScalingLLM(A_bar=3.0, F=1.0, C=0.0, a=410.7, alpha=0.28, b=406.4, beta=0.34, G=10 ** rng.uniform(8, 12, n),
                      N_bar=10 ** rng.uniform(9, 13, n), I_lo=rng.uniform(0.0, 0.8, n), I_hi=0.95)
    return economy, [tech]


def test_sliced_batch_equals_one_slice(monkeypatch):
    economy, techs = _llm_batch(2500, seed=3)
    options = SolverOptions(method="analytic")
    monkeypatch.setattr(batch, "STREAMS", 1)
    assert batch.slicing(2500) == (0, 2504)  # one piece, padded to whole vectors
    whole = solve_batch(economy, techs, options=options)
    # some points need the retry passes, so merging retried points into slices is exercised too
    first_pass = solve_batch(economy, techs, options=dataclasses.replace(options, retry_n_outer=0))
    assert np.sum(np.asarray(first_pass.status) == Status.NOT_CONVERGED) > 0
    monkeypatch.setattr(batch, "POINTS_PER_SLICE", 1000)
    assert batch.slicing(2500) == (840, 2520)  # 3 slices, 20 points of padding
    sliced = solve_batch(economy, techs, options=options)
    for field in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(sliced, field)), np.asarray(getattr(whole, field)), err_msg=field)
    assert np.all(np.asarray(whole.status) == Status.OK)


def test_sliced_discretized_batch_equals_one_slice(monkeypatch):
    economy, techs = _llm_batch(40, seed=4)
    options = SolverOptions(method="discretized", n_tasks=64)
    monkeypatch.setattr(batch, "STREAMS", 1)
    whole = solve_batch(economy, techs, options=options)
    monkeypatch.setattr(batch, "CELLS_PER_SLICE", 650)  # 10 points of 65 cells per slice
    assert batch.slicing(40, 65) == (10, 40)
    sliced = solve_batch(economy, techs, options=options)
    # sums over cells may be grouped differently for another batch shape: equal to rounding
    for field in ("factors", "status"):
        np.testing.assert_array_equal(np.asarray(getattr(sliced, field)), np.asarray(getattr(whole, field)), err_msg=field)
    for field in ("W_L", "W_H", "premium", "Y", "m", "shares", "boundaries"):
        np.testing.assert_allclose(np.asarray(getattr(sliced, field)), np.asarray(getattr(whole, field)), rtol=1e-13, err_msg=field)
    np.testing.assert_allclose(np.asarray(sliced.residuals), np.asarray(whole.residuals), rtol=0, atol=1e-15)
    assert np.all(np.asarray(whole.status) == Status.ILL_CONDITIONED)  # the grid's O(h²) error is far above 1e-8; values kept


def test_discretized_batch_in_concurrent_streams_equals_one_stream(monkeypatch):
    economy, techs = _llm_batch(40, seed=5)
    options = SolverOptions(method="discretized", n_tasks=64)
    monkeypatch.setattr(batch, "CELLS_PER_SLICE", 650)  # 10 points per slice
    monkeypatch.setattr(batch, "STREAMS", 1)
    one = solve_batch(economy, techs, options=options)
    monkeypatch.setattr(batch, "STREAMS", 3)
    assert batch.slicing(40, 65, 3) == (7, 42)  # 6 slices of 7 points, 2 per stream
    three = solve_batch(economy, techs, options=options)
    for field in ("factors", "status"):
        np.testing.assert_array_equal(np.asarray(getattr(three, field)), np.asarray(getattr(one, field)), err_msg=field)
    for field in ("W_L", "W_H", "premium", "Y", "m", "shares", "boundaries"):
        np.testing.assert_allclose(np.asarray(getattr(three, field)), np.asarray(getattr(one, field)), rtol=1e-13, err_msg=field)
    assert np.asarray(three.W_L).shape == (40,)
    assert np.all(np.asarray(one.status) == Status.ILL_CONDITIONED)  # the grid's O(h²) error is far above 1e-8; values kept


@pytest.mark.parametrize("method", ["analytic", "discretized"])
def test_empty_batch_is_a_clear_error(method):
    economy, techs = _llm_batch(0, seed=8)
    with pytest.raises(ParameterError, match=r"shape \(0,\), which holds no point"):
        solve_batch(economy, techs, options=SolverOptions(method=method))


def test_semi_analytic_batch_in_concurrent_streams_equals_one_stream(monkeypatch):
    """Streams share out the slices; every point's result is the same bit for bit."""
    economy, techs = _llm_batch(3000, seed=7)
    options = SolverOptions(method="analytic")
    monkeypatch.setattr(batch, "POINTS_PER_SLICE", 1000)
    monkeypatch.setattr(batch, "STREAMS", 1)
    one = solve_batch(economy, techs, options=options)
    monkeypatch.setattr(batch, "STREAMS", 2)
    assert batch.slicing(3000, 0, 2) == (768, 3072)  # 4 slices, 2 per stream
    two = solve_batch(economy, techs, options=options)
    for field in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(two, field)), np.asarray(getattr(one, field)), err_msg=field)
    assert np.asarray(two.W_L).shape == (3000,)
    assert np.all(np.asarray(one.status) == Status.OK)


def test_discretized_programs_with_cpu_compiler_options_equal_xla_defaults(monkeypatch):
    """The discretised route's programs are compiled with CPU_COMPILER_OPTIONS where the CPU's XLA
    accepts them; the same batch compiled with XLA's defaults agrees to rounding."""
    if jax.default_backend() != "cpu":
        pytest.skip("the options apply on CPU only")
    assert batch.compiler_options() == batch.CPU_COMPILER_OPTIONS  # this jaxlib accepts them
    economy, techs = _llm_batch(40, seed=6)
    options = SolverOptions(method="discretized", n_tasks=256)
    tuned = solve_batch(economy, techs, options=options)
    solve_module._compiled.cache_clear()
    monkeypatch.setattr(batch, "compiler_options", lambda: None)
    try:
        defaults = solve_batch(economy, techs, options=options)
    finally:
        solve_module._compiled.cache_clear()
    for field in ("factors", "status"):
        np.testing.assert_array_equal(np.asarray(getattr(tuned, field)), np.asarray(getattr(defaults, field)), err_msg=field)
    for field in ("W_L", "W_H", "premium", "Y", "m", "shares", "boundaries"):
        np.testing.assert_allclose(np.asarray(getattr(tuned, field)), np.asarray(getattr(defaults, field)), rtol=1e-13, err_msg=field)
    assert np.all(np.asarray(tuned.status) == Status.ILL_CONDITIONED)  # the grid's O(h²) error is far above 1e-8; values kept


ECON = Economy(eta=1.3, A_L=1.0, A_H=1.5, L=1.0, H=0.6)
TECHS = (
    TraditionalAI(A_bar=2.0, mu=2.5, F=0.6),
    ScalingLLM(A_bar=2.0, F=0.8, C=0.1, a=0.5, alpha=0.3, b=0.5, beta=0.3, G=100.0, N_bar=100.0, I_lo=0.2, I_hi=0.7),
    ProfileTechnology(A=1.5, F=0.7, profile=lambda i: 1.0 + 0.5 * i),
)


@pytest.mark.parametrize("k", range(2 + len(TECHS)))
def test_segment_integrals_agree_with_per_segment_integrals(k):
    boundaries = np.array([0.0, 0.0, 0.2, 0.35, 0.35, 0.7, 0.93, 1.0])  # empty segments included
    got = np.asarray(integrate_over_segments(ECON, TECHS, k, boundaries))
    want = np.asarray(integrate_log_productivity(ECON, TECHS, k, boundaries[:-1], boundaries[1:]))
    assert got.shape == (7,)
    np.testing.assert_array_equal(got, want)


def test_sliced_batch_without_technologies(monkeypatch):
    """Slices also work when an output has an empty axis (no models: m has shape (B, 0))."""
    economy = Economy(eta=np.linspace(0.5, 2.0, 300), H=np.linspace(0.3, 1.5, 300))
    whole = solve_batch(economy)
    monkeypatch.setattr(batch, "POINTS_PER_SLICE", 64)
    sliced = solve_batch(economy)
    assert np.asarray(sliced.m).shape == (300, 0)
    for field in FIELDS:
        np.testing.assert_array_equal(np.asarray(getattr(sliced, field)), np.asarray(getattr(whole, field)), err_msg=field)
