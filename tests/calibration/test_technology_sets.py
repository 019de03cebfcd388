"""Calibration with several technologies: a technology that is never adopted changes nothing, and the
moments of two LLMs (and of traditional AI with an LLM) equal a fine-grid integral of their definitions."""
import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from calibration import model
from calibration.config import parse_config
from calibration.errors import CalibrationError
from calibration.estimate import Estimator, ModelSpec
from calibration.moments import build_moment
from simulator import TraditionalAI, solve

MOMENTS = (build_moment("wage_exposure_slope"), build_moment("wage_exposure_slope", weighted=False), build_moment("exposed_share", cutoff=0.0),
           build_moment("exposed_share", cutoff=0.3, weighted=False), build_moment("skill_premium", value=0.0, se=1.0),
           build_moment("employment_growth_slope"))


#: A case that repeats a faster one's coverage at more compile time: run with LLM_LABOR_SLOW=1.
SLOW = pytest.mark.skipif(not os.environ.get("LLM_LABOR_SLOW"), reason="slow (repeats a faster case): set LLM_LABOR_SLOW=1")


def _never_adopted(tech, kind):
    if kind == "llm":
        return dataclasses.replace(tech, name="dear", F=1e6, I_lo=0.1, I_hi=0.7)
    return TraditionalAI(name="dear", A_bar=1.0, mu=3.0, F=1e6)


@pytest.mark.parametrize("kind", [pytest.param("llm", marks=SLOW), "traditional"])
def test_a_technology_that_is_never_adopted_changes_nothing(base, kind):
    econ, tech = base
    names = ("eta", "llm.F")
    one = ModelSpec(econ, tech, names, MOMENTS)
    two = ModelSpec(econ, (tech, _never_adopted(tech, kind)), names, MOMENTS)
    for phi in ([1.0, 1.0], [0.7, 0.6], [1.4, 1.5]):
        m1, m2 = (np.asarray(jax.jit(s.moment_fn)(jnp.asarray(phi))) for s in (one, two))
        assert np.all(np.isfinite(m1))
        np.testing.assert_allclose(m2, m1, rtol=1e-12, atol=1e-13)
    # the estimate: exactly identified from moments generated at a known point (the growth slope as a
    # target compiles the general route into the optimiser: minutes, so with LLM_LABOR_SLOW=1)
    targets = (MOMENTS[0], MOMENTS[5] if os.environ.get("LLM_LABOR_SLOW") else MOMENTS[4])
    one, two = (ModelSpec(econ, t, names, targets) for t in (tech, (tech, _never_adopted(tech, kind))))
    truth = np.array([0.9, 0.8])
    data = np.asarray(jax.jit(one.moment_fn)(jnp.asarray(truth)))
    fits = [Estimator(s, data, np.diag([0.01, 0.01]), [0.3, 0.3], [2.0, 2.0]).fit(np.array([1.1, 1.1]))[0] for s in (one, two)]
    np.testing.assert_allclose(fits[0], truth, rtol=1e-8)
    np.testing.assert_allclose(fits[1], fits[0], rtol=1e-12, atol=1e-12)


def _dense_moments(economy, techs, weighted, cutoff, n=400_000):
    """Moments from their definitions on a fine midpoint grid: exposure from the costs, growth from the
    engine's solution (the general route through the public solve)."""
    i = (np.arange(n) + 0.5) / n
    bench = solve(economy)
    W_L, W_H = float(bench.W_L), float(bench.W_H)
    eta = float(economy.eta)
    c_L, c_H = W_L / (float(economy.A_L) * (1 - i) ** eta), W_H / (float(economy.A_H) * i**eta)
    p0 = np.minimum(c_L, c_H)
    I = float(bench.boundaries[1])
    cost = np.full_like(i, np.inf)
    for t in techs:
        if isinstance(t, TraditionalAI):
            c = float(t.F) / (float(t.A_bar) * (1 - i) ** float(t.mu))
        else:
            D = float(t.C) + float(t.a) / float(t.N_bar) ** float(t.alpha) + float(t.b) / float(t.G) ** float(t.beta)
            kappa = float(t.F) / (float(t.A_bar) * (1 - D) ** eta) if D < 1 else np.inf
            c = np.where((i >= float(t.I_lo)) & (i <= float(t.I_hi)), kappa, np.inf)
        cost = np.minimum(cost, c)
    e = np.maximum(0.0, 1 - cost / p0)
    y = np.where(i < I, np.log(W_L), np.log(W_H))
    w = np.where(i < I, float(economy.L) / I, float(economy.H) / (1 - I)) if weighted else np.ones_like(i)

    def slope(v):
        xm, vm = (w * e).sum() / w.sum(), (w * v).sum() / w.sum()
        return (w * (e - xm) * (v - vm)).sum() / (w * (e - xm) ** 2).sum()

    post = solve(economy, list(techs), method="discretized")
    assert int(post.status) in (0, 5)  # ok, or ill_conditioned (the grid's O(h²) error above 1e-8; values kept)
    shares = np.asarray(post.shares)
    b, f = np.asarray(post.boundaries), np.asarray(post.factors)
    seg = np.clip(np.searchsorted(b, i, side="right") - 1, 0, f.size - 1)
    who = f[seg]
    n_post = np.where(who == 0, float(economy.L) / shares[0], np.where(who == 1, float(economy.H) / shares[1], 0.0))
    n_pre = np.where(i < I, float(economy.L) / I, float(economy.H) / (1 - I))
    return slope(y), (w * (e > cutoff)).sum() / w.sum(), slope(n_post / n_pre - 1)


