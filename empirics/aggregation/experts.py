"""Experts against LLMs (the paper's Figure 1) and the consistency of repeated LLM labels (Table 5)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._validate import require_columns, require_numeric
from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass(frozen=True)
class ExpertComparison:
    """Agreement between expert and LLM scores over the same occupations.

    ``slope`` and ``intercept`` are the least-squares line of the LLM score on the expert score
    (the fit line of Figure 1). ``disagreement_share`` is the share of occupations whose scores
    differ by more than ``tolerance`` (default 0.2, one step of the expert rubric);
    ``median_split_disagreement`` is the share on opposite sides of the respective medians
    (one calls the occupation more exposed than typical, the other less).
    """

    n: int
    pearson_r: float
    pearson_p: float
    spearman_r: float
    slope: float
    intercept: float
    mean_abs_diff: float
    tolerance: float
    disagreement_share: float
    median_split_disagreement: float


def compare_expert(
    wide: pd.DataFrame,
    *,
    expert: str = "expert",
    llm: str = "llm",
    tolerance: float = 0.2,
    table: str = "scores",
) -> ExpertComparison:
    """Compare an expert column with an LLM column of a code x model table."""
    import numpy as np

    from .stats import pearson, spearman

    require_columns(wide, [expert, llm], table)
    require_numeric(wide, [expert, llm], table, allow_nan=True)
    if tolerance < 0:
        raise InputError(f"{table}: tolerance must be non-negative, got {tolerance}")
    d = wide[[expert, llm]].dropna()
    x = d[expert].to_numpy(dtype=float)
    y = d[llm].to_numpy(dtype=float)
    r, p = pearson(x, y)
    rho, _ = spearman(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    diff = np.abs(x - y)
    hx = x > np.median(x)
    hy = y > np.median(y)
    return ExpertComparison(
        n=len(d),
        pearson_r=r,
        pearson_p=p,
        spearman_r=rho,
        slope=float(slope),
        intercept=float(intercept),
        mean_abs_diff=float(diff.mean()),
        tolerance=tolerance,
        disagreement_share=float((diff > tolerance + 1e-12).mean()),
        median_split_disagreement=float((hx != hy).mean()),
    )


def consistency_share(
    labels: pd.DataFrame,
    *,
    threshold: float = 0.5,
    code_col: str = "code",
    model_col: str = "model",
    label_col: str = "label",
    table: str = "labels",
) -> pd.Series:
    """Per model, the share of occupations whose most frequent label is given in more than
    ``threshold`` of its repeated labellings (the paper's Table 5 uses 8 repeats and 50%).
    """
    require_columns(labels, [code_col, model_col, label_col], table)
    if labels[label_col].isna().any():
        raise InputError(f"{table}: column {label_col!r} has missing labels")
    if not 0 <= threshold < 1:
        raise InputError(f"{table}: threshold must be in [0, 1), got {threshold}")
    counts = labels.groupby([model_col, code_col, label_col], observed=True).size()
    tot = counts.groupby(level=[0, 1]).sum()
    top = counts.groupby(level=[0, 1]).max()
    share = (top / tot > threshold).groupby(level=0).mean()
    share.name = "share_consistent"
    return share
