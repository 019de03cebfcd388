"""The ``llm-labor`` command: the root app, assembled from the packages' ``register`` functions.

This is the top layer: it imports the packages, none of them imports it.  The
order of registration is the order of ``llm-labor --help``.  The packages' ``cli``
modules import JAX, numpy, pandas and xarray only inside their commands, and
:func:`main` sets JAX up only when a command runs, so that ``llm-labor --help``
(and ``llm-labor COMMAND --help``) imports none of them.
"""
from __future__ import annotations

import functools
import os
from typing import Callable, Optional

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


def _before_each_command(app: typer.Typer, setup: Callable[[], None]) -> None:
    """Make every command of ``app`` and of its groups call ``setup()`` first, once its arguments are parsed
    (except a command whose function is marked ``without_setup = True``, which needs no JAX)."""
    def wrap(callback):
        @functools.wraps(callback)  # Typer reads the parameters through __wrapped__
        def command(*args, **kwargs):
            setup()
            return callback(*args, **kwargs)
        return command

    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "without_setup", False):
            info.callback = wrap(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            _before_each_command(group.typer_instance, setup)


def build_app(before_command: Optional[Callable[[], None]] = None) -> typer.Typer:
    """A fresh root app with every package's commands; ``before_command()`` runs before any command does."""
    root = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
    for register in REGISTRARS:
        register(root)
    if before_command is not None:
        _before_each_command(root, before_command)
    return root


app = build_app()


@functools.cache
def process_settings() -> None:
    """float64 and the compilation cache for the whole process (once).

    The persistent compilation cache (simulator.execution.cache) lets a second run skip the
    compiler; ``LLM_LABOR_NO_CACHE=1`` turns it off, ``LLM_LABOR_CACHE_DIR`` moves it.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    if os.environ.get("LLM_LABOR_NO_CACHE", "").strip().lower() not in ("1", "true", "yes"):
        from simulator.execution.cache import enable_compilation_cache

        enable_compilation_cache()


def main() -> None:
    """Entry point of ``llm-labor``: the app, with :func:`process_settings` applied before a command runs
    (not for ``--help``, which so imports no JAX)."""
    build_app(before_command=process_settings)()
