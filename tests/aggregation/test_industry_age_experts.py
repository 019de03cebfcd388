"""Industry exposure, wages, age groups and expert comparison on hand-worked examples."""
import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from empirics.aggregation.age import age_group_exposure, sections_to_industries
from empirics.aggregation.errors import InputError, MissingColumnsError, SharesError, UnknownCodeError
from empirics.aggregation.experts import compare_expert, consistency_share
from empirics.aggregation.industry import (
    check_shares,
    exposure_wage_relation,
    industry_exposure,
    industry_wages,
    shares_from_employment,
    table4_shares,
)

# 3 occupations x 3 industries; columns sum to one
SHARES = pd.DataFrame(
    {"A": [0.5, 0.5, 0.0], "B": [0.2, 0.3, 0.5], "C": [0.0, 0.0, 1.0]}, index=["o1", "o2", "o3"]
)
SCORES = pd.DataFrame({"m": [0.8, 0.4, 0.1]}, index=["o1", "o2", "o3"])


def test_industry_exposure_3x3_by_hand():
    out = industry_exposure(SHARES, SCORES, normalize=False)
    # A: .5*.8 + .5*.4 = .6 ; B: .2*.8 + .3*.4 + .5*.1 = .33 ; C: .1
    assert out.m.to_dict() == pytest.approx({"A": 0.6, "B": 0.33, "C": 0.1})
    assert out.coverage.tolist() == pytest.approx([1, 1, 1])


def test_industry_exposure_normalises_and_drops():
    sh = SHARES * 1.04  # rounded shares summing to 104%
    np.testing.assert_allclose(industry_exposure(sh, SCORES).m, [0.6, 0.33, 0.1])
    with pytest.raises(SharesError, match="differ from 1"):
        industry_exposure(sh, SCORES, normalize=False)
    part = SCORES.drop("o3")
    with pytest.raises(UnknownCodeError, match="o3"):
        industry_exposure(SHARES, part)
    with pytest.raises(SharesError, match="no scored employment.*'C'"):
        industry_exposure(SHARES, part, missing="drop")
    out = industry_exposure(SHARES[["A", "B"]], part, missing="drop")
    assert out.loc["B", "m"] == pytest.approx((0.2 * 0.8 + 0.3 * 0.4) / 0.5)
    assert out.loc["B", "coverage"] == pytest.approx(0.5)
    with pytest.raises(SharesError, match="non-negative"):
        industry_exposure(SHARES.assign(A=[-0.1, 1.1, 0]), SCORES)


def test_shares_from_employment_and_check():
    emp = pd.DataFrame({"code": ["o1", "o2", "o2"], "industry": ["A", "A", "B"], "employment": [1.0, 3.0, 5.0]})
    m = shares_from_employment(emp)
    assert m.loc["o1", "A"] == 0.25 and m.loc["o2", "B"] == 1.0
    assert check_shares(m).tolist() == [1.0, 1.0]
    with pytest.raises(MissingColumnsError, match="employment.*'employment'"):
        shares_from_employment(emp.drop(columns="employment"))


def test_table4_industry_scores_follow_the_paper_ranking(table2):
    scores = table2.set_index("code")[["combined", "expert"]]
    out = industry_exposure(table4_shares(), scores)
    # Section 4.4: education/culture most exposed; agriculture, mining, manufacturing, construction least
    order = out.combined.sort_values(ascending=False).index.tolist()
    assert order[0] == 1
    assert set(order[-4:]) == {9, 11, 13, 14}


def test_industry_wages_crosswalk():
    w = industry_wages().set_index("industry_id")
    assert w.loc[11, "wage"] == 97528  # manufacturing = section C, 2022 non-private
    assert w.loc[3, "sections"] == "F+H"
    assert 5 not in w.index  # "Others" -> T, which NBS does not publish


def test_wage_relation_matches_scipy_linregress():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 30)
    wage = np.exp(10 + 0.8 * x + rng.normal(0, 0.2, 30))
    rel = exposure_wage_relation(x, wage)
    ref = st.linregress(x, np.log(wage))
    assert rel.slope == pytest.approx(ref.slope, rel=1e-10)
    assert rel.pearson_r == pytest.approx(ref.rvalue, rel=1e-10)
    wrel = exposure_wage_relation(x, wage, weights=np.ones(30) * 3)
    assert wrel.slope == pytest.approx(ref.slope, rel=1e-10)
    with pytest.raises(InputError, match="positive"):
        exposure_wage_relation(x, -wage)


def test_age_group_exposure_by_hand():
    ind = pd.DataFrame({"m": [0.6, 0.2]}, index=[1, 2])
    age = pd.DataFrame(
        {"age_group": ["16-19", "16-19", "60+"], "industry": [1, 2, 2], "employment": [30.0, 10.0, 5.0]}
    )
    out = age_group_exposure(age, ind)
    # 16-19: (30*.6 + 10*.2)/40 = .5 ; 60+: .2
    assert out.m.to_dict() == pytest.approx({"16-19": 0.5, "60+": 0.2})
    assert out.employment.tolist() == [40.0, 5.0]
    with pytest.raises(UnknownCodeError, match="age table.*'industry'.*'7'"):
        age_group_exposure(age.assign(industry=[1, 7, 2]), ind)
    with pytest.raises(InputError, match="negative"):
        age_group_exposure(age.assign(employment=[1.0, -1.0, 1.0]), ind)


def test_sections_to_industries():
    age = pd.DataFrame({"age_group": ["a", "a", "a", "a"], "industry": ["F", "H", "P", "S"], "employment": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(UnknownCodeError, match="'S'"):
        sections_to_industries(age)
    out = sections_to_industries(age, unmapped="drop").set_index("industry").employment
    assert out.to_dict() == {3: 3.0, 1: 3.0}  # F+H -> 3 (trade and restaurants), P -> 1
    with pytest.raises(UnknownCodeError, match="unknown section"):
        sections_to_industries(age.assign(industry=["F", "H", "P", "Z"]))


def test_compare_expert_by_hand():
    w = pd.DataFrame({"expert": [0.1, 0.2, 0.3, 0.4], "llm": [0.1, 0.5, 0.3, 0.35]})
    c = compare_expert(w, tolerance=0.2)
    assert c.n == 4
    assert c.mean_abs_diff == pytest.approx((0 + 0.3 + 0 + 0.05) / 4)
    assert c.disagreement_share == 0.25
    # medians: expert .25 -> high = [F,F,T,T]; llm .325 -> high = [F,T,F,T]
    assert c.median_split_disagreement == 0.5
    assert c.pearson_r == pytest.approx(np.corrcoef(w.expert, w.llm)[0, 1])
    assert c.slope == pytest.approx(st.linregress(w.expert, w.llm).slope)


def test_figure1_on_table2(table2):
    c = compare_expert(table2, llm="combined")
    assert round(c.pearson_r, 2) == 0.65 and c.n == 63


def test_consistency_share_by_hand():
    lab = pd.DataFrame(
        {
            "code": ["a"] * 4 + ["b"] * 4 + ["a"] * 4,
            "model": ["x"] * 8 + ["y"] * 4,
            "label": ["E1", "E1", "E1", "E0", "E1", "E1", "E0", "E0", "E2", "E2", "E2", "E2"],
        }
    )
    s = consistency_share(lab)
    # x: a has 3/4 > .5, b has 2/4 (not > .5) -> .5 ; y: 1.0
    assert s.to_dict() == {"x": 0.5, "y": 1.0}
