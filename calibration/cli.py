"""``llm-labor calibrate CONFIG.yaml``: fit the free parameters to the moments and write a report."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from llm_labor.common.cli import fail
from llm_labor.common.errors import LLMLaborError


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_command(
        config: Path = typer.Argument(..., help="Calibration config YAML, e.g. calibration/configs/us_oews.yaml."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: the config's output.directory, else outputs/calibration/<name>)."),
        draws: Optional[int] = typer.Option(None, "--draws", help="Bootstrap draws (overrides the config)."),
        plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    ) -> None:
        """Calibrate the task model to wage-exposure moments (SMM with JAX derivatives); write report.md and results.json.

        Exit status: 0 calibrated; 2 bad input; 3 failed calibration (a target out of the model's reach, targets not
        reachable together, or no convergence), with report.md and results.json saying why."""
        from .config import load_config
        from .run import calibrate, write_outputs

        try:
            cfg = load_config(config)
            if draws is not None and draws < 0:
                raise typer.BadParameter("--draws must be >= 0")
            res = calibrate(cfg, draws=draws)
        except LLMLaborError as exc:
            fail(exc)
        folder = out or cfg.output_dir or Path("outputs") / "calibration" / cfg.name
        written = write_outputs(res, folder, plots=plots and cfg.plots)
        typer.echo(f"{res['name']}: {res['data_label']}")
        failed = res["status"] != "ok"
        if failed:
            typer.echo(f"  calibration failed ({res['status']}): {res['failure']['message']}")
        for p in res["parameters"]:
            cb = p["ci_bootstrap"]
            ci = f", {int(round(100 * res['bootstrap']['ci_level']))}% bootstrap CI {cb[0]:.4g} to {cb[1]:.4g}" if cb else ""
            if failed:
                typer.echo(f"  {p['name']}: no estimate (closest point of the box {p['closest']:.4g})")
            else:
                typer.echo(f"  {p['name']} = {p['estimate']:.4g} (se {p['se_delta']:.3g}{ci})")
        for m in res["moments"]:
            typer.echo(f"  {m['moment']}: data {m['data']:.4g} (se {m['se']:.3g}), model {m['model']:.4g}")
        for m in res.get("untargeted") or []:
            typer.echo(f"  untargeted {m['moment']}: data {m['data']:.4g} (se {m['se']:.3g}), model {m['model']:.4g} ({m['t']:+.1f} se)")
        for name, (lo, hi) in (res["not_identified"]["estimate_range_over_sensitivity"] or {}).items():
            typer.echo(f"  not identified by the data: moving {', '.join(res['not_identified']['moved_in_sensitivity'])} over the "
                       f"config's ranges moves {name} over {lo:.3g}-{hi:.3g}")
        if res.get("comparison"):
            c = res["comparison"]
            typer.echo(f"  beside {c['name']}: " + ", ".join(f"{p['name']} = {p['estimate']:.4g} (se {p['se_delta']:.3g})" if p["estimate"] is not None
                                                              else f"{p['name']}: failed" for p in c["parameters"]))
        for w in res["warnings"]:
            typer.echo(f"  warning: {w}")
        for p in written:
            typer.echo(f"wrote {p}")
        if failed:
            raise typer.Exit(3)
