"""The execution layer's tricks against plain references, bit for bit.

Slices, streams and padding (:func:`batch.run_batch`) against the whole batch in one vmapped
call; the cut of a slice against numpy fancy indexing; the donated scatter against numpy
assignment; the retry ladder's rungs; float64 in the stream threads without the global switch.
"""
import functools
import importlib
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulator import Economy, ScalingLLM, SolverOptions, Status
from simulator.equilibrium import apply_tolerance
from simulator.execution import batch, retry

solve_module = importlib.import_module("simulator.solve")  # the package re-exports a function of that name

LIMIT = 64  # POINTS_PER_SLICE in these tests; slices of grid routes hold CELLS cells each
CELLS = 4
#: sizes at the edges: one point, a vector lane's worth +-1, a slice's worth +-1, several slices
SIZES = (1, batch.VECTOR_LANES - 1, batch.VECTOR_LANES, batch.VECTOR_LANES + 1, LIMIT - 1, LIMIT, LIMIT + 1, 5 * LIMIT + 3)
GRID_LIMIT = LIMIT // CELLS


def _point(economy, technologies):
    """A stand-in for a route's point solver: a loop of correctly rounded operations, an output
    with an empty axis, and outputs of several shapes."""
    x, (y,) = economy["x"], technologies

    def newton(_, r):
        return 0.5 * (r + x / r)

    root = jax.lax.fori_loop(0, 8, newton, 1.0 + x)
    return {"root": root, "pair": jnp.stack([root * y, root / y]), "none": jnp.zeros((0,)), "y": y}


def _finish(result):
    return {**result, "flag": jnp.where(result["root"] > 2.0, 1.0, 0.0)}


@functools.lru_cache(maxsize=None)
def _program(grid: bool, slice_size: int):
    point = jax.vmap(_point)
    if grid and slice_size:
        return jax.jit(functools.partial(batch.scan_slices, point, slice_size))
    return jax.jit(point)


def _flat(size: int, seed: int):
    rng = np.random.default_rng(seed)
    args = ({"x": rng.uniform(0.1, 10.0, size)}, (rng.uniform(0.5, 2.0, size),))
    leaves, treedef = jax.tree_util.tree_flatten(args)
    return args, leaves, treedef


def _assert_identical(got, want):
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(want)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        assert g.dtype == np.float64 or not np.issubdtype(g.dtype, np.floating)
        np.testing.assert_array_equal(g, w)


@pytest.fixture
def small_slices(monkeypatch):
    monkeypatch.setattr(batch, "POINTS_PER_SLICE", LIMIT)
    monkeypatch.setattr(batch, "CELLS_PER_SLICE", LIMIT)


@pytest.mark.parametrize("streams", [1, 2, 3])
@pytest.mark.parametrize("size", SIZES)
def test_pointwise_slices_streams_and_padding_equal_one_vmapped_call(small_slices, monkeypatch, size, streams):
    monkeypatch.setattr(batch, "STREAMS", streams)
    args, flat, treedef = _flat(size, seed=size * 10 + streams)
    got = batch.run_batch(functools.partial(_program, False), treedef, flat, finish=_finish)
    want = _finish(jax.jit(jax.vmap(_point))(*args))
    _assert_identical(got, want)


@pytest.mark.parametrize("streams", [1, 2, 3])
@pytest.mark.parametrize("size", (1, GRID_LIMIT - 1, GRID_LIMIT, GRID_LIMIT + 1, 7 * GRID_LIMIT + 5))
def test_grid_scans_over_slices_and_streams_equal_one_vmapped_call(small_slices, monkeypatch, size, streams):
    monkeypatch.setattr(batch, "STREAMS", streams)
    args, flat, treedef = _flat(size, seed=size * 10 + streams)
    got = batch.run_batch(functools.partial(_program, True), treedef, flat, cells=CELLS)
    _assert_identical(got, jax.jit(jax.vmap(_point))(*args))


