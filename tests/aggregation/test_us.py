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
