"""The market as arrays: workers, task producers and a model provider, stepped period by period.

Agents (structure of arrays, one entry per worker ``w``):

=========  =======  ===========================================================
array      dtype    meaning
=========  =======  ===========================================================
skill      int8     0 = low skill L, 1 = high skill H
task       int64    cell the worker produces in, -1 while moving (out of work)
target     int64    cell a moving worker will join, -1 otherwise
z          float64  idiosyncratic productivity (1 without noise; mean 1)
origin     int8     region (dominant factor) of the cell the worker last left
=========  =======  ===========================================================

Task producers are the ``n`` cells of [0, 1] (width h = 1/n, centre i_k);
cell k holds the efficiency densities ``E[f, k]`` of the workers there and the
density ``M[j, k]`` of rented units of model j.  Each worker of skill f
carries q_f = L/N_L (or H/N_H) units of labour, so the supplies are the
economy's whatever the number of agents.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..factors import factor_names
from ..precision import float64

BEST_RESPONSE, LOGIT = 0, 1


@dataclasses.dataclass(frozen=True)
class MarketOptions:
    """Agent counts and frictions of one market (the numeric part of a ``dynamics:`` section)."""

    tasks: int = 200
    workers: int = 20_000
    revision_rate: float = 0.1
    choice: str = "best_response"
    temperature: float | None = None
    move_cost: int = 0
    model_entry_speed: float = 1.0
    productivity_sigma: float = 0.0
    init: str = "equilibrium"
    seed: int = 0

    @classmethod
    def from_spec(cls, spec) -> "MarketOptions":
        return cls(**{f.name: getattr(spec, f.name) for f in dataclasses.fields(cls)})


@float64
def cell_log_productivities(economy, technologies, n: int) -> np.ndarray:
    """ℓ_k(i) = ln(A_k α_k(i)) at the n cell centres, shape (K, n)."""
    from ..factors import log_productivities

    centres = (np.arange(n) + 0.5) / n
    return np.ascontiguousarray(np.asarray(log_productivities(economy, technologies, centres)).T, dtype=np.float64)


class Market:
    """An agent-based market: ``step()`` advances one period.

    ``equilibrium`` (an :class:`~simulator.equilibrium.Equilibrium` of the
    same economy) is needed for ``init='equilibrium'``: workers then start
    spread evenly over their factor's cells and models at zero profit.
    """

    FLOOR = 1e-200
    TOL = 1e-12

    def __init__(self, economy, technologies, options: MarketOptions, equilibrium=None, log_prod: np.ndarray | None = None):
        from . import kernels

        self.kernels = kernels
        self.options = o = options
        self.rng = np.random.default_rng(o.seed)
        self.n = n = int(o.tasks)
        self.h = 1.0 / n
        self.technologies = tuple(technologies)
        self.J = J = len(self.technologies)
        self.names = factor_names(self.technologies)
        self.F = np.array([float(t.F) for t in self.technologies], dtype=np.float64)
        L, H = float(economy.L), float(economy.H)
        N = int(o.workers)
        n_low = min(max(round(N * L / (L + H)), 1), N - 1)
        self.N = N
        self.counts = np.array([n_low, N - n_low], dtype=np.int64)
        self.supply = np.array([L, H])
        self.q = self.supply / self.counts
        self.lp = cell_log_productivities(economy, technologies, n) if log_prod is None else np.ascontiguousarray(log_prod, dtype=np.float64)
        self.choice = LOGIT if o.choice == "logit" else BEST_RESPONSE
        self.temperature = float(o.temperature or 1.0)

        rng = self.rng
        self.skill = np.zeros(N, dtype=np.int8)
        self.skill[rng.permutation(N)[: self.counts[1]]] = 1
        sigma = float(o.productivity_sigma)
        self.z = rng.lognormal(-0.5 * sigma * sigma, sigma, N) if sigma > 0 else np.ones(N)
        self.task = np.empty(N, dtype=np.int64)
        self.target = np.full(N, -1, dtype=np.int64)
        self.origin = np.zeros(N, dtype=np.int8)
        self.M = np.zeros((J, n))
        if o.init == "uniform":
            self.task[rng.permutation(N)] = np.arange(N) % n
        elif o.init == "equilibrium":
            if equilibrium is None:
                raise ValueError("init='equilibrium' needs the equilibrium to start from")
            self._place_at(equilibrium)
        else:
            raise ValueError(f"unknown init {o.init!r}")

        self.qbuf = np.zeros(N, dtype=np.int64)
        self.qarr = np.zeros(N, dtype=np.int64)
        self.qptr = np.zeros(2, dtype=np.int64)
        self.E = np.zeros((2, n))
        self.Ein = np.zeros((2, n))
        self.y = np.zeros(n)
        self.yhat = np.zeros(n)
        self.region = np.full(n, -1, dtype=np.int64)
        self.P = 1 << max(int(np.ceil(np.log2(n))), 0)
        self.tv = np.full((2, 2 * self.P), -np.inf)
        self.ti = np.zeros((2, 2 * self.P), dtype=np.int64)
        self.flag = np.zeros((2, n), dtype=np.bool_)
        self.cdf = np.zeros((2, n))
        self.displaced = np.zeros(2)
        self.flows = np.zeros((2, 2 + J, 2 + J))
        self.t = 0
        self.moves = 0
        kernels.recount(self.skill, self.task, self.target, self.z, self.q, self.h, self.E, self.Ein)
        kernels.outputs(self.lp, self.E, self.Ein, self.M, self.y, self.yhat)
        kernels.regions(self.lp, self.E, self.M, self.region)
        self.log_Y = kernels.log_output(self.y, self.h, self.FLOOR)

    # ------------------------------------------------------------------ set-up
    def _place_at(self, eq):
        """Workers evenly over their factor's cells (equal labour per task, eqs. 7-8); models at Y/F_j."""
        from ..equilibrium import UNUSED

        b = np.asarray(eq.boundaries, dtype=np.float64)
        f = np.asarray(eq.factors)
        centres = (np.arange(self.n) + 0.5) * self.h
        seg = np.clip(np.searchsorted(b, centres, side="right") - 1, 0, f.size - 1)
        owner = f[seg]
        if np.any(owner == UNUSED):
            raise ValueError("equilibrium does not cover every task")
        Y = float(eq.Y)
        for s in range(2):
            cells = np.flatnonzero(owner == s)
            who = np.flatnonzero(self.skill == s)
            if cells.size == 0:
                cells = np.array([int(np.argmax(self.lp[s] - self.lp[1 - s]))])
            if who.size < cells.size:
                raise ValueError(f"{who.size} workers of skill {'LH'[s]} cannot fill its {cells.size} cells; use more workers")
            self.task[who[self.rng.permutation(who.size)]] = cells[np.arange(who.size) % cells.size]
        for j in range(self.J):
            self.M[j, owner == 2 + j] = Y / self.F[j]

    def set_log_productivities(self, lp: np.ndarray) -> None:
        """Profiles for the next periods (a parameter path moved), shape (K, n)."""
        self.lp = np.ascontiguousarray(lp, dtype=np.float64)

    # ------------------------------------------------------------------ dynamics
    def draws(self):
        """This period's random numbers: revision opportunities and (logit) the uniforms for the choices."""
        rng = self.rng
        rate = float(self.options.revision_rate)
        if rate >= 1.0:
            revisers = np.arange(self.N, dtype=np.int64)
        else:
            # each worker revises independently with probability `rate`: geometric gaps between revisers,
            # so the revisers come out in increasing order (memory-friendly) without replacement
            expected = self.N * rate
            draws = []
            position = -1
            while True:
                gaps = rng.geometric(rate, int(expected + 6.0 * np.sqrt(expected) + 16))
                index = position + np.cumsum(gaps)
                draws.append(index[index < self.N])
                if index[-1] >= self.N:
                    break
                position = int(index[-1])
            revisers = np.concatenate(draws).astype(np.int64)
        uniforms = rng.random(revisers.size) if self.choice == LOGIT else np.empty(0)
        return revisers, uniforms

    def step(self) -> None:
        revisers, uniforms = self.draws()
        self.displaced[:] = 0.0
        self.flows[:] = 0.0
        self.log_Y, self.moves = self.kernels.step(
            self.t, self.lp, self.skill, self.task, self.target, self.z, self.origin, self.qbuf, self.qarr, self.qptr,
            self.E, self.Ein, self.M, self.y, self.yhat, self.region, self.tv, self.ti, self.P, self.q, self.h, self.F,
            float(self.options.model_entry_speed), int(self.options.move_cost), self.choice, self.temperature,
            revisers, uniforms, self.FLOOR, self.TOL, self.flag, self.cdf, self.displaced, self.flows,
        )
        self.t += 1

    def run(self, periods: int) -> None:
        for _ in range(periods):
            self.step()

    def run_until_stationary(self, max_periods: int, patience: int = 5, rtol: float = 1e-10) -> int:
        """Step until no worker moved and models changed by less than ``rtol`` for ``patience`` periods in a row."""
        quiet = 0
        for _ in range(max_periods):
            before = self.M.copy()
            self.step()
            still = self.moves == 0 and (self.J == 0 or np.max(np.abs(self.M - before)) <= rtol * max(np.max(np.abs(self.M)), 1e-300))
            quiet = quiet + 1 if still else 0
            if quiet >= patience:
                break
        return self.t

    # ------------------------------------------------------------------ measurement
    def cell_shares(self) -> np.ndarray:
        """Share of each cell's output by factor, shape (n, K)."""
        a = np.exp(self.lp)
        contrib = np.concatenate([a[:2] * self.E, a[2:] * self.M], axis=0).T
        total = contrib.sum(axis=1, keepdims=True)
        return np.divide(contrib, total, out=np.zeros_like(contrib), where=total > 0)

    def out_of_work(self) -> np.ndarray:
        """Number of workers of each skill who are moving between tasks."""
        return np.bincount(self.skill[self.task < 0], minlength=2)[:2]

    def summary(self) -> dict:
        """Aggregates of the current period (wages are income per unit of labour employed)."""
        Y = float(np.exp(self.log_Y))
        shares = self.cell_shares()
        measure = shares.sum(axis=0) * self.h
        price = np.divide(Y, self.y, out=np.full(self.n, np.nan), where=self.y > 0)
        a = np.exp(self.lp[:2])
        income = self.h * np.nansum(price * a * self.E, axis=1)
        idle = self.out_of_work()
        employed = self.q * (self.counts - idle)
        W = np.divide(income, employed, out=np.full(2, np.nan), where=employed > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            task_wage = np.where(self.E > 0, price * a, np.nan)
        return {
            "W_L": W[0], "W_H": W[1], "premium": W[1] / W[0], "Y": Y,
            "m": self.M.sum(axis=1) * self.h, "measure": measure, "cell_shares": shares,
            "unemployment": idle / self.counts, "displaced": self.displaced / self.supply,
            "flows": self.flows / self.supply[:, None, None], "moves": self.moves, "task_wage": task_wage,
        }

    def earnings(self) -> np.ndarray:
        """Every worker's earnings per unit of labour (NaN while moving)."""
        out = np.empty(self.N)
        self.kernels.earnings(self.lp, self.skill, self.task, self.z, self.y, self.log_Y, out)
        return out

    def segments(self, max_segments: int = 16):
        """(boundaries, factors, count) of the current assignment; see :func:`kernels.switch_points`."""
        shares = self.cell_shares()
        dominant = np.where(shares.max(axis=1) > 0, shares.argmax(axis=1), -1).astype(np.int64)
        b = np.empty(max_segments + 1)
        f = np.empty(max_segments, dtype=np.int64)
        count = self.kernels.switch_points(dominant, shares, self.h, b, f)
        return b, f, count

    def segment_list(self) -> list[dict]:
        b, f, count = self.segments(64)
        return [{"factor": self.names[f[k]], "start": float(b[k]), "end": float(b[k + 1])} for k in range(min(count, 64)) if f[k] >= 0]

    def check_accounting(self) -> None:
        """Raise AssertionError unless every worker is in one cell or moving, and supplies are conserved."""
        employed = self.task >= 0
        moving = self.target >= 0
        assert np.all(employed ^ moving), "a worker is both in a cell and moving, or neither"
        assert np.all(self.task < self.n) and np.all(self.target < self.n)
        assert np.array_equal(np.bincount(self.skill, minlength=2)[:2], self.counts)
        assert int(self.qptr[1]) == int(moving.sum()), "queue of moving workers out of step"
        E, Ein = np.zeros_like(self.E), np.zeros_like(self.Ein)
        self.kernels.recount(self.skill, self.task, self.target, self.z, self.q, self.h, E, Ein)
        efficiency = np.array([self.q[s] * self.z[self.skill == s].sum() for s in range(2)])
        assert np.allclose((E.sum(axis=1) + Ein.sum(axis=1)) * self.h, efficiency, rtol=1e-12)
        if self.options.productivity_sigma == 0:
            assert np.allclose((E.sum(axis=1) + Ein.sum(axis=1)) * self.h, self.supply, rtol=1e-12)
