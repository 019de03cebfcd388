"""Aggregation of task labels over the occupation hierarchy against a naive groupby loop, same run.

Run alone from the repository root with ``python -m benchmarks.bench_aggregation [ROWS]``.
"""
from __future__ import annotations

import time


def run_benchmark(n_rows: int = 10_000_000, *, seed: int = 0, naive: bool = True) -> dict:
    """Time :func:`~empirics.aggregation.hierarchy.aggregate` (and the naive loop) on synthetic labels;
    checks both agree to 1e-9."""
    import numpy as np

    from empirics.aggregation.hierarchy import OCD_2022, aggregate

    from .references.aggregation import naive_aggregate, synthetic_labels

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


def run(quick: bool = False) -> list[dict]:
    rows = []
    for n in ([10**5, 10**6] if quick else [10**5, 10**6, 10**7]):
        r = run_benchmark(n)
        rows.append(dict(name="aggregation over the hierarchy", work=n, unit="labels", seconds=r["vectorised_s"],
                         compile_seconds=None, baseline="naive pandas loop", baseline_seconds=r["naive_s"],
                         ratio=r["naive_s"] / max(r["vectorised_s"], 1e-9), rate=n / max(r["vectorised_s"], 1e-9)))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    for k, v in run_benchmark(n).items():
        print(f"{k}: {v}")
