"""Public entry points: solve one equilibrium or a batch of them.

>>> from simulator import Economy, ScalingLLM, solve
>>> eq = solve(Economy(eta=1.0, A_H=1.5, H=0.6), [ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.6, I_hi=0.9)])

``method="analytic"`` is the semi-analytic route (benchmark, one traditional
AI, or one windowed LLM); ``"discretized"`` is the general route (any
profiles, any number of technologies); ``"auto"`` picks the first that applies.
Batches: give any numeric field an array; all arrays broadcast to one shape
and the solver is vmapped over it (see :func:`solve_batch`).
"""
from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import analytic
from .discretized import DiscretizedOptions, solve_discretized
from .equilibrium import Equilibrium, apply_tolerance
from .errors import ParameterError
from .params import Economy, ScalingLLM, TraditionalAI, check_admissible, check_arguments
from .status import Status

METHODS = ("auto", "analytic", "discretized")


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Options of both routes (all static: they fix array shapes and loop counts)."""

    method: str = "auto"
    #: first pass: "newton" (joint Newton steps in both wages: few evaluations, no global
    #: guarantee) or "nested" (safeguarded premium iteration around a level solve: robust)
    strategy: str = "newton"
    n_outer: int = 5
    n_inner: int = 3
    n_traditional: int = 80
    n_tasks: int = 1024
    max_segments: int = 16
    #: Points still NOT_CONVERGED are solved again: after a Newton pass by the nested
    #: solver with (16, 4) iterations, then with these larger counts (0 switches retries off).
    retry_n_outer: int = 80
    retry_n_inner: int = 12

    @property
    def retry(self) -> "SolverOptions | None":
        """Options of the next pass for points left unconverged, or None after the last."""
        if self.retry_n_outer == 0 or self.retry_n_inner == 0:
            return None
        if self.strategy == "newton":
            return dataclasses.replace(self, strategy="nested", n_outer=16, n_inner=4)
        return dataclasses.replace(self, strategy="nested", n_outer=self.retry_n_outer, n_inner=self.retry_n_inner,
                                   n_traditional=max(self.n_traditional, 2 * self.retry_n_outer), retry_n_outer=0)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ParameterError(f"solver.method: must be one of {METHODS}, got {self.method!r}")
        if self.strategy not in ("newton", "nested"):
            raise ParameterError(f"solver.strategy: must be 'newton' or 'nested', got {self.strategy!r}")
        for name in ("n_outer", "n_inner", "n_traditional", "n_tasks", "max_segments", "retry_n_outer", "retry_n_inner"):
            value = getattr(self, name)
            minimum = 0 if name.startswith("retry") else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ParameterError(f"solver.{name}: must be an integer >= {minimum}, got {value!r}")
        if self.max_segments < 4:
            raise ParameterError(f"solver.max_segments: must be >= 4, got {self.max_segments}")


def analytic_applies(technologies: Sequence) -> bool:
    """Whether the semi-analytic route covers this set of technologies."""
    if len(technologies) == 0:
        return True
    if len(technologies) == 1:
        t = technologies[0]
        return isinstance(t, TraditionalAI) or (isinstance(t, ScalingLLM) and t.uses_window)
    return False


def resolve_method(technologies: Sequence, method: str) -> str:
    if method == "auto":
        return "analytic" if analytic_applies(technologies) else "discretized"
    if method == "analytic" and not analytic_applies(technologies):
        raise ParameterError(
            "solver.method: 'analytic' covers no technology, one traditional AI or one windowed LLM; "
            "use 'discretized' for several technologies or a general profile"
        )
    return method


def _single_point_solver(technologies: Sequence, options: SolverOptions, check: bool = True):
    """The solver of one point; ``check=False`` leaves out :func:`apply_tolerance` (see :func:`_compiled`)."""
    method = resolve_method(technologies, options.method)
    if method == "discretized":
        opts = DiscretizedOptions(
            n_tasks=options.n_tasks, n_outer=options.n_outer, n_inner=options.n_inner, max_segments=options.max_segments,
            strategy=options.strategy, check=check,
            coarse_start=options.strategy == "newton" or options.retry is not None,  # a last nested pass works on the fine grid only
        )
        return lambda e, techs: solve_discretized(e, techs, opts)
    opts = analytic.AnalyticOptions(n_outer=options.n_outer, n_inner=options.n_inner, n_traditional=options.n_traditional,
                                    strategy=options.strategy, check=check)
    if len(technologies) == 0:
        return lambda e, techs: analytic.benchmark(e, check)
    if isinstance(technologies[0], TraditionalAI):
        return lambda e, techs: analytic.traditional_ai(e, techs[0], opts)
    return lambda e, techs: analytic.scaling_llm(e, techs[0], opts)


#: XLA options for the discretised route's programs on CPU. XLA's older loop emitters, rather than
#: its MLIR fusion emitters, made that route about 1.4x faster (in-process A/B at 10^4 LLM points,
#: n = 1024, 1.48x with retries) and the semi-analytic route 5-13% slower, so only the
#: discretised route uses them.
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}


@functools.lru_cache(maxsize=1)
def _compiler_options() -> dict | None:
    """:data:`CPU_COMPILER_OPTIONS` where the default backend is a CPU whose XLA accepts them, else None."""
    if jax.default_backend() != "cpu":
        return None
    try:
        jax.jit(lambda v: v + 1.0, compiler_options=CPU_COMPILER_OPTIONS)(0.0)
    except Exception:  # an older jax (no compiler_options) or an XLA without the option: its defaults
        return None
    return CPU_COMPILER_OPTIONS


def _jit(function, discretized: bool):
    options = _compiler_options() if discretized else None
    return jax.jit(function, compiler_options=options) if options else jax.jit(function)


@functools.lru_cache(maxsize=64)
def _compiled(structure, options: SolverOptions, batched: bool, slice_size: int = 0):
    """The jitted solver of one point, or of a batch (vmapped; see :func:`_solve_flat`).

    Batches on the discretised route: ``solve(economy, technologies)``, a scan over slices of
    ``slice_size`` points (if nonzero).  On the semi-analytic route: ``solve(economy,
    technologies)`` on one slice, without the tolerance test (``slice_size`` is not used).
    """
    economy_def, tech_defs = structure
    dummy_techs = tuple(jax.tree_util.tree_unflatten(d, [0.0] * d.num_leaves) for d in tech_defs)
    discretized = resolve_method(dummy_techs, options.method) == "discretized"
    if not batched:
        return _jit(_single_point_solver(dummy_techs, options), discretized)
    if discretized:
        point = jax.vmap(_single_point_solver(dummy_techs, options))
        return _jit(functools.partial(_sliced, point, slice_size) if slice_size else point, True)
    return jax.jit(jax.vmap(_single_point_solver(dummy_techs, options, check=False)))


def _sliced(batched_point, slice_size: int, economy, technologies):
    """``batched_point`` over slices of ``slice_size`` points in turn (a scan); the batch is a multiple of it.

    Like ``lax.map(batch_size=...)``, which however fails on outputs with an empty
    axis (``m`` of an economy without technologies).
    """
    def split(v):
        return v.reshape((v.shape[0] // slice_size, slice_size) + v.shape[1:])

    def join(v):
        return v.reshape((v.shape[0] * v.shape[1],) + v.shape[2:])

    xs = jax.tree_util.tree_map(split, (economy, technologies))
    _, ys = jax.lax.scan(lambda carry, x: (carry, batched_point(*x)), (), xs)
    return jax.tree_util.tree_map(join, ys)


def _structure(economy, technologies):
    return jax.tree_util.tree_structure(economy), tuple(jax.tree_util.tree_structure(t) for t in technologies)


def _as_f64(tree):
    return jax.tree_util.tree_map(lambda v: jnp.asarray(v, dtype=jnp.float64), tree)


def _checked_options(caller: str, options) -> SolverOptions:
    if options is None:
        return SolverOptions()
    if not isinstance(options, SolverOptions):
        raise ParameterError(f"{caller}: options: expected a SolverOptions, got {type(options).__name__} {options!r:.60}")
    return options


def solve(economy: Economy, technologies: Sequence = (), *, options: SolverOptions | None = None, method: str | None = None) -> Equilibrium:
    """Solve one equilibrium.  Raises :class:`ParameterError` for inadmissible input."""
    options = _checked_options("solve", options)
    if method is not None:
        options = dataclasses.replace(options, method=method)
    technologies = check_arguments("solve", economy, technologies, batch=False)
    check_admissible(economy, technologies)
    args = (_as_f64(economy), _as_f64(technologies))
    result = _compiled(_structure(economy, technologies), options, False)(*args)
    while int(result.status) == Status.NOT_CONVERGED and options.retry is not None:
        options = options.retry
        result = _compiled(_structure(economy, technologies), options, False)(*args)
    return result


#: Largest slice of a batch solved at once, in points (semi-analytic route) and in points x
#: cells (discretised route): slices this small keep the intermediates in cache.  On the LLM
#: route 5e5 points ran about 1.3x faster in slices than in one piece.
POINTS_PER_SLICE = 32768
CELLS_PER_SLICE = 65536
#: On the semi-analytic route every slice is a multiple of this many points, so that each point is
#: computed by the vectorised body of XLA's loops: their remainder, computed with scalar code, can
#: round differently (by an ulp), and a point's result would depend on how its batch was cut.
VECTOR_LANES = 8


def _slicing(size: int, technologies, options: SolverOptions, streams: int = 1) -> tuple[int, int]:
    """(points per slice, padded size) for a batch of ``size`` points; (0, padded size) means one piece.

    With ``streams`` > 1 the number of slices is a multiple of it, so that each stream gets as many.
    """
    if resolve_method(technologies, options.method) == "discretized":
        limit, lanes = max(1, CELLS_PER_SLICE // (options.n_tasks + 1)), 1
    else:
        limit, lanes = POINTS_PER_SLICE, VECTOR_LANES
    # equal slices, rounded up a little so that few shapes compile
    quantum = max(lanes, limit // 32 // lanes * lanes)
    n_slices = -(-size // limit)
    if streams > 1 and size >= streams * quantum:
        n_slices = -(-n_slices // streams) * streams
    if n_slices <= 1:
        return 0, -(-size // lanes) * lanes
    step = -(-size // (n_slices * quantum)) * quantum
    return step, n_slices * step


#: Batches run as this many concurrent streams of slices (None: one per CPU core this process may
#: use).  One program leaves a core idle in its serial stretches (loop control, the small
#: operations of the coarse grid, the parts of a semi-analytic solve that XLA does not split among
#: threads); on two cores two streams ran about 1.19x faster than one on the discretised route,
#: 1.15-1.21x on the semi-analytic one.
STREAMS: int | None = None


def _streams() -> int:
    if STREAMS is not None:
        return STREAMS
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=64)
def _executable(function, treedef, shapes):
    """``function`` compiled ahead of time for arguments of these shapes (float64): compiled once,
    then called from several threads."""
    return function.lower(*jax.tree_util.tree_unflatten(treedef, [jax.ShapeDtypeStruct(s, jnp.float64) for s in shapes])).compile()


@functools.lru_cache(maxsize=None)
def _pool(n_streams: int, pid: int) -> ThreadPoolExecutor:
    """A pool of ``n_streams`` threads, kept for the process ``pid`` (starting threads took about 2 ms
    a batch); a forked child, which inherits the pool but not its threads, gets a pool of its own."""
    return ThreadPoolExecutor(n_streams, thread_name_prefix="llm-labor-stream")


def _cut(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``values[start:stop]``, padded past the end by repeating the first point (a view where no
    padding is needed: copying a million points' parameters to pad them took about 60 ms)."""
    if stop <= values.shape[0]:
        return values[start:stop]
    return np.concatenate([values[start:], np.full(stop - max(start, values.shape[0]), values[0])])


