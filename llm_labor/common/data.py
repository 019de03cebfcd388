"""Where the shared reference data lives (the US data of the replication, the paper's text)."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import LLMLaborError

#: environment variable naming the shared data folder
SHARED_DATA_ENV = "LLM_LABOR_SHARED_DATA"
#: the repository checkout holding this package
CHECKOUT = Path(__file__).resolve().parents[2]


class SharedDataNotFoundError(LLMLaborError, FileNotFoundError):
    """The shared reference data folder could not be found."""


def shared_data_candidates() -> list[Path]:
    """The folders looked at, in order: ``$LLM_LABOR_SHARED_DATA`` if set, then ``shared/data`` next to
    and inside the checkout."""
    env = os.environ.get(SHARED_DATA_ENV)
    return ([Path(env)] if env else []) + [CHECKOUT.parent / "shared" / "data", CHECKOUT / "shared" / "data"]


def shared_data_dir(required: bool = True, *, error: type[Exception] = SharedDataNotFoundError) -> Path | None:
    """The first existing folder of :func:`shared_data_candidates`.

    Raises ``error`` (or returns ``None`` when not ``required``) if none exists.
    """
    candidates = shared_data_candidates()
    for c in candidates:
        if c.is_dir():
            return c
    if required:
        raise error(
            f"shared reference data not found: set {SHARED_DATA_ENV} or place shared/data next to the "
            f"checkout (looked in {[str(c) for c in candidates]})"
        )
    return None
