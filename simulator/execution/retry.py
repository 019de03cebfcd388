"""The retry ladder: points a pass leaves NOT_CONVERGED are solved again with more robust options.

Policy (``SolverOptions.retry`` gives the next rung, None after the last):

1. the first pass, as configured (by default joint Newton steps: fast, no global guarantee);
2. after a Newton pass, the nested solver with :data:`SECOND_PASS_N_OUTER` premium steps of
   :data:`SECOND_PASS_N_INNER` level iterations;
3. the nested solver with the configured ``retry_n_outer``/``retry_n_inner``, and at least
   :data:`TRADITIONAL_STEPS_PER_OUTER` traditional-AI iterations per premium step; the last rung.

``retry_n_outer = 0`` or ``retry_n_inner = 0`` switches the ladder off.  Uniqueness makes retrying
safe: any point that meets every condition to tolerance is the equilibrium.  In a batch only the
unconverged points run again, in power-of-two buckets (:func:`bucket`) so that few shapes compile,
and their results are scattered back (:func:`~simulator.execution.batch.merge`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

#: The second rung: a short nested pass.  A Newton pass leaves a few per cent of points (about
#: 3% of the LLM benchmark's, docs/model.md), most of which the safeguarded premium iteration
#: settles in a few steps; four level iterations cover the fine-grid steps the general route's
#: coarse start can need (a labour share narrower than a coarse cell needs three).  Points it
#: leaves go to the long last rung, so it is kept cheap.
SECOND_PASS_N_OUTER = 16
SECOND_PASS_N_INNER = 4
#: The last rung's traditional-AI equation gets at least this many iterations per premium step,
#: so that its inner solve is never what stops the last rung from converging.
TRADITIONAL_STEPS_PER_OUTER = 2


def next_pass(options):
    """The options of the rung after ``options`` (a ``SolverOptions``), or None after the last."""
    if options.retry_n_outer == 0 or options.retry_n_inner == 0:
        return None
    if options.strategy == "newton":
        return dataclasses.replace(options, strategy="nested", n_outer=SECOND_PASS_N_OUTER, n_inner=SECOND_PASS_N_INNER)
    return dataclasses.replace(options, strategy="nested", n_outer=options.retry_n_outer, n_inner=options.retry_n_inner,
                               n_traditional=max(options.n_traditional, TRADITIONAL_STEPS_PER_OUTER * options.retry_n_outer),
                               retry_n_outer=0)


def bucket(todo: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(points to solve, rows to write) for the indices ``todo`` (nonempty) of a batch of ``size``.

    Both are padded to the next power of two: the padding solves point ``todo[0]`` again and is
    written to row ``size``, out of bounds, so that the scatter drops it.
    """
    n = 1 << int(np.ceil(np.log2(todo.size)))
    points = np.concatenate([todo, np.full(n - todo.size, todo[0])])
    rows = np.concatenate([todo, np.full(n - todo.size, size)])
    return points, rows
