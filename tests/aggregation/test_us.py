"""US replication path on the shared GPTs-are-GPTs, SOC crosswalk and BLS OEWS data."""
import numpy as np
import pandas as pd
import pytest

from empirics.aggregation import us


@pytest.fixture(scope="module")
def labels(shared_dir):
    return us.load_task_labels(shared_dir / "gpts-are-gpts")


@pytest.fixture(scope="module")
def published(shared_dir):
    return us.load_occ_level(shared_dir / "gpts-are-gpts").set_index(us.CODE)


def test_occ_level_reproduced_exactly(labels, published):
    rebuilt = us.occ_level_from_tasks(labels).set_index(us.CODE)
    assert len(rebuilt) == len(published) == 923
    a = published[list(us.OCC_COLUMNS)].sort_index()
    b = rebuilt.loc[a.index, list(us.OCC_COLUMNS)]
    assert np.abs(a.to_numpy() - b.to_numpy()).max() <= 1e-12
    assert (rebuilt.loc[a.index, "Title"] == published.loc[a.index, "Title"]).all()


def test_equal_weights_do_not_reproduce_it(labels, published):
    rebuilt = us.occ_level_from_tasks(labels.assign(coreweight=1.0)).set_index(us.CODE)
    a = published[list(us.OCC_COLUMNS)].sort_index()
    assert np.abs(a.to_numpy() - rebuilt.loc[a.index, list(us.OCC_COLUMNS)].to_numpy()).max() > 0.01


def test_soc_aggregation_and_crosswalk(published):
    soc = us.soc_scores(published.reset_index())
    det = soc[(soc.level == "detailed") & (soc.model == "dv_rating_beta")].set_index("code").score
    # a detailed SOC code is the mean of its O*NET-SOC occupations
    kids = published.loc[published.index.str.startswith("11-1011"), "dv_rating_beta"]
    assert len(kids) == 2 and det["11-1011"] == pytest.approx(kids.mean(), abs=1e-15)
    assert soc[soc.level == "major"].code.nunique() == 22
    d2010 = pd.DataFrame({"x": [1.0, 3.0]}, index=["A", "B"])
    cw = pd.DataFrame({"soc_2010_code": ["A", "B", "B"], "soc_2018_code": ["N", "N", "M"]})
    out = us.to_soc2018(d2010, cw)
    assert out.x.to_dict() == {"M": 3.0, "N": 2.0} and out.n_2010.to_dict() == {"M": 1, "N": 2}


def test_bad_task_labels_are_rejected(labels):
    bad = labels.head(3).copy()
    bad.loc[bad.index[0], "gpt4_exposure"] = "E9"
    with pytest.raises(us.InputError, match="gpt4_exposure.*E9"):
        us.task_scores(bad)


def test_run_us_path(shared_dir):
    r = us.run_us_path(shared=shared_dir)
    assert r.max_abs_diff <= 1e-12
    rel = r.wage_relation["unweighted"]
    assert rel.n > 600 and rel.pearson_r > 0  # higher-paid occupations are more exposed (Eloundou et al.)
    assert len(r.sectors) == 20 and r.sectors.coverage.between(0.5, 1).all()
    # sector shares were renormalised: exposures lie within the occupation range
    assert r.sectors[r.measure].between(0, 1).all()


def _oews(rows):
    return pd.DataFrame(rows, columns=["soc_code", "a_median", "tot_emp"])


def test_vintage_is_read_from_the_codes():
    cw = pd.DataFrame({"soc_2010_code": ["11-0001", "11-0002", "11-0003"], "soc_2018_code": ["11-0001", "11-0009", "11-0008"]})
    assert us.detect_soc_vintage(["11-0001", "11-0009", "11-0008"], cw).vintage == "SOC 2018"
    v = us.detect_soc_vintage(["11-0001", "11-0002", "11-0003", "99-9999"], cw)
    assert v.vintage == "SOC 2010" and v.only_2010 == ("11-0002", "11-0003") and v.neither == ("99-9999",)


def test_join_on_the_codes_own_edition_with_oews_aggregates():
    cw = pd.DataFrame({"soc_2010_code": ["13-1021"], "soc_2018_code": ["13-1021"]})
    scores = pd.DataFrame({"m": [0.2, 0.4, 0.6, 0.9, 0.5, 0.7]},
                          index=["13-1021", "13-1022", "15-1252", "25-2055", "25-2056", "45-3031"])
    oews = _oews([("13-1020", 70000, 100), ("15-1252", 120000, 500), ("25-2052", 60000, 50), ("25-2059", 61000, 5),
                  ("17-2011", 90000, 10)])
    j, join = us.join_oews(scores, oews, cw)
    got = j.set_index("soc_code")["m"]
    assert got["15-1252"] == 0.6  # a SOC 2018-only code joins directly, never through the 2010 crosswalk
    assert got["13-1020"] == pytest.approx(0.3) and got["25-2052"] == pytest.approx(0.7)  # OEWS aggregates: mean of their codes
    assert "25-2059" not in got.index  # an "All Other" residual is never a remapping target
    assert join.remapped == {"13-1021": "13-1020", "13-1022": "13-1020", "25-2055": "25-2052", "25-2056": "25-2052"}
    assert join.dropped == ("45-3031",) and join.unscored == ("17-2011", "25-2059")


def test_every_scored_occupation_with_an_oews_wage_is_joined(shared_dir):
    """Read straight from the files: each GPTs-are-GPTs detailed code that OEWS publishes a wage for is in the join."""
    r = us.run_us_path(shared=shared_dir)
    occ = pd.read_csv(shared_dir / "gpts-are-gpts" / "occ_level.csv")
    codes = set(occ["O*NET-SOC Code"].str[:7])
    oews = pd.read_csv(shared_dir / "bls-oews" / "oews_may2025_national.csv", dtype=str)
    oews = oews[oews["display_level"] == "3"]
    wage = pd.to_numeric(oews["a_median"].str.replace(",", ""), errors="coerce")
    emp = pd.to_numeric(oews["tot_emp"].str.replace(",", ""), errors="coerce")
    with_wage = set(oews.loc[wage.notna() & emp.notna(), "soc_code"])
    joined = set(r.occupations["soc_code"])
    assert (codes & with_wage) <= joined
    assert len(codes & with_wage) == 767  # the direct join on SOC 2018 codes
    assert r.join.vintage.vintage == "SOC 2018" and len(r.join.vintage.only_2018) == 112
    # OEWS aggregates add the codes OEWS publishes only by broad group; two codes have no OEWS row at all
    assert len(joined) == 767 + len(set(r.join.remapped.values()))
    assert set(r.join.dropped) == {"11-1031", "45-3031"}
    rel = r.wage_relation["employment_weighted"]
    assert rel.se > 0 and rel.n == len(joined)