def test_scan_slices_equals_one_call():
    args, _, _ = _flat(24, seed=1)
    point = jax.vmap(_point)
    _assert_identical(jax.jit(functools.partial(batch.scan_slices, point, 8))(*args), jax.jit(point)(*args))


@pytest.mark.parametrize("cells", [0, CELLS])
@pytest.mark.parametrize("streams", [1, 2, 3, 4])
def test_slicing_covers_every_point_in_equal_slices(small_slices, cells, streams):
    limit, lanes = (GRID_LIMIT, 1) if cells else (LIMIT, batch.VECTOR_LANES)
    for size in range(0, 12 * LIMIT):
        step, padded = batch.slicing(size, cells, streams)
        assert padded >= size and padded % lanes == 0
        if step == 0:  # one piece, padded to whole lanes only
            assert padded == -(-size // lanes) * lanes and size <= limit * max(1, streams)
            continue
        n_slices = padded // step
        assert padded == n_slices * step and step % lanes == 0 and n_slices >= 2
        assert n_slices >= -(-size // limit)  # no slice above the limit but for rounding
        assert padded - size < n_slices * max(lanes, limit // batch.SLICE_ROUNDING)
        if streams > 1 and size >= streams * max(lanes, limit // batch.SLICE_ROUNDING // lanes * lanes):
            assert n_slices % streams == 0


@pytest.mark.parametrize("size", [1, 7, 8, 9, 100])
def test_cut_equals_numpy_indexing_with_the_first_point_as_padding(size):
    values = np.random.default_rng(size).normal(size=size)
    for start in range(0, size + 9, 3):
        for stop in range(start, size + 17, 5):
            index = np.arange(start, stop)
            want = values[np.where(index < size, index, 0)]
            got = batch.cut(values, start, stop)
            assert got.dtype == values.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("size", [1, 2, 7, 8, 9, 63, 64, 65, 1000])
def test_merge_equals_numpy_assignment(size):
    rng = np.random.default_rng(size)
    full = {"a": rng.normal(size=size), "b": rng.normal(size=(size, 3)), "none": np.zeros((size, 0)),
            "status": rng.integers(0, 3, size).astype(np.int32)}
    todo = np.sort(rng.choice(size, size=rng.integers(1, size + 1), replace=False))
    points, rows = retry.bucket(todo, size)
    assert points.size == rows.size and points.size & (points.size - 1) == 0 and points.size < 2 * todo.size
    part = {"a": rng.normal(size=points.size), "b": rng.normal(size=(points.size, 3)), "none": np.zeros((points.size, 0)),
            "status": rng.integers(0, 3, points.size).astype(np.int32)}
    want = {k: v.copy() for k, v in full.items()}
    keep = rows < size
    for k in want:
        want[k][rows[keep]] = part[k][keep]
    donated = jax.tree_util.tree_map(jnp.asarray, full)
    got = batch.merge(donated, jnp.asarray(rows), jax.tree_util.tree_map(jnp.asarray, part))
    for k in want:
        np.testing.assert_array_equal(np.asarray(got[k]), want[k], err_msg=k)
        assert np.asarray(got[k]).dtype == want[k].dtype


def test_bucket_pads_with_the_first_point_written_out_of_bounds():
    points, rows = retry.bucket(np.array([3, 5, 6]), 10)
    np.testing.assert_array_equal(points, [3, 5, 6, 3])
    np.testing.assert_array_equal(rows, [3, 5, 6, 10])


def test_retry_ladder():
    first = SolverOptions(n_traditional=80, retry_n_outer=80, retry_n_inner=12)
    second = first.retry
    assert (second.strategy, second.n_outer, second.n_inner) == ("nested", retry.SECOND_PASS_N_OUTER, retry.SECOND_PASS_N_INNER) == ("nested", 16, 4)
    last = second.retry
    assert (last.strategy, last.n_outer, last.n_inner, last.n_traditional, last.retry_n_outer) == ("nested", 80, 12, 160, 0)
    assert last.retry is None
    assert SolverOptions(retry_n_outer=0).retry is None and SolverOptions(retry_n_inner=0).retry is None
    nested = SolverOptions(strategy="nested", n_traditional=500, retry_n_outer=30, retry_n_inner=5).retry
    assert (nested.n_outer, nested.n_inner, nested.n_traditional, nested.retry) == (30, 5, 500, None)


def _llm_args(n, seed):
    rng = np.random.default_rng(seed)
    economy = Economy(eta=rng.uniform(0.5, 2.0, n), A_H=rng.uniform(1.0, 2.0, n), H=rng.uniform(0.3, 1.5, n))
    tech = ScalingLLM(A_bar=3.0, F=1.0, C=0.0, a=410.7, alpha=0.28, b=406.4, beta=0.34, G=10 ** rng.uniform(8, 12, n),
                      N_bar=10 ** rng.uniform(9, 13, n), I_lo=rng.uniform(0.0, 0.8, n), I_hi=0.95)
    return economy, (tech,)


@pytest.mark.parametrize("size", [batch.VECTOR_LANES + 1, 2 * LIMIT + 1])
def test_semi_analytic_pass_in_slices_and_streams_equals_one_vmapped_call(small_slices, monkeypatch, size):
    """The engine's first pass, cut into slices and streams, against the whole batch in one call
    (padded to whole vector lanes: see batch.VECTOR_LANES)."""
    monkeypatch.setattr(batch, "STREAMS", 2)
    economy, techs = _llm_args(size, seed=size)
    options = SolverOptions(method="analytic")
    leaves, treedef = jax.tree_util.tree_flatten((economy, techs))
    flat = [np.broadcast_to(np.asarray(v, dtype=np.float64), (size,)).copy() for v in leaves]
    structure = solve_module._structure(economy, techs)
    assert batch.slicing(size, 0, 2)[0] == (0 if size < LIMIT else 40)
    got = solve_module._solve_flat(structure, techs, options, treedef, flat)
    padded = -(-size // batch.VECTOR_LANES) * batch.VECTOR_LANES
    whole = jax.tree_util.tree_unflatten(treedef, [batch.cut(v, 0, padded) for v in flat])
    want = jax.tree_util.tree_map(lambda v: v[:size], jax.jit(apply_tolerance)(solve_module._compiled(structure, options, True)(*whole)))
    _assert_identical(got, want)
    assert np.mean(np.asarray(got.status) == Status.OK) > 0.5


def test_streams_run_in_float64_without_the_global_switch():
    """solve_batch and solve give float64 results, bit-identical to those with the global switch on,
    with jax_enable_x64 off, also in the stream threads (the setting is per thread)."""
    script = textwrap.dedent("""
        import jax, numpy as np
        from simulator import Economy, ScalingLLM, SolverOptions, solve, solve_batch
        from simulator.execution import batch
        batch.STREAMS, batch.POINTS_PER_SLICE = 2, 64
        rng = np.random.default_rng(0)
        n = 200
        economy = Economy(eta=rng.uniform(0.5, 2.0, n), A_H=rng.uniform(1.0, 2.0, n), H=rng.uniform(0.3, 1.5, n))
        tech = ScalingLLM(A_bar=3.0, G=10 ** rng.uniform(8, 12, n), N_bar=10 ** rng.uniform(9, 13, n), I_lo=rng.uniform(0.0, 0.8, n), I_hi=0.95)
        out = {}
        for flag in (True, False):
            jax.config.update("jax_enable_x64", flag)
            result = solve_batch(economy, [tech], options=SolverOptions(method="analytic"))
            point = solve(Economy(eta=1.0, A_H=1.5, H=0.6))
            assert jax.numpy.ones(1).dtype == (np.float64 if flag else np.float32)
            assert np.asarray(result.W_L).dtype == np.float64 and np.asarray(point.W_L).dtype == np.float64
            out[flag] = [np.asarray(v) for v in jax.tree_util.tree_leaves((result, point))]
        for a, b in zip(out[True], out[False]):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
        print("ok")
    """)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-3000:]
