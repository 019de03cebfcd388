"""From cached labels to exposure scores.

* Weights map labels to points: the paper's default is E1 = 1, E2 = E3 = 0.5,
  E0 = 0 (section 4.1).  Eloundou et al.'s alpha (E1), beta (E1 + 0.5 E2) and
  zeta (E1 + E2) are the presets :data:`ALPHA`, :data:`BETA`, :data:`ZETA`.
* Per unit (occupation or task) and model: the mean over valid repeats, the
  label distribution, the modal label and its share; the unit is *consistent*
  when the modal label holds more than half of the valid repeats (Table 5).
* At task granularity an occupation's score is the weighted mean of its task
  means (core tasks weight 2, others 1 by default).
* Combined over models: the mean of the model means.
* Composite categories: each unit's category is the modal category over all
  models and repeats; exposure is averaged per category.

Answers stored as ``invalid`` are counted but never scored.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .cache import CallRecord
from .errors import ScoringError

EXPOSURE_LABELS = ("E0", "E1", "E2", "E3")


@dataclass(frozen=True)
class ScoreWeights:
    E0: float = 0.0
    E1: float = 1.0
    E2: float = 0.5
    E3: float = 0.5

    @classmethod
    def from_mapping(cls, m: Mapping[str, float]) -> "ScoreWeights":
        if set(m) != set(EXPOSURE_LABELS):
            raise ScoringError(f"weights must give exactly {', '.join(EXPOSURE_LABELS)}; got {sorted(m)}")
        return cls(**{k: float(v) for k, v in m.items()})

    def value(self, label: str) -> float:
        if label not in EXPOSURE_LABELS:
            raise ScoringError(f"label {label!r} is not one of {', '.join(EXPOSURE_LABELS)}")
        return float(getattr(self, label))

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in EXPOSURE_LABELS}


PAPER = ScoreWeights()
ALPHA = ScoreWeights(E0=0.0, E1=1.0, E2=0.0, E3=0.0)
BETA = ScoreWeights(E0=0.0, E1=1.0, E2=0.5, E3=0.0)
ZETA = ScoreWeights(E0=0.0, E1=1.0, E2=1.0, E3=0.0)
PRESETS = {"alpha": ALPHA, "beta": BETA, "zeta": ZETA}


def labels_frame(records: Iterable[CallRecord], weights: ScoreWeights = PAPER, kind: str = "exposure"):
    """One row per call (unit x model x repeat) with its label and points.

    Columns ``score`` (with ``weights``) and, for exposure labels, ``alpha``,
    ``beta`` and ``zeta``; ``share`` templates score their number.
    Invalid calls have NaN scores.
    """
    import pandas as pd

    rows = []
    for r in records:
        row = {
            "endpoint": r.endpoint,
            "model": r.model,
            "template": r.template,
            "template_hash": r.template_hash,
            "unit_id": r.unit_id,
            "occupation_code": r.occupation_code,
            "task_index": r.task_index,
            "repeat": r.repeat,
            "status": r.status,
            "label": r.label,
            "rationale": r.rationale,
        }
        ok = r.status == "ok"
        if kind == "exposure":
            row["score"] = weights.value(r.label) if ok else float("nan")
            for name, w in PRESETS.items():
                row[name] = w.value(r.label) if ok else float("nan")
        elif kind == "share":
            row["score"] = r.value if ok else float("nan")
        rows.append(row)
    cols = ["endpoint", "model", "template", "template_hash", "unit_id", "occupation_code", "task_index", "repeat",
            "status", "label", "rationale"]
    df = pd.DataFrame(rows, columns=cols + ([] if kind == "category" else ["score"])
                      + (list(PRESETS) if kind == "exposure" else []))
    df["task_index"] = df["task_index"].astype("Int64")
    return df


def unit_scores(labels, label_order: Sequence[str] = EXPOSURE_LABELS):
    """Per (unit, endpoint): repeats, valid repeats, mean scores, label shares, modal label and consistency."""
    import pandas as pd

    keys = ["unit_id", "occupation_code", "task_index", "endpoint", "model"]
    score_cols = [c for c in ("score", *PRESETS) if c in labels.columns]
    out = []
    for k, g in labels.groupby(keys, sort=True, dropna=False):
        valid = g[g["status"] == "ok"]
        n_valid = len(valid)
        row = dict(zip(keys, k))
        row["n_repeats"] = len(g)
        row["n_valid"] = n_valid
        row["n_invalid"] = len(g) - n_valid
        for c in score_cols:
            row[c] = float(valid[c].mean()) if n_valid else float("nan")
        counts = valid["label"].value_counts()
        for lab in label_order:
            row[f"share_{lab}"] = counts.get(lab, 0) / n_valid if n_valid else float("nan")
        if n_valid:
            top = counts.max()
            modal = [lab for lab in label_order if counts.get(lab, 0) == top] or sorted(counts[counts == top].index)
            row["modal_label"] = modal[0]
            row["modal_tie"] = len(modal) > 1
            row["modal_share"] = top / n_valid
            row["consistent"] = bool(top / n_valid > 0.5)
        else:
            row.update(modal_label=None, modal_tie=False, modal_share=float("nan"), consistent=False)
        out.append(row)
    df = pd.DataFrame(out)
    if not df.empty:
        df["task_index"] = df["task_index"].astype("Int64")
    return df


def occupation_scores(units, task_weights: Mapping[str, float] | None = None):
    """Per (occupation, endpoint) scores.

    At occupation granularity this is ``units`` itself.  At task granularity
    the score columns are the weighted mean of the task means (weights from
    ``task_weights[unit_id]``, default 1), over tasks with a valid answer.
    """
    import pandas as pd

    if units.empty or units["task_index"].isna().all():
        return units.drop(columns=["unit_id", "task_index"], errors="ignore").reset_index(drop=True)
    score_cols = [c for c in ("score", *PRESETS) if c in units.columns]
    out = []
    for (code, ep, model), g in units.groupby(["occupation_code", "endpoint", "model"], sort=True):
        w = g["unit_id"].map(lambda u: (task_weights or {}).get(u, 1.0)).astype(float)
        row = {"occupation_code": code, "endpoint": ep, "model": model, "n_tasks": len(g),
               "n_tasks_valid": int((g["n_valid"] > 0).sum()), "n_repeats": int(g["n_repeats"].sum()),
               "n_valid": int(g["n_valid"].sum()), "n_invalid": int(g["n_invalid"].sum()),
               "task_consistency": float(g.loc[g["n_valid"] > 0, "consistent"].mean())
               if (g["n_valid"] > 0).any() else float("nan")}
        for c in score_cols:
            ok = g[c].notna()
            row[c] = float((g.loc[ok, c] * w[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def combined_scores(occ):
    """Per occupation: the mean of the model means (models without a valid score are skipped)."""
    score_cols = [c for c in ("score", *PRESETS) if c in occ.columns]
    g = occ.groupby("occupation_code", sort=True)
    df = g[score_cols].mean()
    df["n_models"] = g["score"].count()
    return df.reset_index()


def consistency_table(units):
    """Per endpoint: share of units (with a valid answer) whose modal label holds more than half the repeats."""
    import pandas as pd

    rows = []
    for (ep, model), g in units.groupby(["endpoint", "model"], sort=True):
        v = g[g["n_valid"] > 0]
        rows.append({"endpoint": ep, "model": model, "n_units": len(v),
                     "share_consistent": float(v["consistent"].mean()) if len(v) else float("nan"),
                     "mean_modal_share": float(v["modal_share"].mean()) if len(v) else float("nan")})
    return pd.DataFrame(rows)


def modal_categories(category_labels, categories: Sequence[str]):
    """Per unit: the modal category over all models and repeats (ties go to the earlier category)."""
    import pandas as pd

    valid = category_labels[category_labels["status"] == "ok"]
    rows = []
    for (unit, code), g in valid.groupby(["unit_id", "occupation_code"], sort=True):
        counts = g["label"].value_counts()
        top = counts.max()
        modal = [c for c in categories if counts.get(c, 0) == top]
        rows.append({"unit_id": unit, "occupation_code": code, "category": modal[0], "category_tie": len(modal) > 1,
                     "category_share": top / len(g), "n_valid": len(g)})
    return pd.DataFrame(rows, columns=["unit_id", "occupation_code", "category", "category_tie", "category_share",
                                       "n_valid"])


def composite_exposure(units, categories_by_unit, categories: Sequence[str]):
    """Mean exposure per composite category: per model and combined (mean of model means per unit).

    ``units`` is :func:`unit_scores` of the exposure labels, ``categories_by_unit``
    is :func:`modal_categories` of the category labels on the same units.
    """
    import pandas as pd

    per_unit = units.groupby("unit_id")["score"].mean().rename("combined")
    wide = units.pivot_table(index="unit_id", columns="endpoint", values="score", aggfunc="mean")
    merged = categories_by_unit.set_index("unit_id").join(per_unit, how="inner").join(wide, how="left")
    rows = []
    for cat in categories:
        g = merged[merged["category"] == cat]
        row = {"category": cat, "n_units": len(g), "combined": float(g["combined"].mean()) if len(g) else float("nan")}
        for ep in wide.columns:
            row[f"score_{ep}"] = float(g[ep].mean()) if len(g) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
