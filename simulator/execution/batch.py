"""How a batch of points runs on the machine: compiler options, slices, padding, streams, the scatter.

Nothing here knows the model.  A route hands in its jitted batched program; this
module cuts the batch into cache-sized slices, pads them to whole vector lanes,
shares them out among concurrent streams of threads, joins the results and,
for retries, scatters a pass's results back into the batch.

Each trick has a plain reference (:func:`scan_slices` against one vmapped
call, :func:`cut` and :func:`merge` against numpy indexing, :func:`run_batch`
against the whole batch in one piece); ``tests/engine/test_execution_layer.py``
checks that they agree bit for bit.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..precision import float64
from . import aot

#: XLA options for the discretised route's programs on CPU. XLA's older loop emitters, rather than
#: its MLIR fusion emitters, made that route about 1.4x faster (in-process A/B at 10^4 LLM points,
#: n = 1024, 1.48x with retries) and the semi-analytic route 5-13% slower, so only the
#: discretised route uses them.
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}

#: Largest slice of a batch solved at once, in points (semi-analytic route) and in points x
#: cells (discretised route): slices this small keep the intermediates in cache.  On the LLM
#: route 5e5 points ran about 1.3x faster in slices than in one piece.
POINTS_PER_SLICE = 32768
CELLS_PER_SLICE = 65536
#: On the semi-analytic route every slice is a multiple of this many points, so that each point is
#: computed by the vectorised body of XLA's loops: their remainder, computed with scalar code, can
#: round differently (by an ulp), and a point's result would depend on how its batch was cut.
VECTOR_LANES = 8
#: Slices are equal and rounded up to a multiple of 1/SLICE_ROUNDING of the largest slice, so
#: that few shapes compile.
SLICE_ROUNDING = 32

#: Batches run as this many concurrent streams of slices (None: one per CPU core this process may
#: use).  One program leaves a core idle in its serial stretches (loop control, the small
#: operations of the coarse grid, the parts of a semi-analytic solve that XLA does not split among
#: threads); on two cores two streams ran about 1.19x faster than one on the discretised route,
#: 1.15-1.21x on the semi-analytic one.
STREAMS: int | None = None


@functools.lru_cache(maxsize=1)
def compiler_options() -> dict | None:
    """:data:`CPU_COMPILER_OPTIONS` where the default backend is a CPU whose XLA accepts them, else None."""
    if jax.default_backend() != "cpu":
        return None
    try:
        jax.jit(lambda v: v + 1.0, compiler_options=CPU_COMPILER_OPTIONS)(0.0)
    except Exception:  # an older jax (no compiler_options) or an XLA without the option: its defaults
        return None
    return CPU_COMPILER_OPTIONS


def jit(function, tuned: bool):
    """``jax.jit(function)``, with :func:`compiler_options` if ``tuned`` (the discretised route)."""
    options = compiler_options() if tuned else None
    return jax.jit(function, compiler_options=options) if options else jax.jit(function)


def scan_slices(batched_point, slice_size: int, *args):
    """``batched_point(*args)`` computed over slices of ``slice_size`` points in turn (a scan); the
    batch is a multiple of ``slice_size``.  Reference: ``batched_point(*args)`` in one call.

    Like ``lax.map(batch_size=...)``, which however fails on outputs with an empty
    axis (``m`` of an economy without technologies).
    """
    def split(v):
        return v.reshape((v.shape[0] // slice_size, slice_size) + v.shape[1:])

    def join(v):
        return v.reshape((v.shape[0] * v.shape[1],) + v.shape[2:])

    xs = jax.tree_util.tree_map(split, args)
    _, ys = jax.lax.scan(lambda carry, x: (carry, batched_point(*x)), (), xs)
    return jax.tree_util.tree_map(join, ys)


def slicing(size: int, cells: int = 0, streams: int = 1) -> tuple[int, int]:
    """(points per slice, padded size) for a batch of ``size`` points; (0, padded size) means one piece.

    ``cells``: cells per point of a grid route (its slices hold :data:`CELLS_PER_SLICE` cells),
    0 for a pointwise route (slices of :data:`POINTS_PER_SLICE` points, whole :data:`VECTOR_LANES`).
    With ``streams`` > 1 the number of slices is a multiple of it, so that each stream gets as many.
    """
    if cells:
        limit, lanes = max(1, CELLS_PER_SLICE // cells), 1
    else:
        limit, lanes = POINTS_PER_SLICE, VECTOR_LANES
    quantum = max(lanes, limit // SLICE_ROUNDING // lanes * lanes)
    n_slices = -(-size // limit)
    if streams > 1 and size >= streams * quantum:
        n_slices = -(-n_slices // streams) * streams
    if n_slices <= 1:
        return 0, -(-size // lanes) * lanes
    step = -(-size // (n_slices * quantum)) * quantum
    return step, n_slices * step


def streams() -> int:
    """:data:`STREAMS`, or the number of CPU cores this process may use."""
    if STREAMS is not None:
        return STREAMS
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=64)
def executable(function, treedef, shapes, name: str | None = None):
    """``function`` compiled ahead of time for arguments of these shapes (float64): compiled once,
    then called from several threads.  With a ``name`` (see :func:`.aot.compiled`) it is read from
    the compiled-program cache when a process stored it before."""
    args = jax.tree_util.tree_unflatten(treedef, [jax.ShapeDtypeStruct(s, jnp.float64) for s in shapes])
    if name is None:
        return function.lower(*args).compile()
    return aot.compiled(name, function, args)


@functools.lru_cache(maxsize=None)
def pool(n_streams: int, pid: int) -> ThreadPoolExecutor:
    """A pool of ``n_streams`` threads, kept for the process ``pid`` (starting threads took about 2 ms
    a batch); a forked child, which inherits the pool but not its threads, gets a pool of its own.
    Work given to it must run under :func:`~simulator.precision.float64` itself (a per-thread setting)."""
    return ThreadPoolExecutor(n_streams, thread_name_prefix="llm-labor-stream")


def cut(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``values[start:stop]``, padded past the end by repeating the first point (a view where no
    padding is needed: copying a million points' parameters to pad them took about 60 ms).

    Reference: ``values[np.minimum(np.arange(start, stop), ...)]`` with indices past the end set to 0.
    """
    if stop <= values.shape[0]:
        return values[start:stop]
    return np.concatenate([values[start:], np.full(stop - max(start, values.shape[0]), values[0])])


