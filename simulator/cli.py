"""The engine's commands of ``llm-labor``, added to the root app by :func:`register`.

``run`` solves a scenario's sweep and writes NetCDF + plots, ``validate``
checks a scenario, ``solve`` solves one point and prints JSON.  The root app
is assembled in :mod:`llm_labor.cli`.  Modules that import JAX, numpy or
xarray (the solvers, sweeps, stores, plots) are imported inside the commands,
so that ``llm-labor --help`` stays quick.
"""
from __future__ import annotations

import json
import math
import os
import re
from enum import Enum
from pathlib import Path
from typing import List, Optional

import psutil
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from llm_labor.common.cli import LazyMapping
from llm_labor.common.cli import fail as _error

from .errors import LLMLaborError
from .frontier import parse_day
from .status import Status

#: Parameter values used by ``solve`` unless overridden with --set (the bundled scenarios' base point).
SOLVE_DEFAULTS = {
    "eta": 1.0, "A_L": 1.0, "A_H": 1.5, "L": 1.0, "H": 0.6,
    "A_bar": 3.0, "mu": 2.0, "F": 1.0,
    "C": 0.0, "a": 410.7, "alpha": 0.28, "b": 406.4, "beta": 0.34, "N_bar": 1e11, "G": 1e10, "I_lo": 0.6, "I_hi": 0.95,
}


def _regime_technology() -> dict:
    from .params import ScalingLLM, TraditionalAI

    return {"benchmark": None, "traditional": TraditionalAI, "llm": ScalingLLM}


def _regime_params() -> dict:
    from .params import Economy, names

    return {regime: names(Economy, *([tech] if tech else [])) for regime, tech in REGIME_TECHNOLOGY.items()}


#: regime -> its technology class (built on first use: the classes import JAX)
REGIME_TECHNOLOGY = LazyMapping(_regime_technology)
#: The parameters each regime takes, from the parameter registry (simulator.params).
REGIME_PARAMS = LazyMapping(_regime_params)


class Regime(str, Enum):
    benchmark = "benchmark"
    traditional = "traditional"
    llm = "llm"


class Method(str, Enum):
    auto = "auto"
    analytic = "analytic"
    discretized = "discretized"


def _nearest_index(values, target, log: bool) -> int:
    import numpy as np

    v = np.log(values) if log else np.asarray(values)
    t = math.log(target) if log else target
    return int(np.argmin(np.abs(v - t)))


