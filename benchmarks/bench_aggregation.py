"""Aggregation of task labels over the occupation hierarchy against a naive groupby loop, same run."""
from __future__ import annotations


def run(quick: bool = False) -> list[dict]:
    from empirics.aggregation.benchmark import run_benchmark

    rows = []
    for n in ([10**5, 10**6] if quick else [10**5, 10**6, 10**7]):
        r = run_benchmark(n)
        rows.append(dict(name="aggregation over the hierarchy", work=n, unit="labels", seconds=r["vectorised_s"],
                         compile_seconds=None, baseline="naive pandas loop", baseline_seconds=r["naive_s"],
                         ratio=r["naive_s"] / max(r["vectorised_s"], 1e-9), rate=n / max(r["vectorised_s"], 1e-9)))
    return rows
