"""Scoring overhead: calls per second through the pipeline against bare HTTP calls, same run.

The server (:mod:`benchmarks.references.fakeserver`) runs in a separate process on 127.0.0.1 and
answers at once.  For each concurrency level it reports:

* ``raw``: bare HTTP calls with the same client library and payloads;
* ``pipeline``: completed calls through the runner, the response and answer
  parsers and the SQLite cache (one committed row per call);
* the pipeline's overhead per call over the raw calls;

and the cost of a cache hit (an already completed call found and skipped).
Run alone from the repository root with ``python -m benchmarks.bench_scoring``.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

from empirics.scoring.cache import Cache
from empirics.scoring.config import EndpointConfig
from empirics.scoring.occupations import Occupation, Task, Unit
from empirics.scoring.runner import plan_calls, run_calls
from empirics.scoring.templates import load_template


def _units(n: int) -> list[Unit]:
    return [
        Unit(f"B-{i:06d}", Occupation(f"B-{i:06d}", f"职业{i}", "定义", (Task(1, "任务一"), Task(2, "任务二"))))
        for i in range(n)
    ]


async def _raw_calls(url: str, payloads: list[bytes], concurrency: int) -> float:
    import aiohttp

    queue = list(reversed(payloads))

    async def worker(session) -> None:
        while queue:
            data = queue.pop()
            async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return len(payloads) / (time.perf_counter() - t0)


def measure_raw(base_url: str, calls: int, concurrency: int) -> float:
    """Calls per second for bare HTTP calls carrying the pipeline's prompts."""
    tpl = load_template("exposure.zh.v1")
    payloads = [
        json.dumps({"model": "m", "messages": tpl.render(u), "temperature": 1.0}, ensure_ascii=False).encode()
        for u in _units(calls)
    ]
    return asyncio.run(_raw_calls(f"{base_url}/chat/completions", payloads, concurrency))


def _start_server_process() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys,time; from benchmarks.references.fakeserver import FakeOpenAIServer as S; "
         "s=S().start(); print(s.port, flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def measure(base_url: str, calls: int, concurrency: int) -> float:
    """Calls per second for ``calls`` fresh calls at ``concurrency``, into a new cache."""
    tpl = load_template("exposure.zh.v1")
    ep = EndpointConfig(name="bench", base_url=base_url, model="m", max_concurrency=concurrency, max_retries=0)
    specs = plan_calls([ep], tpl, _units(calls), 1)
    with tempfile.TemporaryDirectory() as d, Cache(Path(d) / "c.sqlite") as cache:
        t0 = time.perf_counter()
        stats = run_calls(specs, cache)
        dt = time.perf_counter() - t0
        if stats.ok != calls:
            raise RuntimeError(f"benchmark run incomplete: {stats.as_dict()}")
    return calls / dt


def cache_hit_cost(base_url: str, n: int = 20000) -> tuple[float, float]:
    """Seconds per cached call: (skipped in a run, single keyed lookup)."""
    tpl = load_template("exposure.zh.v1")
    ep = EndpointConfig(name="bench", base_url=base_url, model="m", max_concurrency=64)
    specs = plan_calls([ep], tpl, _units(n), 1)
    with tempfile.TemporaryDirectory() as d, Cache(Path(d) / "c.sqlite") as cache:
        run_calls(specs, cache)
        t0 = time.perf_counter()
        stats = run_calls(specs, cache)
        per_skip = (time.perf_counter() - t0) / n
        assert stats.cached == n and stats.requests == 0
        keys = [s.key for s in specs[:2000]]
        t0 = time.perf_counter()
        for k in keys:
            cache.get(k)
        per_get = (time.perf_counter() - t0) / len(keys)
    return per_skip, per_get


def run_benchmark(calls: int = 2000, concurrency: Iterable[int] = (1, 8, 64), hit_calls: int = 20000) -> list[str]:
    lines = [f"cpus: {os.cpu_count()}, calls per level: {calls}"]
    proc, url = _start_server_process()
    try:
        for c in concurrency:
            raw = measure_raw(url, calls, c)
            pipe = measure(url, calls, c)
            lines.append(
                f"concurrency {c:3d}: raw {raw:7.0f} calls/s, pipeline {pipe:7.0f} calls/s, "
                f"overhead {1e6 * (1 / pipe - 1 / raw):6.0f} us/call"
            )
        skip, get = cache_hit_cost(url, hit_calls)
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    lines.append(f"cache hit: {skip * 1e6:.1f} us per skipped call in a run, {get * 1e6:.1f} us per keyed lookup")
    return lines


def run(quick: bool = False) -> list[dict]:
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


if __name__ == "__main__":
    for line in run_benchmark():
        print(line)
