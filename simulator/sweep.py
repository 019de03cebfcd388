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
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import params as registry
from .equilibrium import RESIDUALS, UNUSED
from .factors import factor_names
from .precision import float64
from .provenance import provenance
from .scenario import Scenario, with_values
from .solve import resolve_method, solve_batch
from .status import Status

if TYPE_CHECKING:  # imported where a dataset is built: a sweep solves its first block without it
    import xarray as xr


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


#: Every model parameter: (long_name, units), from the parameter registry (:mod:`simulator.params`).  The model
#: is dimensionless: wages, prices and output are in units of the final good (the numeraire), productivities and
#: supplies in model units; only the scaling law's G and N̄ count something.
PARAMETERS = {p.name: (p.long_name, p.unit) for p in registry.all_parameters()}
#: short symbols of the parameters, for plot titles
SYMBOLS = {p.name: p.symbol for p in registry.all_parameters()}
DIMENSIONLESS = "dimensionless: the model's quantities are in units of the final good (the numeraire) or in model units"


def parameter_attrs(name: str) -> dict:
    """CF attributes (``long_name``, ``units``, ``comment``) of a swept parameter ``name`` (``FIELD`` or ``TECH.FIELD``)."""
    tech, _, field = name.rpartition(".")
    long_name, units = PARAMETERS.get(field, (name, "1"))
    if tech:
        long_name += f" of technology {tech!r}"
    attrs = {"long_name": long_name, "units": units}
    if units == "1":
        attrs["comment"] = f"model parameter, {DIMENSIONLESS}"
    return attrs


def parameter_symbol(name: str) -> str:
    """``eta`` -> ``η``, ``llm.N_bar`` -> ``N̄ (llm)``."""
    tech, _, field = name.rpartition(".")
    return SYMBOLS.get(field, field) + (f" ({tech})" if tech else "")


def _index_attrs(long_name: str) -> dict:
    return {"long_name": long_name, "units": "1"}


def _variables(scenario: Scenario, names: list[str], n_seg: int) -> dict[str, Variable]:
    nan = float("nan")
    one = {"units": "1"}
    good = {"units": "1", "comment": f"{DIMENSIONLESS}; the final good's price is 1"}
    variables = {
        "W_L": Variable("W_L", None, "float64", nan, {"long_name": "low-skill wage W_L", **good}),
        "W_H": Variable("W_H", None, "float64", nan, {"long_name": "high-skill wage W_H", **good}),
        "premium": Variable("premium", None, "float64", nan, {"long_name": "skill premium W_H / W_L", **one}),
        "Y": Variable("Y", None, "float64", nan, {"long_name": "output Y (eq. 1)", **good}),
        "shares": Variable("shares", "factor", "float64", nan, {
            "long_name": "measure of tasks (= income share) by factor", **one, "comment": "fraction of the task line [0, 1]"}),
        "boundaries": Variable("boundaries", "boundary", "float64", nan, {
            "long_name": "segment boundaries (switch points) in task order", **one, "comment": "position i on the task line [0, 1]"}),
        "segment_factor": Variable("factors", "segment", "int8", -1, {
            "long_name": "factor on each segment", **one, "flag_values": list(range(-1, len(names))),
            "flag_meanings": " ".join(["unused"] + names)}),
        "residuals": Variable("residuals", "condition", "float64", nan, {
            "long_name": "equilibrium residuals", **one, "comment": "relative residuals of the equilibrium conditions",
            "tolerance": 1e-10}),
        "error": Variable("error", None, "float64", nan, {
            "long_name": "estimated relative error of W_L, W_H, premium and Y", **one,
            "comment": "the largest of the four estimated relative errors: float64 rounding amplified by the conditioning "
                       "of the equilibrium, and on the discretised route the grid's resolution (docs/model.md); status ok "
                       "vouches for error <= accuracy, ill_conditioned keeps its values with error > accuracy; NaN where "
                       "there is no equilibrium",
            "accuracy": float(scenario.solver.accuracy)}),
        "status": Variable("status", None, "int8", int(Status.PENDING), {
            "long_name": "solver status", **one, "flag_values": [int(s) for s in Status],
            "flag_meanings": " ".join(s.name.lower() for s in Status),
            "comment": "; ".join(f"{s.name.lower()}: {s.description}" for s in Status)}),
    }
    if scenario.technologies:
        variables["m"] = Variable("m", "technology", "float64", nan, {
            "long_name": "quantity of each model rented", "units": "1", "comment": f"model units; {DIMENSIONLESS}"})
    return variables


