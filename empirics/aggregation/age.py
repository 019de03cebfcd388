"""Age-group exposure (the paper's Figure 7).

An age group's exposure is ``sum_i share[a, i] * exposure[i]``, where ``share[a, i]`` is industry
``i``'s share of the employment of age group ``a`` and ``exposure[i]`` the industry's exposure.

Input schema (CSV, long format, one row per age group and industry)::

    age_group,industry,employment
    16-19,1,1234
    16-19,3,5678
    ...

``age_group`` is any label (kept in first-seen order), ``industry`` an industry key matching the
industry exposure table (the paper's IDs 1-15, or GB/T 4754-2017 section letters A-T converted with
:func:`sections_to_industries`), and ``employment`` a non-negative count or share. The paper uses
the 2020 population census tabulations of the employed population by age and industry section
(China Population Census Yearbook 2020, National Bureau of Statistics, long-form sample);
see ``docs/aggregation.md``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._validate import preview, require_columns, require_numeric
from .errors import InputError, UnknownCodeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

AGE_COLUMNS = ("age_group", "industry", "employment")


def read_age_table(path, *, table: str | None = None) -> pd.DataFrame:
    """Read an age x industry employment CSV with columns ``age_group, industry, employment``."""
    import pandas as pd

    name = table or str(path)
    df = pd.read_csv(path, dtype={"age_group": str, "industry": str})
    require_columns(df, AGE_COLUMNS, name)
    require_numeric(df, ["employment"], name)
    return df


def sections_to_industries(
    age_table: pd.DataFrame,
    crosswalk: pd.DataFrame | None = None,
    *,
    unmapped: str = "error",
    table: str = "age table",
) -> pd.DataFrame:
    """Re-key an age table from GB/T 4754-2017 section letters to the paper's industry IDs.

    Employment of sections mapped to the same industry is summed. ``unmapped="drop"`` leaves out
    sections with no paper industry (public administration, S) instead of raising.
    """
    import pandas as pd

    from .data import load_section_crosswalk

    if unmapped not in ("error", "drop"):
        raise InputError(f"{table}: unmapped must be 'error' or 'drop', got {unmapped!r}")
    require_columns(age_table, AGE_COLUMNS, table)
    cw = load_section_crosswalk() if crosswalk is None else crosswalk
    require_columns(cw, ["section", "industry_id"], "section crosswalk")
    sec = age_table["industry"].astype(str).str.strip().str.upper()
    unknown = sorted(set(sec) - set(cw["section"]))
    if unknown:
        raise UnknownCodeError(f"{table}: column 'industry' has unknown section letter(s) {preview(unknown)}")
    mapping = dict(zip(cw["section"], cw["industry_id"]))
    ind = sec.map(mapping)
    nomap = sorted(set(sec[ind.isna()]))
    if nomap and unmapped == "error":
        raise UnknownCodeError(
            f"{table}: section(s) {nomap} have no paper industry; pass unmapped='drop' to leave them out"
        )
    out = age_table.assign(industry=ind)[ind.notna()]
    out = out.assign(industry=out["industry"].astype(int))
    return out.groupby(["age_group", "industry"], sort=False, as_index=False)["employment"].sum().pipe(pd.DataFrame)


def age_group_exposure(
    age_table: pd.DataFrame,
    industry_scores: pd.DataFrame,
    *,
    table: str = "age table",
) -> pd.DataFrame:
    """Age group x model exposure.

    ``industry_scores`` is indexed by industry key with one column per model (e.g. the output of
    :func:`~empirics.aggregation.industry.industry_exposure` without ``coverage``). Every industry
    with employment must have a score. Returns the exposure table plus ``employment``, each age
    group's total.
    """
    import pandas as pd

    require_columns(age_table, AGE_COLUMNS, table)
    require_numeric(age_table, ["employment"], table)
    if (age_table["employment"] < 0).any():
        raise InputError(f"{table}: column 'employment' has negative values")
    if age_table["age_group"].isna().any() or age_table["industry"].isna().any():
        raise InputError(f"{table}: missing age_group or industry values")
    scores = industry_scores.drop(columns=["coverage"], errors="ignore")
    require_numeric(scores, list(scores.columns), "industry scores")
    key = {str(k): k for k in scores.index}
    ind = age_table["industry"].astype(str).str.strip()
    unknown = sorted(set(ind[age_table["employment"] > 0]) - set(key))
    if unknown:
        raise UnknownCodeError(
            f"{table}: column 'industry' has industries without an exposure score: {preview(unknown)}; "
            f"known: {preview(sorted(key))}"
        )
    d = age_table.assign(_ind=ind, employment=age_table["employment"].astype(float))[ind.isin(list(key))]
    m = d.pivot_table(index="age_group", columns="_ind", values="employment", aggfunc="sum", fill_value=0.0, sort=False)
    order = list(dict.fromkeys(age_table["age_group"]))
    m = m.reindex([a for a in order if a in m.index])
    tot = m.sum(axis=1)
    if (tot <= 0).any():
        raise InputError(f"{table}: age group(s) with no employment: {preview(tot.index[tot <= 0])}")
    W = m.div(tot, axis=0)
    X = scores.loc[[key[c] for c in W.columns]].to_numpy(dtype=float)
    out = pd.DataFrame(W.to_numpy() @ X, index=W.index, columns=scores.columns)
    out["employment"] = tot.to_numpy(dtype=float)
    out.index.name = "age_group"
    return out
