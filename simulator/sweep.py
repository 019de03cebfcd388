"""Run a scenario's sweep and collect the results in an :class:`xarray.Dataset`."""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import xarray as xr

from .equilibrium import RESIDUALS, UNUSED
from .factors import factor_names
from .provenance import provenance
from .scenario import Scenario, sweep_points, with_values
from .solve import resolve_method, solve_batch
from .status import Status


def run_sweep(scenario: Scenario, progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Solve every point of the scenario's sweep, in chunks of ``scenario.chunk_size``.

    Returns a Dataset with one dimension per swept parameter (one for a zipped
    sweep) and the variables described in ``docs/scenarios.md``.
    ``progress(done, total)`` is called after each chunk.
    """
    points = sweep_points(scenario)
    total = len(next(iter(points.values()))) if points else 1
    names = factor_names(scenario.technologies)
    chunks = []
    for start in range(0, total, scenario.chunk_size):
        stop = min(start + scenario.chunk_size, total)
        values = {k: v[start:stop] for k, v in points.items()}
        economy, techs = with_values(scenario, values) if values else (scenario.economy, scenario.technologies)
        eq = solve_batch(economy, techs, options=scenario.solver)
        if not values:
            eq = _add_axis(eq)
        chunks.append({f.name: np.asarray(getattr(eq, f.name)) for f in dataclasses.fields(eq)})
        if progress is not None:
            progress(stop, total)
    flat = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    shape = scenario.shape
    dims = scenario.dims

    def grid(a):
        return a.reshape(shape + a.shape[1:])

    coords: dict[str, object] = {}
    if scenario.sweep_mode == "grid":
        coords.update({k: (k, v) for k, v in scenario.axes.items()})
    else:
        first = dims[0]
        coords.update({k: (first, v) for k, v in scenario.axes.items()})
    n_seg = flat["factors"].shape[-1]
    coords.update({"factor": names, "condition": list(RESIDUALS), "segment": np.arange(n_seg), "boundary": np.arange(n_seg + 1)})
    if scenario.technologies:
        coords["technology"] = [t.name for t in scenario.technologies]
    data_vars = {
        "W_L": (dims, grid(flat["W_L"]), {"long_name": "low-skill wage W_L"}),
        "W_H": (dims, grid(flat["W_H"]), {"long_name": "high-skill wage W_H"}),
        "premium": (dims, grid(flat["premium"]), {"long_name": "skill premium W_H / W_L"}),
        "Y": (dims, grid(flat["Y"]), {"long_name": "output Y (eq. 1)"}),
        "shares": (dims + ("factor",), grid(flat["shares"]), {"long_name": "measure of tasks (= income share) by factor"}),
        "boundaries": (dims + ("boundary",), grid(flat["boundaries"]), {"long_name": "segment boundaries (switch points) in task order"}),
        "segment_factor": (
            dims + ("segment",),
            grid(flat["factors"]).astype(np.int8),
            {"long_name": "factor on each segment", "flag_values": list(range(-1, len(names))), "flag_meanings": " ".join(["unused"] + names)},
        ),
        "residuals": (dims + ("condition",), grid(flat["residuals"]), {"long_name": "equilibrium residuals", "tolerance": 1e-10}),
        "status": (
            dims,
            grid(flat["status"]).astype(np.int8),
            {"long_name": "solver status", "flag_values": [int(s) for s in Status], "flag_meanings": " ".join(s.name.lower() for s in Status)},
        ),
    }
    if scenario.technologies:
        data_vars["m"] = (dims + ("technology",), grid(flat["m"]), {"long_name": "quantity of each model rented"})
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(
        provenance(
            scenario_name=scenario.name,
            scenario_file=str(scenario.path),
            scenario_text=scenario.text,
            solver_method=resolve_method(scenario.technologies, scenario.solver.method),
            solver_options=dataclasses.asdict(scenario.solver),
            parameters={"economy": _fields(scenario.economy), "technologies": [_fields(t) for t in scenario.technologies]},
        )
    )
    return ds


def _fields(obj) -> dict:
    out = {"type": type(obj).__name__}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if callable(v):
            v = getattr(v, "__name__", repr(v))
        out[f.name] = v if isinstance(v, (str, int, float, type(None), tuple)) else float(np.asarray(v))
    return out


def _add_axis(eq):
    import jax

    return jax.tree_util.tree_map(lambda v: np.asarray(v)[None], eq)


def summary_table(ds: xr.Dataset) -> list[tuple[str, str]]:
    """Short text summary: counts by status and ranges of the main outcomes."""
    status = ds["status"].values.ravel()
    rows = [("points", f"{status.size:,}")]
    for s in Status:
        n = int(np.sum(status == s))
        if n:
            rows.append((f"status {s.name.lower()}", f"{n:,}"))
    ok = status == Status.OK
    if ok.any():
        for var in ("premium", "W_L", "W_H", "Y"):
            v = ds[var].values.ravel()[ok]
            rows.append((var, f"{v.min():.6g} .. {v.max():.6g}"))
        res = np.abs(ds["residuals"].values.reshape(-1, len(RESIDUALS))[ok]).max()
        rows.append(("max |residual|", f"{res:.2e}"))
        if "m" in ds:
            adopted = (ds["shares"].values.reshape(-1, ds.sizes["factor"])[ok][:, 2:].sum(axis=1) > 0).mean()
            rows.append(("points with a model adopted", f"{adopted:.1%}"))
    return rows


def segments_at(ds: xr.Dataset, index: dict) -> list[dict]:
    """Segments ``[{factor, start, end}]`` at one point of a result dataset."""
    point = ds.isel(index) if index else ds
    names = list(ds["factor"].values)
    b, f = point["boundaries"].values, point["segment_factor"].values
    out = []
    for k in range(f.size):
        if f[k] == UNUSED or b[k + 1] <= b[k]:
            continue
        if out and out[-1]["factor"] == names[f[k]]:
            out[-1]["end"] = float(b[k + 1])
        else:
            out.append({"factor": str(names[f[k]]), "start": float(b[k]), "end": float(b[k + 1])})
    return out


def write_netcdf(ds: xr.Dataset, path) -> None:
    """Write atomically: to a temporary file first, then rename."""
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)


__all__ = ["run_sweep", "summary_table", "segments_at", "write_netcdf"]
