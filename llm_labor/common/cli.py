"""Typer helpers for the packages' ``register(app)`` functions.

Each package adds its commands to the root ``llm-labor`` app (built in
:mod:`llm_labor.cli`) through a ``register(app)`` function; groups shared by
several packages (``empirics``) are found or made with :func:`command_group`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

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


class LazyMapping(Mapping):
    """A read-only mapping built by ``build()`` on first use.

    For module-level tables of a ``cli`` module whose values need a heavy import
    (JAX, pandas), so that importing the module, and ``llm-labor --help``, does not.
    """

    def __init__(self, build: Callable[[], Mapping]):
        self._build = build
        self._data: Mapping | None = None

    def _mapping(self) -> Mapping:
        if self._data is None:
            self._data = dict(self._build())
        return self._data

    def __getitem__(self, key: Any) -> Any:
        return self._mapping()[key]

    def __iter__(self) -> Iterator:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())

    def __repr__(self) -> str:
        return f"LazyMapping({self._mapping()!r})"
