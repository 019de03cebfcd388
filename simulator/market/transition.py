"""Run a scenario's market through time and collect the path in an :class:`xarray.Dataset`.

Parameters follow the paths of the ``dynamics:`` section; the market starts
at the engine's equilibrium of period 0 (``init: equilibrium``) or with
workers spread evenly over all tasks (``init: uniform``).  At every recorded
period the engine's equilibrium for that period's parameters is stored next
to the market's state (variables ``eq_*``), so the path can be read against
the comparative statics it would follow if the market adjusted at once.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np

from ..precision import float64
from ..scenario import Scenario, scenario_error, with_values
from .config import Dynamics, load_dynamics
from .simulation import Market, MarketOptions

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MAX_SEGMENTS = 16
#: periods per batch of engine solves along a path
EQ_CHUNK = 64
#: at most this many workers enter each period's wage quantiles (an evenly spaced subsample beyond it)
QUANTILE_SAMPLE = 200_000


class _ProfilePath:
    """Cell log productivities ℓ_k(i_k) for every period, computed in vmapped chunks."""

    CHUNK = 64

    def __init__(self, scenario: Scenario, dynamics: Dynamics, n: int):
        from ..factors import log_productivities

        self.scenario, self.paths, self.T = scenario, dynamics.paths, dynamics.periods
        centres = (np.arange(n) + 0.5) / n
        if not self.paths:
            self.constant = np.ascontiguousarray(np.asarray(log_productivities(scenario.economy, scenario.technologies, centres)).T)
            return
        import jax
        import jax.numpy as jnp

        self.constant = None
        self._jnp, self._jax = jnp, jax
        grid = jnp.asarray(centres)
        self._grid = grid
        self._fn = _batched_profiles()
        self._start, self._block = None, None

    def __call__(self, t: int) -> np.ndarray:
        if self.constant is not None:
            return self.constant
        if self._start is None or not (self._start <= t < self._start + self.CHUNK):
            jnp, jax = self._jnp, self._jax
            self._start = t
            idx = np.minimum(np.arange(t, t + self.CHUNK), self.T - 1)
            economy, techs = with_values(self.scenario, {k: v[idx] for k, v in self.paths.items()})
            batch = jax.tree_util.tree_map(lambda v: jnp.broadcast_to(jnp.asarray(v, dtype=jnp.float64), (self.CHUNK,)), (economy, techs))
            self._block = np.ascontiguousarray(np.asarray(self._fn(*batch, self._grid)).transpose(0, 2, 1))
        return self._block[t - self._start]


@functools.lru_cache(maxsize=1)
def _batched_profiles():
    """ℓ_k at the cell centres for a batch of parameter sets (one jitted function; JAX caches per structure)."""
    import jax

    from ..factors import log_productivities

    return jax.jit(jax.vmap(log_productivities, in_axes=(0, 0, None)))


@float64
def equilibria_along(scenario: Scenario, dynamics: Dynamics, periods: np.ndarray):
    """The engine's equilibrium at each of ``periods`` (fields with leading shape ``len(periods)``)."""
    import jax

    from ..solve import solve, solve_batch

    if dynamics.paths:
        # fixed-size chunks (the last one padded), so one compiled solver serves every run length
        parts = []
        for start in range(0, len(periods), EQ_CHUNK):
            chunk = periods[start:start + EQ_CHUNK]
            padded = np.concatenate([chunk, np.full(EQ_CHUNK - chunk.size, chunk[-1])])
            economy, techs = with_values(scenario, dynamics.values_at(padded))
            eq = solve_batch(economy, techs, options=scenario.solver)
            parts.append(jax.tree_util.tree_map(lambda v, k=chunk.size: np.asarray(v)[:k], eq))
        return jax.tree_util.tree_map(lambda *v: np.concatenate(v), *parts)
    eq = solve(scenario.economy, scenario.technologies, options=scenario.solver)
    return jax.tree_util.tree_map(lambda v: np.broadcast_to(np.asarray(v), (len(periods),) + np.shape(v)), eq)


