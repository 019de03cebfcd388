"""Table 1 statistics from the bundled Table 2, against the published numbers and scipy."""
import numpy as np
import pytest
import scipy.stats as st

from empirics.aggregation.data import LLM_MODELS, table2_scores
from empirics.aggregation.hierarchy import OCD_2022, aggregate, to_wide
from empirics.aggregation.stats import bootstrap_ci, correlation, describe, pearson, spearman, stars, summarize_levels


@pytest.fixture(scope="module")
def medium():
    agg = aggregate(table2_scores(), OCD_2022, base_level="medium", levels="medium")
    return to_wide(agg)


def test_medium_level_table1_means_and_std(medium):
    d = describe(medium, LLM_MODELS)
    # Table 1, medium categories: count 63; mean .40/.14/.22; std .15/.10/.18 (GLM/InternLM/GPT-4)
    assert d.loc["count"].tolist() == [63, 63, 63]
    assert d.loc["mean"].round(2).tolist() == [0.40, 0.14, 0.22]
    assert d.loc["std"].round(2).tolist() == [0.15, 0.10, 0.18]


def test_medium_level_table1_correlations_and_stars(medium):
    c = correlation(medium, LLM_MODELS)
    f = c.formatted()
    assert f.loc["glm", "internlm"] == "0.5938***"
    assert f.loc["internlm", "gpt4"] == "0.4807***"
    assert f.loc["glm", "gpt4"] == "0.3060*"  # published as .306*
    assert f.loc["glm", "glm"] == "1.0000***"


def test_expert_vs_combined_correlation_is_065(table2):
    r, p = pearson(table2.expert, table2.combined)
    assert round(r, 2) == 0.65
    assert p < 0.001


def test_stars_thresholds():
    assert [stars(p) for p in (0.0009, 0.001, 0.009, 0.01, 0.049, 0.05, 0.5)] == ["***", "**", "**", "*", "*", "", ""]


def test_pearson_and_spearman_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = 0.3 * x + rng.normal(size=40)
    y[:5] = y[5]  # ties for Spearman
    r, p = pearson(x, y)
    ref = st.pearsonr(x, y)
    assert r == pytest.approx(ref.statistic, abs=1e-12) and p == pytest.approx(ref.pvalue, rel=1e-9)
    rho, prho = spearman(x, y)
    ref = st.spearmanr(x, y)
    assert rho == pytest.approx(ref.statistic, abs=1e-12) and prho == pytest.approx(ref.pvalue, rel=1e-9)


def test_bootstrap_mean_ci_matches_normal_theory():
    rng = np.random.default_rng(7)
    import pandas as pd

    n = 400
    df = pd.DataFrame({"a": rng.normal(1.0, 2.0, n), "b": rng.normal(0, 1, n)})
    ci = bootstrap_ci(df, ["a", "b"], n_boot=4000, seed=3).set_index(["statistic", "model"])
    se = df.a.std(ddof=1) / np.sqrt(n)
    lo, hi = ci.loc[("mean", "a"), ["lo", "hi"]]
    assert lo == pytest.approx(df.a.mean() - 1.96 * se, abs=0.15 * se)
    assert hi == pytest.approx(df.a.mean() + 1.96 * se, abs=0.15 * se)
    # correlation interval straddles the true 0 and reproduces with the same seed
    r_lo, r_hi = ci.loc[("pearson_r", "a~b"), ["lo", "hi"]]
    assert r_lo < 0 < r_hi
    again = bootstrap_ci(df, ["a", "b"], n_boot=4000, seed=3)
    assert again.equals(ci.reset_index())


def test_summarize_levels_on_table2(medium):
    agg = aggregate(table2_scores(include_expert=False), OCD_2022, base_level="medium", method="child_mean")
    s = summarize_levels(agg, LLM_MODELS)
    assert list(s) == ["large", "medium"]
    assert s["large"].describe.loc["count", "glm"] == 5
    # large level = mean of the medium categories of each large category
    large2 = medium.loc[[c for c in medium.index if c.startswith("2-")], "glm"].mean()
    w = to_wide(agg, level="large")
    assert w.loc["2", "glm"] == pytest.approx(large2, abs=1e-15)
