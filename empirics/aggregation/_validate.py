"""Small checks shared by the modules of this subpackage."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from .errors import InputError, MissingColumnsError


def require_columns(df, columns: Iterable[str], table: str) -> None:
    """Raise :class:`MissingColumnsError` naming ``table`` if ``df`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(
            f"{table}: missing column(s) {missing}; it has {list(map(str, df.columns))}"
        )


def require_numeric(df, columns: Sequence[str], table: str, *, allow_nan: bool = False) -> None:
    """Raise :class:`InputError` if a column is not numeric or (unless allowed) holds NaN/inf."""
    import numpy as np
    import pandas as pd

    for c in columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise InputError(f"{table}: column {c!r} must be numeric, got dtype {df[c].dtype}")
        values = df[c].to_numpy(dtype=float)
        if not allow_nan and not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise InputError(f"{table}: column {c!r} has {bad} missing or non-finite value(s)")


def preview(values, limit: int = 5) -> str:
    """A short, readable rendering of offending values for error messages."""
    values = list(values)
    head = ", ".join(repr(v) for v in values[:limit])
    return f"[{head}{', ...' if len(values) > limit else ''}] ({len(values)} in all)"