@float64
def simulate(scenario: Scenario, dynamics: Dynamics | None = None, *, progress: Callable[[int, int], None] | None = None):
    """Simulate the market over ``dynamics.periods`` periods; returns the recorded path as a Dataset."""
    import xarray as xr

    from ..factors import factor_names
    from ..provenance import provenance
    from ..status import Status

    dyn = dynamics or load_dynamics(scenario)
    T = dyn.periods
    names = factor_names(scenario.technologies)
    K = len(names)
    J = K - 2
    recorded = np.unique(np.append(np.arange(0, T, dyn.record_every), T - 1))
    eq_periods = np.unique(np.append(recorded, 0))
    eqs = equilibria_along(scenario, dyn, eq_periods)
    status = np.asarray(eqs.status)
    unbounded = np.flatnonzero(status == Status.UNBOUNDED)
    if unbounded.size:
        t = int(eq_periods[unbounded[0]])
        loc = ("dynamics", "paths", next(iter(dyn.paths))) if dyn.paths else ("technologies",)
        raise scenario_error(scenario, f"no finite equilibrium at period {t}: models make output unbounded "
                                       "(see docs/model.md); the market cannot follow this path", loc)
    if dyn.init == "equilibrium" and status[0] == Status.ILL_CONDITIONED:
        raise scenario_error(scenario, f"init 'equilibrium': the engine's equilibrium at period 0 is ill_conditioned "
                                       f"(estimated error {float(np.asarray(eqs.error)[0]):.2e} above solver.accuracy "
                                       f"{scenario.solver.accuracy:.3g}): its values are not vouched for", ("dynamics", "init"))
    if dyn.init == "equilibrium" and status[0] != Status.OK:
        raise scenario_error(scenario, f"init 'equilibrium': the engine found no equilibrium at period 0 "
                                       f"({Status(int(status[0])).name.lower()})", ("dynamics", "init"))
    rows = np.searchsorted(eq_periods, recorded)

    profiles = _ProfilePath(scenario, dyn, dyn.tasks)
    economy0, techs0 = with_values(scenario, dyn.values_at(0)) if dyn.paths else (scenario.economy, scenario.technologies)
    start_eq = _pick(eqs, 0)
    try:
        market = Market(economy0, techs0, MarketOptions.from_spec(dyn.spec), equilibrium=start_eq, log_prod=profiles(0))
    except ValueError as exc:
        raise scenario_error(scenario, str(exc), ("dynamics", "workers")) from None

    R, n = recorded.size, dyn.tasks
    rec = {
        "W_L": np.full(R, np.nan), "W_H": np.full(R, np.nan), "premium": np.full(R, np.nan), "Y": np.full(R, np.nan),
        "m": np.zeros((R, J)), "shares": np.zeros((R, K)), "boundaries": np.full((R, MAX_SEGMENTS + 1), np.nan),
        "segment_factor": np.full((R, MAX_SEGMENTS), -1, dtype=np.int8), "n_segments": np.zeros(R, dtype=np.int32),
        "unemployment": np.zeros((R, 2)), "displaced": np.zeros((R, 2)), "flows": np.zeros((R, 2, K, K)),
        "moves": np.zeros(R, dtype=np.int64), "assignment": np.zeros((R, n, K), dtype=np.float32),
        "task_wage": np.full((R, 2, n), np.nan, dtype=np.float32), "wage_quantiles": np.full((R, 2, len(QUANTILES)), np.nan),
    }
    displaced_sum = np.zeros(2)
    flows_sum = np.zeros((2, K, K))
    stride = max(1, market.N // QUANTILE_SAMPLE)
    skill_sample = market.skill[::stride]
    r = 0
    for t in range(T):
        if t > 0 and dyn.paths:
            market.set_log_productivities(profiles(t))
        market.step()
        displaced_sum += market.displaced
        flows_sum += market.flows
        if r < R and recorded[r] == t:
            s = market.summary()
            for key in ("W_L", "W_H", "premium", "Y", "unemployment", "moves"):
                rec[key][r] = s[key]
            rec["m"][r] = s["m"]
            rec["shares"][r] = s["measure"]
            rec["assignment"][r] = s["cell_shares"]
            rec["task_wage"][r] = s["task_wage"]
            # flows and layoffs since the previous recorded period, in units of each skill's supply
            rec["displaced"][r] = displaced_sum / market.supply
            rec["flows"][r] = flows_sum / market.supply[:, None, None]
            displaced_sum[:] = 0.0
            flows_sum[:] = 0.0
            b, f, count = market.segments(MAX_SEGMENTS)
            rec["boundaries"][r], rec["segment_factor"][r], rec["n_segments"][r] = b, f, count
            wages = market.earnings()[::stride]
            for sk in range(2):
                w = wages[(skill_sample == sk) & np.isfinite(wages)]
                if w.size:
                    rec["wage_quantiles"][r, sk] = np.quantile(w, QUANTILES)
            r += 1
        if progress is not None:
            progress(t + 1, T)

    coords = {
        "period": recorded, "task": (np.arange(n) + 0.5) / n, "factor": names, "skill": ["L", "H"],
        "origin": names, "destination": names, "quantile": list(QUANTILES),
        "segment": np.arange(MAX_SEGMENTS), "boundary": np.arange(MAX_SEGMENTS + 1),
    }
    if J:
        coords["technology"] = [t.name for t in scenario.technologies]
    flag_attrs = {"flag_values": list(range(-1, K)), "flag_meanings": " ".join(["none"] + names)}
    P = ("period",)
    data = {
        "W_L": (P, rec["W_L"], {"long_name": "low-skill wage: L income per unit of L labour employed"}),
        "W_H": (P, rec["W_H"], {"long_name": "high-skill wage: H income per unit of H labour employed"}),
        "premium": (P, rec["premium"], {"long_name": "skill premium W_H / W_L"}),
        "Y": (P, rec["Y"], {"long_name": "output Y"}),
        "shares": (P + ("factor",), rec["shares"], {"long_name": "measure of tasks (output-weighted) by factor"}),
        "boundaries": (P + ("boundary",), rec["boundaries"], {"long_name": "switch points (segment boundaries), NaN padded"}),
        "segment_factor": (P + ("segment",), rec["segment_factor"], {"long_name": "factor on each segment", **flag_attrs}),
        "n_segments": (P, rec["n_segments"], {"long_name": "number of segments (may exceed the stored ones)"}),
        "unemployment": (P + ("skill",), rec["unemployment"], {"long_name": "share of the skill's workers moving between tasks"}),
        "displaced": (P + ("skill",), rec["displaced"], {"long_name": "labour laid off from tasks taken by models since the previous record, share of supply"}),
        "flows": (P + ("skill", "origin", "destination"), rec["flows"],
                  {"long_name": "labour moving between regions (dominant factor of the task left / joined) since the previous record, share of supply"}),
        "moves": (P, rec["moves"], {"long_name": "workers changing task in the period"}),
        "assignment": (P + ("task", "factor"), rec["assignment"], {"long_name": "share of each task's output by factor"}),
        "task_wage": (P + ("skill", "task"), rec["task_wage"], {"long_name": "earnings per efficiency unit p(i) A_f alpha_f(i) where the skill works"}),
        "wage_quantiles": (P + ("skill", "quantile"), rec["wage_quantiles"], {"long_name": "quantiles of workers' earnings per unit of labour"}),
    }
    if J:
        data["m"] = (P + ("technology",), rec["m"], {"long_name": "model units rented"})
    eq = {k: np.asarray(v)[rows] for k, v in dataclasses.asdict(eqs).items()} if dataclasses.is_dataclass(eqs) else None
    if dyn.compare_equilibrium and eq is not None:
        n_seg = eq["factors"].shape[-1]
        coords.update({"eq_segment": np.arange(n_seg), "eq_boundary": np.arange(n_seg + 1)})
        data.update({
            "eq_W_L": (P, eq["W_L"], {"long_name": "engine equilibrium W_L at the period's parameters"}),
            "eq_W_H": (P, eq["W_H"], {"long_name": "engine equilibrium W_H at the period's parameters"}),
            "eq_premium": (P, eq["premium"], {"long_name": "engine equilibrium premium at the period's parameters"}),
            "eq_Y": (P, eq["Y"], {"long_name": "engine equilibrium Y at the period's parameters"}),
            "eq_shares": (P + ("factor",), eq["shares"], {"long_name": "engine equilibrium task measures"}),
            "eq_boundaries": (P + ("eq_boundary",), eq["boundaries"], {"long_name": "engine equilibrium segment boundaries"}),
            "eq_segment_factor": (P + ("eq_segment",), eq["factors"].astype(np.int8), {"long_name": "engine equilibrium factor per segment", **flag_attrs}),
            "eq_error": (P, eq["error"], {"long_name": "estimated relative error of the engine equilibrium's W_L, W_H, premium and Y",
                                          "accuracy": float(scenario.solver.accuracy)}),
            "eq_status": (P, eq["status"].astype(np.int8), {"long_name": "engine solver status",
                                                             "flag_values": [int(s) for s in Status], "flag_meanings": " ".join(s.name.lower() for s in Status)}),
        })
        if J:
            data["eq_m"] = (P + ("technology",), eq["m"], {"long_name": "engine equilibrium model units"})
    if dyn.paths:
        coords["parameter"] = list(dyn.paths)
        data["parameter_value"] = (P + ("parameter",), np.stack([v[recorded] for v in dyn.paths.values()], axis=1),
                                   {"long_name": "value of each moving parameter"})
    ds = xr.Dataset(data, coords=coords)
    ds["period"].attrs["long_name"] = "period (parameters of the period apply during it; state recorded at its end)"
    ds["task"].attrs["long_name"] = "task cell centre i"
    _label(ds, list(dyn.paths) if dyn.paths else [])
    ds.attrs.update(provenance(
        scenario_name=scenario.name, scenario_file=str(scenario.path), scenario_text=scenario.text,
        seed=str(dyn.seed), dynamics=dyn.spec.model_dump(by_alias=True), kind="agent-based market path",
        workers_by_skill=market.counts.tolist(), labour_per_agent=market.q.tolist(),
    ))
    return ds


#: CF attributes of the market's variables and coordinates beyond their long_name: (units, comment)
_GOOD = "dimensionless: in units of the final good (the numeraire)"
_MARKET_UNITS = {
    "W_L": ("1", _GOOD), "W_H": ("1", _GOOD), "premium": ("1", None), "Y": ("1", _GOOD),
    "shares": ("1", "fraction of the task line [0, 1]"), "boundaries": ("1", "position i on the task line [0, 1]"),
    "segment_factor": ("1", None), "n_segments": ("1", "count"), "unemployment": ("1", "fraction of the skill's supply"),
    "displaced": ("1", "fraction of the skill's supply"), "flows": ("1", "fraction of the skill's supply"),
    "moves": ("1", "count of workers"), "assignment": ("1", "fraction of the task's output"),
    "task_wage": ("1", _GOOD), "wage_quantiles": ("1", _GOOD), "m": ("1", "model units; " + _GOOD),
    "eq_status": ("1", None),
    "error": ("1", "largest estimated relative error of W_L, W_H, premium and Y (docs/model.md); status ok vouches for "
                   "error <= accuracy; NaN where there is no equilibrium"),
}
_MARKET_COORDS = {
    "period": "period", "task": "task cell centre i", "factor": "factor (L, H, then each technology's models)",
    "skill": "skill (L low, H high)", "origin": "factor of the task left", "destination": "factor of the task joined",
    "quantile": "quantile", "segment": "segment of the task line, in task order", "boundary": "segment boundary, in task order",
    "eq_segment": "segment of the engine equilibrium's task line", "eq_boundary": "segment boundary of the engine equilibrium",
    "technology": "technology (scenario name)", "parameter": "moving parameter",
}


def _label(ds: xr.Dataset, moving: list[str]) -> None:
    """CF ``units`` (and ``long_name``) on every variable and coordinate of a market path, in place."""
    from ..sweep import parameter_attrs

    for name, var in ds.data_vars.items():
        base = name.removeprefix("eq_") if name.startswith("eq_") and name != "eq_status" else name
        if name == "parameter_value":
            units = {p: parameter_attrs(p)["units"] for p in moving}
            var.attrs["units"] = next(iter(units.values())) if len(set(units.values())) == 1 else "1"
            var.attrs["comment"] = "units by parameter: " + ", ".join(f"{p}: {u}" for p, u in units.items())
            continue
        units, comment = _MARKET_UNITS.get(base, ("1", None))
        var.attrs.setdefault("units", units)
        if comment:
            var.attrs.setdefault("comment", comment)
        var.attrs.setdefault("long_name", name)
    for name in ds.coords:
        attrs = ds[name].attrs
        attrs.setdefault("long_name", _MARKET_COORDS.get(name, name))
        attrs.setdefault("units", "1")


def _pick(eqs, i):
    import jax

    return jax.tree_util.tree_map(lambda v: np.asarray(v)[i], eqs)