def _path_assignment_points(scenario, ds):
    """Points of a path sweep: ``date`` (nearest date) or the path's G / N_bar (nearest in log); default first, middle, last."""
    import numpy as np

    from .scenario import axis_name

    dates = ds["date"].values.astype("datetime64[D]")
    n = dates.size
    specs = scenario.outputs.assignment_points or [{"date": str(dates[k])} for k in dict.fromkeys((0, n // 2, n - 1))]
    points, labels = [], []
    g_name, n_name = list(scenario.axes)  # NAME.G, NAME.N_bar
    for spec in specs:
        k = n // 2
        for name, value in spec.items():
            if name == "date":
                k = int(np.argmin(np.abs((dates - parse_day(value, "date")).astype(np.int64))))
            elif (axis := axis_name(scenario, name)) is not None:
                k = _nearest_index(ds[axis].values, value, True)
        points.append({"date": k})
        labels.append(f"{dates[k]}: G={float(ds[g_name][k]):.3g}, N̄={float(ds[n_name][k]):.3g}")
    return points, labels


def _assignment_points(scenario, ds):
    from .sweep import parameter_symbol

    if scenario.sweep_mode == "path":
        return _path_assignment_points(scenario, ds)
    dims = list(ds["status"].dims)
    points, labels = [], []
    specs = scenario.outputs.assignment_points
    if not specs and dims:
        specs = [{dims[0]: float(ds[dims[0]].values[k])} for k in (0, ds.sizes[dims[0]] // 2, ds.sizes[dims[0]] - 1)]
    elif not dims:
        return [{}], ["base point"]
    for spec in specs:
        index = {d: ds.sizes[d] // 2 for d in dims}
        for name, value in spec.items():
            if scenario.sweep_mode == "grid" and name in dims:
                index[name] = _nearest_index(ds[name].values, value, name in scenario.log_axes)
            elif scenario.sweep_mode == "zip" and name in scenario.axes:
                index[dims[0]] = _nearest_index(ds[name].values, value, name in scenario.log_axes)
        points.append(index)
        labels.append(", ".join(f"{parameter_symbol(d)} = {float(ds.isel(index)[d]):.3g}"
                                for d in (dims if scenario.sweep_mode == "grid" else scenario.axes)))
    return points, labels

#: environment variable holding the default of ``run --memory-limit``
MEMORY_LIMIT_ENV = "LLM_LABOR_MEMORY_LIMIT"
#: without --memory-limit or the variable: this fraction of the memory available when ``run`` starts
MEMORY_FRACTION = 0.5
_BYTE_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_memory(text: str, what: str = "--memory-limit") -> int:
    """``'8GB'`` -> 8e9 bytes; also ``512MB``, ``16GiB``, ``2e9`` (bytes) and ``40%`` (of available memory)."""
    raw = str(text).strip()
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*|%)", raw)
    if not m or (m.group(2).lower() not in _BYTE_UNITS and m.group(2) != "%"):
        _error(f"{what}: expected a size such as 8GB, 512MB, 16GiB or 50% (of available memory), got {raw!r}")
    value, unit = float(m.group(1)), m.group(2).lower()
    if unit == "%":
        if not 0 < value <= 100:
            _error(f"{what}: a percentage must be in (0, 100], got {raw!r}")
        return int(_available_memory() * value / 100)
    limit = int(value * _BYTE_UNITS[unit])
    if limit <= 0:
        _error(f"{what}: must be positive, got {raw!r}")
    return limit


def _available_memory() -> int:
    return int(psutil.virtual_memory().available)


def memory_limit(option: Optional[str]) -> tuple[int, str]:
    """The memory limit of ``run`` in bytes and where it comes from (option, environment, or default)."""
    if option is not None:
        return parse_memory(option), "--memory-limit"
    env = os.environ.get(MEMORY_LIMIT_ENV)
    if env:
        return parse_memory(env, MEMORY_LIMIT_ENV), MEMORY_LIMIT_ENV
    return int(_available_memory() * MEMORY_FRACTION), f"{MEMORY_FRACTION:.0%} of available memory"


def execution_snippet(scenario, folder: Path) -> str:
    """A ready-to-paste ``execution:`` section that solves ``scenario`` block by block into a Zarr store."""
    return ("execution:\n"
            "  backend: local-cluster          # or: local (one process), dask (with address: tcp://HOST:8786)\n"
            "  n_workers: 2\n"
            "  threads_per_worker: 1\n"
            f"  store: {folder / (scenario.name + '.zarr')}\n")


def _estimate_lines(scenario, estimate, uses_store: bool) -> list[str]:
    from .sweep import format_bytes as fb

    lines = [f"points: {estimate.points:,}"]
    if uses_store:
        lines.append(f"memory estimate: {fb(estimate.blocked)} (into a Zarr store: coordinates {fb(estimate.coordinates)} "
                     f"+ {estimate.concurrency} block(s) of {estimate.block_points:,} points in flight, "
                     f"{fb(estimate.block_working)} each; in memory it would need {fb(estimate.in_memory)})")
    else:
        lines.append(f"memory estimate: {fb(estimate.in_memory)} in memory (outputs {estimate.points:,} points x "
                     f"{estimate.output_per_point} B = {fb(estimate.outputs)}, coordinates {fb(estimate.coordinates)}, "
                     f"one block {fb(estimate.block_working)}, NetCDF temporary {fb(estimate.largest_variable)})")
    return lines


def _concurrency(execution) -> int:
    return execution.n_workers * execution.threads_per_worker if execution.backend == "local-cluster" else 1


def run(
    scenario_file: Path = typer.Argument(..., help="Scenario YAML, e.g. scenarios/llm_scaling.yaml."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: outputs/<scenario name>)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    restart: bool = typer.Option(False, "--restart", help="Discard the scenario's Zarr store and solve every block again."),
    memory: Optional[str] = typer.Option(
        None, "--memory-limit", metavar="SIZE",
        help=f"Refuse an in-memory sweep whose estimated peak memory exceeds SIZE (e.g. 8GB, 512MB, 16GiB, 50%). "
             f"Default: ${MEMORY_LIMIT_ENV}, else {MEMORY_FRACTION:.0%} of available memory. "
             "Sweeps with an 'execution:' section (blocked into a Zarr store) are never refused."),
) -> None:
    """Solve a scenario's sweep; write NetCDF (or a Zarr store) and plots; print a summary.

    With an ``execution:`` section the sweep is solved block by block into a
    Zarr store, locally or on a Dask cluster; rerunning an interrupted sweep
    solves only the blocks that are missing.
    """
    from . import plots as plotting
    from .execution import execution_options, run_to_store
    from .scenario import load_scenario
    from .store import open_store
    from .sweep import format_bytes, memory_estimate, run_sweep, summary_table, write_netcdf

    console = Console(stderr=True)
    limit, limit_source = memory_limit(memory)
    try:
        scenario = load_scenario(scenario_file)
        execution = execution_options(scenario)
    except LLMLaborError as exc:
        _error(str(exc))
    if restart and not execution.uses_store:
        _error("--restart applies to sweeps into a Zarr store (a scenario with an 'execution:' section)")
    folder = out or (scenario.outputs.directory and Path(scenario.outputs.directory)) or Path("outputs") / scenario.name
    folder = Path(folder)
    total = scenario.points
    estimate = memory_estimate(scenario, concurrency=_concurrency(execution))
    for line in _estimate_lines(scenario, estimate, execution.uses_store):
        typer.echo(line, err=True)
    if not execution.uses_store and estimate.in_memory > limit:
        _error(f"{scenario_file}: the sweep has {estimate.points:,} points and needs about {format_bytes(estimate.in_memory)} "
               f"in memory (estimate), more than the limit of {format_bytes(limit)} ({limit_source}).\n"
               f"Solve it block by block into a Zarr store instead, so that memory stays bounded by a few blocks of "
               f"{estimate.block_points:,} points: add this section to {scenario_file}\n\n"
               + execution_snippet(scenario, folder)
               + "\n(see docs/scenarios.md, \"Execution: large sweeps\"), or raise the limit with --memory-limit SIZE "
               f"or ${MEMORY_LIMIT_ENV}.")
    written = []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, disable=not progress, transient=False) as bar:
        task = bar.add_task(f"solving {scenario.name} (first block compiles)", total=total)
        update = lambda done, _: bar.update(task, completed=done)  # noqa: E731
        if execution.uses_store:
            store = execution.store or str(folder / f"{scenario.name}.zarr")
            try:
                report = run_to_store(scenario, store, execution, restart=restart, progress=update)
            except LLMLaborError as exc:
                _error(str(exc))
            ds = open_store(store)
            written.append(store)
        else:
            ds = run_sweep(scenario, progress=update)
    if execution.uses_store:
        typer.echo(f"{execution.backend}: solved {report.computed} of {report.blocks} blocks in {report.seconds:.1f} s"
                   + (f"; {report.skipped} were already in {store}" if report.skipped else ""), err=True)
    netcdf = scenario.outputs.netcdf if scenario.outputs.netcdf is not None else not execution.uses_store
    if netcdf:
        nc = folder / f"{scenario.name}.nc"
        write_netcdf(ds, nc)
        written.append(nc)
    if plots:
        folder.mkdir(parents=True, exist_ok=True)
        log_dims = scenario.log_axes
        if "premium_heatmap" in scenario.outputs.plots:
            written.append(plotting.premium_heatmap(ds, folder / "premium_heatmap.png", log_dims))
        if "thresholds" in scenario.outputs.plots:
            written.append(plotting.thresholds(ds, folder / "thresholds.png", log_dims))
        if "assignment" in scenario.outputs.plots:
            points, labels = _assignment_points(scenario, ds)
            written.append(plotting.assignment(ds, folder / "assignment.png", points, labels))
        if "frontier" in scenario.outputs.plots:
            written.append(plotting.frontier(ds, folder / "frontier.png"))
    table = Table(title=f"{scenario.name}: {scenario.description}", show_header=False)
    for key, value in summary_table(ds):
        table.add_row(key, value)
    Console().print(table)
    for path in written:
        if path is not None:
            typer.echo(f"wrote {path}")


def validate(scenario_file: Path = typer.Argument(..., help="Scenario YAML to check.")) -> None:
    """Check a scenario file; print what it would run."""
    from .execution import execution_options
    from .scenario import load_scenario
    from .solve import resolve_method
    from .sweep import format_bytes, memory_estimate

    try:
        s = load_scenario(scenario_file)
        execution = execution_options(s)
    except LLMLaborError as exc:
        _error(str(exc))
    points = s.points  # counted from the axes' lengths: nothing of the grid is built
    techs = ", ".join(f"{t.name} ({type(t).__name__})" for t in s.technologies) or "none (benchmark)"
    typer.echo(f"{scenario_file}: valid scenario '{s.name}'")
    typer.echo(f"  technologies: {techs}")
    if s.sweep_mode == "path":
        r, path = s.frontier_record, s.frontier
        what = (f"{r['region']} frontier, {r['rule']}, {'monthly' if r['frequency'] == 'MS' else 'at each move'}"
                if r["source"] == "epoch" else f"from {r['csv']}")
        typer.echo(f"  sweep: path over date ({what}): {path.dates[0]} .. {path.dates[-1]}, {points:,} points, "
                   f"{len(path.events)} with a frontier move; G -> {r['technology']}.G, N -> {r['technology']}.N_bar")
        typer.echo(f"    G {path.G[0]:.3g} .. {path.G[-1]:.3g}, N {path.N_bar[0]:.3g} .. {path.N_bar[-1]:.3g}")
    else:
        typer.echo(f"  sweep: {s.sweep_mode} over {list(s.axes) or 'nothing'}, {points:,} points")
    typer.echo(f"  solver: {resolve_method(s.technologies, s.solver.method)}, accuracy {s.solver.accuracy:.3g}")
    where = execution.backend + (f" into a Zarr store ({execution.store or 'default path'})" if execution.uses_store else ", in memory")
    typer.echo(f"  execution: {where}")
    estimate = memory_estimate(s, concurrency=_concurrency(execution))
    for line in _estimate_lines(s, estimate, execution.uses_store):
        typer.echo(f"  {line}")
    limit, source = memory_limit(None)
    if not execution.uses_store and estimate.in_memory > limit:
        typer.echo(f"  warning: over the memory limit of {format_bytes(limit)} ({source}): 'llm-labor run' will refuse "
                   "it; add an 'execution:' section (docs/scenarios.md, \"Execution: large sweeps\")")


def _parse_sets(items: List[str], regime: str) -> dict:
    allowed = REGIME_PARAMS[regime]
    values = {k: SOLVE_DEFAULTS[k] for k in allowed}
    given: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            _error(f"--set expects NAME=VALUE, got {item!r}")
        name, raw = item.split("=", 1)
        name = name.strip()
        if name in given:
            _error(f"--set {name}: given twice ({given[name]!r}, then {item!r}); set each parameter once")
        given[name] = item
        if name not in SOLVE_DEFAULTS:
            _error(f"--set: unknown parameter {name!r}; known: {', '.join(SOLVE_DEFAULTS)}")
        if name not in allowed:
            _error(f"--set: parameter {name!r} does not belong to regime '{regime}' (it takes {', '.join(allowed)})")
        try:
            values[name] = float(raw)
        except ValueError:
            _error(f"--set {name}: expected a number, got {raw!r}")
    return values


def _number(v):
    v = float(v)
    return v if math.isfinite(v) else None


def solve(
    regime: Regime = typer.Option(..., "--regime", help="benchmark, traditional or llm."),
    sets: List[str] = typer.Option([], "--set", help="NAME=VALUE; names: " + ", ".join(SOLVE_DEFAULTS)),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (otherwise a table)."),
    method: Method = typer.Option(Method.auto, "--method", help="Solver route."),
    accuracy: Optional[float] = typer.Option(
        None, "--accuracy", help="Relative accuracy that status ok vouches for, in (0, 1) (default 1e-8); a point whose "
                                 "error estimate exceeds it is ill_conditioned (values printed, exit code 1)."),
) -> None:
    """Solve one equilibrium point."""
    import numpy as np

    from .equilibrium import RESIDUALS
    from .factors import factor_names
    from .params import Economy, names
    from .solve import SolverOptions
    from .solve import solve as solve_point

    v = _parse_sets(sets, regime.value)
    try:
        economy = Economy(**{k: v[k] for k in names(Economy)})
        technology = REGIME_TECHNOLOGY[regime.value]
        techs = () if technology is None else (technology(**{k: v[k] for k in names(technology)}),)
        options = SolverOptions(method=method.value, **({} if accuracy is None else {"accuracy": accuracy}))
        eq = solve_point(economy, techs, options=options)
    except LLMLaborError as exc:
        _error(str(exc))
    factors = factor_names(techs)
    status = Status(int(eq.status))
    found = status in (Status.OK, Status.ILL_CONDITIONED)  # an equilibrium with values (ill_conditioned: not vouched for)
    shares = {n: _number(s) for n, s in zip(factors, np.asarray(eq.shares))}
    shares.setdefault("M", 0.0 if found else None)
    result = {
        "regime": regime.value,
        "status": status.name.lower(),
        "status_code": int(status),
        "status_description": status.description,
        "parameters": v,
        "segments": eq.segments(factors) if found else [],
        "W_L": _number(eq.W_L),
        "W_H": _number(eq.W_H),
        "premium": _number(eq.premium),
        "Y": _number(eq.Y),
        "m": _number(np.sum(eq.m)) if techs else 0.0,
        "shares": shares,
        "residuals": {k: _number(r) for k, r in zip(RESIDUALS, np.asarray(eq.residuals))},
        "error": _number(eq.error),
        "accuracy": options.accuracy,
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        if status != Status.OK:
            raise typer.Exit(1)
        return
    table = Table(title=f"{regime.value} equilibrium: {result['status']}", show_header=False)
    for key in ("W_L", "W_H", "premium", "Y", "m"):
        table.add_row(key, f"{result[key]:.10g}" if result[key] is not None else "-")
    table.add_row("segments", " | ".join(f"{s['factor']}[{s['start']:.4f},{s['end']:.4f}]" for s in result["segments"]))
    table.add_row("max |residual|", f"{max(abs(r) for r in result['residuals'].values() if r is not None):.2e}")
    table.add_row("error estimate", f"{result['error']:.2e} (accuracy {options.accuracy:.3g})" if result["error"] is not None else "-")
    Console().print(table)
    if status != Status.OK:
        raise typer.Exit(1)


def cache(clear: bool = typer.Option(False, "--clear", help="Delete every entry (the folder's other files stay).")) -> None:
    """Where the cache of compiled programs is and what it holds; --clear empties it."""
    from .execution.cache import cache_dir, cache_usage, clear_cache

    folder = cache_dir()
    if clear:
        typer.echo(f"deleted {clear_cache(folder)} entries from {folder}")
        return
    entries, size = cache_usage(folder)
    typer.echo(f"{folder}: {entries} entries, {size / 2**20:.1f} MiB")
    typer.echo("Move it with LLM_LABOR_CACHE_DIR, switch it off with LLM_LABOR_NO_CACHE=1, "
               "empty it with llm-labor cache --clear.")


cache.without_setup = True  # needs no JAX: llm_labor.cli does not set it up first


def register(app: typer.Typer) -> None:
    """Add ``run``, ``validate``, ``solve`` and ``cache`` to the root ``llm-labor`` app."""
    app.command("run")(run)
    app.command("validate")(validate)
    app.command("solve")(solve)
    app.command("cache")(cache)
