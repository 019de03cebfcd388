"""Agent-based market: workers, task producers and a model provider that find the equilibrium.

Agents are arrays stepped by Numba (:mod:`.kernels`); :class:`~.simulation.Market`
holds one market, :func:`~.transition.simulate` runs a scenario's ``dynamics:``
section through time, and ``llm-labor simulate`` is the command line.  See
``docs/market.md``.  Submodules are imported on use, so importing this
package loads neither Numba nor JAX.
"""
from __future__ import annotations

__all__ = ["Market", "MarketOptions", "simulate", "load_dynamics"]


def __getattr__(name):
    if name in ("Market", "MarketOptions"):
        from . import simulation

        return getattr(simulation, name)
    if name == "simulate":
        from .transition import simulate

        return simulate
    if name == "load_dynamics":
        from .config import load_dynamics

        return load_dynamics
    raise AttributeError(name)
