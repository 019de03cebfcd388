"""The ``llm-labor`` command: the root app, assembled from the packages' ``register`` functions.

This is the top layer: it imports the packages, none of them imports it.  The
order of registration is the order of ``llm-labor --help``.
"""
from __future__ import annotations

import os

import typer

from calibration.cli import register as register_calibration
from empirics.aggregation.cli import register as register_aggregation
from empirics.postings.cli import register as register_postings
from empirics.scoring.cli import register as register_scoring
from simulator.cli import register as register_engine
from simulator.market.cli import register as register_market

HELP = "LLMs at work: task equilibria and exposure empirics."

#: in order: the engine (run, validate, solve), then the other packages' commands and groups
REGISTRARS = (register_engine, register_scoring, register_calibration, register_aggregation, register_postings,
              register_market)


def build_app() -> typer.Typer:
    """A fresh root app with every package's commands."""
    root = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
    for register in REGISTRARS:
        register(root)
    return root


app = build_app()


def main() -> None:
    """Entry point of ``llm-labor``: float64 and the compilation cache for the whole process, then the app.

    The persistent compilation cache (simulator.execution.cache) lets a second run skip the
    compiler; ``LLM_LABOR_NO_CACHE=1`` turns it off, ``LLM_LABOR_CACHE_DIR`` moves it.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    if os.environ.get("LLM_LABOR_NO_CACHE", "").strip().lower() not in ("1", "true", "yes"):
        from simulator.execution.cache import enable_compilation_cache

        enable_compilation_cache()
    app()
