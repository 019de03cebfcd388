"""Public entry points: solve one equilibrium or a batch of them.

>>> from simulator import Economy, ScalingLLM, solve
>>> eq = solve(Economy(eta=1.0, A_H=1.5, H=0.6), [ScalingLLM(A_bar=3.0, G=1e10, N_bar=1e11, I_lo=0.6, I_hi=0.9)])

``method="analytic"`` is the semi-analytic route (benchmark, one traditional
AI, or one windowed LLM); ``"discretized"`` is the general route (any
profiles, any number of technologies); ``"auto"`` picks the first that applies.
Batches: give any numeric field an array; all arrays broadcast to one shape
and the solver is vmapped over it (see :func:`solve_batch`).  How a batch runs
(slices, streams, padding, compiler options, the retry ladder) is the
execution layer's business: :mod:`simulator.execution`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import analytic
from .discretized import DiscretizedOptions, solve_discretized
from .equilibrium import ACCURACY, Equilibrium, apply_tolerance
from .errors import ParameterError
from .execution import aot, batch, retry
from .params import Economy, ScalingLLM, TraditionalAI, check_admissible, check_arguments
from .precision import float64
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
    #: Points still NOT_CONVERGED are solved again: after a Newton pass by the nested solver
    #: with (16, 4) iterations, then with these larger counts (0 switches retries off); see
    #: :mod:`simulator.execution.retry`.
    retry_n_outer: int = 80
    retry_n_inner: int = 12
    #: Relative accuracy that status ``ok`` vouches for in W_L, W_H, the premium and Y: a point
    #: whose error estimate (``Equilibrium.error``) exceeds it is ``ill_conditioned``.
    accuracy: float = ACCURACY

    @property
    def retry(self) -> "SolverOptions | None":
        """Options of the next pass for points left unconverged, or None after the last (:func:`retry.next_pass`)."""
        return retry.next_pass(self)

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
        if isinstance(self.accuracy, bool) or not isinstance(self.accuracy, (int, float)) or not 0 < self.accuracy < 1:
            raise ParameterError(f"solver.accuracy: must be a number in (0, 1), got {self.accuracy!r}")
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
            strategy=options.strategy, check=check, accuracy=options.accuracy,
            coarse_start=options.strategy == "newton" or options.retry is not None,  # a last nested pass works on the fine grid only
        )
        return lambda e, techs: solve_discretized(e, techs, opts)
    opts = analytic.AnalyticOptions(n_outer=options.n_outer, n_inner=options.n_inner, n_traditional=options.n_traditional,
                                    strategy=options.strategy, check=check, accuracy=options.accuracy)
    if len(technologies) == 0:
        return lambda e, techs: analytic.benchmark(e, check, options.accuracy)
    if isinstance(technologies[0], TraditionalAI):
        return lambda e, techs: analytic.traditional_ai(e, techs[0], opts)
    return lambda e, techs: analytic.scaling_llm(e, techs[0], opts)


@functools.lru_cache(maxsize=64)
def _compiled(structure, options: SolverOptions, batched: bool, slice_size: int = 0):
    """The jitted solver of one point, or of a batch (vmapped; see :func:`batch.run_batch`).

    Batches on the discretised route: ``solve(economy, technologies)``, a scan over slices of
    ``slice_size`` points (if nonzero).  On the semi-analytic route: ``solve(economy,
    technologies)`` on one slice, without the tolerance test (``slice_size`` is not used).
    """
    economy_def, tech_defs = structure
    dummy_techs = tuple(jax.tree_util.tree_unflatten(d, [0.0] * d.num_leaves) for d in tech_defs)
    discretized = resolve_method(dummy_techs, options.method) == "discretized"
    if not batched:
        return batch.jit(_single_point_solver(dummy_techs, options), discretized)
    if discretized:
        point = jax.vmap(_single_point_solver(dummy_techs, options))
        return batch.jit(functools.partial(batch.scan_slices, point, slice_size) if slice_size else point, True)
    return jax.jit(jax.vmap(_single_point_solver(dummy_techs, options, check=False)))


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


@float64
def solve(economy: Economy, technologies: Sequence = (), *, options: SolverOptions | None = None, method: str | None = None) -> Equilibrium:
    """Solve one equilibrium.  Raises :class:`ParameterError` for inadmissible input."""
    options = _checked_options("solve", options)
    if method is not None:
        options = dataclasses.replace(options, method=method)
    technologies = check_arguments("solve", economy, technologies, batch=False)
    check_admissible(economy, technologies)
    args = (_as_f64(economy), _as_f64(technologies))
    structure = _structure(economy, technologies)
    result = _point_program(structure, options)(*args)
    while int(result.status) == Status.NOT_CONVERGED and options.retry is not None:
        options = options.retry
        result = _point_program(structure, options)(*args)
    return result


def _point_arguments(structure):
    """One point's arguments, as :class:`jax.ShapeDtypeStruct` (float64 scalars)."""
    economy_def, tech_defs = structure
    point = lambda d: jax.tree_util.tree_unflatten(d, [jax.ShapeDtypeStruct((), jnp.float64)] * d.num_leaves)  # noqa: E731
    return point(economy_def), tuple(point(d) for d in tech_defs)


@functools.lru_cache(maxsize=64)
def _point_program(structure, options: SolverOptions):
    """The compiled solver of one point (:func:`_compiled`), read from the compiled-program cache
    where a process stored it before (:mod:`simulator.execution.aot`)."""
    return aot.compiled(f"solve|{structure}|{options!r}", _compiled(structure, options, False), _point_arguments(structure))


def _point_shapes(structure, options: SolverOptions):
    """Shapes of one point's results (:class:`Equilibrium` of :class:`jax.ShapeDtypeStruct`), without compiling."""
    return aot.output_shapes(f"solve|{structure}|{options!r}", _compiled(structure, options, False), _point_arguments(structure))


def _cells(technologies, options: SolverOptions) -> int:
    """Cells per point on the discretised route (its slices are sized in cells), 0 on the semi-analytic one."""
    return options.n_tasks + 1 if resolve_method(technologies, options.method) == "discretized" else 0


@functools.lru_cache(maxsize=16)
def _finisher(accuracy: float):
    """:func:`apply_tolerance` at ``accuracy``, one function object per value (it keys a compiled program)."""
    return functools.partial(apply_tolerance, accuracy=accuracy)


def _solve_flat(structure, technologies, options: SolverOptions, treedef, flat: list[np.ndarray]):
    """One pass over flat parameter arrays (one point per entry), in slices and streams (:func:`batch.run_batch`)."""
    cells = _cells(technologies, options)
    return batch.run_batch(functools.partial(_compiled, structure, options, True), treedef, flat, cells=cells,
                           finish=None if cells else _finisher(options.accuracy), name=f"solve_batch|{structure}|{options!r}")


@float64
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
        points, rows = retry.bucket(todo, size)
        again = _solve_flat(structure, technologies, options, treedef, [a[points] for a in flat])
        result = batch.merge(result, jnp.asarray(rows), again)
    return jax.tree_util.tree_map(lambda v: v.reshape(shape + v.shape[1:]), result)