SETS = {
    "two LLMs": lambda tech: (dataclasses.replace(tech, I_lo=0.3, I_hi=0.8, F=1.2),
                              dataclasses.replace(tech, name="llm2", I_lo=0.55, I_hi=0.97, G=3e10, F=1.0)),
    "two LLMs, one in L's region": lambda tech: (dataclasses.replace(tech, I_lo=0.05, I_hi=0.5, G=1e11, N_bar=1e12),
                                                 dataclasses.replace(tech, name="llm2", I_lo=0.6, I_hi=0.95)),
    "traditional AI and an LLM": lambda tech: (tech, TraditionalAI(name="ai", A_bar=2.0, mu=2.5, F=0.9)),
}


@pytest.mark.parametrize("which", list(SETS))
@pytest.mark.parametrize("weighted", [True, False])
def test_moments_of_a_set_equal_a_fine_grid_integral(base, which, weighted):
    econ, tech = base
    techs = SETS[which](tech)
    b = model.Benchmark(econ, techs)
    cutoff = 0.2
    got = [float(model.wage_exposure_slope(b, weighted)), float(model.exposed_share(b, cutoff, weighted)),
           float(model.employment_growth_slope(b, weighted))]
    want = _dense_moments(econ, techs, weighted, cutoff)
    np.testing.assert_allclose(got[:2], want[:2], rtol=1e-5, atol=1e-5)
    # the growth slope also carries the general route's O(h²) switch points
    np.testing.assert_allclose(got[2], want[2], rtol=1e-3, atol=1e-4)
    # and exposure is positive somewhere for both technologies, so that the set is tested
    i = np.linspace(0.001, 0.999, 2001)
    for t in techs:
        assert np.max(np.asarray(model.exposure_at(model.Benchmark(econ, t), i))) > 0


@pytest.mark.parametrize("which", [pytest.param("two LLMs", marks=SLOW), "traditional AI and an LLM"])
def test_derivatives_of_a_set_match_finite_differences(base, which):
    econ, tech = base
    techs = SETS[which](tech)
    names = ("eta", "A_H", f"{techs[1].name}.F")
    spec = ModelSpec(econ, techs, names, MOMENTS)
    x0 = np.array([1.0, 1.5, float(techs[1].F)])
    f = jax.jit(spec.moment_fn)
    J = np.asarray(jax.jit(jax.jacfwd(spec.moment_fn))(jnp.asarray(x0)))
    h = 1e-5
    for k in range(len(names)):
        dx = np.zeros_like(x0)
        dx[k] = h
        fd = (np.asarray(f(jnp.asarray(x0 + dx))) - np.asarray(f(jnp.asarray(x0 - dx)))) / (2 * h)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-4, atol=1e-6, err_msg=names[k])


CONFIG = """name: t
data_label: test
scenario: {scenario}
technologies: {technologies}
parameters:
  eta: {{start: 1.0, lower: 0.1, upper: 2.0}}
moments:
  - {{kind: skill_premium, value: 0.4, se: 0.1}}
"""

SCENARIO = """name: s
economy: {eta: 1.0, A_L: 1.0, A_H: 1.5, L: 1.0, H: 0.6}
technologies:
  - {kind: llm, name: llm, A_bar: 3.0, F: 1.0, C: 0.0, a: 410.7, alpha: 0.28, b: 406.4, beta: 0.34, G: 1.0e+10, N_bar: 1.0e+11,
     I_lo: 0.6, I_hi: 0.95}
  - {kind: traditional, name: ai, A_bar: 2.0, mu: 2.5, F: 0.9}
"""


def test_config_technologies_as_a_name_or_a_list(tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    one = parse_config(CONFIG.format(scenario="s.yaml", technologies="llm"), source="c.yaml", base=tmp_path)
    assert [t.name for t in one.technologies] == ["llm"]
    both = parse_config(CONFIG.format(scenario="s.yaml", technologies="[ai, llm]"), source="c.yaml", base=tmp_path)
    assert [t.name for t in both.technologies] == ["ai", "llm"]
    every = parse_config(CONFIG.format(scenario="s.yaml", technologies="[llm, ai]").replace("technologies: [llm, ai]\n", ""),
                         source="c.yaml", base=tmp_path)
    assert [t.name for t in every.technologies] == ["llm", "ai"]
    with pytest.raises(CalibrationError) as err:
        parse_config(CONFIG.format(scenario="s.yaml", technologies="[llm, gpt]"), source="c.yaml", base=tmp_path)
    assert (err.value.file, err.value.line, err.value.key) == ("c.yaml", 4, "technologies.1") and "gpt" in str(err.value)
    with pytest.raises(CalibrationError) as err:
        parse_config(CONFIG.format(scenario="s.yaml", technologies="[llm, llm]"), source="c.yaml", base=tmp_path)
    assert "listed twice" in str(err.value)
