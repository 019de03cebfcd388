"""``llm-labor simulate``: run a scenario's agent-based market through time."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from llm_labor.common.cli import fail

from ..errors import LLMLaborError


def simulate_command(
    scenario_file: Path = typer.Argument(..., help="Scenario YAML with a 'dynamics:' section, e.g. scenarios/llm_transition.yaml."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: outputs/<scenario name>)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Override dynamics.seed."),
    periods: Optional[int] = typer.Option(None, "--periods", help="Override dynamics.periods."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Override dynamics.workers."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Simulate workers, task producers and a model provider through time; write NetCDF and plots."""
    from ..scenario import load_scenario
    from ..sweep import write_netcdf
    from . import plots as plotting
    from .config import load_dynamics
    from .transition import simulate

    console = Console(stderr=True)
    try:
        scenario = load_scenario(scenario_file)
        dynamics = load_dynamics(scenario, {"seed": seed, "periods": periods, "workers": workers})
    except LLMLaborError as exc:
        fail(str(exc))
    folder = Path(out or (scenario.outputs.directory and Path(scenario.outputs.directory)) or Path("outputs") / scenario.name)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, disable=not progress) as bar:
        task = bar.add_task(f"simulating {scenario.name}", total=dynamics.periods)
        try:
            ds = simulate(scenario, dynamics, progress=lambda done, _: bar.update(task, completed=done))
        except LLMLaborError as exc:
            fail(str(exc))
    nc = folder / f"{scenario.name}_market.nc"
    write_netcdf(ds, nc)
    written = [nc]
    if plots:
        folder.mkdir(parents=True, exist_ok=True)
        for name in dynamics.plots:
            written.append(plotting.PLOTTERS[name](ds, folder / f"market_{name}.png"))
    table = Table(title=f"{scenario.name}: market over {dynamics.periods} periods (seed {dynamics.seed})", show_header=False)
    first, last = ds.isel(period=0), ds.isel(period=-1)
    for var in ("premium", "W_L", "W_H", "Y"):
        row = f"{float(first[var]):.6g} -> {float(last[var]):.6g}"
        if f"eq_{var}" in ds:
            row += f"   (equilibrium at the last period: {float(last[f'eq_{var}']):.6g})"
        table.add_row(var, row)
    table.add_row("peak unemployment", " ".join(f"{s}: {v:.2%}" for s, v in zip(ds["skill"].values, ds["unemployment"].max("period").values)))
    table.add_row("displaced in total", " ".join(f"{s}: {v:.2%}" for s, v in zip(ds["skill"].values, ds["displaced"].sum("period").values)))
    table.add_row("workers (L, H)", ", ".join(f"{c:,}" for c in json.loads(ds.attrs["workers_by_skill"])))
    Console().print(table)
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
