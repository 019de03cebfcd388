"""The pipeline recovers the known truth of the synthetic data, within sampling error derived from
the data-generating process."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats


def test_rows_add_up_and_junk_is_quarantined_by_class(synth_codes, processed_codes, truth_json):
    r = processed_codes.report
    assert r["rows_read"] == truth_json["rows"] == synth_codes["cfg"].rows
    assert r["valid_rows"] + r["quarantined"] == r["rows_read"]
    expected = {k: v for k, v in truth_json["junk_by_reason"].items()}
    got = {k: v for k, v in r["quarantine_by_reason"].items() if v}
    assert got == {k: v for k, v in expected.items() if v}
    q = pd.read_parquet(processed_codes.files["quarantine"])
    assert len(q) == r["quarantined"] and q["reason"].notna().all()


def test_duplicates_recovered_exactly(processed_codes, truth_json):
    r = processed_codes.report
    assert r["duplicates"] == truth_json["duplicates"]
    assert r["heads"] == truth_json["originals"]
    assert r["duplicate_rate"] == pytest.approx(truth_json["duplicate_rate"], abs=1e-15)


def test_vacancies_per_occupation_and_year_exact(synth_codes, processed_codes):
    cells = pd.read_csv(synth_codes["dir"] / "truth_cells.csv", dtype={"code": str})
    occ = processed_codes.occupations
    fine = occ[(occ["level"] == "fine") & occ["period"].str.fullmatch(r"\d{4}")]
    got = fine.assign(year=fine["period"].astype(int)).set_index(["code", "year"])[["n_postings", "vacancies"]]
    want = cells.set_index(["code", "year"]).rename(columns={"clusters": "n_postings", "recruits": "vacancies"})
    got = got[got["n_postings"] > 0].sort_index()
    pd.testing.assert_frame_equal(got, want.sort_index()[["n_postings", "vacancies"]], check_dtype=False)


def _medium_share_chi2(occ, truth_occ, truth_json, period):
    """Pearson statistic of estimated medium-category vacancy shares against the DGP's expected shares."""
    t = truth_occ.assign(medium=truth_occ["code"].str[:4]).groupby("medium")[f"share_{period}"].sum()
    est = occ[(occ["level"] == "medium") & (occ["period"] == period)].set_index("code")
    k = est["n_postings"].sum()
    s = est["vacancy_share"].reindex(t.index).fillna(0.0)
    # recruits are iid across clusters: var(share) = (E r^2 / (E r)^2) s (1 - s) / K
    p_miss = 0.05
    lam = 1.2
    er = (1 - p_miss) * (1 + lam) + p_miss
    er2 = (1 - p_miss) * (lam + (1 + lam) ** 2) + p_miss
    var = er2 / er**2 * t * (1 - t) / k
    z2 = ((s - t) ** 2 / var)[t > 0]
    return float(z2.sum()), int((t > 0).sum()) - 1


@pytest.mark.parametrize("period", ["2017-2022", "2017-2019", "2020-2022"])
def test_vacancy_shares_within_sampling_error(processed_codes, truth_occ, truth_json, period):
    stat, df = _medium_share_chi2(processed_codes.occupations, truth_occ, truth_json, period)
    assert stats.chi2.ppf(0.0005, df) < stat < stats.chi2.ppf(0.9995, df), (stat, df)


def _fine(occ, period="2017-2022"):
    return occ[(occ["level"] == "fine") & (occ["period"] == period)].set_index("code")


def test_wage_exposure_slope_recovered(processed_codes, truth_occ, synth_codes):
    cfg = synth_codes["cfg"]
    est = _fine(processed_codes.occupations)
    t = truth_occ.set_index("code").drop(columns="mean_log_wage").join(est[["mean_log_wage", "n_wage"]], how="inner")
    t = t[t["n_wage"] > 0]
    e = t["exposure"].to_numpy()
    dx = e - e.mean()
    sxx = (dx**2).sum()
    b_hat = (dx * t["mean_log_wage"]).sum() / sxx
    # realised slope: same occupations, the DGP's expected mean log wage alpha + slope e + u
    b_real = (dx * (cfg.alpha + cfg.wage_slope * e + t["u"].to_numpy())).sum() / sxx
    # posting-level noise of each occupation mean: (sigma_post^2 + premium^2 var(x)) / n
    xv = np.asarray(cfg.experience_values)
    px = np.asarray(cfg.experience_probs)
    var_x = (px * (xv - (px * xv).sum()) ** 2).sum()
    v = (cfg.sigma_post**2 + t["premium"].to_numpy() ** 2 * var_x) / t["n_wage"].to_numpy()
    sd_post = np.sqrt((dx**2 * v).sum()) / sxx
    assert abs(b_hat - b_real) < 4 * sd_post, (b_hat, b_real, sd_post)
    sd_pop = np.sqrt(sd_post**2 + cfg.sigma_occ**2 / sxx)
    assert abs(b_hat - cfg.wage_slope) < 4 * sd_pop, (b_hat, cfg.wage_slope, sd_pop)


def test_experience_premiums_within_sampling_error(processed_codes, truth_occ, synth_codes):
    cfg = synth_codes["cfg"]
    est = _fine(processed_codes.occupations)
    t = truth_occ.set_index("code").join(est[["experience_premium", "experience_sxx", "n_premium"]], how="inner")
    t = t[(t["n_premium"] >= 10) & (t["experience_sxx"] > 0)]
    assert len(t) > 500
    z = (t["experience_premium"] - t["premium"]) / (cfg.sigma_post / np.sqrt(t["experience_sxx"]))
    df = len(z)
    stat = float((z**2).sum())
    assert stats.chi2.ppf(0.0005, df) < stat < stats.chi2.ppf(0.9995, df), (stat, df)
    # and the slope of premiums on exposure against the realised one, same occupations
    e = t["exposure"].to_numpy()
    dx = e - e.mean()
    sxx = (dx**2).sum()
    v = cfg.sigma_post**2 / t["experience_sxx"].to_numpy()
    b_hat = (dx * t["experience_premium"]).sum() / sxx
    b_real = (dx * t["premium"]).sum() / sxx
    assert abs(b_hat - b_real) < 4 * np.sqrt((dx**2 * v).sum()) / sxx


def test_relate_recovers_wage_slope_and_writes_moments(processed_codes, synth_codes, tmp_path):
    import json

    from empirics.postings.relate import run_relate

    doc = run_relate(processed_codes.out_dir, synth_codes["dir"] / "exposure.csv", tmp_path, level="fine", n_boot=200, seed=3)
    m = doc["moments"]["log_wage"]
    cfg = synth_codes["cfg"]
    for k in ("unweighted", "weighted"):
        f = m[k]
        assert len(f["bootstrap_draws"]) == 200 and f["n"] > 1000
        assert f["ci_low"] < f["slope"] < f["ci_high"]
        # the DGP slope is inside a 4-se band of the robust se (se reflects sigma_occ and posting noise)
        assert abs(f["slope"] - cfg.wage_slope) < 4 * f["se"], (k, f["slope"], f["se"])
    on_disk = json.loads((tmp_path / "moments.json").read_text())
    assert on_disk["format"] == "llm-labor/moments" and on_disk["version"] == 1
    assert on_disk["exposure_measure"] == "synthetic"
    assert on_disk["provenance"]["package_version"] and on_disk["provenance"]["git_commit"]
    assert sum(u["mean_log_wage"] is not None for u in on_disk["units"]) == m["unweighted"]["n"]
    for name in ("log_wage", "experience_premium", "vacancy_share", "vacancy_share_growth"):
        assert (tmp_path / f"{name}.png").is_file()
