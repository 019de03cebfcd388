"""Hierarchy aggregation on hand-worked examples, code parsing and error messages."""
import numpy as np
import pandas as pd
import pytest

from benchmarks.references.aggregation import naive_aggregate, synthetic_labels
from empirics.aggregation.errors import InputError, MissingColumnsError, UnknownCodeError
from empirics.aggregation.hierarchy import OCD_2022, ONET_SOC, SOC_2018, HierarchySpec, Level, aggregate, from_wide, to_wide


def _long(rows):
    return pd.DataFrame(rows, columns=["code", "model", "score"])


# Three fine occupations in small 2-01-01, one in 2-01-02 (medium 2-01), one in 3-01-01 (medium 3-01).
HAND = _long(
    [
        ("2-01-01-01", "m", 0.0),
        ("2-01-01-02", "m", 0.5),
        ("2-01-01-03", "m", 1.0),
        ("2-01-02-01", "m", 1.0),
        ("3-01-01-01", "m", 0.25),
        ("1-01-00-01", "m", 1.0),  # large category 1: excluded by default
    ]
)


def _score(agg, level, code, model="m"):
    r = agg[(agg.level == level) & (agg.code == code) & (agg.model == model)]
    assert len(r) == 1, (level, code)
    return float(r.score.iloc[0])


def test_fine_mean_versus_child_mean_by_hand():
    fm = aggregate(HAND, OCD_2022)
    cm = aggregate(HAND, OCD_2022, method="child_mean")
    assert _score(fm, "small", "2-01-01") == pytest.approx(0.5)
    # medium 2-01: mean of its 4 fine occupations = 2.5/4; mean of small means = (0.5 + 1)/2
    assert _score(fm, "medium", "2-01") == pytest.approx(0.625)
    assert _score(cm, "medium", "2-01") == pytest.approx(0.75)
    # large 2 and 3
    assert _score(fm, "large", "2") == pytest.approx(0.625)
    assert _score(fm, "large", "3") == pytest.approx(0.25)
    assert "1" not in set(fm[fm.level == "large"].code)
    assert fm[(fm.level == "large") & (fm.code == "2")].n.iloc[0] == 4
    kept = aggregate(HAND, OCD_2022, exclude=())
    assert _score(kept, "large", "1") == 1.0


def test_repeated_and_weighted_labels_collapse_to_one_score_per_occupation():
    df = pd.DataFrame(
        {"code": ["2-01-01-01"] * 3 + ["2-01-01-02"], "model": "m", "score": [1.0, 0.0, 0.5, 0.0], "weight": [2, 1, 1, 1]}
    )
    agg = aggregate(df, OCD_2022, weight_col="weight")
    assert _score(agg, "fine", "2-01-01-01") == pytest.approx((2 * 1 + 0 + 0.5) / 4)
    assert _score(agg, "small", "2-01-01") == pytest.approx((2.5 / 4 + 0) / 2)


def test_codes_in_full_and_short_form_and_single_fine_small_categories():
    # "6-31-05-00" is a fine occupation coded at its small category (a real OCD 2022 case)
    assert OCD_2022.code_at(["6-31-05-00", "2-01-01-01"], "small") == ["6-31-05", "2-01-01"]
    assert OCD_2022.code_at(["2-01", "2-01-00-00"], "large", base_level="medium") == ["2", "2"]


def test_soc_minor_groups_with_two_digits():
    assert SOC_2018.code_at(["15-1252", "15-2011", "31-1131", "51-5112", "11-1011"], "minor") == [
        "15-1200", "15-2000", "31-1100", "51-5100", "11-1000"
    ]
    assert ONET_SOC.code_at(["15-1252.01"], "detailed") == ["15-1252"]
    assert ONET_SOC.code_at(["15-1252.01"], "broad") == ["15-1250"]


def test_generic_spec_for_another_scheme():
    spec = HierarchySpec("toy", "DD.D", (Level("top", 2), Level("leaf", 3)))
    agg = aggregate(_long([("10.1", "a", 1.0), ("10.2", "a", 0.0), ("11.1", "a", 0.5)]), spec)
    assert _score(agg, "top", "10.0", "a") == 0.5
    with pytest.raises(ValueError, match="increase"):
        HierarchySpec("bad", "DD", (Level("a", 2), Level("b", 1)))


@pytest.mark.parametrize(
    "codes, match",
    [
        (["2-01-01-1"], "not in the OCD 2022 format"),
        (["2-01-01"], "coarser than level 'fine'"),
    ],
)
def test_bad_codes_are_reported(codes, match):
    with pytest.raises(InputError, match=match):
        aggregate(_long([(c, "m", 0.1) for c in codes]), OCD_2022, table="my.csv")


def test_finer_code_than_declared_level():
    with pytest.raises(InputError, match="finer than level 'medium'"):
        aggregate(_long([("2-01-01-01", "m", 0.1)]), OCD_2022, base_level="medium")


def test_unknown_codes_and_missing_columns_name_the_table():
    with pytest.raises(UnknownCodeError, match=r"scores.csv.*'code'.*2-01-01-09"):
        aggregate(_long([("2-01-01-09", "m", 0.1)]), OCD_2022, known_codes=["2-01-01-01"], table="scores.csv")
    with pytest.raises(MissingColumnsError, match=r"scores.csv: missing column\(s\) \['score'\]"):
        aggregate(pd.DataFrame({"code": ["2-01-01-01"], "model": ["m"]}), OCD_2022, table="scores.csv")
    with pytest.raises(InputError, match="'score' has 1 missing"):
        aggregate(_long([("2-01-01-01", "m", np.nan)]), OCD_2022)


def test_wide_round_trip(table2):
    long = from_wide(table2, ["glm", "expert"])
    assert len(long) == 126
    w = to_wide(long, models=["glm", "expert"])
    np.testing.assert_array_equal(w.loc[table2.code, "glm"].to_numpy(), table2.glm.to_numpy())


def test_vectorised_matches_naive_loop_on_synthetic_labels():
    labels = synthetic_labels(20_000, seed=5)
    fast = aggregate(labels, OCD_2022, weight_col="weight")
    slow = naive_aggregate(labels)
    m = fast.merge(slow, on=["level", "code", "model"], how="outer", suffixes=("", "_naive"), indicator=True)
    assert (m._merge == "both").all()
    np.testing.assert_allclose(m.score, m.score_naive, atol=1e-12)
