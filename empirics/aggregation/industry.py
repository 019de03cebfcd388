"""Industry exposure (the paper's Figures 6 and 15) and its relation to industry wages.

Industry exposure is ``sum_o share[o, i] * exposure[o]``: ``share[o, i]`` is occupation ``o``'s share
of industry ``i``'s employment (the paper's Table 4 from CLDS 2016, or any occupation x industry
employment matrix such as the BLS OEWS sector file) and ``exposure[o]`` the occupation's score.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._validate import preview, require_columns, require_numeric
from .errors import InputError, SharesError, UnknownCodeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def shares_from_employment(
    employment: pd.DataFrame,
    *,
    occupation_col: str = "code",
    industry_col: str = "industry",
    value_col: str = "employment",
    table: str = "employment",
) -> pd.DataFrame:
    """Long employment counts -> occupation x industry matrix of within-industry shares."""
    require_columns(employment, [occupation_col, industry_col, value_col], table)
    require_numeric(employment, [value_col], table)
    if (employment[value_col] < 0).any():
        raise InputError(f"{table}: column {value_col!r} has negative employment")
    employment = employment.assign(**{value_col: employment[value_col].astype(float)})
    m = employment.pivot_table(index=occupation_col, columns=industry_col, values=value_col, aggfunc="sum", fill_value=0.0)
    tot = m.sum(axis=0)
    if (tot <= 0).any():
        raise SharesError(f"{table}: industries with no employment: {preview(tot.index[tot <= 0])}")
    return m / tot


def check_shares(
    shares: pd.DataFrame,
    *,
    tolerance: float = 1e-6,
    rounding_unit: float | None = None,
    table: str = "shares",
) -> pd.Series:
    """Check an occupation x industry share matrix; returns each industry's column sum.

    Shares must be finite and non-negative. Without ``rounding_unit`` each column must sum to 1
    within ``tolerance``. With ``rounding_unit`` (0.01 for whole percent) the published cells
    are taken as rounded to that unit: a true share lies within half a unit of its cell and is not
    negative, so a column is consistent with summing to 1 exactly when
    ``sum - u/2 * (#non-zero cells) <= 1 <= sum + u/2 * (#cells)``.
    """
    import numpy as np

    vals = shares.to_numpy(dtype=float)
    if not np.isfinite(vals).all():
        raise SharesError(f"{table}: missing or non-finite shares")
    if (vals < 0).any():
        cols = shares.columns[(vals < 0).any(axis=0)]
        raise SharesError(f"{table}: negative shares in industry column(s) {preview(cols)}")
    sums = shares.sum(axis=0)
    if rounding_unit is None:
        bad = (sums - 1).abs() > tolerance
        if bad.any():
            detail = ", ".join(f"{c}: {sums[c]:.6g}" for c in sums.index[bad][:5])
            raise SharesError(f"{table}: industry column sums differ from 1 by more than {tolerance}: {detail}")
        return sums
    half = rounding_unit / 2
    nonzero = (shares > 0).sum(axis=0)
    lo = sums - half * nonzero
    hi = sums + half * len(shares)
    bad = (lo > 1 + 1e-12) | (hi < 1 - 1e-12)
    if bad.any():
        detail = ", ".join(f"{c}: {sums[c]:.4g}" for c in sums.index[bad][:5])
        raise SharesError(
            f"{table}: industry column sums inconsistent with 100% given rounding to {rounding_unit}: {detail}"
        )
    return sums


def industry_exposure(
    shares: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    normalize: bool = True,
    missing: str = "error",
    tolerance: float = 1e-6,
    table: str = "shares",
) -> pd.DataFrame:
    """Industry x model exposure from an occupation x industry share matrix.

    Parameters
    ----------
    shares:
        Index: occupation codes; columns: industries; values: shares of the industry's employment.
    scores:
        Index: occupation codes; columns: models (a code x model table such as ``to_wide`` gives).
    normalize:
        Rescale each industry's shares over the scored occupations to sum to one (needed for
        rounded published shares); otherwise they must already sum to 1 within ``tolerance``.
    missing:
        ``"error"``: every occupation with a positive share must have a score;
        ``"drop"``: leave unscored occupations out (their share is reported as lost coverage).

    Returns
    -------
    DataFrame indexed by industry with one column per model plus ``coverage``, the share of the
    industry's (unnormalised) employment held by scored occupations.
    """
    import numpy as np
    import pandas as pd

    if missing not in ("error", "drop"):
        raise InputError(f"{table}: missing must be 'error' or 'drop', got {missing!r}")
    require_numeric(scores, list(scores.columns), "occupation scores", allow_nan=True)
    vals = shares.to_numpy(dtype=float)
    if not np.isfinite(vals).all() or (vals < 0).any():
        raise SharesError(f"{table}: shares must be finite and non-negative")
    sidx = pd.Index(shares.index.astype(str))
    cidx = pd.Index(scores.index.astype(str))
    if cidx.duplicated().any():
        raise InputError(f"occupation scores: duplicated codes {preview(cidx[cidx.duplicated()].unique())}")
    known = sidx.isin(cidx)
    used = (shares.to_numpy(dtype=float) > 0).any(axis=1)
    unknown = sidx[~known & used]
    if len(unknown) and missing == "error":
        raise UnknownCodeError(f"{table}: occupation code(s) with positive shares but no score: {preview(unknown)}")
    S = shares.set_axis(sidx)[known]
    tot = shares.sum(axis=0)
    coverage = S.sum(axis=0) / tot.where(tot > 0)
    if normalize:
        col = S.sum(axis=0)
        if (col <= 0).any():
            raise SharesError(f"{table}: industries with no scored employment: {preview(col.index[col <= 0])}")
        S = S / col
    else:
        check_shares(S, tolerance=tolerance, table=table)
    X = scores.set_axis(cidx).loc[S.index]
    if X.isna().any().any():
        bad = X.index[X.isna().any(axis=1)]
        raise InputError(f"occupation scores: missing scores for occupation(s) {preview(bad)}")
    out = pd.DataFrame(S.to_numpy().T @ X.to_numpy(dtype=float), index=S.columns, columns=X.columns)
    out["coverage"] = coverage.to_numpy()
    out.index.name = shares.columns.name or "industry"
    return out


def industry_wages(
    *,
    crosswalk: pd.DataFrame | None = None,
    wages: pd.DataFrame | None = None,
    column: str = "nonprivate_2022",
) -> pd.DataFrame:
    """Average wage of each paper industry: the unweighted mean over the GB/T 4754-2017 sections
    the crosswalk maps to it (NBS publishes no section employment alongside its wage table).

    Returns ``industry_id, wage, sections``; industries with no mapped wage are left out.
    """
    import pandas as pd

    from .data import load_nbs_wages, load_section_crosswalk

    cw = load_section_crosswalk() if crosswalk is None else crosswalk
    wg = load_nbs_wages() if wages is None else wages
    require_columns(cw, ["section", "industry_id"], "section crosswalk")
    require_columns(wg, ["section", column], "wage table")
    bad = sorted(set(cw["section"].dropna()) - set("ABCDEFGHIJKLMNOPQRST"))
    if bad:
        raise UnknownCodeError(f"section crosswalk: column 'section' has values that are not GB/T 4754-2017 section letters: {preview(bad)}")
    m = cw.dropna(subset=["industry_id"]).merge(wg[["section", column]], on="section", how="left")
    m = m.dropna(subset=[column])
    g = m.groupby("industry_id")
    out = pd.DataFrame({"wage": g[column].mean(), "sections": g["section"].agg("+".join)}).reset_index()
    out["industry_id"] = out["industry_id"].astype(int)
    return out


@dataclass(frozen=True)
class WageRelation:
    """Exposure against wages across units (industries or occupations).

    ``slope`` is from the least-squares fit of log wage on exposure (weighted when weights are
    given): a 0.1 higher exposure goes with ``exp(0.1 * slope) - 1`` higher wages.
    """

    n: int
    pearson_r: float
    pearson_p: float
    spearman_r: float
    spearman_p: float
    slope: float
    intercept: float
    weighted: bool
    se: float = float("nan")
    """HC1 heteroskedasticity-robust standard error of the slope."""


def exposure_wage_relation(exposure, wage, *, weights=None, table: str = "exposure/wage") -> WageRelation:
    """Correlations of exposure with log wage and the (weighted) OLS slope of log wage on exposure."""
    import numpy as np

    from .stats import pearson, spearman

    x = np.asarray(exposure, dtype=float)
    w_ = np.asarray(wage, dtype=float)
    if x.shape != w_.shape:
        raise InputError(f"{table}: exposure has {x.shape[0]} values, wage {w_.shape[0]}")
    if not (np.isfinite(x).all() and np.isfinite(w_).all()):
        raise InputError(f"{table}: missing or non-finite values")
    if (w_ <= 0).any():
        raise InputError(f"{table}: wages must be positive")
    y = np.log(w_)
    r, p = pearson(x, y)
    rho, prho = spearman(x, y)
    wt = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if weights is None:
        slope, intercept = np.polyfit(x, y, 1)
    else:
        if wt.shape != x.shape or (wt < 0).any() or not np.isfinite(wt).all():
            raise InputError(f"{table}: weights must be finite, non-negative and one per unit")
        A = np.column_stack([np.ones_like(x), x]) * np.sqrt(wt)[:, None]
        intercept, slope = np.linalg.lstsq(A, y * np.sqrt(wt), rcond=None)[0]
    n = len(x)
    dx = x - (wt * x).sum() / wt.sum()
    sxx = (wt * dx * dx).sum()
    e = y - intercept - slope * x
    se = float(np.sqrt((wt * wt * dx * dx * e * e).sum() / sxx**2 * n / (n - 2))) if n > 2 and sxx > 0 else float("nan")
    return WageRelation(
        n=len(x),
        pearson_r=r,
        pearson_p=p,
        spearman_r=rho,
        spearman_p=prho,
        slope=float(slope),
        intercept=float(intercept),
        weighted=weights is not None,
        se=se,
    )


def table4_shares() -> pd.DataFrame:
    """The bundled Table 4 as fractions (occupation x industry), checked against the rounding bound."""
    from .data import TABLE4, load_table4

    m = load_table4(as_fraction=True)
    check_shares(m, rounding_unit=0.01, table=TABLE4)
    return m
