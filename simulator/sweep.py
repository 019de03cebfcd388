"""Run a scenario's sweep and collect the results in an :class:`xarray.Dataset`.

A sweep is cut into *blocks*: rectangular pieces of the parameter grid of at
most ``solver.chunk_size`` points, all of one shape (the last ones padded), so
the vmapped solver compiles once.  Every way of running a sweep, in memory
here or into a Zarr store on a cluster (:mod:`simulator.execution`), solves
the same blocks with :func:`solve_block` and so gives bit-identical numbers.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
import xarray as xr

from .equilibrium import RESIDUALS, UNUSED
from .factors import factor_names
from .provenance import provenance
from .scenario import Scenario, with_values
from .solve import resolve_method, solve_batch
from .status import Status


@dataclasses.dataclass(frozen=True)
class Variable:
    """One output variable: its ``Equilibrium`` field, extra dimension, dtype and fill value."""

    source: str
    extra: str | None
    dtype: str
    fill: float | int
    attrs: dict


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where every number of a sweep goes.

    ``dims``/``shape``: the sweep's dimensions; ``block``: the shape of one
    block (C order over ``dims``); ``sizes``: length of each extra dimension
    (factor, technology, segment, boundary, condition).
    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    block: tuple[int, ...]
    sizes: dict[str, int]
    coords: dict
    variables: dict[str, Variable]

    @property
    def block_size(self) -> int:
        return math.prod(self.block)

    @property
    def grid(self) -> tuple[int, ...]:
        """Number of blocks along each dimension."""
        return tuple(-(-n // b) for n, b in zip(self.shape, self.block))

    @property
    def n_blocks(self) -> int:
        return math.prod(self.grid)

    @property
    def points(self) -> int:
        return math.prod(self.shape)

    def region(self, block_id: int) -> tuple[slice, ...]:
        """The slices of block ``block_id`` (C order over the block grid)."""
        index = np.unravel_index(block_id, self.grid) if self.grid else ()
        return tuple(slice(i * b, min((i + 1) * b, n)) for i, b, n in zip(index, self.block, self.shape))

    def block_points(self, block_id: int) -> int:
        """Number of grid points in block ``block_id`` (the last blocks along a dimension may be short)."""
        return math.prod(r.stop - r.start for r in self.region(block_id))

    def var_dims(self, name: str) -> tuple[str, ...]:
        extra = self.variables[name].extra
        return self.dims + ((extra,) if extra else ())

    def var_shape(self, name: str) -> tuple[int, ...]:
        extra = self.variables[name].extra
        return self.shape + ((self.sizes[extra],) if extra else ())


def block_shape(shape: tuple[int, ...], chunk_size: int) -> tuple[int, ...]:
    """The largest C-contiguous block of at most ``chunk_size`` points: trailing dimensions whole, then a slab."""
    block, inner = [], 1
    for n in reversed(shape):
        b = max(1, min(n, chunk_size // inner))
        block.append(b)
        inner *= b
    return tuple(reversed(block))


def layout(scenario: Scenario) -> Layout:
    """The :class:`Layout` of a scenario's sweep (no solving; the output shapes come from tracing)."""
    names = factor_names(scenario.technologies)
    n_seg = _segment_count(scenario)
    sizes = {"factor": len(names), "segment": n_seg, "boundary": n_seg + 1, "condition": len(RESIDUALS)}
    coords: dict[str, object] = {}
    if scenario.sweep_mode == "grid":
        coords.update({k: (k, np.asarray(v)) for k, v in scenario.axes.items()})
    else:
        first = scenario.dims[0]
        coords.update({k: (first, np.asarray(v)) for k, v in scenario.axes.items()})
    if scenario.sweep_mode == "path":
        coords.update(_path_coords(scenario))
    coords.update({"factor": names, "condition": list(RESIDUALS), "segment": np.arange(n_seg), "boundary": np.arange(n_seg + 1)})
    nan = float("nan")
    variables = {
        "W_L": Variable("W_L", None, "float64", nan, {"long_name": "low-skill wage W_L"}),
        "W_H": Variable("W_H", None, "float64", nan, {"long_name": "high-skill wage W_H"}),
        "premium": Variable("premium", None, "float64", nan, {"long_name": "skill premium W_H / W_L"}),
        "Y": Variable("Y", None, "float64", nan, {"long_name": "output Y (eq. 1)"}),
        "shares": Variable("shares", "factor", "float64", nan, {"long_name": "measure of tasks (= income share) by factor"}),
        "boundaries": Variable("boundaries", "boundary", "float64", nan, {"long_name": "segment boundaries (switch points) in task order"}),
        "segment_factor": Variable("factors", "segment", "int8", -1, {
            "long_name": "factor on each segment", "flag_values": list(range(-1, len(names))),
            "flag_meanings": " ".join(["unused"] + names)}),
        "residuals": Variable("residuals", "condition", "float64", nan, {"long_name": "equilibrium residuals", "tolerance": 1e-10}),
        "status": Variable("status", None, "int8", int(Status.PENDING), {
            "long_name": "solver status", "flag_values": [int(s) for s in Status],
            "flag_meanings": " ".join(s.name.lower() for s in Status)}),
    }
    if scenario.technologies:
        sizes["technology"] = len(scenario.technologies)
        coords["technology"] = [t.name for t in scenario.technologies]
        variables["m"] = Variable("m", "technology", "float64", nan, {"long_name": "quantity of each model rented"})
    return Layout(dims=scenario.dims, shape=scenario.shape, block=block_shape(scenario.shape, scenario.chunk_size),
                  sizes=sizes, coords=coords, variables=variables)


