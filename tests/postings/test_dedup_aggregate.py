"""Deduplication and aggregation on hand-worked examples, and DuckDB against plain pandas."""
import math

import numpy as np
import pandas as pd
import pytest

from benchmarks.references import postings as reference
from empirics.postings.process import ProcessConfig, aggregate_cells, process
from empirics.postings.schema import default_rules

A = "2-02-10-03"  # fine codes in two small categories of one medium category
B = "2-02-10-04"
C = "4-01-02-01"


def _rows():
    r = []

    def add(pid, date, firm, code, rec=1, wmin=None, wmax=None, x=None, edu=None):
        r.append(dict(posting_id=pid, posting_date=date, firm=firm, title="t", occupation_code=code, n_recruits=rec,
                      wage_min=wmin, wage_max=wmax, wage_unit="month" if wmin is not None else None,
                      experience_min_years=x, education=edu))

    # firm F, occupation A: Jan 1 head; Jan 20 dup (19 d); Feb 25 head (36 d after Jan 20); Mar 10 dup (13 d)
    add("1", "2018-01-01", "F", A, 2, 4000, 6000, 0, "本科")
    add("2", "2018-01-20", "F", A, 5, 9000, 9000, 9, "硕士")
    add("3", "2018-02-25", "F", A, 1, 7000, 9000, 2, "本科")
    add("4", "2018-03-10", "F", A, 7)
    # same firm, other occupation: not a duplicate of the above
    add("5", "2018-01-05", "F", B, 3, 10000, 10000, 4, "大专")
    # exactly 30 days later is a duplicate, 31 days is not
    add("6", "2018-06-01", "G", B, 1)
    add("7", "2018-07-01", "G", B, 1)
    add("8", "2018-08-01", "G", B, 4, 6000, 6000, 1)
    # no firm: never a duplicate
    add("9", "2018-06-01", None, C, 2)
    add("10", "2018-06-02", None, C, 2)
    # another year
    add("11", "2021-03-01", "H", C, 6, 3000, 5000, 0, "高中")
    return pd.DataFrame(r)


@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    d = tmp_path_factory.mktemp("worked")
    _rows().to_parquet(d / "p.parquet")
    return process(d / "p.parquet", d / "out", ProcessConfig(match_titles=False))


def test_dedup_by_hand(worked):
    r = worked.report
    # heads: 1, 3, 5, 6, 8, 9, 10, 11 -> 8 of 11 valid rows
    assert r["valid_rows"] == 11 and r["heads"] == 8 and r["duplicates"] == 3
    assert r["duplicate_rate"] == pytest.approx(3 / 11)
    assert r["rows_without_firm"] == 2


def test_vacancies_wages_premium_by_hand(worked):
    occ = worked.occupations.set_index(["level", "code", "period"])
    a = occ.loc[("fine", A, "2018")]
    assert a["n_postings"] == 2 and a["vacancies"] == 3  # heads 1 (2 recruits) and 3 (1 recruit)
    assert a["mean_wage"] == pytest.approx(6500.0)  # midpoints 5000 and 8000
    assert a["median_wage"] == pytest.approx(6500.0)
    assert a["mean_log_wage"] == pytest.approx((math.log(5000) + math.log(8000)) / 2)
    # two points (x=0, 5000) and (x=2, 8000): slope = log(8000/5000)/2, no standard error with n=2
    assert a["experience_premium"] != a["experience_premium"]  # NaN: fewer than 3 points
    # medium 2-02: heads 1, 3 (A) and 5, 6, 8 (B) in 2018
    m = occ.loc[("medium", "2-02", "2018")]
    assert m["n_postings"] == 5 and m["vacancies"] == 3 + 3 + 1 + 4
    x = np.array([0, 2, 4, 1.0])
    y = np.log([5000, 8000, 10000, 6000])
    b, a0 = np.polyfit(x, y, 1)
    assert m["experience_premium"] == pytest.approx(b, rel=1e-12)
    resid = y - (a0 + b * x)
    se = math.sqrt((resid**2).sum() / 2 / ((x - x.mean()) ** 2).sum())
    assert m["experience_premium_se"] == pytest.approx(se, rel=1e-10)
    assert m["median_wage"] == pytest.approx(np.median([5000, 8000, 10000, 6000]))
    # shares within 2018: total recruits of heads = 3 + 3 + 1 + 4 + 2 + 2 = 15
    assert m["vacancy_share"] == pytest.approx(11 / 15)
    assert occ.loc[("large", "4", "2018"), "vacancy_share"] == pytest.approx(4 / 15)
    # education mix of medium 2-02 in 2018: bachelor (1, 3), college (5), missing (6, 8)
    assert m["edu_bachelor"] == pytest.approx(2 / 5) and m["edu_college"] == pytest.approx(1 / 5)
    assert m["edu_missing"] == pytest.approx(2 / 5)


