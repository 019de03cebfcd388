"""float64 for the engine's entry points, without touching JAX's global setting.

Every residual is checked to 1e-10, so the engine computes in float64.  Rather
than switching ``jax_enable_x64`` on for the whole process when the package is
imported, each public entry point runs inside :func:`float64`; a program that
imports :mod:`simulator` keeps its own JAX settings.  The setting is
thread-local: work handed to other threads must be wrapped again.
"""
from __future__ import annotations

import functools

import jax

_enable_x64 = getattr(jax, "enable_x64", None)
if _enable_x64 is None:  # JAX < 0.7 kept the context manager in jax.experimental
    from jax.experimental import enable_x64 as _enable_x64


def float64(function):
    """Decorator: run ``function`` with 64-bit JAX types enabled (in this thread)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with _enable_x64(True):
            return function(*args, **kwargs)

    return wrapper