#: how the ``date`` coordinate of a path sweep is stored (NetCDF and Zarr)
DATE_ENCODING = {"units": "days since 1970-01-01", "calendar": "proleptic_gregorian"}


def _path_coords(scenario: Scenario) -> dict:
    """Coordinates of a path sweep along ``date``: the dates, the models that moved the frontier, G and N_bar.

    The attribute ``frontier_axis`` ("G" or "N_bar") marks the path's coordinates for the plots.
    """
    path, record = scenario.frontier, scenario.frontier_record
    tech = record["technology"]
    monthly = record.get("frequency") == "MS"
    when = "first of the month" if monthly else "release date" if record.get("source") == "epoch" else "date"
    return {
        "date": ("date", np.asarray(path.dates, dtype="datetime64[D]").astype("datetime64[s]"),
                 {"long_name": f"date ({when})", "standard_name": "time"}),
        "frontier_model": ("date", np.asarray(path.models, dtype=str),
                           {"long_name": "model(s) that moved the frontier since the previous date ('' if none)"}),
        f"{tech}.G": ("date", np.asarray(path.G, dtype=np.float64),
                      {"long_name": "parameter count G", "units": "parameters", "frontier_axis": "G"}),
        f"{tech}.N_bar": ("date", np.asarray(path.N_bar, dtype=np.float64),
                          {"long_name": "training tokens N̄", "units": "tokens", "frontier_axis": "N_bar"}),
    }


def _segment_count(scenario: Scenario) -> int:
    import jax

    from .solve import _as_f64, _compiled, _structure

    economy, techs = scenario.economy, scenario.technologies
    fn = _compiled(_structure(economy, techs), scenario.solver, False)
    return int(jax.eval_shape(fn, _as_f64(economy), _as_f64(techs)).factors.shape[-1])


def block_values(scenario: Scenario, lay: Layout, block_id: int) -> tuple[dict[str, np.ndarray], int]:
    """Flat parameter values of one block, padded to ``lay.block_size``, and the unpadded count."""
    region = lay.region(block_id)
    if scenario.sweep_mode == "grid":
        axes = [np.asarray(v)[r] for v, r in zip(scenario.axes.values(), region)]
        mesh = np.meshgrid(*axes, indexing="ij")
        values = {k: m.reshape(-1) for k, m in zip(scenario.axes, mesh)}
    else:
        values = {k: np.asarray(v)[region[0]] for k, v in scenario.axes.items()}
    count = lay.block_points(block_id)
    pad = lay.block_size - count
    return {k: np.pad(v, (0, pad), mode="edge") for k, v in values.items()}, count


def solve_block(scenario: Scenario, lay: Layout, block_id: int) -> dict[str, np.ndarray]:
    """Solve one block; returns each variable shaped ``region shape + extra``."""
    values, count = block_values(scenario, lay, block_id)
    economy, techs = with_values(scenario, values) if values else (scenario.economy, scenario.technologies)
    eq = solve_batch(economy, techs, options=scenario.solver)
    region_shape = tuple(r.stop - r.start for r in lay.region(block_id))
    out = {}
    for name, var in lay.variables.items():
        array = np.asarray(getattr(eq, var.source))
        extra = array.shape[-1:] if var.extra else ()
        array = array.reshape((-1,) + extra)[:count]  # drop the padding
        out[name] = array.reshape(region_shape + extra).astype(var.dtype)
    return out