def test_growth_by_hand(worked):
    g = worked.growth.set_index(["level", "code"])
    # large 4: 2017-2019 share 4/15; 2020-2022 share 1 (only head 11, 6 recruits)
    assert g.loc[("large", "4"), "share_early"] == pytest.approx(4 / 15)
    assert g.loc[("large", "4"), "growth"] == pytest.approx(1 / (4 / 15) - 1)
    assert g.loc[("large", "2"), "share_late"] == 0.0
    assert np.isnan(g.loc[("large", "2"), "log_growth"])


def test_aggregate_cells_hand_example():
    cfg = ProcessConfig(periods=(("all", 2017, 2022),), growth=("all", "all"))
    cells = pd.DataFrame({"code": [A, B], "year": [2017, 2018], "n_postings": [1, 3], "vacancies": [2, 6],
                          "n_recruits_imputed": [0, 0], "n_wage": [1, 3], "s_w": [100.0, 600.0], "s_y": [0.0, 3.0],
                          "s_yy": [0.0, 3.0], "n_xy": [0, 3], "s_x": [0.0, 3.0], "s_xx": [0.0, 5.0], "s_xy": [0.0, 4.0],
                          "s_y_x": [0.0, 3.0], "s_yy_x": [0.0, 3.5], **{f"edu_{k}": [0, 0] for k in
                          ("none", "junior_high", "senior_high", "college", "bachelor", "master", "doctor", "other")},
                          "edu_missing": [1, 3]})
    occ, growth, outside = aggregate_cells(cells, cfg)
    m = occ[(occ["level"] == "medium")].iloc[0]
    assert m["vacancies"] == 8 and m["vacancy_share"] == 1.0 and m["mean_wage"] == pytest.approx(175.0)
    # Sxx = 5 - 9/3 = 2, Sxy = 4 - 3*3/3 = 1 -> slope 0.5; Syy = 3.5 - 3 = 0.5; SSR = 0.5 - 0.5 = 0 -> se 0
    assert m["experience_premium"] == pytest.approx(0.5) and m["experience_premium_se"] == pytest.approx(0.0, abs=1e-12)
    assert outside == 0


def test_duckdb_matches_pandas_reference(synth_codes, processed_codes):
    cfg = ProcessConfig(match_titles=False)
    parsed, heads, occ, growth = reference.run(synth_codes["dir"] / "postings", default_rules(), cfg)
    assert int(parsed["reason"].notna().sum()) == processed_codes.report["quarantined"]
    assert len(heads) == processed_codes.report["heads"]
    a = processed_codes.occupations.set_index(["level", "code", "period"]).sort_index()
    b = occ.set_index(["level", "code", "period"]).sort_index()
    assert a.index.equals(b.index)
    for c in a.columns:
        if pd.api.types.is_integer_dtype(a[c]):
            assert (a[c] == b[c]).all(), c
        else:
            # the premium's se is sqrt(SSR / ...), SSR = Syy - b Sxy from sums: where the fit is nearly
            # perfect SSR is a difference of rounding errors and its square root is only good to ~sqrt(eps)
            atol = 1e-7 if c == "experience_premium_se" else 1e-12
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-9, atol=atol, err_msg=c)
    pd.testing.assert_frame_equal(
        processed_codes.growth.sort_values(["level", "code"]).reset_index(drop=True),
        growth.sort_values(["level", "code"]).reset_index(drop=True), rtol=1e-9)


def test_medians_split_by_period_equal_one_query_per_level(synth_codes, processed_codes, tmp_path, monkeypatch):
    """Inputs too large for the in-memory medians go through DuckDB's median; above its memory
    threshold one (level, period) at a time: the same values as the in-memory medians."""
    import empirics.postings.process as proc

    monkeypatch.setattr(proc, "_GROUPED_MEDIAN_BYTES_PER_VALUE", 10**12)
    monkeypatch.setattr(proc, "_MEDIAN_BYTES_PER_VALUE", 10**12)
    res = proc.process(synth_codes["dir"] / "postings", tmp_path / "o", ProcessConfig(match_titles=False, threads=2))
    a = res.occupations.set_index(["level", "code", "period"]).sort_index()
    b = processed_codes.occupations.set_index(["level", "code", "period"]).sort_index()
    assert a.index.equals(b.index)
    np.testing.assert_array_equal(a["median_wage"].to_numpy(), b["median_wage"].to_numpy())