def _sizes(scenario: Scenario, names: list[str], n_seg: int) -> dict[str, int]:
    sizes = {"factor": len(names), "segment": n_seg, "boundary": n_seg + 1, "condition": len(RESIDUALS)}
    if scenario.technologies:
        sizes["technology"] = len(scenario.technologies)
    return sizes


@float64
def layout(scenario: Scenario) -> Layout:
    """The :class:`Layout` of a scenario's sweep (no solving; the output shapes come from tracing)."""
    names = factor_names(scenario.technologies)
    n_seg = _segment_count(scenario)
    sizes = _sizes(scenario, names, n_seg)
    coords: dict[str, object] = {}
    if scenario.sweep_mode == "grid":
        coords.update({k: (k, np.asarray(v), parameter_attrs(k)) for k, v in scenario.axes.items()})
    else:
        first = scenario.dims[0]
        coords.update({k: (first, np.asarray(v), parameter_attrs(k)) for k, v in scenario.axes.items()})
    if scenario.sweep_mode == "path":
        coords.update(_path_coords(scenario))
    coords.update({
        "factor": ("factor", names, _index_attrs("factor: low-skill labour L, high-skill labour H, then each technology's models")),
        "condition": ("condition", list(RESIDUALS), _index_attrs("equilibrium condition")),
        "segment": ("segment", np.arange(n_seg), _index_attrs("segment of the task line, in task order")),
        "boundary": ("boundary", np.arange(n_seg + 1), _index_attrs("segment boundary, in task order")),
    })
    if scenario.technologies:
        coords["technology"] = ("technology", [t.name for t in scenario.technologies], _index_attrs("technology (scenario name)"))
    return Layout(dims=scenario.dims, shape=scenario.shape, block=block_shape(scenario.shape, scenario.chunk_size),
                  sizes=sizes, coords=coords, variables=_variables(scenario, names, n_seg))


@dataclasses.dataclass(frozen=True)
class MemoryEstimate:
    """Peak memory of a sweep, estimated before anything is allocated (see ``docs/scenarios.md``, "Memory").

    ``output_per_point``: bytes of every output variable at one point (each
    variable's item size times the length of its extra dimension);
    ``input_per_point``: bytes of the swept values at one point (8 per swept
    parameter, as a block's flat inputs).  In memory the whole output is held
    at once, plus the coordinates, one block in flight (inputs, the solver's
    result and its copy, with a per-point allowance for the solver's work
    arrays) and one variable-sized temporary while the NetCDF file is
    written.  Into a Zarr store only the coordinates and ``concurrency``
    blocks in flight are held.
    """

    points: int
    output_per_point: int
    input_per_point: int
    coordinates: int
    block_points: int
    block_working: int
    largest_variable: int
    concurrency: int = 1

    @property
    def outputs(self) -> int:
        return self.points * self.output_per_point

    @property
    def in_memory(self) -> int:
        """Bytes an in-memory run (no ``execution:`` section) holds at its peak."""
        return self.outputs + self.coordinates + self.block_working + self.largest_variable

    @property
    def blocked(self) -> int:
        """Bytes a run into a Zarr store holds at its peak (this process and its workers together)."""
        return self.coordinates + self.concurrency * self.block_working


#: bytes of the solver's work arrays per point of a block in flight (measured: about 1.5 kB on the analytic
#: route with 65,536-point blocks, less on the discretised one; JAX's own ~0.5 GB are not counted)
SOLVER_WORK_PER_POINT = 2048


@float64
def memory_estimate(scenario: Scenario, concurrency: int = 1) -> MemoryEstimate:
    """Estimate the peak memory of running ``scenario`` without building any array of the sweep.

    Output sizes come from the same variable table as :func:`layout` (the
    number of segments from tracing the solver, which allocates nothing of
    the grid); the point count from the axes' lengths.
    """
    names = factor_names(scenario.technologies)
    n_seg = _segment_count(scenario)
    sizes = _sizes(scenario, names, n_seg)
    variables = _variables(scenario, names, n_seg)
    per_var = {name: np.dtype(v.dtype).itemsize * (sizes[v.extra] if v.extra else 1) for name, v in variables.items()}
    output_per_point = sum(per_var.values())
    shape = scenario.shape
    points = math.prod(shape) if shape else 1
    n_inputs = len(scenario.axes)
    input_per_point = 8 * n_inputs
    lengths = [scenario.axis_length(k) for k in scenario.axes]
    coordinates = 8 * sum(lengths)
    if scenario.sweep_mode == "path":
        coordinates += 64 * lengths[0]  # dates and model names
    block = min(points, math.prod(block_shape(shape, scenario.chunk_size))) if shape else 1
    block_working = block * (3 * input_per_point + 2 * output_per_point + SOLVER_WORK_PER_POINT)
    return MemoryEstimate(points=points, output_per_point=output_per_point, input_per_point=input_per_point,
                          coordinates=coordinates, block_points=block, block_working=block_working,
                          largest_variable=points * max(per_var.values()), concurrency=concurrency)


