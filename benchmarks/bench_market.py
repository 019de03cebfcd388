"""Benchmark of the agent-based market: Numba kernel against the numpy/Python reference, in the same run.

An agent-update is one worker carried through one period (arrivals, the
exact recount of every cell, layoffs, a revision draw with probability 0.05
and, when drawn, a best response).  The economy is the LLM scenario at
G = 1e9 with noise (sigma 0.1) and one period out of work per move, started
at equilibrium, so both routes do the same work per period.

``run(quick)``: quick = 10^5 agents x 50 periods for both routes; otherwise
10^6 agents x 1,000 periods for the kernel, and the reference on the same
10^6 agents for a few periods, its time scaled to the same number of
agent-updates (it costs the same per period once started).

``python -m benchmarks.bench_market [--quick]`` prints the rows as JSON.
"""
from __future__ import annotations

import json
import sys
import time


def _market(workers: int, tasks: int, seed: int = 0):
    from simulator import Economy, ScalingLLM, solve
    from simulator.market.simulation import Market, MarketOptions

    economy = Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6)
    techs = (ScalingLLM(A_bar=3.0, F=1.0, a=410.7, alpha=0.28, b=406.4, beta=0.34, G=1e9, N_bar=1e11, I_lo=0.6, I_hi=0.95),)
    eq = solve(economy, techs)
    options = MarketOptions(tasks=tasks, workers=workers, revision_rate=0.05, move_cost=1, productivity_sigma=0.1,
                            init="equilibrium", seed=seed, model_entry_speed=0.5)
    return Market(economy, techs, options, equilibrium=eq)


def _row(name, work, seconds, compile_seconds, baseline, baseline_seconds, **extra):
    return {"name": name, "work": work, "seconds": seconds, "compile_seconds": compile_seconds, "baseline": baseline,
            "baseline_seconds": baseline_seconds, "ratio": baseline_seconds / seconds if seconds and baseline_seconds else None,
            **extra}


def run(quick: bool = False) -> list[dict]:
    from .references import market as reference

    workers, tasks, periods = (100_000, 200, 50) if quick else (1_000_000, 1_000, 1_000)
    base_periods = periods if quick else 3

    market = _market(workers, tasks)
    t = time.perf_counter()
    market.step()  # compiles, or loads the kernels from Numba's cache
    compile_seconds = time.perf_counter() - t
    t = time.perf_counter()
    market.run(periods)
    seconds = time.perf_counter() - t
    work = workers * periods

    ref = _market(workers, tasks)
    revisers, uniforms = ref.draws()
    reference.step(ref, revisers, uniforms)  # first period outside the timing, as for the kernel
    t = time.perf_counter()
    for _ in range(base_periods):
        revisers, uniforms = ref.draws()
        reference.step(ref, revisers, uniforms)
    base_seconds = (time.perf_counter() - t) * periods / base_periods
    label = "numpy/Python loop (benchmarks.references.market)"
    if base_periods != periods:
        label += f", {base_periods} periods timed and scaled to {periods}"
    return [_row(f"market_{workers:.0e}_agents_x_{periods}_periods".replace("+0", ""), work, seconds, compile_seconds, label,
                 base_seconds, updates_per_s=work / seconds, baseline_updates_per_s=work / base_seconds,
                 tasks=tasks, moves_last_period=int(market.moves))]


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
