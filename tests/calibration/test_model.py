"""The moment map: closed forms against quadrature, JAX derivatives against finite differences."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from calibration import model
from calibration.estimate import ModelSpec
from calibration.moments import build_moment
from simulator import solve


def _dense(b, weighted):
    i = (np.arange(200_000) + 0.5) / 200_000
    e = np.asarray(model.exposure_at(b, i))
    y = np.asarray(model.log_wage_at(b, i))
    n = np.asarray(model.employment_at(b, i)) if weighted else np.ones_like(i)
    return i, e, y, n


@pytest.mark.parametrize("eta", [0.3, 1.0, 1.7])
@pytest.mark.parametrize("weighted", [True, False])
def test_closed_forms_match_quadrature(base, eta, weighted):
    econ, tech = base
    b = model.Benchmark(econ.replace(eta=eta), tech)
    i, e, y, n = _dense(b, weighted)
    xm, ym = (n * e).sum() / n.sum(), (n * y).sum() / n.sum()
    slope = (n * (e - xm) * (y - ym)).sum() / (n * (e - xm) ** 2).sum()
    assert float(model.wage_exposure_slope(b, weighted)) == pytest.approx(slope, rel=2e-5)
    for c in (0.0, 0.1, 0.3):
        share = (n * (e > c)).sum() / n.sum()
        assert float(model.exposed_share(b, c, weighted)) == pytest.approx(share, abs=2e-5)
    assert float(model.skill_premium(b)) == pytest.approx(np.log(float(solve(b.economy).premium)), abs=1e-12)


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_jax_derivatives_match_finite_differences(base):
    """The benchmark moments (closed forms) against central differences, in five parameters at once."""
    econ, tech = base
    names = ("eta", "A_H", "H", "llm.F", "llm.A_bar")
    x0 = np.array([0.8, 1.5, 0.6, 1.0, 3.0])
    ms = (build_moment("wage_exposure_slope"), build_moment("wage_exposure_slope", weighted=False), build_moment("exposed_share", cutoff=0.2),
          build_moment("skill_premium", value=0.0, se=1.0))
    spec = ModelSpec(econ, tech, names, ms)
    f = jax.jit(spec.moment_fn)
    J = np.asarray(jax.jit(jax.jacfwd(spec.moment_fn))(jnp.asarray(x0)))
    h = 1e-6
    for k in range(len(names)):
        dx = np.zeros_like(x0)
        dx[k] = h
        fd = (np.asarray(f(jnp.asarray(x0 + dx))) - np.asarray(f(jnp.asarray(x0 - dx)))) / (2 * h)
        np.testing.assert_allclose(J[:, k], fd, rtol=1e-5, atol=1e-7, err_msg=names[k])
    Jr = np.asarray(jax.jit(jax.jacrev(spec.moment_fn))(jnp.asarray(x0)))
    np.testing.assert_allclose(Jr, J, rtol=1e-9, atol=1e-12)


def test_implicit_derivative_of_post_llm_wages(base):
    """The post-LLM log wages equal the engine's, and their IFT tangents match finite differences."""
    econ, tech = base

    def z(p):
        return model.post_llm_log_wages(econ.replace(eta=p[0]), tech.replace(F=p[1]))

    jvp = jax.jit(lambda p, v: jax.jvp(z, (p,), (v,)))
    p0 = np.array([1.0, 1.0])
    value, _ = jvp(jnp.asarray(p0), jnp.zeros(2))
    eq = solve(econ, [tech])
    assert float(value[0]) == pytest.approx(np.log(float(eq.W_L)), abs=1e-10)
    assert float(value[1]) == pytest.approx(np.log(float(eq.premium)), abs=1e-10)
    h = 1e-6
    for k in range(2):
        v = np.eye(2)[k]
        _, tangent = jvp(jnp.asarray(p0), jnp.asarray(v))
        fd = (np.asarray(jvp(jnp.asarray(p0 + h * v), jnp.zeros(2))[0]) - np.asarray(jvp(jnp.asarray(p0 - h * v), jnp.zeros(2))[0])) / (2 * h)
        np.testing.assert_allclose(np.asarray(tangent), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.skipif(not os.environ.get("LLM_LABOR_SLOW"), reason="slow (compiles the solver under JVP): set LLM_LABOR_SLOW=1")
def test_growth_slope_derivative_slow(base):
    """The post-LLM moment: JAX derivative (implicit through [M4]-[M5]) against finite differences."""
    econ, tech = base

    def g(p):
        return model.employment_growth_slope(model.Benchmark(econ.replace(eta=p[0]), tech.replace(F=p[1])))

    jvp = jax.jit(lambda p, v: jax.jvp(g, (p,), (v,)))
    p0, h = np.array([1.0, 1.0]), 1e-6
    for k in range(2):
        v = np.eye(2)[k]
        _, tangent = jvp(jnp.asarray(p0), jnp.asarray(v))
        fd = (float(jvp(jnp.asarray(p0 + h * v), jnp.zeros(2))[0]) - float(jvp(jnp.asarray(p0 - h * v), jnp.zeros(2))[0])) / (2 * h)
        assert float(tangent) == pytest.approx(fd, rel=1e-5, abs=1e-7)
