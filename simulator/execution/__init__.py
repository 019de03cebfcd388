"""The execution layer: how the engine's programs run, apart from what they compute.

* :mod:`.batch`: compiler options, cache-sized slices, padding to vector lanes, concurrent
  streams of threads, ahead-of-time compiles and the scatter that merges retried points.
* :mod:`.retry`: the retry ladder for points left NOT_CONVERGED, with its constants.
* :mod:`.sweeps`: where a scenario's sweep runs (this process, or a Dask cluster into a Zarr store).
* :mod:`.cache`: JAX's persistent compilation cache (:func:`enable_compilation_cache`).
* :mod:`.aot`: the engine's named programs stored whole, so that a warm start skips tracing too.

The sweep backends are imported on first use: they sit above the scenario and sweep modules,
which themselves call :mod:`simulator.solve` and so this layer.
"""
from __future__ import annotations

import importlib

from .cache import cache_dir, disable_compilation_cache, enable_compilation_cache

_SWEEPS = ("BACKENDS", "Execution", "ExecutionSpec", "SweepReport", "execution_options", "run_to_store")

__all__ = ["cache_dir", "disable_compilation_cache", "enable_compilation_cache", *_SWEEPS]


def __getattr__(name: str):
    if name in _SWEEPS:
        return getattr(importlib.import_module(".sweeps", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
