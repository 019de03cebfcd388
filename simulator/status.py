"""Per-point solver status codes.

A sweep never raises inside a batch: each grid point carries one of these codes.
"""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    #: Not solved yet: the point's block is missing from a sweep store that
    #: was interrupted or is still being filled (see simulator.execution).
    PENDING = -1
    OK = 0
    #: No finite equilibrium: models can produce every task at a unit cost of
    #: the final good below one (e.g. traditional AI with F <= Ā e^{-μ}).
    UNBOUNDED = 1
    #: The fixed-iteration solver stopped with residuals above tolerance.
    NOT_CONVERGED = 2
    #: Parameters violate an admissibility condition (detected inside jit).
    INADMISSIBLE = 3
    #: The premium could not be bracketed.
    NO_BRACKET = 4
    #: An equilibrium was found and meets every condition to tolerance, but its estimated error
    #: (``Equilibrium.error``: float64 rounding amplified by the conditioning, and on the general
    #: route the grid's resolution) exceeds the accuracy asked for (``SolverOptions.accuracy``).
    #: Its values are kept, with the estimate; they are not vouched for.
    ILL_CONDITIONED = 5

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Status.PENDING: "not solved yet: the sweep store is incomplete",
    Status.OK: "equilibrium found; all residuals within tolerance",
    Status.UNBOUNDED: "no finite equilibrium: models make output unbounded",
    Status.NOT_CONVERGED: "solver stopped with residuals above tolerance",
    Status.INADMISSIBLE: "parameters violate an admissibility condition",
    Status.NO_BRACKET: "premium could not be bracketed",
    Status.ILL_CONDITIONED: "equilibrium found, but its estimated error exceeds the accuracy asked for",
}
