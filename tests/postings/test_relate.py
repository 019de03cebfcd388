"""Regressions against independent matrix computations; seeded bootstrap; real-data paths."""
import json

import numpy as np
import pytest

from empirics.postings.errors import ConfigError, DataNotFoundError, InputError
from empirics.postings.relate import bootstrap_slopes, fit, wls


def _hc1_matrix(x, y, w):
    """Weighted least squares and its HC1 sandwich from the textbook matrix formulas."""
    X = np.column_stack([np.ones_like(x), x])
    W = np.diag(w)
    XtWX_inv = np.linalg.inv(X.T @ W @ X)
    beta = XtWX_inv @ X.T @ W @ y
    e = y - X @ beta
    meat = X.T @ np.diag(w**2 * e**2) @ X
    n = len(x)
    V = XtWX_inv @ meat @ XtWX_inv * n / (n - 2)
    return beta, np.sqrt(V[1, 1])


@pytest.mark.parametrize("weighted", [False, True])
def test_wls_matches_matrix_formulas(weighted):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, 60)
    y = 1 + 0.5 * x + rng.normal(0, 0.1 + x, 60)
    w = rng.uniform(0.5, 3, 60) if weighted else np.ones(60)
    b, a, se, se_c, r = wls(x, y, w if weighted else None)
    beta, se_m = _hc1_matrix(x, y, w)
    assert b == pytest.approx(beta[1], rel=1e-12) and a == pytest.approx(beta[0], rel=1e-12)
    assert se == pytest.approx(se_m, rel=1e-10)
    if not weighted:
        assert b == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-12)
        assert r == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-12)


def test_bootstrap_is_seeded_and_matches_a_loop():
    rng = np.random.default_rng(1)
    x, y, w = rng.uniform(size=30), rng.normal(size=30), rng.uniform(1, 2, 30)
    d1 = bootstrap_slopes(x, y, w, n_boot=50, seed=9, batch=7)
    d2 = bootstrap_slopes(x, y, w, n_boot=50, seed=9, batch=7)
    assert np.array_equal(d1, d2)
    g = np.random.default_rng(9)
    loop = []
    for s in range(0, 50, 7):
        idx = g.integers(0, 30, size=(min(7, 50 - s), 30))
        for row in idx:
            loop.append(wls(x[row], y[row], w[row])[0])
    np.testing.assert_allclose(d1, loop, rtol=1e-10)


def test_fit_ci_and_errors():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=200)
    y = 2 * x + rng.normal(0, 0.3, 200)
    f = fit(x, y, n_boot=400, seed=1)
    assert f.ci_low < 2 < f.ci_high and f.n == 200 and len(f.bootstrap_draws) == 400
    # the bootstrap spread agrees with the robust standard error
    assert np.std(f.bootstrap_draws) == pytest.approx(f.se, rel=0.15)
    with pytest.raises(InputError, match="does not vary"):
        wls(np.ones(5), np.arange(5.0))
    with pytest.raises(InputError, match="at least 3"):
        wls([1.0, 2.0], [1.0, 2.0])


def test_relate_errors(tmp_path, processed_codes, synth_codes):
    from empirics.postings.relate import run_relate

    with pytest.raises(DataNotFoundError, match="occupations.parquet"):
        run_relate(tmp_path, synth_codes["dir"] / "exposure.csv", tmp_path / "o")
    with pytest.raises(ConfigError, match="level"):
        run_relate(processed_codes.out_dir, synth_codes["dir"] / "exposure.csv", tmp_path / "o", level="tiny")
    with pytest.raises(ConfigError, match="period"):
        run_relate(processed_codes.out_dir, synth_codes["dir"] / "exposure.csv", tmp_path / "o", period="1999")
    (tmp_path / "e.csv").write_text("code,score\n2-01-01-01,0.3\n")
    with pytest.raises(InputError, match="'model'"):
        run_relate(processed_codes.out_dir, tmp_path / "e.csv", tmp_path / "o")


def test_medium_level_relation(processed_codes, synth_codes, tmp_path):
    from empirics.postings.relate import run_relate

    doc = run_relate(processed_codes.out_dir, synth_codes["dir"] / "exposure.csv", tmp_path, level="medium", n_boot=100)
    assert doc["level"] == "medium"
    # the paper's default excludes large categories 1, 7 and 8 from exposure aggregation
    assert all(not u["code"].startswith(("1", "7", "8")) for u in doc["units"])
    assert doc["moments"]["log_wage"]["weighted"]["n"] > 50


def test_real_data_paths(tmp_path):
    from empirics.aggregation.data import shared_data_dir
    from empirics.postings.relate import run_china_industries, run_us

    doc = run_china_industries(tmp_path, n_boot=200)
    f = doc["moments"]["log_wage"]["unweighted"]
    assert f["n"] == 14 and f["slope"] > 0
    assert (tmp_path / "china_industries_log_wage.png").is_file()
    if shared_data_dir(required=False) is None:
        pytest.skip("shared reference data not available")
    us = run_us(tmp_path, n_boot=100)
    m = us["moments"]["log_wage"]
    assert m["unweighted"]["n"] == 779  # 767 codes joined directly on SOC 2018 and 12 OEWS broad-group aggregates
    assert json.loads((tmp_path / "moments_us.json").read_text())["source"].startswith("US")