def _attributes(scenario: Scenario) -> dict:
    extra = {}
    if scenario.sweep_mode == "path":
        extra["sweep_path"] = scenario.frontier_record
        extra["sweep_path_source"] = scenario.frontier.source
    return provenance(
        scenario_name=scenario.name,
        scenario_file=str(scenario.path),
        scenario_text=scenario.text,
        solver_method=resolve_method(scenario.technologies, scenario.solver.method),
        solver_options=dataclasses.asdict(scenario.solver),
        parameters={"economy": parameter_record(scenario.economy), "technologies": [parameter_record(t) for t in scenario.technologies]},
        **extra,
    )


def dataset(scenario: Scenario, lay: Layout, data: dict) -> xr.Dataset:
    """Wrap arrays (NumPy or Dask, shaped as ``lay``) in the sweep's Dataset, with provenance."""
    data_vars = {name: (lay.var_dims(name), data[name], dict(var.attrs)) for name, var in lay.variables.items()}
    ds = xr.Dataset(data_vars, coords=lay.coords)
    if scenario.sweep_mode == "path":
        ds["date"].encoding.update(DATE_ENCODING)
    ds.attrs.update(_attributes(scenario))
    return ds


def run_sweep(scenario: Scenario, progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Solve every point of the scenario's sweep in memory, block by block.

    Returns a Dataset with one dimension per swept parameter (one for a zipped
    sweep, ``date`` for a path sweep) and the variables described in
    ``docs/scenarios.md``.
    ``progress(done, total)`` is called after each block, in points.
    """
    lay = layout(scenario)
    data = {name: np.full(lay.var_shape(name), var.fill, dtype=var.dtype) for name, var in lay.variables.items()}
    done = 0
    for block_id in range(lay.n_blocks):
        region = lay.region(block_id)
        for name, values in solve_block(scenario, lay, block_id).items():
            data[name][region] = values
        done += lay.block_points(block_id)
        if progress is not None:
            progress(done, lay.points)
    return dataset(scenario, lay, data)


def parameter_record(obj) -> dict:
    """A parameter object's fields as plain JSON-able values (callables by name)."""
    out = {"type": type(obj).__name__}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if callable(v):
            v = getattr(v, "__name__", repr(v))
        out[f.name] = v if isinstance(v, (str, int, float, type(None), tuple)) else float(np.asarray(v))
    return out


def summary_table(ds: xr.Dataset) -> list[tuple[str, str]]:
    """Short text summary: counts by status and ranges of the main outcomes.

    Works on NumPy- and Dask-backed datasets alike.  On a store it reads the
    data in two passes: the status counts, then every range at once (the
    reductions share their reads of each chunk).
    """
    import dask

    status = ds["status"]
    (counts,) = dask.compute({s: (status == s).sum() for s in Status})
    rows = [("points", f"{status.size:,}")]
    rows += [(f"status {s.name.lower()}", f"{int(n):,}") for s, n in counts.items() if n]
    n_ok = int(counts[Status.OK])
    if not n_ok:  # ranges over no point would be all-NaN reductions
        return rows
    ok = status == Status.OK
    lazy = {var: (ds[var].where(ok).min(), ds[var].where(ok).max()) for var in ("premium", "W_L", "W_H", "Y")}
    lazy["residual"] = abs(ds["residuals"]).where(ok).max()
    if "m" in ds:
        lazy["adopted"] = (ds["shares"].isel(factor=slice(2, None)).sum("factor") > 0).where(ok).sum()
    (got,) = dask.compute(lazy)
    for var in ("premium", "W_L", "W_H", "Y"):
        low, high = got[var]
        rows.append((var, f"{float(low):.6g} .. {float(high):.6g}"))
    rows.append(("max |residual|", f"{float(got['residual']):.2e}"))
    if "adopted" in got:
        rows.append(("points with a model adopted", f"{float(got['adopted']) / n_ok:.1%}"))
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


__all__ = ["Layout", "layout", "block_shape", "block_values", "solve_block", "dataset", "parameter_record", "run_sweep", "summary_table", "segments_at", "write_netcdf"]