@functools.partial(jax.jit, static_argnums=(1, 2))
def _joined(parts, size: int, check: bool):
    """The parts' results one after the other, the first ``size`` points, with :func:`apply_tolerance`
    applied if ``check``: one program."""
    result = jax.tree_util.tree_map(lambda *v: jnp.concatenate(v)[:size], *parts)
    return apply_tolerance(result) if check else result


def _solve_flat(structure, technologies, options: SolverOptions, treedef, flat: list[np.ndarray]):
    """Solve flat parameter arrays (one point per entry) in cache-sized slices; results cover exactly those points.

    The slices are shared out among :data:`STREAMS` threads, each working through its own run
    of them; one last program joins the results.  The two routes run their slices differently,
    each the faster way measured:

    * discretised: one program per run, a ``scan`` over its slices. Its many small slices (63
      points at n = 1024) would otherwise each allocate their large intermediates afresh: about
      5% slower.
    * semi-analytic: one program per slice, then the tolerance test in the joining program. In a
      ``scan`` the compiler fuses the residuals' computation into the writing of the scan's
      output, and with the test in the same program it runs that computation once more inside
      the test: about 6-9% slower.

    The runs are cut from numpy arrays and joined by one compiled program: cut and joined op by
    op, they cost several milliseconds a batch, about a tenth of the solve at a thousand points.
    """
    size = flat[0].shape[0]
    discretized = resolve_method(technologies, options.method) == "discretized"
    n_streams = _streams()
    step, padded = _slicing(size, technologies, options, n_streams)
    step = step or padded
    if (padded // step) % n_streams:
        n_streams = 1
    length = padded // n_streams
    if discretized:
        program, piece = _compiled(structure, options, True, step if step < length else 0), length
    else:
        program, piece = _compiled(structure, options, True), step
    run = _executable(program, treedef, ((piece,),) * len(flat))

    def work(first: int):
        results = [run(*jax.tree_util.tree_unflatten(treedef, [_cut(v, k, k + piece) for v in flat]))
                   for k in range(first, first + length, piece)]
        return jax.block_until_ready(results) if n_streams > 1 else results

    if n_streams > 1:
        parts = [r for rs in _pool(n_streams, os.getpid()).map(work, range(0, padded, length)) for r in rs]
    else:
        parts = work(0)
    return _joined(parts, size, not discretized)


@functools.partial(jax.jit, donate_argnums=0)
def _merge(result, rows, part):
    """``result`` with the points at ``rows`` replaced by ``part`` (rows out of bounds are dropped):
    one compiled scatter for every field, in place (``result`` is donated: a copy of a million
    points' results took about as long as the scatter's retry pass)."""
    return jax.tree_util.tree_map(lambda full, new: full.at[rows].set(new, mode="drop"), result, part)


def solve_batch(economy: Economy, technologies: Sequence = (), *, options: SolverOptions | None = None) -> Equilibrium:
    """Solve a batch: every numeric field broadcasts to one shape ``B``; results have leading shape ``B``.

    Each point gets its own status code; a failure at one point never affects
    another.  Points left NOT_CONVERGED by a pass are solved again with
    ``options.retry`` (in power-of-two buckets, so few shapes are compiled).
    """
    options = _checked_options("solve_batch", options)
    technologies = check_arguments("solve_batch", economy, technologies, batch=True)
    check_admissible(economy, technologies)
    leaves, treedef = jax.tree_util.tree_flatten((economy, technologies))
    arrays = [np.asarray(v, dtype=np.float64) for v in leaves]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    size = int(np.prod(shape)) if shape else 1
    if size == 0:
        raise ParameterError(f"solve_batch: the parameters broadcast to shape {shape}, which holds no point to solve")
    flat = [np.ascontiguousarray(np.broadcast_to(a, shape).reshape(size)) for a in arrays]
    structure = _structure(economy, technologies)
    result = _solve_flat(structure, technologies, options, treedef, flat)
    while options.retry is not None:
        todo = np.flatnonzero(np.asarray(result.status) == Status.NOT_CONVERGED)
        if not todo.size:
            break
        options = options.retry
        bucket = 1 << int(np.ceil(np.log2(todo.size)))
        padded = np.concatenate([todo, np.full(bucket - todo.size, todo[0])])
        again = _solve_flat(structure, technologies, options, treedef, [a[padded] for a in flat])
        # the padding (point todo[0] again) is written out of bounds, so it is dropped
        rows = np.concatenate([todo, np.full(bucket - todo.size, size)])
        result = _merge(result, jnp.asarray(rows), again)
    return jax.tree_util.tree_map(lambda v: v.reshape(shape + v.shape[1:]), result)
