"""Typer helpers for the packages' ``register(app)`` functions.

Each package adds its commands to the root ``llm-labor`` app (built in
:mod:`llm_labor.cli`) through a ``register(app)`` function; groups shared by
several packages (``empirics``) are found or made with :func:`command_group`.
"""
from __future__ import annotations

import typer


def command_group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The sub-command group ``name`` of ``app``, created with ``help`` if no package made it yet."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = typer.Typer(no_args_is_help=True, help=help)
    app.add_typer(sub, name=name)
    return sub


def fail(message: object, code: int = 2):
    """Print ``error: MESSAGE`` on stderr and exit with ``code`` (2: bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
