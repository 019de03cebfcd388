from __future__ import annotations

import math

import pytest

from empirics.scoring.cache import CallRecord
from empirics.scoring.errors import ScoringError
from empirics.scoring.scores import (
    ALPHA,
    BETA,
    PAPER,
    ZETA,
    ScoreWeights,
    combined_scores,
    composite_exposure,
    consistency_table,
    labels_frame,
    modal_categories,
    occupation_scores,
    unit_scores,
)


def rec(endpoint, unit, repeat, label, status="ok", task=None):
    code = unit.split("#")[0]
    return CallRecord(endpoint, "m-" + endpoint, "h", unit, repeat, "exposure.zh.v1", code, task, status,
                      label if status == "ok" else None, None, "r", "{}", None, 1, 1, 2, 1, 0, 0.0, 0.0)


def recs(endpoint, unit, labels, task=None):
    return [rec(endpoint, unit, i, lab, "invalid" if lab is None else "ok", task) for i, lab in enumerate(labels)]


def test_weight_presets():
    assert [PAPER.value(x) for x in ("E0", "E1", "E2", "E3")] == [0, 1, 0.5, 0.5]
    assert [ALPHA.value(x) for x in ("E0", "E1", "E2", "E3")] == [0, 1, 0, 0]
    assert [BETA.value(x) for x in ("E0", "E1", "E2", "E3")] == [0, 1, 0.5, 0]
    assert [ZETA.value(x) for x in ("E0", "E1", "E2", "E3")] == [0, 1, 1, 0]
    with pytest.raises(ScoringError):
        PAPER.value("E4")
    with pytest.raises(ScoringError):
        ScoreWeights.from_mapping({"E1": 1})


def test_unit_scores_by_hand():
    labels = labels_frame(recs("a", "X", ["E1", "E1", "E2", "E0"]) + recs("a", "Y", ["E3", "E3", "E3", "E0"])
                          + recs("a", "Z", ["E1", None, None, "E2"]))
    u = unit_scores(labels).set_index("unit_id")
    x = u.loc["X"]
    # paper: (1 + 1 + .5 + 0) / 4; alpha: 2/4; beta: (1 + 1 + .5)/4; zeta: (1 + 1 + 1)/4
    assert (x.score, x.alpha, x.beta, x.zeta) == (0.625, 0.5, 0.625, 0.75)
    assert (x.share_E0, x.share_E1, x.share_E2, x.share_E3) == (0.25, 0.5, 0.25, 0.0)
    # the modal label holds exactly half: not "more than 50%"
    assert x.modal_label == "E1" and x.modal_share == 0.5 and not x.consistent
    y = u.loc["Y"]
    assert y.score == pytest.approx(0.375) and y.modal_label == "E3" and y.modal_share == 0.75 and y.consistent
    z = u.loc["Z"]  # invalid answers are counted but never scored (not as E0)
    assert (z.n_repeats, z.n_valid, z.n_invalid) == (4, 2, 2)
    assert z.score == 0.75 and z.modal_tie and not z.consistent
    c = consistency_table(u.reset_index())
    assert c.share_consistent.tolist() == [pytest.approx(1 / 3)]


def test_custom_weights():
    w = ScoreWeights.from_mapping({"E0": 0, "E1": 1, "E2": 0.5, "E3": 1})
    labels = labels_frame(recs("a", "Y", ["E3", "E3", "E3", "E0"]), w)
    assert unit_scores(labels).score.tolist() == [0.75]


def test_all_invalid_gives_nan_not_zero():
    u = unit_scores(labels_frame(recs("a", "X", [None, None])))
    assert math.isnan(u.score.iloc[0]) and u.n_valid.iloc[0] == 0 and not u.consistent.iloc[0]


def test_combined_is_mean_of_model_means():
    labels = labels_frame(recs("a", "X", ["E1", "E1", "E2", "E0"]) + recs("b", "X", ["E0", "E0", "E1", "E0"])
                          + recs("c", "X", [None, None]))
    occ = occupation_scores(unit_scores(labels))
    comb = combined_scores(occ)
    assert comb.score.tolist() == [pytest.approx((0.625 + 0.25) / 2)]
    assert comb.n_models.tolist() == [2]


def test_task_granularity_weighted_mean():
    labels = labels_frame(recs("a", "X#1", ["E1", "E1"], 1) + recs("a", "X#2", ["E0", "E0"], 2)
                          + recs("a", "X#3", [None, None], 3))
    units = unit_scores(labels)
    occ = occupation_scores(units, {"X#1": 2.0, "X#2": 1.0, "X#3": 1.0})
    # core task (weight 2) scores 1, the other 0; the all-invalid task is left out
    assert occ.score.tolist() == [pytest.approx(2 / 3)]
    assert occ.n_tasks.tolist() == [3] and occ.n_tasks_valid.tolist() == [2]
    assert occ.occupation_code.tolist() == ["X"]


def test_composite_categories():
    exposure = labels_frame(recs("a", "X", ["E1", "E1"]) + recs("b", "X", ["E0", "E0"])
                            + recs("a", "Y", ["E2", "E2"]) + recs("b", "Y", ["E2", "E1"])
                            + recs("a", "W", ["E0", "E0"]) + recs("b", "W", ["E0", "E0"]))
    cats = labels_frame(recs("a", "X", ["NRCA", "NRCA"]) + recs("b", "X", ["RC", "NRCA"])
                        + recs("a", "Y", ["NRCA", "RC"]) + recs("b", "Y", ["RC", "RC"])
                        + recs("a", "W", ["RM", "NRMP"]) + recs("b", "W", ["NRMP", "RM"]), kind="category")
    order = ("NRCA", "NRCI", "RC", "RM", "NRMP")
    mc = modal_categories(cats, order).set_index("unit_id")
    assert mc.category.to_dict() == {"W": "RM", "X": "NRCA", "Y": "RC"}
    assert mc.loc["W", "category_tie"] and mc.loc["X", "category_share"] == 0.75
    comp = composite_exposure(unit_scores(exposure), mc.reset_index(), order).set_index("category")
    assert comp.loc["NRCA", "combined"] == 0.5          # X: (1 + 0) / 2
    assert comp.loc["RC", "combined"] == pytest.approx(0.625)  # Y: (0.5 + 0.75) / 2
    assert comp.loc["RM", "combined"] == 0.0
    assert comp.loc["RC", "score_b"] == 0.75
    assert comp.loc["NRCI", "n_units"] == 0 and math.isnan(comp.loc["NRCI", "combined"])
