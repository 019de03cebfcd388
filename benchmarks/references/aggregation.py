"""Synthetic task labels over the OCD 2022 hierarchy, and a naive groupby aggregation of them: the reference
that :func:`empirics.aggregation.hierarchy.aggregate` is checked and timed against."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def synthetic_labels(n_rows: int, *, seed: int = 0, models=("glm", "internlm", "gpt4")) -> pd.DataFrame:
    """Random task labels over the bundled OCD 2022 fine occupations (large categories 2-6):
    score in {0, 0.5, 1}, weight 2 (core) or 1."""
    import numpy as np
    import pandas as pd

    from empirics.aggregation.data import ocd_codes

    rng = np.random.default_rng(seed)
    codes = np.array([c for c in ocd_codes("fine") if c[0] in "23456"], dtype=object)
    return pd.DataFrame(
        {
            "code": pd.Categorical.from_codes(rng.integers(0, len(codes), n_rows), categories=codes).astype(object),
            "model": np.asarray(models, dtype=object)[rng.integers(0, len(models), n_rows)],
            "score": rng.choice(np.array([0.0, 0.5, 1.0]), n_rows),
            "weight": rng.choice(np.array([1.0, 2.0]), n_rows),
        }
    )


def naive_aggregate(labels: pd.DataFrame) -> pd.DataFrame:
    """Reference implementation: Python loops over groupby groups, level by level (fine_mean)."""
    import numpy as np
    import pandas as pd

    cut = {"small": 7, "medium": 4, "large": 1}  # prefixes of "2-01-01-01"
    fine = {}
    for (code, model), g in labels.groupby(["code", "model"], sort=False):
        fine[(code, model)] = float(np.average(g["score"].to_numpy(), weights=g["weight"].to_numpy()))
    rows = [("fine", c, m, v) for (c, m), v in fine.items()]
    for level in ("small", "medium", "large"):
        groups: dict = {}
        for (code, model), v in fine.items():
            parent = code[: cut[level]]
            groups.setdefault((parent, model), []).append(v)
        rows += [(level, p, m, float(np.mean(vs))) for (p, m), vs in groups.items()]
    return pd.DataFrame(rows, columns=["level", "code", "model", "score"])
