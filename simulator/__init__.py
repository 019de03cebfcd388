"""Task-based equilibria with traditional AI and scaling-law LLMs.

Implements section 5 and Appendix A of "Large Language Models at Work in
China's Labor Market".  Every residual is checked to 1e-10, so the engine
computes in float64: its entry points run inside
:func:`simulator.precision.float64`, which switches 64-bit types on for the
call only.  Importing the package leaves JAX's global settings alone; the
``llm-labor`` command, the tests and the benchmarks switch float64 on for
their whole process.
"""
from __future__ import annotations

from llm_labor import __version__

from .equilibrium import RESIDUALS, TOLERANCE, Equilibrium
from .errors import LLMLaborError, ParameterError, ScenarioError
from .params import Economy, ProfileTechnology, ScalingLLM, TraditionalAI
from .solve import SolverOptions, solve, solve_batch
from .status import Status

__all__ = [
    "Economy",
    "TraditionalAI",
    "ScalingLLM",
    "ProfileTechnology",
    "Equilibrium",
    "SolverOptions",
    "Status",
    "RESIDUALS",
    "TOLERANCE",
    "solve",
    "solve_batch",
    "LLMLaborError",
    "ParameterError",
    "ScenarioError",
    "__version__",
]
