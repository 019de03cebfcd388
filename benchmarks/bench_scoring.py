"""Scoring overhead: calls per second through the pipeline against bare HTTP calls, same run.

Wraps :mod:`empirics.scoring.bench` (a local chat-completions server in another process).
"""
from __future__ import annotations

import re


def run(quick: bool = False) -> list[dict]:
    from empirics.scoring.bench import run_benchmark

    calls = 300 if quick else 2000
    rows = []
    for line in run_benchmark(calls=calls, concurrency=(1, 64) if quick else (1, 8, 64), hit_calls=2000 if quick else 20000):
        m = re.match(r"concurrency\s+(\d+): raw\s+(\d+) calls/s, pipeline\s+(\d+) calls/s", line)
        if m:
            c, raw, pipe = (int(g) for g in m.groups())
            rows.append(dict(name=f"scoring pipeline, concurrency {c}", work=calls, unit="calls", seconds=calls / pipe,
                             compile_seconds=None, baseline="bare HTTP calls", baseline_seconds=calls / raw,
                             ratio=pipe / raw, rate=pipe))
    return rows
