"""Task-based equilibria with traditional AI and scaling-law LLMs.

Implements section 5 and Appendix A of "Large Language Models at Work in
China's Labor Market".  float64 is switched on for JAX on import, since every
residual is checked to 1e-10.
"""
from __future__ import annotations

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from .equilibrium import RESIDUALS, TOLERANCE, Equilibrium  # noqa: E402
from .errors import LLMLaborError, ParameterError, ScenarioError  # noqa: E402
from .params import Economy, ProfileTechnology, ScalingLLM, TraditionalAI  # noqa: E402
from .solve import SolverOptions, solve, solve_batch  # noqa: E402
from .status import Status  # noqa: E402

__version__ = "0.1.0"

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
