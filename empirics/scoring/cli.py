"""Command-line commands of this subpackage."""
import typer


def register(app: typer.Typer) -> None:
    """Add this subpackage's commands to the root ``llm-labor`` app."""
