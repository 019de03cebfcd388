"""Estimation: exact identification, recovery, coverage of the CIs, identification diagnostics."""
import numpy as np
import pytest

from calibration.data import _wls, data_moments
from calibration.estimate import Estimator, ModelSpec, diagnose_profile
from calibration.moments import build_moment
from calibration.simulate import moments_document, simulate_units

ETA0 = 1.0
LOWER, UPPER = np.array([0.05]), np.array([2.2])


@pytest.fixture(scope="module")
def slope_estimator(base):
    econ, tech = base
    spec = ModelSpec(econ.replace(eta=ETA0), tech, ("eta",), (build_moment("wage_exposure_slope"),))
    return spec, Estimator(spec, np.array([1.0]), np.array([[0.01]]), LOWER, UPPER)


def test_exact_identification_fits_the_moment(slope_estimator):
    spec, est = slope_estimator
    for target in (0.7, 0.9016, 1.3):
        est.set_data(np.array([target]), np.array([[0.02]]))
        r = est.estimate(np.array([1.0]))
        assert abs(r.model_moments[0] - target) < 1e-10
        assert r.converged and not any(r.at_bound)


def test_recovers_eta_from_model_data(base, slope_estimator):
    econ, tech = base
    rng = np.random.default_rng(7)
    units = simulate_units(econ.replace(eta=ETA0), tech, 20_000, 0.1, rng)
    doc = moments_document(units)
    m = (build_moment("wage_exposure_slope"),)
    dm = data_moments(list(m), doc, draws=200, rng=rng)
    _, est = slope_estimator
    est.set_data(dm.values, dm.covariance)
    r = est.estimate(np.array([0.5]))
    assert abs(r.phi[0] - ETA0) < 3 * r.se[0]
    assert r.se[0] < 0.05


def _coverage(base, est, n_data, n_units, sigma, boot, seed):
    """Share of simulated data sets whose 90% CIs (delta and, if boot, percentile bootstrap) cover η₀."""
    from scipy.stats import norm

    econ, tech = base
    rng = np.random.default_rng(seed)
    est.set_data(np.array([1.0]), np.array([[1.0]]))
    d, se, draws = [], [], []
    for _ in range(n_data):
        u = simulate_units(econ.replace(eta=ETA0), tech, n_units, sigma, rng)
        b, s = _wls(u["exposure"], u["mean_log_wage"], u["vacancies"])
        d.append(b)
        se.append(s)
        if boot:
            idx = rng.integers(0, n_units, size=(boot, n_units))
            x, y, w = u["exposure"][idx], u["mean_log_wage"][idx], u["vacancies"][idx]
            W = w.sum(1, keepdims=True)
            dx = x - (w * x).sum(1, keepdims=True) / W
            dy = y - (w * y).sum(1, keepdims=True) / W
            draws.append((w * dx * dy).sum(1) / (w * dx * dx).sum(1))
    d, se = np.array(d), np.array(se)
    starts = np.full((n_data, 1), ETA0)
    phi, q, _ = est.fit_many(starts, d[:, None])
    G = np.array([est.delta_covariance(p)[1][0, 0] for p in phi])
    z = norm.ppf(0.95)
    sd = se / np.abs(G)
    cover_delta = np.mean(np.abs(phi[:, 0] - ETA0) <= z * sd)
    cover_boot = None
    if boot:
        draws = np.concatenate(draws)[:, None]
        pb, _, _ = est.fit_many(np.repeat(phi, boot, axis=0), draws)
        pb = pb[:, 0].reshape(n_data, boot)
        lo, hi = np.quantile(pb, [0.05, 0.95], axis=1)
        cover_boot = np.mean((lo <= ETA0) & (ETA0 <= hi))
    return cover_delta, cover_boot


def test_coverage_of_90pct_intervals(base, slope_estimator):
    """100 data sets of 300 occupations: both 90% CIs cover η₀ in 90% ± 3 binomial sd of cases."""
    n = 100
    cover_delta, cover_boot = _coverage(base, slope_estimator[1], n, 300, 0.3, 199, seed=11)
    margin = 3 * np.sqrt(0.9 * 0.1 / n)
    assert abs(cover_delta - 0.9) <= margin, cover_delta
    assert abs(cover_boot - 0.9) <= margin, cover_boot


def test_flat_profile_is_flagged(base, slope_estimator):
    """G does not enter the model when the parameter term of the scaling law is off (b = 0)."""
    econ, tech = base
    tech0 = tech.replace(b=0.0)
    m = (build_moment("wage_exposure_slope"),)
    spec = ModelSpec(econ, tech0, ("llm.G",), m)
    value = float(np.asarray(spec.moment_fn(np.array([1e10])))[0])
    est = Estimator(spec, np.array([value + 0.05]), np.array([[0.01]]), np.array([1e8]), np.array([1e12]))
    r = est.estimate(np.array([1e10]))
    (grid, q), = est.profile(r.phi, 41, log_scale=[True])
    diag = diagnose_profile(grid, q, 2.706)
    assert diag["flat"] and diag["warnings"]
    # the identified case is not flagged
    est = slope_estimator[1]
    est.set_data(np.array([0.9]), np.array([[0.15 ** 2]]))
    r = est.estimate(np.array([1.0]))
    (grid, q), = est.profile(r.phi, 61)
    diag = diagnose_profile(grid, q, 2.706)
    assert not diag["flat"] and not diag["several_minima"]
    assert len(diag["minima"]) == 1 and abs(diag["minima"][0]["value"] - r.phi[0]) < grid[1] - grid[0]


def test_several_minima_are_flagged():
    grid = np.linspace(-2, 2, 81)
    q = 10 * (grid**2 - 1) ** 2
    d = diagnose_profile(grid, q, 2.706)
    assert d["several_minima"] and len(d["minima"]) == 2
    assert not diagnose_profile(grid, 10 * grid**2, 2.706)["several_minima"]