def format_bytes(n: float) -> str:
    """``1.5e9`` -> ``'1.5 GB'`` (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


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
                           {"long_name": "model(s) that moved the frontier since the previous date ('' if none)", "units": "1"}),
        f"{tech}.G": ("date", np.asarray(path.G, dtype=np.float64),
                      {**parameter_attrs(f"{tech}.G"), "frontier_axis": "G"}),
        f"{tech}.N_bar": ("date", np.asarray(path.N_bar, dtype=np.float64),
                          {**parameter_attrs(f"{tech}.N_bar"), "frontier_axis": "N_bar"}),
    }


def _segment_count(scenario: Scenario) -> int:
    from .solve import _point_shapes, _structure

    return int(_point_shapes(_structure(scenario.economy, scenario.technologies), scenario.solver).factors.shape[-1])


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


@float64
def solve_block(scenario: Scenario, lay: Layout, block_id: int) -> dict[str, np.ndarray]:
    """Solve one block; returns each variable shaped ``region shape + extra``.

    Runs in float64 in the calling thread, so it may be handed to a thread pool as is.
    """
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
    import xarray as xr

    ds = xr.Dataset(data_vars, coords=lay.coords)
    if scenario.sweep_mode == "path":
        ds["date"].encoding.update(DATE_ENCODING)
    ds.attrs.update(_attributes(scenario))
    return ds


@float64
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
    """Short text summary: counts by status, ranges of the main outcomes over ``ok`` points and the
    largest error estimate among them (and the error range of ``ill_conditioned`` points).

    Works on NumPy- and Dask-backed datasets alike.  On a store it reads the
    data in two passes: the status counts, then every range at once (the
    reductions share their reads of each chunk).
    """
    import dask

    status = ds["status"]
    (counts,) = dask.compute({s: (status == s).sum() for s in Status})
    rows = [("points", f"{status.size:,}")]
    rows += [(f"status {s.name.lower()}", f"{int(n):,}") for s, n in counts.items() if n]
    n_ok, n_ill = int(counts[Status.OK]), int(counts[Status.ILL_CONDITIONED])
    has_error = "error" in ds
    lazy = {}
    if n_ok:  # ranges over no point would be all-NaN reductions
        ok = status == Status.OK
        lazy.update({var: (ds[var].where(ok).min(), ds[var].where(ok).max()) for var in ("premium", "W_L", "W_H", "Y")})
        lazy["residual"] = abs(ds["residuals"]).where(ok).max()
        if has_error:
            lazy["error"] = ds["error"].where(ok).max()
        if "m" in ds:
            lazy["adopted"] = (ds["shares"].isel(factor=slice(2, None)).sum("factor") > 0).where(ok).sum()
    if n_ill and has_error:
        ill = status == Status.ILL_CONDITIONED
        lazy["ill_error"] = (ds["error"].where(ill).min(), ds["error"].where(ill).max())
    if not lazy:
        return rows
    (got,) = dask.compute(lazy)
    accuracy = ds["error"].attrs.get("accuracy") if has_error else None
    against = f" (accuracy {float(accuracy):.3g})" if accuracy is not None else ""
    if n_ok:
        for var in ("premium", "W_L", "W_H", "Y"):
            low, high = got[var]
            rows.append((var, f"{float(low):.6g} .. {float(high):.6g}"))
        rows.append(("max |residual|", f"{float(got['residual']):.2e}"))
        if "error" in got:
            rows.append(("max error estimate, ok points", f"{float(got['error']):.2e}{against}"))
        if "adopted" in got:
            rows.append(("points with a model adopted", f"{float(got['adopted']) / n_ok:.1%}"))
    if "ill_error" in got:
        low, high = got["ill_error"]
        rows.append(("error estimate, ill_conditioned points", f"{float(low):.2e} .. {float(high):.2e}{against}"))
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


__all__ = ["Layout", "layout", "MemoryEstimate", "memory_estimate", "format_bytes", "parameter_attrs", "parameter_symbol", "block_shape", "block_values", "solve_block", "dataset", "parameter_record", "run_sweep", "summary_table", "segments_at", "write_netcdf"]
