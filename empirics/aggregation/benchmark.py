"""Benchmark: task-level labels -> every OCD 2022 level, vectorised against a naive groupby loop.

Run with ``llm-labor empirics bench-aggregation --rows 10000000`` or
``python -m empirics.aggregation.benchmark``.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def synthetic_labels(n_rows: int, *, seed: int = 0, models=("glm", "internlm", "gpt4")) -> pd.DataFrame:
    """Random task labels over the bundled OCD 2022 fine occupations (large categories 2-6):
    score in {0, 0.5, 1}, weight 2 (core) or 1."""
    import numpy as np
    import pandas as pd

    from .data import ocd_codes

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


def run_benchmark(n_rows: int = 10_000_000, *, seed: int = 0, naive: bool = True) -> dict:
    """Time :func:`~empirics.aggregation.hierarchy.aggregate` (and the naive loop) on synthetic labels;
    checks both agree to 1e-9."""
    import numpy as np

    from .hierarchy import OCD_2022, aggregate

    t0 = time.perf_counter()
    labels = synthetic_labels(n_rows, seed=seed)
    t1 = time.perf_counter()
    fast = aggregate(labels, OCD_2022, weight_col="weight")
    t2 = time.perf_counter()
    out = {"rows": n_rows, "generate_s": round(t1 - t0, 3), "vectorised_s": round(t2 - t1, 3), "groups": len(fast)}
    if naive:
        slow = naive_aggregate(labels)
        t3 = time.perf_counter()
        m = fast.merge(slow, on=["level", "code", "model"], suffixes=("", "_naive"), how="outer", indicator=True)
        out["naive_s"] = round(t3 - t2, 3)
        out["speedup"] = round((t3 - t2) / max(t2 - t1, 1e-9), 1)
        out["max_abs_diff"] = float(np.abs(m["score"] - m["score_naive"]).max())
        out["unmatched"] = int((m["_merge"] != "both").sum())
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    for k, v in run_benchmark(n).items():
        print(f"{k}: {v}")
