"""The ``llm-labor`` command line."""
from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="LLMs at work: task equilibria and exposure empirics.")


def _register_subpackages() -> None:
    from empirics.aggregation.cli import register as register_aggregation
    from empirics.scoring.cli import register as register_scoring

    register_scoring(app)
    register_aggregation(app)


def main() -> None:
    _register_subpackages()
    app()
