"""The agent-based market: stationary states against the engine, convergence order, accounting, determinism."""
import numpy as np
import pytest

from benchmarks.references import market as reference
from simulator import Economy, ScalingLLM, TraditionalAI, solve
from simulator.market.accuracy import discretisation_bounds, errors
from simulator.market.simulation import Market, MarketOptions

ECONOMY = Economy(eta=1.0, A_L=1.0, A_H=1.5, L=1.0, H=0.6)
LLM = ScalingLLM(A_bar=3.0, F=1.0, a=410.7, alpha=0.28, b=406.4, beta=0.34, G=1e9, N_bar=1e11, I_lo=0.6, I_hi=0.95)
REGIMES = {"benchmark": (), "traditional": (TraditionalAI(A_bar=2.0, mu=2.0, F=0.6),), "llm": (LLM,)}


def stationary(economy, techs, tasks, per_cell, seed=1, init="uniform", **kw):
    eq = solve(economy, techs)
    market = Market(economy, techs, MarketOptions(tasks=tasks, workers=tasks * per_cell, revision_rate=0.3, init=init, seed=seed, **kw),
                    equilibrium=eq)
    market.run_until_stationary(3000)
    return market, eq


@pytest.mark.parametrize("regime", list(REGIMES))
def test_stationary_state_is_the_equilibrium(regime):
    techs = REGIMES[regime]
    market, eq = stationary(ECONOMY, techs, tasks=200, per_cell=100)
    assert market.moves == 0, "best response without frictions must come to rest"
    err = errors(market, eq)
    bound = discretisation_bounds(ECONOMY, techs, eq, 200, 200 * 100)
    assert err["same_ordering"], (err["segments"], eq.segments())
    assert err["switch"] <= bound["switch"], (err, bound)
    for key in ("log_W_L", "log_W_H", "log_premium", "log_Y"):
        assert err[key] <= bound["log_wage"], (key, err, bound)
    if techs:
        m = float(market.summary()["m"][0])
        assert abs(np.log(m / float(eq.m[0]))) <= bound["log_Y"] + bound["switch"] / float(eq.shares[2])


def test_error_falls_with_tasks_and_agents_at_first_order():
    """Max error over three economies (so the boundary's place inside its cell averages out) against n."""
    sizes = np.array([25, 50, 100, 200, 400])
    worst = []
    for n in sizes:
        e_n = []
        for H in (0.5, 0.6, 0.7):
            economy = ECONOMY.replace(H=H)
            market, eq = stationary(economy, (), tasks=int(n), per_cell=100, init="equilibrium")
            err = errors(market, eq)
            e_n.append([err["log_premium"], err["switch"], err["log_W_L"]])
        worst.append(np.max(e_n, axis=0))
    worst = np.array(worst)
    rates = [-np.polyfit(np.log(sizes), np.log(worst[:, j]), 1)[0] for j in range(3)]
    print(f"\nconvergence order in n (agents = 100 n): premium {rates[0]:.2f}, switch point {rates[1]:.2f}, W_L {rates[2]:.2f}")
    # first order in the cell width h = 1/n (measured about 0.75-0.8 over n = 25..400; see docs/market.md)
    assert all(r > 0.6 for r in rates), rates
    assert np.all(worst[-1] < worst[0] / 4)


def test_noise_gives_a_wage_distribution_but_the_same_aggregates():
    market, eq = stationary(ECONOMY, (LLM,), tasks=100, per_cell=100, productivity_sigma=0.3, init="equilibrium")
    wages = market.earnings()
    for s in range(2):
        w = wages[market.skill == s]
        assert np.nanstd(np.log(w)) == pytest.approx(0.3, rel=0.1)
    bound = discretisation_bounds(ECONOMY, (LLM,), eq, 100, 10_000)
    assert errors(market, eq)["log_premium"] <= bound["log_premium"]


@pytest.mark.parametrize("move_cost,choice", [(0, "best_response"), (2, "best_response"), (1, "logit")])
def test_accounting_every_period(move_cost, choice):
    market = Market(ECONOMY, (LLM,), MarketOptions(tasks=40, workers=4000, revision_rate=0.3, init="uniform", seed=5,
                                                    move_cost=move_cost, choice=choice, temperature=0.05, productivity_sigma=0.2))
    idle = []
    for _ in range(60):
        market.step()
        market.check_accounting()
        idle.append(market.out_of_work().sum())
        s = market.summary()
        assert np.all(s["unemployment"] >= 0) and np.all(s["unemployment"] <= 1)
    if move_cost:
        assert max(idle) > 0
    else:
        assert max(idle) == 0


@pytest.mark.parametrize("move_cost,choice", [(0, "best_response"), (2, "best_response"), (1, "logit")])
def test_numba_kernel_follows_the_numpy_reference(move_cost, choice):
    opts = MarketOptions(tasks=30, workers=3000, revision_rate=0.2, init="uniform", seed=3, move_cost=move_cost,
                         productivity_sigma=0.1, choice=choice, temperature=0.05)
    a, b = Market(ECONOMY, (LLM,), opts), Market(ECONOMY, (LLM,), opts)
    for _ in range(30):
        a.step()
        revisers, uniforms = b.draws()
        reference.step(b, revisers, uniforms)
        assert a.moves == b.moves
    assert np.array_equal(a.task, b.task) and np.array_equal(a.target, b.target)
    assert a.log_Y == pytest.approx(b.log_Y, abs=1e-12)
    assert np.allclose(a.M, b.M, rtol=1e-12, atol=1e-14)
