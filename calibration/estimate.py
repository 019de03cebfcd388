"""Method-of-moments estimation with JAX derivatives, delta-method errors, bootstrap and profiles.

The model moments are exact functions of the parameters (closed forms in the benchmark, the
engine's solver with implicit derivatives after the LLM), so no simulation noise enters and the
objective needs no simulation correction.  The objective is

    Q(φ) = (m(φ) - d)' W (m(φ) - d),   W = diag(1 / se²) by default,

minimised by a Levenberg-Marquardt iteration written in JAX (fixed iteration count, so it is
``vmap``-ped over bootstrap data sets and profile grids).  Box bounds enter through
φ = lower + (upper - lower) sigmoid(u).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from simulator.params import Economy, ScalingLLM, TraditionalAI, names
from simulator.precision import float64

from . import model
from .moments import Moment

#: The parameters a calibration can free or move, from the parameter registry (simulator.params).
ECONOMY_FIELDS = names(Economy)
LLM_FIELDS = names(ScalingLLM)
TRADITIONAL_FIELDS = names(TraditionalAI)


def technology_fields(tech) -> tuple[str, ...]:
    """The parameters of a technology that a calibration can free or move."""
    return TRADITIONAL_FIELDS if isinstance(tech, TraditionalAI) else LLM_FIELDS


def parameter_names(technologies) -> list[str]:
    """Every parameter name of an economy and technology set: the economy's, then NAME.FIELD per technology."""
    return list(ECONOMY_FIELDS) + [f"{t.name}.{f}" for t in model.check_technologies(technologies) for f in technology_fields(t)]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Base economy and technologies (one, or a sequence), free parameter names and the moments; ``moment_fn(φ) -> (k,)``."""

    economy: Economy
    technologies: tuple
    names: tuple[str, ...]
    moments: tuple[Moment, ...]

    def __post_init__(self):
        object.__setattr__(self, "technologies", model.check_technologies(self.technologies))

    @property
    def tech(self):
        """The first technology (the only one in a single-technology calibration)."""
        return self.technologies[0]

    def split(self, name: str) -> tuple[int | None, str]:
        """(None, field) for an economy parameter, (technology index, field) for NAME.FIELD."""
        if name in ECONOMY_FIELDS:
            return None, name
        head, _, field = name.partition(".")
        for k, t in enumerate(self.technologies):
            if head == t.name and field in technology_fields(t):
                return k, field
        raise KeyError(name)

    def value(self, name: str) -> float:
        """The base value of a parameter."""
        k, field = self.split(name)
        return float(getattr(self.economy if k is None else self.technologies[k], field))

    def build(self, phi):
        """(economy, technologies) with the free parameters set to φ; a single technology comes back
        alone, as before, a set as a tuple."""
        changes = [{} for _ in range(len(self.technologies) + 1)]
        for k, name in enumerate(self.names):
            where, field = self.split(name)
            changes[0 if where is None else where + 1][field] = phi[k]
        e = _replace(self.economy, changes[0])
        techs = tuple(_replace(t, c) for t, c in zip(self.technologies, changes[1:]))
        return e, (techs[0] if len(techs) == 1 else techs)

    def moment_fn(self, phi):
        e, t = self.build(phi)
        b = model.Benchmark(e, t)
        return jnp.stack([jnp.asarray(m.function(b), dtype=jnp.float64) for m in self.moments])


def _replace(obj, changes: dict):
    if not changes:
        return obj
    leaves, treedef = jax.tree_util.tree_flatten(obj)
    names = type(obj)._leaf_names
    new = [changes.get(n, v) for n, v in zip(names, leaves)]
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(v, dtype=jnp.float64) for v in new])


def _to_u(phi, lower, upper):
    p = jnp.clip((phi - lower) / (upper - lower), 1e-12, 1 - 1e-12)
    return jnp.log(p) - jnp.log1p(-p)


def _to_phi(u, lower, upper):
    return lower + (upper - lower) * jax.nn.sigmoid(u)


def make_lm(moment_fn: Callable, lower: np.ndarray, upper: np.ndarray, n_iter: int = 40):
    """``solve(u0, d, chol, fixed_mask, fixed_values) -> (phi, Q, grad_norm)``; pure JAX, vmappable.

    ``chol`` is C with W = C C'; residuals are C'(m - d).  Parameters with ``fixed_mask`` true are
    held at ``fixed_values`` (used by the profile).
    """
    lo, hi = jnp.asarray(lower), jnp.asarray(upper)

    def phi_of(u, mask, fixed):
        return jnp.where(mask, fixed, _to_phi(u, lo, hi))

    def resid(u, d, C, mask, fixed):
        return C.T @ (moment_fn(phi_of(u, mask, fixed)) - d)

    def solve(u0, d, C, mask, fixed):
        free = (~mask).astype(jnp.float64)

        def lin(u):
            r = resid(u, d, C, mask, fixed)
            J = jax.jacfwd(resid)(u, d, C, mask, fixed) * free[None, :]
            return r, J

        def obj(r):
            q = r @ r
            return jnp.where(jnp.isfinite(q), q, jnp.inf)

        def body(carry, _):
            u, lam, q, r, J = carry
            g = J.T @ r
            A = J.T @ J
            n = A.shape[0]
            A_d = A + lam * jnp.diag(jnp.diag(A)) + (1e-12 * (1.0 + jnp.trace(A)) + (1.0 - free)) * jnp.eye(n)
            step = -jnp.linalg.solve(A_d, g) * free
            step = jnp.where(jnp.all(jnp.isfinite(step)), step, 0.0)
            u_new = u + step
            r_new, J_new = lin(u_new)
            q_new = obj(r_new)
            ok = q_new <= q
            carry = (
                jnp.where(ok, u_new, u),
                jnp.where(ok, jnp.maximum(lam * 0.2, 1e-12), lam * 10.0),
                jnp.where(ok, q_new, q),
                jnp.where(ok, r_new, r),
                jnp.where(ok, J_new, J),
            )
            return carry, None

        r0, J0 = lin(u0)
        carry = (u0, jnp.asarray(1e-3), obj(r0), r0, J0)
        (u, _, q, r, J), _ = jax.lax.scan(body, carry, None, length=n_iter)
        phi = phi_of(u, mask, fixed)
        # gradient of Q in φ-space (chain rule through the sigmoid), free parameters only
        dphi_du = (hi - lo) * jax.nn.sigmoid(u) * jax.nn.sigmoid(-u)
        grad = 2.0 * (J.T @ r) / jnp.where(dphi_du > 0, dphi_du, 1.0) * free
        return phi, q, jnp.max(jnp.abs(grad))

    return solve


@dataclasses.dataclass
class Estimate:
    names: tuple[str, ...]
    phi: np.ndarray
    se: np.ndarray
    Q: float
    grad_norm: float
    model_moments: np.ndarray
    jacobian: np.ndarray
    covariance: np.ndarray
    at_bound: list[bool]
    converged: bool
    seconds: float
    compile_seconds: float


class Estimator:
    """Holds the compiled pieces of one calibration problem."""

    @float64
    def __init__(self, spec: ModelSpec, data: np.ndarray, Sigma: np.ndarray, lower, upper, *, weighting: str = "diagonal", n_iter: int = 40):
        self.spec = spec
        self.lower = np.asarray(lower, float)
        self.upper = np.asarray(upper, float)
        self.weighting = weighting
        self.set_data(data, Sigma)
        self.moment_fn = jax.jit(spec.moment_fn)
        self.jac_fn = jax.jit(jax.jacfwd(spec.moment_fn))
        lm = make_lm(spec.moment_fn, self.lower, self.upper, n_iter)
        self._solve = jax.jit(lm)
        self._solve_many = jax.jit(jax.vmap(lm, in_axes=(0, 0, None, 0, 0)))

        def objective(phi, d, C):
            r = C.T @ (spec.moment_fn(phi) - d)
            return r @ r

        self._Q = jax.jit(jax.vmap(objective, in_axes=(0, None, None)))

    def set_data(self, data, Sigma) -> None:
        """New data moments and covariance (no recompilation)."""
        self.data = np.asarray(data, float)
        self.Sigma = np.asarray(Sigma, float)
        k = len(self.data)
        if self.weighting == "diagonal":
            W = np.diag(1.0 / np.diag(self.Sigma))
        elif self.weighting == "identity":
            W = np.eye(k)
        elif self.weighting == "optimal":
            W = np.linalg.inv(self.Sigma)
        else:
            raise ValueError(f"weighting must be diagonal, identity or optimal, got {self.weighting!r}")
        self.W = W
        self.chol = np.linalg.cholesky(W)

    @float64
    def objective(self, phis: np.ndarray) -> np.ndarray:
        return np.asarray(self._Q(jnp.asarray(np.atleast_2d(phis), dtype=jnp.float64), jnp.asarray(self.data), jnp.asarray(self.chol)))

    def u_of(self, phi):
        return np.asarray(_to_u(jnp.asarray(phi), jnp.asarray(self.lower), jnp.asarray(self.upper)))

    @float64
    def fit(self, start: np.ndarray, data: np.ndarray | None = None):
        p = len(self.lower)
        d = self.data if data is None else data
        phi, q, g = self._solve(jnp.asarray(self.u_of(start)), jnp.asarray(d), jnp.asarray(self.chol), jnp.zeros(p, bool), jnp.zeros(p))
        return np.asarray(phi), float(q), float(g)

    @float64
    def fit_many(self, starts: np.ndarray, datas: np.ndarray, masks: np.ndarray | None = None, fixed: np.ndarray | None = None):
        B, p = starts.shape
        masks = np.zeros((B, p), bool) if masks is None else masks
        fixed = np.zeros((B, p)) if fixed is None else fixed
        phi, q, g = self._solve_many(jnp.asarray(self.u_of(starts)), jnp.asarray(datas), jnp.asarray(self.chol), jnp.asarray(masks), jnp.asarray(fixed))
        return np.asarray(phi), np.asarray(q), np.asarray(g)

    @float64
    def delta_covariance(self, phi: np.ndarray):
        """(G'WG)^{-1} G'W Σ W G (G'WG)^{-1} and G = ∂m/∂φ at φ."""
        G = np.asarray(self.jac_fn(jnp.asarray(phi)))
        W, S = self.W, self.Sigma
        bread = np.linalg.pinv(G.T @ W @ G)
        V = bread @ G.T @ W @ S @ W @ G @ bread
        return V, G

    @float64
    def estimate(self, start: np.ndarray, *, grid_starts: np.ndarray | None = None, tol: float = 1e-6) -> Estimate:
        """Fit from ``start`` (and the best of ``grid_starts``, if given), then delta-method errors."""
        import time

        t0 = time.perf_counter()
        self.fit(start)  # compile every jitted piece once, timed apart
        if grid_starts is not None and len(grid_starts):
            self.objective(grid_starts)
        self.jac_fn(jnp.asarray(start, dtype=jnp.float64))
        self.moment_fn(jnp.asarray(start, dtype=jnp.float64))
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cands = [np.asarray(start, float)]
        if grid_starts is not None and len(grid_starts):
            q = self.objective(grid_starts)
            if np.any(np.isfinite(q)):
                cands.append(np.asarray(grid_starts[int(np.nanargmin(np.where(np.isfinite(q), q, np.nan)))], float))
        best = None
        for c in cands:
            phi, q, g = self.fit(c)
            if best is None or (np.isfinite(q) and q < best[1]):
                best = (phi, q, g)
        phi, q, g = best
        V, G = self.delta_covariance(phi)
        m = np.asarray(self.moment_fn(jnp.asarray(phi)))
        span = self.upper - self.lower
        at_bound = [bool(min(phi[k] - self.lower[k], self.upper[k] - phi[k]) < 1e-6 * span[k]) for k in range(len(phi))]
        seconds = time.perf_counter() - t0
        return Estimate(self.spec.names, phi, np.sqrt(np.clip(np.diag(V), 0, None)), q, g, m, G, V, at_bound,
                        bool(np.isfinite(q) and (g < tol * max(1.0, abs(q)) or q < 1e-20 or any(at_bound))), seconds, compile_s)

    @float64
    def bootstrap(self, phi_hat: np.ndarray, draws: np.ndarray, level: float):
        """Re-estimate on every row of ``draws`` (vmapped), warm-started at φ̂; percentile CI."""
        B = draws.shape[0]
        starts = np.broadcast_to(phi_hat, (B, len(phi_hat))).copy()
        phi, q, g = self.fit_many(starts, draws)
        good = np.isfinite(q) & np.all(np.isfinite(phi), axis=1)
        a = (1.0 - level) / 2.0
        lo, hi = (np.quantile(phi[good], [a, 1 - a], axis=0) if good.sum() > 1 else (np.full(len(phi_hat), np.nan),) * 2)
        return phi, q, good, np.atleast_1d(lo), np.atleast_1d(hi)

    @float64
    def profile(self, phi_hat: np.ndarray, points: int, *, log_scale: Sequence[bool] | None = None):
        """Profile of Q over each parameter: grid (points,), Q (points,), others re-minimised."""
        p = len(phi_hat)
        out = []
        for j in range(p):
            if log_scale is not None and log_scale[j]:
                grid = np.geomspace(self.lower[j], self.upper[j], points)
            else:
                grid = np.linspace(self.lower[j], self.upper[j], points)
            phis = np.broadcast_to(phi_hat, (points, p)).copy()
            phis[:, j] = grid
            if p == 1:
                q = self.objective(phis)
            else:
                masks = np.zeros((points, p), bool)
                masks[:, j] = True
                _, q, _ = self.fit_many(phis, np.broadcast_to(self.data, (points, len(self.data))).copy(), masks, phis)
            out.append((grid, np.asarray(q)))
        return out


def diagnose_profile(grid: np.ndarray, q: np.ndarray, threshold: float) -> dict:
    """Flags for one profile: flat (rise above the minimum < threshold on the whole grid), several minima."""
    finite = np.isfinite(q)
    res = {"flat": False, "several_minima": False, "minima": [], "rise": None, "undefined_share": float(1 - finite.mean()), "warnings": []}
    if finite.sum() < 3:
        res["warnings"].append("the model moments are undefined on almost all of the grid")
        res["flat"] = True
        return res
    qmin = np.nanmin(np.where(finite, q, np.nan))
    rise = float(np.nanmax(np.where(finite, q, np.nan)) - qmin)
    res["rise"] = rise
    if rise < threshold:
        res["flat"] = True
        res["warnings"].append(f"flat profile: Q rises only {rise:.3g} above its minimum over the bounds (threshold {threshold:g}); "
                               "the data do not pin this parameter down within its bounds")
    # local minima on the finite part of the grid, separated by a barrier above a small tolerance
    qs = np.where(finite, q, np.inf)
    minima = []
    for i in range(len(qs)):
        left = qs[i - 1] if i > 0 else np.inf
        right = qs[i + 1] if i < len(qs) - 1 else np.inf
        if np.isfinite(qs[i]) and qs[i] < left and qs[i] <= right:
            minima.append(i)
    # keep minima separated by a barrier of at least 1% of the rise (or of the threshold)
    kept = []
    for i in minima:
        if kept:
            barrier = np.max(qs[kept[-1]: i + 1]) - max(qs[kept[-1]], qs[i])
            if not barrier > 0.01 * min(threshold, rise):
                if qs[i] < qs[kept[-1]]:
                    kept[-1] = i
                continue
        kept.append(i)
    res["minima"] = [{"value": float(grid[i]), "Q": float(qs[i])} for i in kept]
    if len(kept) > 1:
        res["several_minima"] = True
        res["warnings"].append("several local minima of Q at " + ", ".join(f"{grid[i]:.4g} (Q={qs[i]:.3g})" for i in kept))
    return res