@functools.partial(jax.jit, static_argnums=(1, 2))
def joined(parts, size: int, finish: Callable | None = None):
    """The parts' results one after the other, the first ``size`` points, with ``finish`` applied
    if given: one program."""
    result = jax.tree_util.tree_map(lambda *v: jnp.concatenate(v)[:size], *parts)
    return finish(result) if finish is not None else result


def run_batch(program: Callable[[int], Callable], treedef, flat: list[np.ndarray], *, cells: int = 0,
              finish: Callable | None = None, name: str | None = None):
    """Run a batched program over flat parameter arrays (one point per entry) in cache-sized slices.

    ``program(slice_size)`` is the jitted batched program: on a grid route (``cells`` > 0) a scan
    over slices of ``slice_size`` points (0: one piece, see :func:`scan_slices`); on a pointwise
    route (``cells`` = 0) it is called with 0 and run once per slice.  ``finish`` (jittable) is
    applied to the joined results.  The results cover exactly the points of ``flat``.  ``name``
    says what ``program`` computes, for the compiled-program cache (:func:`.aot.compiled`; None: not cached).

    The slices are shared out among :func:`streams` threads, each working through its own run
    of them; one last program joins the results.  The two kinds of route run their slices
    differently, each the faster way measured:

    * grid (discretised): one program per run, a ``scan`` over its slices. Its many small slices
      (63 points at n = 1024) would otherwise each allocate their large intermediates afresh:
      about 5% slower.
    * pointwise (semi-analytic): one program per slice, then ``finish`` (the tolerance test) in
      the joining program. In a ``scan`` the compiler fuses the residuals' computation into the
      writing of the scan's output, and with the test in the same program it runs that
      computation once more inside the test: about 6-9% slower.

    The runs are cut from numpy arrays and joined by one compiled program: cut and joined op by
    op, they cost several milliseconds a batch, about a tenth of the solve at a thousand points.
    """
    size = flat[0].shape[0]
    n_streams = streams()
    step, padded = slicing(size, cells, n_streams)
    step = step or padded
    if (padded // step) % n_streams:
        n_streams = 1
    length = padded // n_streams
    # a grid route scans its run in slices (0: the run is one slice); a pointwise one calls its program per slice
    slice_size, piece = (step if step < length else 0, length) if cells else (0, step)
    run = executable(program(slice_size), treedef, ((piece,),) * len(flat), None if name is None else f"{name}|slice={slice_size}")

    def work(first: int):
        results = [run(*jax.tree_util.tree_unflatten(treedef, [cut(v, k, k + piece) for v in flat]))
                   for k in range(first, first + length, piece)]
        return jax.block_until_ready(results) if n_streams > 1 else results

    if n_streams > 1:
        parts = [r for rs in pool(n_streams, os.getpid()).map(float64(work), range(0, padded, length)) for r in rs]
    else:
        parts = work(0)
    return joined(parts, size, finish)


@functools.partial(jax.jit, donate_argnums=0)
def merge(result, rows, part):
    """``result`` with the points at ``rows`` replaced by ``part`` (rows out of bounds are dropped):
    one compiled scatter for every field, in place (``result`` is donated: a copy of a million
    points' results took about as long as the scatter's retry pass).

    Reference: ``full[rows[keep]] = new[keep]`` in numpy, ``keep = rows < len(full)``.
    """
    return jax.tree_util.tree_map(lambda full, new: full.at[rows].set(new, mode="drop"), result, part)
