"""``python -m empirics.scoring`` runs the ``score`` command group."""
from .cli import build_app

if __name__ == "__main__":
    build_app()(prog_name="python -m empirics.scoring")
