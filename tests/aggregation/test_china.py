"""China on official wages: cell exposures, slopes and their inference against hand calculations
and independent routes, the bundled NBS tables, and located errors for bad wage tables."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from empirics.aggregation import china
from empirics.aggregation.errors import InputError, UnknownCodeError


@pytest.fixture(scope="module")
def small():
    """Three medium categories in two large ones, three industries."""
    medium = pd.DataFrame({"llm": [0.6, 0.2, 0.3], "expert": [0.5, 0.4, 0.1]}, index=["2-01", "2-02", "6-01"])
    shares = pd.DataFrame({1: [0.10, 0.30, 0.60], 2: [0.00, 0.20, 0.80], 3: [0.05, 0.05, 0.00]}, index=medium.index)
    return medium, shares


def test_cell_exposure_by_hand(small):
    medium, shares = small
    ce = china.cell_exposure(medium, shares).set_index(["industry_id", "large"])
    # industry 1, category 2: (0.1 * 0.6 + 0.3 * 0.2) / 0.4 = 0.3
    assert ce.loc[(1, "2"), "llm"] == pytest.approx(0.3, abs=1e-15)
    assert ce.loc[(1, "2"), "share"] == pytest.approx(0.4, abs=1e-15)
    assert ce.loc[(1, "2"), "expert"] == pytest.approx((0.1 * 0.5 + 0.3 * 0.4) / 0.4, abs=1e-15)
    # industry 2 has no 2-01: category 2 is 2-02 alone
    assert ce.loc[(2, "2"), "llm"] == pytest.approx(0.2, abs=1e-15)
    assert ce.loc[(3, "2"), "llm"] == pytest.approx(0.4, abs=1e-15)
    # industry 3 employs nobody in category 6: no cell
    assert (3, "6") not in ce.index
    assert ce.loc[(1, "6"), "llm"] == pytest.approx(0.3, abs=1e-15)


def test_bundled_cells_match_table4_by_hand():
    """One real cell: manufacturing (section C -> industry 11), clerks (category 3), from Table 2 and Table 4."""
    from empirics.aggregation.data import load_table2, load_table4

    rel = china.china_relation(n_boot=9, n_perm=9)
    t = rel.cells.table.set_index(["section", "large"])
    t2 = load_table2().set_index("code")
    t4 = load_table4(as_fraction=False)
    codes = [c for c in t4.index if c.startswith("3-") and t4.loc[c, 11] > 0]
    expected = sum(t4.loc[c, 11] * t2.loc[c, "combined"] for c in codes) / sum(t4.loc[c, 11] for c in codes)
    assert t.loc[("C", "3"), "llm"] == pytest.approx(expected, abs=1e-12)
    assert t.loc[("C", "3"), "wage"] == 59613
    # sections F and H share the paper's industry 3, where Table 4 has no clerk: 38 cells in 10 sections
    assert len(rel.cells.table) == 38 and rel.cells.table["section"].nunique() == 10
    assert sorted(d.split(":")[0] for d in rel.cells.dropped) == ["cell (F, 3)", "cell (H, 3)"]
    w = rel.cells.table.groupby("section")["weight"].sum()
    np.testing.assert_allclose(w.to_numpy(), 1.0, atol=1e-14)


def test_within_slope_by_hand_and_by_dummies():
    """Three sections of two cells: the fixed-effects slope from within differences, then weighted
    against the dummy-variable regression and the textbook CR1 sandwich."""
    x = np.array([0.2, 0.5, 0.1, 0.3, 0.4, 0.45])
    y = np.array([10.0, 10.6, 9.5, 9.9, 11.0, 11.3])
    g = np.array(["A", "A", "B", "B", "C", "C"])
    # x̃ = ±0.15, ±0.1, ±0.025 and ỹ = ±0.3, ±0.2, ±0.15 within A, B, C
    by_hand = (0.15 * 0.3 + 0.1 * 0.2 + 0.025 * 0.15) / (0.15**2 + 0.1**2 + 0.025**2)
    assert china.within_slope(x, y, g, n_boot=9, n_perm=9).slope == pytest.approx(by_hand, rel=1e-12)
    with pytest.raises(InputError, match="degrees of freedom"):
        china.within_slope(x[:4], y[:4], g[:4], n_boot=9, n_perm=9)
    w = np.array([1.0, 3.0, 2.0, 2.0, 1.0, 1.0])
    st = china.within_slope(x, y, g, w, n_boot=199, n_perm=199, seed=1)
    D = np.column_stack([x, (g == "A"), (g == "B"), (g == "C")]).astype(float)
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(D * sw[:, None], y * sw, rcond=None)[0]
    assert st.slope == pytest.approx(coef[0], rel=1e-12)
    # CR1 by the textbook sandwich on the dummy regression
    e = y - D @ coef
    bread = np.linalg.inv(D.T @ (w[:, None] * D))
    meat = sum(np.outer(D[g == c].T @ (w[g == c] * e[g == c]), D[g == c].T @ (w[g == c] * e[g == c])) for c in "ABC")
    n, k, G = 6, 4, 3
    V = bread @ meat @ bread * G / (G - 1) * (n - 1) / (n - k)
    assert st.se == pytest.approx(np.sqrt(V[0, 0]), rel=1e-10)
    assert (st.n, st.clusters, st.df) == (6, 3, 2)


def test_bundled_within_slope_by_dummies():
    rel = china.china_relation(n_boot=9, n_perm=9)
    t = rel.cells.table
    secs = sorted(t["section"].unique())
    D = np.column_stack([t["llm"].to_numpy()] + [(t["section"] == s).to_numpy(float) for s in secs])
    coef = np.linalg.lstsq(D, t["log_wage"].to_numpy(), rcond=None)[0]
    assert rel.within[("llm", "unweighted")].slope == pytest.approx(coef[0], rel=1e-12)


def test_national_slope_and_exact_permutation():
    x = np.array([0.1, 0.2, 0.3, 0.5])
    y = np.array([1.0, 1.3, 1.5, 2.2])
    st = china.national_slope(x, y)
    b, a = np.polyfit(x, y, 1)
    assert st.slope == pytest.approx(b, rel=1e-12)
    resid = y - a - b * x
    assert st.se == pytest.approx(np.sqrt(resid @ resid / 2 / ((x - x.mean()) ** 2).sum()), rel=1e-12)
    # y rises with x: by the rearrangement inequality no other ordering gives a larger slope, and the
    # most negative one (x reversed) is smaller in size here: 1 of 24, the smallest p four groups allow
    x_rev = x[::-1]
    assert abs(np.polyfit(x_rev, y, 1)[0]) < b
    assert st.p_perm == pytest.approx(1 / 24)
    assert st.p_t < 0.05 and st.distinguishable
    assert st.df == 2
    noisy = china.national_slope(x, np.array([1.0, 1.6, 1.1, 1.7]))
    assert noisy.p_perm > 0.05 and not noisy.distinguishable
    assert "not distinguishable" in noisy.verdict()


def test_wild_cluster_bootstrap_size_under_the_null():
    """With no relation, the restricted wild cluster bootstrap rejects at about its nominal 5%."""
    rng = np.random.default_rng(7)
    G, m, reps = 10, 4, 300
    g = np.repeat(np.arange(G), m)
    rejections = 0
    for r in range(reps):
        x = rng.normal(size=G * m) + rng.normal(size=G)[g]
        y = rng.normal(size=G)[g] + rng.normal(size=G * m) * rng.uniform(0.5, 2.0, size=G)[g]
        st = china.within_slope(x, y, g, n_boot=399, n_perm=1, seed=r)
        rejections += st.p_boot < 0.05
    assert 0.01 <= rejections / reps <= 0.10


def test_wild_bootstrap_finds_a_real_slope():
    rng = np.random.default_rng(3)
    G, m = 10, 4
    g = np.repeat(np.arange(G), m)
    x = rng.normal(size=G * m)
    y = 1.5 * x + rng.normal(size=G)[g] + 0.3 * rng.normal(size=G * m)
    st = china.within_slope(x, y, g, n_boot=999, n_perm=999, seed=0)
    assert st.distinguishable
    assert st.ci_t[0] < 1.5 < st.ci_t[1]
    assert st.ci_boot[0] < 1.5 < st.ci_boot[1]


def test_premium_from_the_bundled_tables():
    rel = china.china_relation(n_boot=9, n_perm=9)
    assert rel.premium["value"] == pytest.approx(np.log(83148 / 50703), rel=1e-14)
    assert rel.premium["national_by_year"][2022] == pytest.approx(np.log(133264 / 71147), rel=1e-14)
    by = np.log(np.array([80472, 81043, 105577, 59532, 78836, 108493, 48300, 148705, 79606, 114665])
                / np.array([59998, 49354, 81800, 48429, 47828, 65523, 38561, 64729, 43184, 49650]))
    assert rel.premium["se"] == pytest.approx(by.std(ddof=1) / np.sqrt(10), rel=1e-12)


@pytest.mark.parametrize(
    "text, match",
    [
        ("year,ocd_large_category,avg_annual_wage_yuan\n2017,2,80000\n2017,5,40000\n", r"line 3, column 'ocd_large_category': '5'"),
        ("year,ocd_large_category,avg_annual_wage_yuan\n2017,2,80000\n2017,3,-1\n", r"line 3, column 'avg_annual_wage_yuan'"),
        ("year,ocd_large_category,avg_annual_wage_yuan\n2017,2,80000\n2017,2,81000\n", r"repeated on lines \[2, 3\]"),
        ("year,group,wage\n2017,2,80000\n", r"missing column"),
    ],
)
def test_bad_national_tables(tmp_path, text, match):
    p = tmp_path / "nat.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        china.load_national_wages(p)


def test_national_table_missing_a_group(tmp_path):
    p = tmp_path / "nat.csv"
    p.write_text("year,ocd_large_category,avg_annual_wage_yuan\n2017,2,80000\n2017,3,60000\n2017,4,50000\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"year 2017 has no wage for post group\(s\) \['6'\]"):
        china.china_relation(national_wages=china.load_national_wages(p), n_boot=9, n_perm=9)


@pytest.mark.parametrize(
    "text, err, match",
    [
        ("section,managers_1,professionals_2,clerks_3,services_4,production_6,agri_5\nB,1,2,3,4,5,6\n", InputError, r"line 1: unknown column"),
        ("section,managers_1,professionals_2,clerks_3,services_4,production_6\nB,1,2,3,4,5\nZ,1,2,3,4,5\n", UnknownCodeError, r"line 3, column 'section': 'Z'"),
        ("section,managers_1,professionals_2,clerks_3,services_4,production_6\nB,1,2,3,x,5\n", InputError, r"line 2, column 'services_4'"),
    ],
)
def test_bad_industry_tables(tmp_path, text, err, match):
    p = tmp_path / "ind.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(err, match=match):
        china.load_industry_wages(p)


def test_cli_writes_moments_and_rejects_bad_wages(tmp_path):
    out = tmp_path / "china"
    r = subprocess.run([sys.executable, "-c", "from llm_labor.cli import main; main()", "empirics", "china", "--out", str(out), "--n-boot", "99", "--n-perm", "99"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads((out / "moments_china_nbs.json").read_text())
    assert doc["format"] == "llm-labor/moments" and "units" not in doc
    entry = doc["moments"]["log_wage"]["weighted"]
    assert (entry["n"], entry["clusters"], entry["df"]) == (38, 10, 9)
    assert len(entry["bootstrap_draws"]) == 99
    assert doc["provenance"]["inputs"]["nbs_by_industry"]["sha256"]
    bad = tmp_path / "bad.csv"
    bad.write_text("year,ocd_large_category,avg_annual_wage_yuan\n2017,7,1\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-c", "from llm_labor.cli import main; main()", "empirics", "china", "--out", str(tmp_path / "x"), "--national-wages", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and "line 2" in r.stderr and "Traceback" not in r.stderr
