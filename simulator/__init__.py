"""Task-based equilibria with traditional AI and scaling-law LLMs.

Implements section 5 and Appendix A of "Large Language Models at Work in
China's Labor Market".  Every residual is checked to 1e-10, so the engine
computes in float64: its entry points run inside
:func:`simulator.precision.float64`, which switches 64-bit types on for the
call only.  Importing the package leaves JAX's global settings alone; the
``llm-labor`` command, the tests and the benchmarks switch float64 on for
their whole process.

The names below that need JAX are imported on first use (PEP 562), so that
``import simulator`` and ``llm-labor --help`` stay quick.  ``simulator.solve``
is the function :func:`simulator.solve.solve` even after the submodule of that
name has been imported; the module itself is ``sys.modules["simulator.solve"]``
(or ``importlib.import_module("simulator.solve")``).
"""
from __future__ import annotations

import importlib
import sys
import types

from llm_labor import __version__

from .errors import LLMLaborError, ParameterError, ScenarioError
from .status import Status

#: name -> submodule defining it, for the names imported on first use
_LAZY = {
    "RESIDUALS": "equilibrium",
    "TOLERANCE": "equilibrium",
    "Equilibrium": "equilibrium",
    "Economy": "params",
    "ProfileTechnology": "params",
    "ScalingLLM": "params",
    "TraditionalAI": "params",
    "SolverOptions": "solve",
    "solve_batch": "solve",
}

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


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's module type: its ``solve`` attribute is always the function, never the submodule.

    Importing ``simulator.solve`` makes the import system set the submodule as the
    package's attribute ``solve``; the setter ignores exactly that assignment, and
    keeps any other (``monkeypatch.setattr(simulator, "solve", fake)``).
    """

    @property
    def solve(self):
        fn = self.__dict__.get("_solve_function")
        if fn is None:
            fn = importlib.import_module(f"{self.__name__}.solve").solve
            self.__dict__["_solve_function"] = fn
        return fn

    @solve.setter
    def solve(self, value) -> None:
        if not (isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.solve"):
            self.__dict__["_solve_function"] = value

    @solve.deleter
    def solve(self) -> None:
        self.__dict__.pop("_solve_function", None)


sys.modules[__name__].__class__ = _Package
