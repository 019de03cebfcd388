"""Factors of production and their task profiles.

Factor index ``k`` is 0 for low-skill labour L, 1 for high-skill labour H and
``2 + j`` for technology ``j``.  Everything is expressed in logs:

* log productivity  ℓ_k(i) = ln(A_k α_k(i))      (-inf where a factor cannot work)
* log unit cost     ln c_k(i) = w_k - ℓ_k(i)      with w_k = ln W_L, ln W_H, ln F_j

Assumption 1 of the paper: α_L(i) = (1-i)^η and α_H(i) = i^η.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from .params import Economy, ScalingLLM, TraditionalAI

L_INDEX, H_INDEX = 0, 1
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def factor_names(technologies) -> list[str]:
    """Names of the factors in index order: L, H, then each technology's name."""
    if len(technologies) == 1:
        return ["L", "H", "M"]
    return ["L", "H"] + [t.name for t in technologies]


def log_productivity_columns(economy: Economy, technologies, i) -> list:
    """ℓ_k(i) for every factor, as a list of ``2 + len(technologies)`` arrays of ``i.shape``."""
    i = jnp.asarray(i, dtype=jnp.float64)
    columns = [
        jnp.log(economy.A_L) + economy.eta * jnp.log1p(-i),
        jnp.log(economy.A_H) + xlogy(economy.eta, i),
    ]
    columns += [tech.log_productivity(i, economy.eta) for tech in technologies]
    return [jnp.where(jnp.isnan(c), -jnp.inf, c) for c in columns]


def log_productivities(economy: Economy, technologies, i):
    """ℓ_k(i) for every factor, stacked on a new last axis: shape ``i.shape + (2 + len(technologies),)``."""
    return jnp.stack(log_productivity_columns(economy, technologies, i), axis=-1)


def _primitive_log1m(u):
    """∫_0^u ln(1-i) di."""
    return -xlogy(1.0 - u, 1.0 - u) - u


def _primitive_log(u):
    """∫_0^u ln(i) di."""
    return xlogy(u, u) - u


def integrate_log_productivity(economy: Economy, technologies, k: int, p, q):
    """∫_p^q ℓ_k(i) di for factor ``k`` (static int), elementwise over arrays ``p``, ``q``.

    Exact where a closed form exists, 24-point Gauss-Legendre otherwise.

    Returns 0 for an empty interval (q <= p), so segments of zero length are harmless.
    """
    p, q = jnp.broadcast_arrays(jnp.asarray(p, dtype=jnp.float64), jnp.asarray(q, dtype=jnp.float64))
    width = jnp.maximum(q - p, 0.0)
    q = jnp.maximum(q, p)
    if k == L_INDEX:
        value = width * jnp.log(economy.A_L) + economy.eta * (_primitive_log1m(q) - _primitive_log1m(p))
    elif k == H_INDEX:
        value = width * jnp.log(economy.A_H) + economy.eta * (_primitive_log(q) - _primitive_log(p))
    else:
        tech = technologies[k - 2]
        if isinstance(tech, TraditionalAI):
            value = width * jnp.log(tech.A_bar) + tech.mu * (_primitive_log1m(q) - _primitive_log1m(p))
        elif isinstance(tech, ScalingLLM) and tech.uses_window:
            inside = jnp.maximum(jnp.minimum(q, tech.I_hi) - jnp.maximum(p, tech.I_lo), 0.0)
            level = tech.log_productivity(jnp.clip(0.5 * (tech.I_lo + tech.I_hi), 0.0, 1.0), economy.eta)
            value = jnp.where(inside < width - 1e-12, -jnp.inf, width * level)
        else:
            nodes = p[..., None] + 0.5 * (jnp.asarray(_GL_NODES) + 1.0) * width[..., None]
            value = 0.5 * width * jnp.sum(jnp.asarray(_GL_WEIGHTS) * tech.log_productivity(nodes, economy.eta), axis=-1)
    return jnp.where(width > 0, value, 0.0)


def integrate_over_segments(economy: Economy, technologies, k: int, boundaries):
    """∫ ℓ_k over each segment [boundaries[s], boundaries[s+1]] of a nondecreasing ``boundaries`` (S+1,).

    The same values as :func:`integrate_log_productivity` on consecutive
    segments; closed-form primitives are evaluated once per boundary.
    """
    b = jnp.asarray(boundaries, dtype=jnp.float64)
    p, q = b[:-1], jnp.maximum(b[1:], b[:-1])
    width = q - p
    if k == L_INDEX:
        value = width * jnp.log(economy.A_L) + economy.eta * jnp.diff(_primitive_log1m(b))
    elif k == H_INDEX:
        value = width * jnp.log(economy.A_H) + economy.eta * jnp.diff(_primitive_log(b))
    elif isinstance(technologies[k - 2], TraditionalAI):
        tech = technologies[k - 2]
        value = width * jnp.log(tech.A_bar) + tech.mu * jnp.diff(_primitive_log1m(b))
    else:
        return integrate_log_productivity(economy, technologies, k, p, q)
    return jnp.where(width > 0, value, 0.0)
